// Fragments -> one standalone .bt script per bpftrace process.
import type { PlannedMonitor, ProcessPlan } from '../plan/plan.js';
import { doubleBuffer } from './double-buffer.js';
import { hoistArgs } from './probe-blocks.js';
import { renderHeader } from './header.js';
import { intervalProbe } from './literals.js';
import type { Fragment } from '../monitors/types.js';

export interface Script {
  /** `main`, or a monitor's name when it runs in its own process. */
  id: string;
  file: string;
  monitors: string[];
  text: string;
}

export interface ComposeContext {
  bpftraceVersion: string | null;
  kernel: string;
  env: Readonly<Record<string, string>>;
  /** Double-buffer the result maps of aggregate monitors (runtime.double_buffer). */
  doubleBuffer?: boolean;
}

/** Printed by BEGIN; the router takes it as proof that every probe is live. */
export const attachedMarker = 'ebpfmon\\tattached';

export const scriptFileName = (id: string): string => `ebpfmon-${id}.bt`;

/**
 * Environment bpftrace runs with: bigger maps than the 4096-key default, a bigger event buffer, and glibc's
 * allocator kept to one arena: what LLVM allocated to compile the script is freed into fewer, reusable places.
 * Measured on the full script: 42.6 MB anonymous RSS -> 36.0 MB, start-up unchanged (4 runs each).
 * (Adding trim_threshold=0 took 2 MB more but slowed start-up by about 60 ms.)
 */
export function bpftraceEnv(runtime: { map_keys_max: number; perf_rb_pages: number }): Record<string, string> {
  return {
    BPFTRACE_MAP_KEYS_MAX: String(runtime.map_keys_max),
    BPFTRACE_PERF_RB_PAGES: String(runtime.perf_rb_pages),
    GLIBC_TUNABLES: 'glibc.malloc.arena_max=1',
  };
}

/** A monitor's fragment as it goes into a script (and as the router must expect its output). */
export function fragmentOf(p: PlannedMonitor, double: boolean): Fragment {
  const f = p.monitor.generate(p.opts, p.plan);
  const d = double && p.monitor.mode === 'aggregate' ? doubleBuffer(p.monitor.name, f) : f;
  return { ...d, probes: hoistArgs(d.probes) };
}

export function composeScript(proc: ProcessPlan, ctx: ComposeContext): Script {
  const file = scriptFileName(proc.id);
  const parts = proc.monitors.map((p) => ({
    monitor: p.monitor,
    plan: p.plan,
    fragment: fragmentOf(p, ctx.doubleBuffer === true),
  }));
  const body: string[] = [
    renderHeader({ file, parts, ...ctx }),
    '',
    '// BEGIN fires once every probe is attached: ebpfmon reports "attached" on this line, not before.',
    `BEGIN { printf("${attachedMarker}\\n"); }`,
    '',
  ];
  for (const { monitor, fragment } of parts) {
    body.push(`// ---- ${monitor.name}: ${monitor.summary}`, fragment.probes, '');
  }
  // One interval probe per distinct period, flushing every monitor with that period.
  const byInterval = new Map<number, string[]>();
  for (const { monitor, plan, fragment } of parts) {
    if (monitor.mode !== 'aggregate' || !fragment.flush) continue;
    const list = byInterval.get(plan.interval) ?? [];
    list.push(fragment.flush);
    byInterval.set(plan.interval, list);
  }
  for (const [seconds, flushes] of byInterval) {
    body.push(`${intervalProbe(seconds)} {`, ...flushes, '}', '');
  }
  const endFlush = parts.filter((p) => p.monitor.mode === 'aggregate' && p.fragment.flush).map((p) => p.fragment.finalFlush ?? p.fragment.flush);
  const cleanups = parts.map((p) => p.fragment.cleanup).filter(Boolean);
  body.push('// The final partial interval, then clear helper maps so the exit dump prints nothing.');
  body.push('END {', ...endFlush, ...cleanups, '}', '');
  return { id: proc.id, file, monitors: proc.monitors.map((p) => p.monitor.name), text: body.join('\n') };
}
