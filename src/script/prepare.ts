// The steps every command shares: config -> selected monitors -> capabilities -> plan -> scripts.
import { defaultConfigPath, loadConfig, parseMonitorList, selectedMonitors } from '../config/load.js';
import type { Config } from '../config/schema.js';
import { detectCapabilities, type Capabilities } from '../plan/capabilities.js';
import { buildPlan, type Plan } from '../plan/plan.js';
import { composeScript, type Script } from './compose.js';
import { EnvironmentError, UsageError } from '../errors.js';
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

export async function prepare(opts: PrepareOptions): Promise<Prepared> {
  const configFile = opts.config ?? defaultConfigPath();
  const config = await loadConfig(configFile);
  const selected = selectedMonitors(config, opts.monitors === undefined ? undefined : parseMonitorList(opts.monitors));
  if (!selected.length) {
    throw new UsageError(`no monitor is enabled in ${configFile}; enable one there or pass --monitors (e.g. -m exec,syscall)`);
  }
  const real = await detectCapabilities({ bpftrace: config.runtime.bpftrace, mount: opts.mount });
  const caps = opts.assumeCapable ? idealCapabilities(real) : real;
  const plan = buildPlan(config, selected, caps, opts.scope);
  const scripts = plan.processes.map((p) => composeScript(p, { bpftraceVersion: caps.bpftrace.version, kernel: caps.kernel, runtime: config.runtime }));
  return { configFile, config, selected, caps, plan, scripts };
}

/** What `start` cannot do without: root, bpftrace, tracefs. */
export function requireRunnable(caps: Capabilities): void {
  if (!caps.root.ok) throw new EnvironmentError(caps.root.detail);
  if (!caps.bpftrace.path || !caps.bpftrace.version) throw new EnvironmentError(caps.bpftrace.detail);
  if (!caps.tracefs.path) throw new EnvironmentError(caps.tracefs.detail);
}
