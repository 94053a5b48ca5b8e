// config + capabilities -> Plan: per monitor a verdict (ready, fallback, unavailable) and the bpftrace processes.
import type { Capabilities } from './capabilities.js';
import type { Config } from '../config/schema.js';
import { defaultInterval, defaultStrlen, pathStrlen, type BaseOptions, type Monitor, type MonitorPlan, type ProbeNeed, type Row, type Variant } from '../monitors/types.js';
import { findMonitor } from '../monitors/registry.js';
import type { Layout } from '../bt/render.js';
import { aotMapKeys } from '../process/aot.js';
import type { BpftraceFeatures } from '../bt/features.js';
import { hostScope, type Scope } from '../bt/ir.js';

export type VerdictStatus = 'ready' | 'fallback' | 'unavailable';

export interface Verdict {
  monitor: string;
  status: VerdictStatus;
  /** ready/fallback: the variant chosen and why the better ones were not. */
  variant: string | null;
  detail: string;
  /** Why each variant tried before the chosen one (or every variant, when unavailable) could not be used. */
  reasons: string[];
}

export interface PlannedMonitor {
  monitor: Monitor<BaseOptions, Row>;
  opts: BaseOptions;
  plan: MonitorPlan;
}

/** One bpftrace process: `main` when monitors share a process, else the monitor's own name. */
export interface ProcessPlan {
  id: string;
  monitors: PlannedMonitor[];
  /** BPFTRACE_STRLEN of this process (see Monitor.paths). */
  strlen: number;
  /** It will be compiled ahead of time and run in bpftrace-aotrt (see `processAheadOfTime`). */
  aheadOfTime: boolean;
  /** How its result maps are laid out (see src/bt/render.ts). */
  layout: Layout;
  /** What the bpftrace that runs it can do: its environment names and how free text travels in map keys. */
  bt: BpftraceFeatures;
  /** The processes it counts (`--pid`, `--comm`, `run`): compose adds the test to every per-process probe. */
  scope: Scope;
}

export interface Plan {
  verdicts: Verdict[];
  processes: ProcessPlan[];
}

/** Why a need cannot be met on this machine, or the symbol chosen for a kprobe need. */
function checkNeed(need: ProbeNeed, caps: Capabilities): { ok: true; symbol?: string; fields?: readonly string[] } | { ok: false; why: string } {
  if (caps.assumeAll) {
    return need.kind === 'kprobe' ? { ok: true, symbol: need.symbols[0] ?? '' } : { ok: true, fields: caps.tracepoint(need.category, need.event) ?? need.fields };
  }
  if (need.kind === 'kprobe') {
    if (!caps.kprobes.ok) return { ok: false, why: `kprobes unavailable: ${caps.kprobes.detail}` };
    if (!need.symbols.length) return { ok: false, why: 'no kernel function configured' };
    for (const s of need.symbols) if (caps.symbols(s).length) return { ok: true, symbol: s };
    return { ok: false, why: `kernel function not found: ${need.symbols.join(' or ')} (not in available_filter_functions or kallsyms)` };
  }
  const fields = caps.tracepoint(need.category, need.event);
  if (fields === null) {
    return { ok: false, why: caps.tracefs.denied ? `tracepoint ${need.category}:${need.event}: ${caps.tracefs.denied}` : `tracepoint ${need.category}:${need.event} does not exist on this kernel` };
  }
  const missing = need.fields.filter((f) => !fields.includes(f));
  if (missing.length) {
    return { ok: false, why: `tracepoint ${need.category}:${need.event} lacks field(s) ${missing.join(', ')} on this kernel` };
  }
  return { ok: true, fields };
}

function tryVariant(v: Variant, caps: Capabilities, aot: boolean): { plan: Omit<MonitorPlan, 'interval'> } | { why: string } {
  if (v.aheadOfTimeOnly && !aot) return { why: 'used only for ahead-of-time runs (runtime.aot on and bpftrace-aotrt installed)' };
  const symbols: Record<string, string> = {};
  const tracepointFields: Record<string, readonly string[]> = {};
  for (const need of v.needs) {
    const r = checkNeed(need, caps);
    if (!r.ok) {
      if (need.kind === 'tracepoint' && need.optional) continue;
      return { why: r.why };
    }
    if (need.kind === 'kprobe' && r.symbol) symbols[need.symbols[0] ?? r.symbol] = r.symbol;
    if (need.kind === 'tracepoint' && r.fields) tracepointFields[`${need.category}:${need.event}`] = r.fields;
  }
  return { plan: { variant: v.name, symbols, tracepointFields, bt: caps.bpftrace.features } };
}

/** Whether scripts will run ahead of time: asked for (runtime.aot) and bpftrace-aotrt is installed. */
export const aheadOfTime = (config: Config, caps: Capabilities): boolean => config.runtime.aot && !!caps.bpftrace.aotrt;

/**
 * Whether the monitor's chosen variant must run in bpftrace: it attaches kprobes (they could not be tried ahead of
 * time on the machine this was built on) or reads what `bpftrace --aot` refuses (Variant.bpftraceOnly).
 */
export const needsBpftrace = (p: PlannedMonitor): boolean => {
  const v = p.monitor.variants(p.opts).find((x) => x.name === p.plan.variant);
  return !!v && (v.bpftraceOnly === true || v.needs.some((n) => n.kind === 'kprobe'));
};

/**
 * Whether a process runs ahead of time: asked for, bpftrace-aotrt installed, and no monitor in it that needs
 * bpftrace itself (a kprobe variant, or one reading curtask such as exec's arguments): such a process runs in bpftrace.
 */
export const processAheadOfTime = (config: Config, caps: Capabilities, monitors: readonly PlannedMonitor[]): boolean =>
  aheadOfTime(config, caps) && !monitors.some(needsBpftrace);

/**
 * How a process's result maps are laid out (see src/bt/render.ts). bpftrace-aotrt gives every map 4,096 keys,
 * so ahead of time a per-process map is split into enough shards (a power of two) to hold runtime.map_keys_max keys;
 * bpftrace itself sizes maps by BPFTRACE_MAP_KEYS_MAX, so one map does.
 */
export function layoutFor(config: Config, aot: boolean): Layout {
  const shards = aot ? 2 ** Math.ceil(Math.log2(Math.max(1, config.runtime.map_keys_max / aotMapKeys))) : 1;
  return { double: config.runtime.double_buffer, shards };
}

/** A process for these monitors: its string size, runtime and map layout. */
export function processPlan(id: string, monitors: PlannedMonitor[], config: Config, caps: Capabilities, scope: Scope = hostScope): ProcessPlan {
  const aot = processAheadOfTime(config, caps, monitors);
  return { id, monitors, strlen: monitors.some((m) => m.monitor.paths) ? pathStrlen : defaultStrlen, aheadOfTime: aot, layout: layoutFor(config, aot), bt: caps.bpftrace.features, scope };
}

/** Keys one map of a process holds: the figure `check` states and the router tests saturation against. */
export const mapCapacity = (config: Config, caps: Capabilities): number => (aheadOfTime(config, caps) ? aotMapKeys : config.runtime.map_keys_max);

/** The verdict for one monitor, and its plan when it can run. */
export function planMonitor(
  monitor: Monitor<BaseOptions, Row>,
  opts: BaseOptions,
  caps: Capabilities,
  aot: boolean,
): { verdict: Verdict; plan: MonitorPlan | null } {
  const reasons: string[] = [];
  const variants = monitor.variants(opts);
  for (const [i, v] of variants.entries()) {
    const r = tryVariant(v, caps, aot);
    if ('why' in r) {
      reasons.push(`${v.name}: ${r.why}`);
      continue;
    }
    const status: VerdictStatus = i === 0 ? 'ready' : 'fallback';
    return {
      verdict: {
        monitor: monitor.name,
        status,
        variant: v.name,
        detail: status === 'ready' ? v.description : `${v.description} (fallback: ${reasons.join('; ')})`,
        reasons,
      },
      plan: { ...r.plan, interval: opts.interval ?? defaultInterval },
    };
  }
  return {
    verdict: { monitor: monitor.name, status: 'unavailable', variant: null, detail: reasons.join('; '), reasons },
    plan: null,
  };
}

/** Plans the selected monitors; unavailable ones get a verdict and no process. */
export function buildPlan(config: Config, selected: readonly string[], caps: Capabilities, scope: Scope = hostScope): Plan {
  const verdicts: Verdict[] = [];
  const planned: PlannedMonitor[] = [];
  for (const name of selected) {
    const monitor = findMonitor(name);
    if (!monitor) continue;
    const opts = config.monitors[name] ?? monitor.options.parse({});
    const { verdict, plan } = planMonitor(monitor, opts, caps, aheadOfTime(config, caps));
    verdicts.push(verdict);
    if (plan) planned.push({ monitor, opts, plan });
  }
  // Monitors share a process by string size: those that carry paths run with long strings, in a process of their own.
  const groups = [
    { id: 'main', monitors: planned.filter((p) => !p.monitor.paths) },
    { id: 'paths', monitors: planned.filter((p) => p.monitor.paths) },
  ];
  const processes: ProcessPlan[] = config.runtime.shared_process
    ? groups.filter((g) => g.monitors.length).map((g) => processPlan(g.id, g.monitors, config, caps, scope))
    : planned.map((p) => processPlan(p.monitor.name, [p], config, caps, scope));
  return { verdicts, processes };
}
