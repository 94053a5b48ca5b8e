// open: file opens per process and path, with failures, from the syscalls tracepoints of open, openat and openat2.
// The entry probe saves the filename POINTER (@open_fname[tid]); the exit probe reads the string with str(): by then
// the kernel has copied the path, so its page is resident and the name is never empty (reading at entry can fail).
// Key layout: a map key may hold one free-text part, last, and a filename is free text. So the counts are keyed
// [pid, failed, filename] (failed: 1 when the open returned an error), one map update per open whether it failed
// or not, and the process name comes from a second map @open_comm[pid, comm] = count() (opens per pid and comm). A map with string values (@m[pid] = comm) would print {"123": "bash"}, which the JSON reader refuses.
// Caveats: a row's comm is the name that made most of that pid's opens in the interval (threads with other names,
// or an exec mid-interval, are folded into it). open carries paths, so it runs with long strings (pathStrlen:
// str() keeps 175 bytes), a longer path is cut and marked so (see src/records/text.ts); path_prefix is at most
// 63 characters (bpftrace's longest string literal). open is absent on aarch64 and openat2 before 5.6:
// both are optional, and only the tracepoints the running kernel has get probes.
import { z } from 'zod';
import {
  baseOptions, cgroupOption, commFilter, defineMonitor, intervalOption, minCount, ratio, type Entry, type MonitorPlan, type Row,
  type TracepointNeed,
} from './types.js';
import { dotDotSegment, normalizePathPrefix, pathPattern, quote } from '../script/literals.js';
import { cgroupPart, del, helperMap, int, keyOf, local, pidPart, probe, resultMap, set, text, update, when, type Stmt } from '../script/ir.js';

/** Longest prefix: bpftrace 0.17 refuses a string literal over 64 bytes (with its NUL), whatever BPFTRACE_STRLEN. */
const MAX_PREFIX = 63;

export const openOptions = z.strictObject({
  ...baseOptions,
  ...intervalOption,
  min_count: minCount(),
  comm: commFilter(),
  ...cgroupOption,
  // A literal prefix of the path as the process passed it to open (never resolved by the kernel): written the way
  // paths usually are (`//`, `/./` collapsed), without `..`.
  path_prefix: z
    .string()
    .regex(pathPattern, { error: 'expected an absolute path prefix of letters, digits or _./+@%=,:~- characters' })
    .refine((p) => !dotDotSegment.test(p), { error: 'expected a prefix without ".." (it is compared as written, never resolved)' })
    .transform(normalizePathPrefix)
    .pipe(z.string().max(MAX_PREFIX, { error: `expected at most ${MAX_PREFIX} characters (bpftrace 0.17's longest string literal)` }))
    .optional(),
});
export type OpenOptions = z.infer<typeof openOptions>;

export interface OpenRow extends Row {
  timestamp: string;
  pid: number;
  comm: string;
  filename: string;
  count: number;
  error_count: number;
  error_rate: number;
  /** cgroup v2 id (option `cgroup`), replaced by its path before output; else null. */
  cgroup: string | null;
}

// One map for opens and failed opens: a separate errors map cost a second update, hashing the pid and the whole
// 176-byte path again, on every failed open, and a compile fails most of its opens (its header search).
const opens = resultMap(
  '@open_count',
  keyOf(pidPart(), int('failed', '$failed'), text('filename', '$f', { fromStr: true })),
  'count',
  'opens completed, by process, outcome (failed: 1 when the open returned an error, ret < 0) and path',
);
/** Opens per process and comm (with the cgroup option, per process, cgroup and comm): names the rows. */
const commMap = (opts: { cgroup: boolean }) =>
  resultMap('@open_comm', keyOf(pidPart(), ...cgroupPart(opts), text('comm', 'comm')), 'count', 'opens per process and comm: names the rows');
const fname = helperMap('@open_fname', ['tid'], 'args->filename', 'the filename pointer saved at entry, per thread');

/** The syscalls this monitor traces; `optional` ones may be missing on some kernels or architectures. */
const syscalls = [
  { name: 'open', optional: true },
  { name: 'openat', optional: false },
  { name: 'openat2', optional: true },
] as const;

/** The syscalls whose entry and exit tracepoints are both in the plan. */
const planned = (plan: MonitorPlan): string[] =>
  syscalls
    .map((s) => s.name)
    .filter((s) => `syscalls:sys_enter_${s}` in plan.tracepointFields && `syscalls:sys_exit_${s}` in plan.tracepointFields);

/** pid -> the comm (and cgroup) that made most of its opens (ties: the smaller name, so the choice is deterministic). */
function commByPid(entries: readonly Entry<'pid' | 'cgroup' | 'comm'>[]): Map<string, { comm: string; cgroup: string | null }> {
  const best = new Map<string, { comm: string; cgroup: string | null; n: number }>();
  for (const { key, value } of entries) {
    const cur = best.get(key.pid);
    if (!cur || value > cur.n || (value === cur.n && key.comm < cur.comm)) best.set(key.pid, { comm: key.comm, cgroup: key.cgroup ?? null, n: value });
  }
  return new Map([...best].map(([pid, b]) => [pid, { comm: b.comm, cgroup: b.cgroup }]));
}

export const open = defineMonitor<OpenOptions, OpenRow>({
  name: 'open',
  mode: 'aggregate',
  summary: 'File opens and failed opens per process and path',
  cost: {
    class: 'high',
    note: 'every open(at) on the host: about 1.2 us in the kernel per open at exit (path copied, one count keyed by pid, outcome and up to 176 bytes of path, one by pid and comm) and 0.2 us at entry, and one row per process and path in each interval; build workload alone: +5.1 % wall (before the errors map was folded in)',
    // The build's exit 1,502 + entry 222 (with the separate errors map), less the 17 % that folding it in saved on
    // gcc compiles (2,180 -> 1,810 ns per open, entry and exit, 4 interleaved pairs).
    nsPerEvent: 1_450,
    event: 'open (entry and exit)',
    rate: { tracepoints: ['syscalls:sys_exit_open', 'syscalls:sys_exit_openat', 'syscalls:sys_exit_openat2'] },
  },
  options: openOptions,
  variants: () => [
    {
      name: 'tracepoint',
      description: 'tracepoints syscalls:sys_enter/sys_exit of open, openat and openat2 (where present)',
      needs: syscalls.flatMap((s): TracepointNeed[] => [
        { kind: 'tracepoint', category: 'syscalls', event: `sys_enter_${s.name}`, fields: ['filename'], optional: s.optional },
        { kind: 'tracepoint', category: 'syscalls', event: `sys_exit_${s.name}`, fields: ['ret'], optional: s.optional },
      ]),
    },
  ],
  generate(opts, plan) {
    const enter = opts.comm ? [`comm == ${quote(opts.comm)}`] : [];
    const prefix = opts.path_prefix;
    // path_prefix is compared at entry, and only a matching open is remembered: in the exit probe the comparison's
    // literal, the 176-byte path and the map keys overflow the 512-byte BPF stack (bpftrace -d: any prefix over
    // 15 bytes). The price: an open whose path cannot be read at entry (paged out) is not counted when a prefix
    // is set.
    const remember: Stmt[] = prefix
      ? [local('$ptr', 'args->filename'), when(`strncmp(str($ptr), ${quote(prefix)}, ${Buffer.byteLength(prefix)}) == 0`, [set(fname, ['tid'], '$ptr')])]
      : [set(fname, ['tid'], 'args->filename')];
    const probes = planned(plan).flatMap((s) => [
      probe(`tracepoint:syscalls:sys_enter_${s}`, remember, enter),
      probe(
        `tracepoint:syscalls:sys_exit_${s}`,
        [
          local('$f', `str(${fname.at('tid')})`),
          del(fname, ['tid']),
          local('$failed', 'args->ret < 0 ? 1 : 0'),
          update(opens),
          update(commMap(opts)),
        ],
        [fname.at('tid')],
      ),
    ]);
    return { probes, results: [opens, commMap(opts)], helpers: [fname], events: [] };
  },
  parse(rec, ctx, opts) {
    if (rec.kind !== 'interval') return [];
    const comms = commByPid(rec.entries(commMap(opts)));
    // A process and path: its opens that succeeded and those that failed, two entries, one row.
    const byPath = new Map<string, OpenRow>();
    for (const { key, value } of rec.entries(opens)) {
      const id = `${key.pid}\0${key.filename}`;
      let row = byPath.get(id);
      if (!row) {
        const named = comms.get(key.pid);
        row = { timestamp: ctx.timestamp, pid: Number(key.pid), comm: named?.comm ?? '', filename: key.filename, count: 0, error_count: 0, error_rate: 0, cgroup: named?.cgroup ?? null };
        byPath.set(id, row);
      }
      row.count += value;
      if (key.failed !== '0') row.error_count += value;
    }
    const rows: OpenRow[] = [];
    for (const row of byPath.values()) {
      if (row.count < opts.min_count) continue;
      row.error_rate = ratio(row.error_count, row.count);
      rows.push(row);
    }
    // Busiest first; rows of equal count and pid keep the map's order (comparing paths was a seventh of the
    // supervisor's CPU on a grep -r: thousands of count-1 rows of one process, long shared prefixes).
    return rows.sort((a, b) => b.count - a.count || a.pid - b.pid);
  },
  paths: true,
  columns: ['timestamp', 'pid', 'comm', 'filename', 'count', 'error_count', 'error_rate', 'cgroup'],
  metrics: [
    { name: 'ebpfmon_opens_total', help: 'File opens, per command (the busiest of each scrape window; the rest in comm="other"; filenames are never labels).', labels: { comm: 'comm', cgroup: 'cgroup' }, value: 'count' },
    { name: 'ebpfmon_open_errors_total', help: 'Failed file opens, per command (the busiest of each scrape window; the rest in comm="other").', labels: { comm: 'comm', cgroup: 'cgroup' }, value: 'error_count' },
  ],
  consoleLine: (r) =>
    `${r.timestamp}  open     pid=${String(r.pid).padEnd(7)} ${r.comm.padEnd(15)} count=${String(r.count).padStart(6)} errors=${String(r.error_count).padStart(6)} (${(r.error_rate * 100).toFixed(1)}%) ${r.filename}`,
});
