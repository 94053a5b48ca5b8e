// What one run executes: the bpftrace processes with their scripts, the config they came from and this machine's
// verdicts. Built from the config (generated scripts) or from an operator's edited scripts (`start --scripts`).
import path from 'node:path';
import type { Logger } from '../log.js';
import { planScripts, selectMonitors } from './prepare.js';
import { EnvironmentError, UsageError } from '../errors.js';
import { scoped, type Scope } from '../bt/ir.js';
import { loadOperatorScripts } from './operator-scripts.js';
import { bpftraceEnv } from './compose.js';
import type { Config } from '../config/schema.js';
import { defaultConfigPath, loadConfig } from '../config/load.js';
import { detectCapabilities, requireRunnable, type Capabilities, type VersionProbe } from '../plan/capabilities.js';
import { aheadOfTime, planMonitor, processPlan, type PlannedMonitor, type ProcessPlan, type Verdict } from '../plan/plan.js';
import { findMonitor } from '../monitors/registry.js';
import { defaultInterval } from '../monitors/types.js';

export interface RunnableProcess extends ProcessPlan {
  file: string;
  /** The script text, written to a private directory before it runs (an operator's script as read at start). */
  text: string;
  env: Record<string, string>;
  /** The script has compose's stop probe, so it can run in bpftrace-aotrt. */
  stoppable: boolean;
}

export interface Runnable {
  configFile: string;
  config: Config;
  caps: Capabilities;
  verdicts: Verdict[];
  processes: RunnableProcess[];
  /** Generated scripts can be split per monitor when a shared one fails; operator scripts cannot. */
  isolatable: boolean;
}

/** The generated scripts: a pure function of the config, the selected monitors and this machine. */
function generatedRunnable(configFile: string, config: Config, selected: readonly string[], caps: Capabilities, scope: Scope | undefined): Runnable {
  const { plan, scripts } = planScripts(config, selected, caps, scope);
  return {
    configFile,
    config,
    caps,
    verdicts: plan.verdicts,
    processes: plan.processes.map((proc, i) => ({ ...proc, file: scripts[i]!.file, text: scripts[i]!.text, env: scripts[i]!.env, stoppable: true })),
    isolatable: true,
  };
}

/** An operator's edited scripts, each with the plan of the process it was generated for on this machine. */
async function operatorRunnable(configFile: string, config: Config, caps: Capabilities, scriptsAt: string, log: Logger): Promise<Runnable> {
  const scripts = await loadOperatorScripts(scriptsAt, (n) => findMonitor(n) !== undefined);
  const verdicts: Verdict[] = [];
  const processes = scripts.map((s): RunnableProcess => {
    if (s.versionWarning) log.warn(s.versionWarning);
    const monitors = s.monitors.map((name): PlannedMonitor => {
      const monitor = findMonitor(name)!;
      const o = config.monitors[name] ?? monitor.options.parse({});
      const { verdict, plan } = planMonitor(monitor, o, caps, aheadOfTime(config, caps));
      verdicts.push({ ...verdict, status: 'ready', detail: `operator script ${s.file}` });
      // The contract (map names, key parts) comes from the variant this machine would use, else the preferred one.
      const variant = monitor.variants(o)[0];
      return { monitor, opts: o, plan: plan ?? { variant: variant?.name ?? '', interval: o.interval ?? defaultInterval, symbols: {}, tracepointFields: {}, bt: caps.bpftrace.features } };
    });
    // An edited script keeps the string size, runtime and map layout of the process it was generated for.
    const proc = processPlan(s.id, monitors, config, caps);
    return { ...proc, file: path.basename(s.file), text: s.text, env: bpftraceEnv(config.runtime, proc.strlen, proc.bt), stoppable: s.stoppable };
  });
  return { configFile, config, caps, verdicts, processes, isolatable: false };
}

/**
 * What a command had before its first run: the config it read already (start: for its log settings), and `bpftrace
 * --version` started at process start (main.ts). For the first makeRunnable only: a reload reads and asks again.
 */
export interface Early {
  config?: Config | undefined;
  version?: VersionProbe | undefined;
}

export async function makeRunnable(
  opts: { config?: string | undefined; monitors?: string | undefined; scripts?: string | undefined; scope?: Scope | undefined },
  log: Logger,
  early: Early = {},
): Promise<Runnable> {
  // An edited script runs as it was edited: a filter cannot be added to it without rewriting its text.
  if (opts.scripts && opts.scope && scoped(opts.scope)) throw new UsageError('--pid, --comm and run cannot narrow operator scripts (--scripts): generate them with the filter instead');
  const configFile = opts.config ?? defaultConfigPath();
  const config = early.config ?? (await loadConfig(configFile));
  const selected = opts.scripts ? [] : selectMonitors(config, configFile, opts.monitors);
  // This machine, detected once: both kinds of scripts are planned from it.
  const caps = await detectCapabilities({ bpftrace: config.runtime.bpftrace, mount: true, version: early.version });
  requireRunnable(caps);
  const r = opts.scripts ? await operatorRunnable(configFile, config, caps, opts.scripts, log) : generatedRunnable(configFile, config, selected, caps, opts.scope);
  if (!r.processes.length) {
    throw new EnvironmentError(`no selected monitor can run on this machine: ${r.verdicts.map((v) => `${v.monitor}: ${v.detail}`).join('; ')}`);
  }
  return r;
}
