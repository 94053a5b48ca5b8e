// syscall: per-process syscall counts, errors and (optionally) latency from the raw_syscalls tracepoints.
// Counting and error counting share the sys_exit probe; sys_enter is attached only when latency is asked for.
import { z } from 'zod';
import { baseOptions, cgroupOption, commFilter, defineMonitor, intervalOption, minCount, join, percentOf, ratio, type Machine, type Row } from './types.js';
import { categoryOf, syscallName, syscallTable } from './syscall-category.js';
import { quote } from '../bt/literals.js';
import { cgroupPart, del, inTask, helperMap, int, keyOf, local, pidPart, probe, resultMap, set, text, update, when } from '../bt/ir.js';

export const syscallOptions = z.strictObject({
  ...baseOptions,
  ...intervalOption,
  min_count: minCount(),
  comm: commFilter(),
  latency: z.boolean({ error: 'expected true or false' }).default(false),
  ...cgroupOption,
});
export type SyscallOptions = z.infer<typeof syscallOptions>;

export interface SyscallRow extends Row {
  timestamp: string;
  pid: number;
  comm: string;
  syscall_nr: number;
  syscall: string;
  category: string;
  count: number;
  error_count: number;
  error_rate: number;
  avg_latency_us: number | null;
  max_latency_us: number | null;
  /** cgroup v2 id from the kernel (option `cgroup`), replaced by its path before output; else null. */
  cgroup: string | null;
}

/** The maps, keyed [pid, nr, comm] or, with the cgroup option, [pid, nr, cgroup, comm]: comm (free text) last. */
function mapsFor(opts: { cgroup: boolean }) {
  const key = keyOf(pidPart(), int('nr', '$id'), ...cgroupPart(opts), text('comm', 'comm'));
  return {
    count: resultMap('@syscall_count', key, 'count', 'syscalls completed (the tracing bpftrace process left out)'),
    errors: resultMap('@syscall_errors', key, 'count', 'exits with -4095 <= ret < 0'),
    latSum: resultMap('@syscall_lat_ns', key, 'sum', 'total time in the syscall (ns)'),
    latMax: resultMap('@syscall_lat_max', key, 'max', 'longest time in the syscall (ns)'),
  };
}
const start = helperMap('@syscall_start', ['tid'], 'nsecs', 'entry time of the syscall in progress, per thread (latency: true)');

/** Every name in the table and "none" (-1 on sys_exit); the category is a function of the syscall. */
const syscallBounds = (machine: Machine) => ({ syscall: (syscallTable(machine.arch)?.size ?? 512) + 1, category: 1 });

export const syscall = defineMonitor<SyscallOptions, SyscallRow>({
  name: 'syscall',
  mode: 'aggregate',
  summary: 'Syscall counts, categories and error rates per process',
  cost: {
    class: 'high',
    note: 'every syscall on the host: about 270 ns in the kernel per syscall on a loop (one hot key) and 400 on a build (new keys all the time), against about 95 ns for a bare count() on the same tracepoint',
    // Its programs alone on the build workload (forecast bench, 3 rounds): 387-400 ns per syscall, once the shard is
    // read once per event and the tracer's own syscalls are filtered in user space (424 before). A getppid loop
    // gives about 270: one hot key, where a build keeps inserting new [pid, nr, comm] keys.
    nsPerEvent: 400,
    event: 'syscall',
    rate: { tracepoints: ['raw_syscalls:sys_exit'] },
  },
  options: syscallOptions,
  variants: (opts) => [
    {
      name: 'tracepoint',
      description: 'tracepoint raw_syscalls:sys_exit' + (opts.latency ? ' and sys_enter' : ''),
      needs: [
        { kind: 'tracepoint', category: 'raw_syscalls', event: 'sys_exit', fields: ['id', 'ret'] },
        ...(opts.latency
          ? [{ kind: 'tracepoint' as const, category: 'raw_syscalls', event: 'sys_enter', fields: ['id'] }]
          : []),
      ],
    },
  ],
  generate(opts) {
    // bpftrace's own syscalls (printing and clearing these maps: thousands a second on a busy host) are counted in
    // the kernel and their rows left out in parse (ctx.tracer). A filter here, `pid != @ebpfmon_self[0]`, was a map
    // lookup on every syscall of the host: 38 ns of 283 per getppid (bpf_stats, 4 interleaved rounds), where
    // counting the tracer's own syscalls costs in proportion to the keys printed, not to the host's syscalls.
    const filter = opts.comm ? [`comm == ${quote(opts.comm)}`] : [];
    const maps = mapsFor(opts);
    // Counting and error counting share the sys_exit probe: every attached program runs on every syscall.
    const exit = inTask(probe('tracepoint:raw_syscalls:sys_exit', [
      local('$id', 'args->id'),
      local('$ret', 'args->ret'),
      update(maps.count),
      when('$ret < 0 && $ret >= -4095', [update(maps.errors)]),
      ...(opts.latency
        ? [
            local('$start', start.at('tid')),
            when('$start != 0', [update(maps.latSum, 'nsecs - $start'), update(maps.latMax, 'nsecs - $start'), del(start, ['tid'])]),
          ]
        : []),
    ], filter));
    if (!opts.latency) return { probes: [exit], results: [maps.count, maps.errors], helpers: [], events: [] };
    return {
      probes: [inTask(probe('tracepoint:raw_syscalls:sys_enter', [set(start, ['tid'], 'nsecs')], filter)), exit],
      results: [maps.count, maps.errors, maps.latSum, maps.latMax],
      helpers: [start],
      events: [],
    };
  },
  parse(rec, ctx, opts) {
    if (rec.kind !== 'interval') return [];
    const rows: SyscallRow[] = [];
    for (const { key, v } of join(rec, mapsFor(opts))) {
      const count = v.count ?? 0;
      if (count < opts.min_count || Number(key.pid) === ctx.tracer) continue;
      const errors = v.errors ?? 0;
      const nr = Number(key.nr);
      const name = syscallName(ctx.arch, nr);
      rows.push({
        timestamp: ctx.timestamp,
        pid: Number(key.pid),
        comm: key.comm,
        syscall_nr: nr,
        syscall: name,
        category: nr < 0 ? 'other' : categoryOf(name),
        count,
        error_count: errors,
        error_rate: ratio(errors, count),
        avg_latency_us: v.latSum === undefined ? null : Math.round(v.latSum / count / 10) / 100,
        max_latency_us: v.latMax === undefined ? null : Math.round(v.latMax / 10) / 100,
        cgroup: opts.cgroup ? key.cgroup : null,
      });
    }
    return rows.sort((a, b) => b.count - a.count);
  },
  columns: [
    'timestamp', 'pid', 'comm', 'syscall_nr', 'syscall', 'category', 'count', 'error_count', 'error_rate',
    'avg_latency_us', 'max_latency_us', 'cgroup', 'pod_uid', 'container_id',
  ],
  metrics: [
    // Per syscall for the whole host, per command in total: comm x syscall would be (cap + 1) x ~360 series.
    { name: 'ebpfmon_syscalls_total', help: 'Syscalls completed, per syscall and category (all processes).', labels: { syscall: 'syscall', category: 'category' }, bounds: syscallBounds, value: 'count' },
    { name: 'ebpfmon_syscall_errors_total', help: 'Syscalls that returned an error, per syscall and category (all processes).', labels: { syscall: 'syscall', category: 'category' }, bounds: syscallBounds, value: 'error_count' },
    { name: 'ebpfmon_process_syscalls_total', help: 'Syscalls completed, per command (the busiest of each scrape window; the rest in comm="other").', labels: { comm: 'comm', cgroup: 'cgroup' }, value: 'count' },
    { name: 'ebpfmon_process_syscall_errors_total', help: 'Syscalls that returned an error, per command (the busiest of each scrape window; the rest in comm="other").', labels: { comm: 'comm', cgroup: 'cgroup' }, value: 'error_count' },
  ],
  top: { counts: ['syscalls', 'errors'], of: (r) => ({ syscalls: r.count, errors: r.error_count }) },
  runSummary: {
    order: 1,
    tally: () => {
      const byName = new Map<string, { count: number; errors: number }>();
      let count = 0;
      let errors = 0;
      return {
        add(r) {
          const s = byName.get(r.syscall) ?? { count: 0, errors: 0 };
          s.count += r.count;
          s.errors += r.error_count;
          byName.set(r.syscall, s);
          count += r.count;
          errors += r.error_count;
        },
        line(top) {
          const rows = [...byName].sort((a, b) => b[1].count - a[1].count || a[0].localeCompare(b[0])).slice(0, top);
          const table = rows.map(([name, s]) => `${percentOf(s.count, count).padStart(7)} ${String(s.count).padStart(10)} ${String(s.errors).padStart(10)}  ${name}`);
          return { count, what: `syscalls   (${errors} errors, ${percentOf(errors, count)})`, table: rows.length ? ['% calls      calls     errors  syscall', ...table] : [] };
        },
      };
    },
  },
  consoleLine: (r) =>
    `${r.timestamp}  syscall  pid=${String(r.pid).padEnd(7)} ${r.comm.padEnd(15)} ${r.syscall.padEnd(18)} ${r.category.padEnd(8)} count=${String(r.count).padStart(7)} errors=${String(r.error_count).padStart(6)} (${(r.error_rate * 100).toFixed(1)}%)`,
});
