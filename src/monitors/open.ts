// open: file opens per process and path, with failures, from the syscalls tracepoints of open, openat and openat2.
// The entry probe saves the filename POINTER (@open_fname[tid]); the exit probe reads the string with str(): by then
// the kernel has copied the path, so its page is resident and the name is never empty (reading at entry can fail).
// Key layout: a map key may hold one free-text part, last, and a filename is free text. So the counts are keyed
// [pid, failed, filename] (failed: 1 when the open returned an error), one map update per open whether it failed
// or not, and the process name comes from a second map @open_comm[pid, failed, comm] = count() (opens per pid,
// outcome and comm). A map with string values (@m[pid] = comm) would print {"123": "bash"}, which the JSON reader refuses.
// Exact totals, folded detail: @open_comm has a key per process (and name and outcome), so it holds every process
// whatever the paths; @open_count has one per process and path, and one process opening many distinct paths (grep -r,
// find, a compiler's header search) fills it. Its updates beyond are dropped in the kernel, but @open_comm counted
// them: each process's opens and failures that no path row shows (and those of rows under min_count) are written as
// one row of that process with filename "[other paths]" and folded = 1. Per process, path rows + folded row = exact
// totals; only a full @open_comm (more processes than it holds) loses counts, and that interval is marked.
// Caveats: a row's comm is the name that made most of that pid's opens in the interval (threads with other names,
// or an exec mid-interval, are folded into it). open carries paths, so it runs with long strings (pathStrlen:
// str() keeps 175 bytes), a longer path is cut and marked so (see src/bt/text.ts); path_prefix is at most
// 63 characters (bpftrace's longest string literal). open is absent on aarch64 and openat2 before 5.6:
// both are optional, and only the tracepoints the running kernel has get probes.
import { z } from 'zod';
import {
  baseOptions, cgroupOption, commFilter, defineMonitor, intervalOption, minCount, ratio, sumTally, type Entry, type MonitorPlan, type Row,
  type TracepointNeed,
} from './types.js';
import { dotDotSegment, normalizePathPrefix, pathPattern, quote } from '../bt/literals.js';
import { cgroupPart, del, helperMap, inTask, int, keyOf, local, pidPart, probe, resultMap, set, text, update, when, type Stmt } from '../bt/ir.js';

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
  /**
   * 1 on the row that holds this process's opens whose paths were not kept (the path map was full, or a path had
   * fewer than min_count opens): its filename is `[other paths]`; 0 on a row of one path.
   */
  folded: number;
}

/** The filename of a process's folded row (folded = 1, which is what says so: a real relative path could read the same). */
export const foldedPath = '[other paths]';

// One map for opens and failed opens: a separate errors map cost a second update, hashing the pid and the whole
// 176-byte path again, on every failed open, and a compile fails most of its opens (its header search).
const opens = resultMap(
  '@open_count',
  keyOf(pidPart(), int('failed', '$failed'), text('filename', '$f', { fromStr: true })),
  'count',
  'opens completed, by process, outcome (failed: 1 when the open returned an error, ret < 0) and path; when full, the rest is folded (from @open_comm) into a row "[other paths]"',
  { folds: true },
);
/**
 * Opens per process, outcome and comm (with the cgroup option, per process, cgroup, outcome and comm): each
 * process's exact totals, and the name of its rows. Same update count as before it held the outcome: one per open.
 */
const commMap = (opts: { cgroup: boolean }) =>
  resultMap(
    '@open_comm',
    keyOf(pidPart(), ...cgroupPart(opts), int('failed', '$failed'), text('comm', 'comm')),
    'count',
    'opens per process, outcome and comm: exact per-process totals, and the rows\' comm',
  );
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
function commByPid(entries: readonly Entry<'pid' | 'cgroup' | 'failed' | 'comm'>[]): Map<string, { comm: string; cgroup: string | null }> {
  // A name's opens are two entries (succeeded, failed): added up first.
  const byName = new Map<string, { pid: string; comm: string; cgroup: string | null; n: number }>();
  for (const { key, value } of entries) {
    const id = `${key.pid}\0${key.cgroup ?? ''}\0${key.comm}`;
    const cur = byName.get(id);
    if (cur) cur.n += value;
    else byName.set(id, { pid: key.pid, comm: key.comm, cgroup: key.cgroup ?? null, n: value });
  }
  const best = new Map<string, { comm: string; cgroup: string | null; n: number }>();
  for (const e of byName.values()) {
    const cur = best.get(e.pid);
    if (!cur || e.n > cur.n || (e.n === cur.n && e.comm < cur.comm)) best.set(e.pid, e);
  }
  return new Map([...best].map(([pid, b]) => [pid, { comm: b.comm, cgroup: b.cgroup }]));
}

export const open = defineMonitor<OpenOptions, OpenRow>({
  name: 'open',
  mode: 'aggregate',
  summary: 'File opens and failed opens per process and path',
  cost: {
    class: 'high',
    note: 'every open(at) on the host: about 1.2 us in the kernel per open at exit (path copied, one count keyed by pid, outcome and up to 176 bytes of path, one by pid, outcome and comm: the exact per-process totals) and 0.2 us at entry, and one row per process and path in each interval; build workload alone: +5.1 % wall (before the errors map was folded in)',
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
      // Only an open remembered at entry is counted at exit: the run's process scope is tested at entry alone.
      inTask(probe(`tracepoint:syscalls:sys_enter_${s}`, remember, enter)),
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
    const perProcess = rec.entries(commMap(opts));
    const comms = commByPid(perProcess);
    // Each process's exact totals (every comm and outcome of the pid).
    const totals = new Map<string, { count: number; errors: number }>();
    for (const { key, value } of perProcess) {
      const t = totals.get(key.pid) ?? { count: 0, errors: 0 };
      t.count += value;
      if (key.failed !== '0') t.errors += value;
      totals.set(key.pid, t);
    }
    // A process and path: its opens that succeeded and those that failed, two entries, one row.
    const byPath = new Map<string, OpenRow>();
    const newRow = (pid: string, filename: string, folded: number): OpenRow => {
      const named = comms.get(pid);
      return { timestamp: ctx.timestamp, pid: Number(pid), comm: named?.comm ?? '', filename, count: 0, error_count: 0, error_rate: 0, cgroup: named?.cgroup ?? null, folded };
    };
    for (const { key, value } of rec.entries(opens)) {
      const id = `${key.pid}\0${key.filename}`;
      let row = byPath.get(id);
      if (!row) byPath.set(id, (row = newRow(key.pid, key.filename, 0)));
      row.count += value;
      if (key.failed !== '0') row.error_count += value;
    }
    // Per process: what its path rows hold (all of them, and those kept: min_count or more opens).
    const shown = new Map<string, { all: number; allErrors: number; kept: number; keptErrors: number }>();
    const rows: OpenRow[] = [];
    for (const row of byPath.values()) {
      const pid = String(row.pid);
      const s = shown.get(pid) ?? { all: 0, allErrors: 0, kept: 0, keptErrors: 0 };
      s.all += row.count;
      s.allErrors += row.error_count;
      shown.set(pid, s);
      if (row.count < opts.min_count) continue;
      s.kept += row.count;
      s.keptErrors += row.error_count;
      row.error_rate = ratio(row.error_count, row.count);
      rows.push(row);
    }
    // The folded row: a process's total less its kept path rows. The two maps are updated by one probe and printed
    // one after the other, so they agree but for an open in flight across the flip (microseconds): where the path
    // rows hold more than the total, the path rows count.
    for (const pid of new Set([...totals.keys(), ...shown.keys()])) {
      const t = totals.get(pid) ?? { count: 0, errors: 0 };
      const s = shown.get(pid) ?? { all: 0, allErrors: 0, kept: 0, keptErrors: 0 };
      const count = Math.max(t.count, s.all) - s.kept;
      if (count <= 0) continue;
      const row = newRow(pid, foldedPath, 1);
      row.count = count;
      row.error_count = Math.min(count, Math.max(t.errors, s.allErrors) - s.keptErrors);
      row.error_rate = ratio(row.error_count, row.count);
      rows.push(row);
    }
    // Busiest first; rows of equal count and pid keep the map's order (comparing paths was a seventh of the
    // supervisor's CPU on a grep -r: thousands of count-1 rows of one process, long shared prefixes).
    return rows.sort((a, b) => b.count - a.count || a.pid - b.pid);
  },
  paths: true,
  columns: ['timestamp', 'pid', 'comm', 'filename', 'count', 'error_count', 'error_rate', 'cgroup', 'pod_uid', 'container_id', 'folded'],
  metrics: [
    { name: 'ebpfmon_opens_total', help: 'File opens, per command (the busiest of each scrape window; the rest in comm="other"; filenames are never labels).', labels: { comm: 'comm', cgroup: 'cgroup' }, value: 'count' },
    { name: 'ebpfmon_open_errors_total', help: 'Failed file opens, per command (the busiest of each scrape window; the rest in comm="other").', labels: { comm: 'comm', cgroup: 'cgroup' }, value: 'error_count' },
  ],
  top: { counts: ['opens', 'openFailures'], of: (r) => ({ opens: r.count, openFailures: r.error_count }) },
  runSummary: {
    order: 2,
    tally: sumTally<OpenRow, 'count' | 'error_count'>(['count', 'error_count'], (s) => ({ count: s.count, what: `opens      (${s.error_count} failed)` })),
  },
  consoleLine: (r) =>
    `${r.timestamp}  open     pid=${String(r.pid).padEnd(7)} ${r.comm.padEnd(15)} count=${String(r.count).padStart(6)} errors=${String(r.error_count).padStart(6)} (${(r.error_rate * 100).toFixed(1)}%) ${r.folded ? `${foldedPath} (folded: paths not kept)` : r.filename}`,
});
