// func: call counts of configured kernel functions, through kprobes (one attach point per configured name).
// Key layout. Without per_process the key is [func]; with it, [pid, func, comm]. `func` is bpftrace's builtin of type
// ksym: an address in the kernel, printed by bpftrace as the bare symbol name (seen in 0.17 JSON: "7687,process_timeout,bash").
// Kernel symbol names are [A-Za-z0-9_.] and never hold a ",", so `func` splits like an integer part and comm stays the
// one free-text part, last. `func` (rather than an index into the configured list) is what makes `*` patterns work:
// it names the function that fired, not the pattern that matched it.
// A function matched by two configured patterns gets two attach points and is counted twice: patterns should not
// overlap (exact duplicates are refused).
import { z } from 'zod';
import { baseOptions, cgroupOption, defineMonitor, intervalOption, type Row } from './types.js';
import { kernelSymbolPattern } from '../bt/literals.js';
import { cgroupPart, inTask, keyOf, pidPart, probe, resultMap, text, update, word } from '../bt/ir.js';

const symbolError = 'expected a kernel function name (letters, digits, _ and .; * as a wildcard), e.g. vfs_read or tcp_*';

const kernelFunction = z
  .string({ error: symbolError })
  .regex(kernelSymbolPattern, { error: symbolError })
  // `*` or `a*` would attach to thousands of functions.
  .refine((s) => s.replace(/\*/g, '').length >= 3, { error: 'a pattern needs at least 3 characters besides *' });

export const funcOptions = z
  .strictObject({
    ...baseOptions,
    ...intervalOption,
    functions: z.array(kernelFunction, { error: 'expected a list of kernel function names' }).default([]),
    per_process: z.boolean({ error: 'expected true or false' }).default(false),
    /** With per_process: also key by cgroup. */
    ...cgroupOption,
  })
  .superRefine((o, ctx) => {
    if (o.enabled && o.functions.length === 0) {
      ctx.addIssue({
        code: 'custom',
        path: ['functions'],
        input: o.functions,
        message: 'expected at least one kernel function name when func is enabled (e.g. functions: [vfs_read])',
      });
    }
    const seen = new Set<string>();
    for (const [i, f] of o.functions.entries()) {
      if (seen.has(f)) ctx.addIssue({ code: 'custom', path: ['functions', i], input: f, message: `${f} is listed twice` });
      seen.add(f);
    }
  });
export type FuncOptions = z.infer<typeof funcOptions>;

export interface FuncRow extends Row {
  timestamp: string;
  /** 0 when per_process is false. */
  pid: number;
  /** Empty when per_process is false. */
  comm: string;
  function: string;
  count: number;
  /** cgroup v2 id (options per_process and cgroup), replaced by its path before output; else null. */
  cgroup: string | null;
}

/** Keyed [func], or with per_process [pid, func, comm] ([pid, func, cgroup, comm] with the cgroup option). */
const countMap = (opts: { per_process: boolean; cgroup: boolean }) =>
  resultMap(
    '@func_count',
    opts.per_process ? keyOf(pidPart(), word('func', 'func'), ...cgroupPart(opts), text('comm', 'comm')) : keyOf(word('func', 'func')),
    'count',
    'calls per kernel function',
  );

/** The attach points: each name must still match the symbol pattern, whatever the plan says. */
function attachPoints(opts: FuncOptions, symbols: Readonly<Record<string, string>>): string[] {
  return opts.functions.map((f) => {
    const s = symbols[f] ?? f;
    if (!kernelSymbolPattern.test(s)) throw new Error(`refusing kernel symbol for a bpftrace script: ${JSON.stringify(s)}`);
    return `kprobe:${s}`;
  });
}

export const func = defineMonitor<FuncOptions, FuncRow>({
  name: 'func',
  mode: 'aggregate',
  summary: 'Call counts of configured kernel functions (kprobes)',
  cost: {
    class: 'varies',
    note: 'one kprobe hit per call of each configured function: cost follows their call rates (a hot function such as vfs_read fires like a syscall); not forecast: its rate depends on the functions chosen',
    nsPerEvent: null,
    event: 'function call',
    rate: null,
  },
  options: funcOptions,
  variants: (opts) => [
    {
      name: 'kprobe',
      description: `kprobes on ${opts.functions.join(', ') || '(none: monitors.func.functions is empty)'}`,
      // An empty list still needs kprobes, so the plan reports the monitor unavailable rather than ready.
      needs: opts.functions.length
        ? opts.functions.map((f) => ({ kind: 'kprobe' as const, symbols: [f] }))
        : [{ kind: 'kprobe' as const, symbols: [] }],
    },
  ],
  generate(opts, plan) {
    const points = attachPoints(opts, plan.symbols);
    // Nothing to probe: the monitor only ticks (bpftrace refuses to print a map that is never assigned).
    if (!points.length) return { probes: [], results: [], helpers: [], events: [] };
    const count = countMap(opts);
    return { probes: [inTask(probe(points, [update(count)]))], results: [count], helpers: [], events: [] };
  },
  parse(rec, ctx, opts) {
    if (rec.kind !== 'interval') return [];
    const rows: FuncRow[] = [];
    for (const { key, value } of rec.entries(countMap(opts))) {
      rows.push({
        timestamp: ctx.timestamp,
        pid: Number(key.pid ?? 0),
        comm: key.comm ?? '',
        function: key.func,
        count: value,
        cgroup: opts.per_process && opts.cgroup ? key.cgroup : null,
      });
    }
    return rows.sort((a, b) => b.count - a.count || a.function.localeCompare(b.function) || a.pid - b.pid);
  },
  columns: ['timestamp', 'pid', 'comm', 'function', 'count', 'cgroup', 'pod_uid', 'container_id'],
  metrics: [
    { name: 'ebpfmon_function_calls_total', help: 'Calls of configured kernel functions, per function (all processes).', labels: { function: 'function' }, bounds: (_machine, opts) => ({ function: Math.max(1, opts.functions.length) }), value: 'count' },
    // With per_process only (rows without a comm feed no per-process metric).
    { name: 'ebpfmon_process_function_calls_total', help: 'Calls of configured kernel functions, per command (the busiest of each scrape window; the rest in comm="other").', labels: { comm: 'comm', cgroup: 'cgroup' }, value: 'count' },
  ],
  consoleLine: (r) =>
    `${r.timestamp}  func     ${r.pid ? `pid=${String(r.pid).padEnd(7)} ${r.comm.padEnd(15)} ` : ''}${r.function.padEnd(32)} count=${String(r.count).padStart(8)}`,
});
