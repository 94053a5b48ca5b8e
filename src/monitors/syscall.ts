// syscall: per-process syscall counts, errors and (optionally) latency from the raw_syscalls tracepoints.
// Counting and error counting share the sys_exit probe; sys_enter is attached only when latency is asked for.
import { z } from 'zod';
import { baseOptions, cgroupOption, commFilter, defineMonitor, intervalOption, minCount, joinMaps, ratio, type MapContract, type Row } from './types.js';
import { categoryOf, syscallName } from './syscall-category.js';
import { quote } from '../script/literals.js';
import { clearMaps, flushAndTick, predicate, tickContract } from '../script/fragment.js';

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
  const key = opts.cgroup ? (['pid', 'nr', 'cgroup', 'comm'] as const) : (['pid', 'nr', 'comm'] as const);
  return {
    count: { name: '@syscall_count', keys: key, value: 'count()', doc: 'syscalls completed' },
    errors: { name: '@syscall_errors', keys: key, value: 'count()', doc: 'exits with -4095 <= ret < 0' },
    latSum: { name: '@syscall_lat_ns', keys: key, value: 'sum(ns)', doc: 'total time in the syscall' },
    latMax: { name: '@syscall_lat_max', keys: key, value: 'max(ns)', doc: 'longest time in the syscall' },
  } satisfies Record<string, MapContract>;
}

export const syscall = defineMonitor<SyscallOptions, SyscallRow>({
  name: 'syscall',
  mode: 'aggregate',
  summary: 'Syscall counts, categories and error rates per process',
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
    const filter = predicate(opts.comm ? [`comm == ${quote(opts.comm)}`] : []);
    const k = opts.cgroup ? '[pid, args->id, cgroup, comm]' : '[pid, args->id, comm]';
    const maps = mapsFor(opts);
    const body = [
      `  @syscall_count${k} = count();`,
      `  if (args->ret < 0 && args->ret >= -4095) { @syscall_errors${k} = count(); }`,
    ];
    const probes: string[] = [];
    if (opts.latency) {
      probes.push(`tracepoint:raw_syscalls:sys_enter${filter} {`, '  @syscall_start[tid] = nsecs;', '}');
      body.push(
        '  $start = @syscall_start[tid];',
        '  if ($start != 0) {',
        `    @syscall_lat_ns${k} = sum(nsecs - $start);`,
        `    @syscall_lat_max${k} = max(nsecs - $start);`,
        '    delete(@syscall_start[tid]);',
        '  }',
      );
    }
    probes.push(`tracepoint:raw_syscalls:sys_exit${filter} {`, ...body, '}');
    const printed = opts.latency ? [maps.count, maps.errors, maps.latSum, maps.latMax] : [maps.count, maps.errors];
    return {
      probes: probes.join('\n'),
      flush: flushAndTick('syscall', printed),
      cleanup: opts.latency ? clearMaps(['@syscall_start']) : '',
      contract: { maps: printed, printfs: [tickContract] },
    };
  },
  parse(rec, ctx, opts) {
    if (rec.kind !== 'interval') return [];
    const rows: SyscallRow[] = [];
    const names = Object.values(mapsFor(opts)).map((m) => m.name);
    for (const { key, values } of joinMaps(rec.maps, names).values()) {
      const [pid, nr] = key;
      const comm = key[key.length - 1];
      const cgroup = opts.cgroup ? (key[2] ?? null) : null;
      const count = values['@syscall_count'] ?? 0;
      if (count < opts.min_count) continue;
      const errors = values['@syscall_errors'] ?? 0;
      const latSum = values['@syscall_lat_ns'];
      const latMax = values['@syscall_lat_max'];
      const name = syscallName(ctx.arch, Number(nr));
      rows.push({
        timestamp: ctx.timestamp,
        pid: Number(pid),
        comm: comm ?? '',
        syscall_nr: Number(nr),
        syscall: name,
        category: Number(nr) < 0 ? 'other' : categoryOf(name),
        count,
        error_count: errors,
        error_rate: ratio(errors, count),
        avg_latency_us: latSum === undefined ? null : Math.round(latSum / count / 10) / 100,
        max_latency_us: latMax === undefined ? null : Math.round(latMax / 10) / 100,
        cgroup,
      });
    }
    return rows.sort((a, b) => b.count - a.count);
  },
  columns: [
    'timestamp', 'pid', 'comm', 'syscall_nr', 'syscall', 'category', 'count', 'error_count', 'error_rate',
    'avg_latency_us', 'max_latency_us', 'cgroup',
  ],
  metrics: [
    { name: 'ebpfmon_syscalls_total', help: 'Syscalls completed, per command, syscall and category.', labels: { comm: 'comm', syscall: 'syscall', category: 'category', cgroup: 'cgroup' }, value: 'count' },
    { name: 'ebpfmon_syscall_errors_total', help: 'Syscalls that returned an error, per command, syscall and category.', labels: { comm: 'comm', syscall: 'syscall', category: 'category', cgroup: 'cgroup' }, value: 'error_count' },
  ],
  consoleLine: (r) =>
    `${r.timestamp}  syscall  pid=${String(r.pid).padEnd(7)} ${r.comm.padEnd(15)} ${r.syscall.padEnd(18)} ${r.category.padEnd(8)} count=${String(r.count).padStart(7)} errors=${String(r.error_count).padStart(6)} (${(r.error_rate * 100).toFixed(1)}%)`,
});
