// The steps every command shares: config -> selected monitors -> capabilities -> plan -> scripts.
import { defaultConfigPath, loadConfig, parseMonitorList, selectedMonitors } from '../config/load.js';
import type { Config } from '../config/schema.js';
import { detectCapabilities, type Capabilities } from '../plan/capabilities.js';
import { buildPlan, type Plan } from '../plan/plan.js';
import { composeScript, type Script } from './compose.js';
import { UsageError } from '../errors.js';
import type { Scope } from '../bt/ir.js';

export interface Prepared {
  configFile: string;
  config: Config;
  selected: string[];
  caps: Capabilities;
  plan: Plan;
  scripts: Script[];
}

export interface PrepareOptions {
  config?: string | undefined;
  monitors?: string | undefined;
  /** Mount tracefs when missing. */
  mount: boolean;
  /** Do not look at this machine: every monitor gets its preferred variant (generate --no-detect). */
  assumeCapable?: boolean;
  /** The processes counted (`--pid`, `--comm`, `run`); default the whole host. */
  scope?: Scope;
}

/** Capabilities of an ideal machine, for scripts meant for another host or for compile checks. */
export function idealCapabilities(real: Capabilities): Capabilities {
  return { ...real, kprobes: { ok: true, detail: 'assumed (--no-detect)' }, assumeAll: true };
}

/** The monitors to run: the config's enabled ones, or `--monitors`; none is a usage error. */
export function selectMonitors(config: Config, configFile: string, monitors: string | undefined): string[] {
  const selected = selectedMonitors(config, monitors === undefined ? undefined : parseMonitorList(monitors));
  if (!selected.length) {
    throw new UsageError(`no monitor is enabled in ${configFile}; enable one there or pass --monitors (e.g. -m exec,syscall)`);
  }
  return selected;
}

/** Plan and scripts: a pure function of the config and this machine (nothing is detected or read here). */
export function planScripts(config: Config, selected: readonly string[], caps: Capabilities, scope?: Scope): { plan: Plan; scripts: Script[] } {
  const plan = buildPlan(config, selected, caps, scope);
  const scripts = plan.processes.map((p) => composeScript(p, { bpftraceVersion: caps.bpftrace.version, kernel: caps.kernel, runtime: config.runtime }));
  return { plan, scripts };
}

export async function prepare(opts: PrepareOptions): Promise<Prepared> {
  const configFile = opts.config ?? defaultConfigPath();
  const config = await loadConfig(configFile);
  const selected = selectMonitors(config, configFile, opts.monitors);
  const real = await detectCapabilities({ bpftrace: config.runtime.bpftrace, mount: opts.mount });
  const caps = opts.assumeCapable ? idealCapabilities(real) : real;
  return { configFile, config, selected, caps, ...planScripts(config, selected, caps, opts.scope) };
}
