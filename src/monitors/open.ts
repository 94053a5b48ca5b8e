// open: file opens per process and path, with failures, from the syscalls tracepoints of open, openat and openat2.
// The entry probe saves the filename POINTER (@open_fname[tid]); the exit probe reads the string with str(): by then
// the kernel has copied the path, so its page is resident and the name is never empty (reading at entry can fail).
// Key layout: a map key may hold one free-text part, last, and a filename is free text. So the counts are keyed
// [pid, filename], and the process name comes from a third map @open_comm[pid, comm] = count() (opens per pid and
// comm). A map with string values (@m[pid] = comm) would print {"123": "bash"}, which the JSON reader refuses.
// Caveats: a row's comm is the name that made most of that pid's opens in the interval (threads with other names,
// or an exec mid-interval, are folded into it); str() reads at most BPFTRACE_STRLEN - 1 bytes (63 by default), so
// longer paths are cut, and so is path_prefix (<= 63 characters). open is absent on aarch64 and openat2 before 5.6:
// both are optional, and only the tracepoints the running kernel has get probes.
import { z } from 'zod';
import {
  baseOptions, cgroupOption, commFilter, defineMonitor, intervalOption, joinMaps, minCount, ratio, type MapContract, type MapEntry,
  type MonitorPlan, type Row, type TracepointNeed,
} from './types.js';
import { pathPattern, quote } from '../script/literals.js';
import { clearMaps, flushAndTick, predicate, tickContract } from '../script/fragment.js';

/** Longest prefix str() can compare against with bpftrace's default BPFTRACE_STRLEN of 64. */
const MAX_PREFIX = 63;

export const openOptions = z.strictObject({
  ...baseOptions,
  ...intervalOption,
  min_count: minCount(),
  comm: commFilter(),
  ...cgroupOption,
  path_prefix: z
    .string()
    .regex(pathPattern, { error: 'expected an absolute path prefix of letters, digits or _./+@%=,:~- characters' })
    .max(MAX_PREFIX, { error: `expected at most ${MAX_PREFIX} characters (bpftrace reads at most ${MAX_PREFIX} bytes of a path)` })
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

const key = ['pid', 'filename'] as const;
const maps = {
  count: { name: '@open_count', keys: key, value: 'count()', doc: 'opens completed (successful or not)' },
  errors: { name: '@open_errors', keys: key, value: 'count()', doc: 'opens that returned an error (ret < 0)' },
  comm: { name: '@open_comm', keys: ['pid', 'comm'], value: 'count()', doc: 'opens per process and comm: names the rows' },
} satisfies Record<string, MapContract>;
/** With the cgroup option the naming map also carries the cgroup id: [pid, cgroup, comm]. */
const commMap = (cgroup: boolean): MapContract =>
  cgroup ? { ...maps.comm, keys: ['pid', 'cgroup', 'comm'], doc: 'opens per process, cgroup and comm: names the rows' } : maps.comm;
const fname: MapContract = { name: '@open_fname', keys: ['tid'], value: 'args->filename', doc: 'helper: the filename pointer saved at entry, per thread' };

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
function commByPid(entries: readonly MapEntry[]): Map<string, { comm: string; cgroup: string | null }> {
  const best = new Map<string, { comm: string; cgroup: string | null; n: number }>();
  for (const { key, value } of entries) {
    const pid = key[0] ?? '';
    const comm = key[key.length - 1] ?? '';
    const cgroup = key.length === 3 ? (key[1] ?? null) : null;
    const cur = best.get(pid);
    if (!cur || value > cur.n || (value === cur.n && comm < cur.comm)) best.set(pid, { comm, cgroup, n: value });
  }
  return new Map([...best].map(([pid, b]) => [pid, { comm: b.comm, cgroup: b.cgroup }]));
}

export const open = defineMonitor<OpenOptions, OpenRow>({
  name: 'open',
  mode: 'aggregate',
  summary: 'File opens and failed opens per process and path',
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
    const enter = predicate(opts.comm ? [`comm == ${quote(opts.comm)}`] : []);
    const prefix = opts.path_prefix;
    const count = [
      '@open_count[pid, $f] = count();',
      opts.cgroup ? '@open_comm[pid, cgroup, comm] = count();' : '@open_comm[pid, comm] = count();',
      'if (args->ret < 0) { @open_errors[pid, $f] = count(); }',
    ];
    const body = prefix
      ? [`  if (strncmp($f, ${quote(prefix)}, ${Buffer.byteLength(prefix)}) == 0) {`, ...count.map((l) => `    ${l}`), '  }']
      : count.map((l) => `  ${l}`);
    const probes = planned(plan).flatMap((s) => [
      `tracepoint:syscalls:sys_enter_${s}${enter} {`,
      '  @open_fname[tid] = args->filename;',
      '}',
      `tracepoint:syscalls:sys_exit_${s} /@open_fname[tid]/ {`,
      '  $f = str(@open_fname[tid]);',
      '  delete(@open_fname[tid]);',
      ...body,
      '}',
    ]);
    const printed = [maps.count, maps.errors, commMap(opts.cgroup)];
    return {
      probes: probes.join('\n'),
      flush: flushAndTick('open', printed),
      cleanup: clearMaps([fname.name]),
      contract: { maps: [...printed, fname], printfs: [tickContract] },
    };
  },
  parse(rec, ctx, opts) {
    if (rec.kind !== 'interval') return [];
    const comms = commByPid(rec.maps.get(maps.comm.name) ?? []);
    const rows: OpenRow[] = [];
    for (const { key: [pid = '', filename = ''], values } of joinMaps(rec.maps, [maps.count.name, maps.errors.name]).values()) {
      const count = values[maps.count.name] ?? 0;
      if (count < opts.min_count) continue;
      const errors = values[maps.errors.name] ?? 0;
      rows.push({
        timestamp: ctx.timestamp,
        pid: Number(pid),
        comm: comms.get(pid)?.comm ?? '',
        filename,
        count,
        error_count: errors,
        error_rate: ratio(errors, count),
        cgroup: comms.get(pid)?.cgroup ?? null,
      });
    }
    return rows.sort((a, b) => b.count - a.count || a.pid - b.pid || (a.filename < b.filename ? -1 : a.filename > b.filename ? 1 : 0));
  },
  columns: ['timestamp', 'pid', 'comm', 'filename', 'count', 'error_count', 'error_rate', 'cgroup'],
  metrics: [
    { name: 'ebpfmon_opens_total', help: 'File opens, per command (filenames are not labels: unbounded).', labels: { comm: 'comm', cgroup: 'cgroup' }, value: 'count' },
    { name: 'ebpfmon_open_errors_total', help: 'Failed file opens, per command.', labels: { comm: 'comm', cgroup: 'cgroup' }, value: 'error_count' },
  ],
  consoleLine: (r) =>
    `${r.timestamp}  open     pid=${String(r.pid).padEnd(7)} ${r.comm.padEnd(15)} count=${String(r.count).padStart(6)} errors=${String(r.error_count).padStart(6)} (${(r.error_rate * 100).toFixed(1)}%) ${r.filename}`,
});
