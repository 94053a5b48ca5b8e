// bio: block I/O per process, device and type (read, write, discard, flush), with bytes, latency and throughput.
// block_io_start (6.5+, in the submitting task when a bio becomes a request) remembers who submitted a request,
// block_rq_issue when it went to the device, both keyed by (dev, sector). Requests and bytes are counted at issue;
// block_rq_complete (often in irq context, so `pid`/`comm` are useless there) looks the request up for latency.
// With min_latency_us > 0 everything is counted at completion, the only place the latency is known.
// Requests without block_io_start (flushes, older kernels) are credited to the task that issued them, often a
// kworker dispatching for someone else.
// rwbs is classified in the script into a small op code: used raw as a map key in bpftrace 0.17 it carries
// the bytes after its NUL, which splits one type into several keys.
import { z } from 'zod';
import { baseOptions, binaryBytes, cgroupOption, defineMonitor, intervalOption, join, sumTally, type Machine, type Row } from './types.js';
import { cgroupPart, del, helperMap, inScope, int, keyOf, local, pidPart, probe, resultMap, set, text, update, when, type HelperMap, type Stmt } from '../bt/ir.js';

export const bioOptions = z.strictObject({
  ...baseOptions,
  ...intervalOption,
  min_latency_us: z
    .number({ error: 'expected a whole number of microseconds >= 0' })
    .int({ error: 'expected a whole number of microseconds >= 0' })
    .min(0, { error: 'expected a whole number of microseconds >= 0' })
    .max(3_600_000_000, { error: 'expected at most 3600000000 microseconds (one hour)' })
    .default(0),
  ...cgroupOption,
});
export type BioOptions = z.infer<typeof bioOptions>;

export interface BioRow extends Row {
  timestamp: string;
  pid: number;
  comm: string;
  /** The whole disk's MAJ:MIN, as the kernel's block tracepoints give it. */
  device: string;
  /** The kernel's name of the device (vda, nvme0n1), set from /sys/dev/block before output (src/rows/disk.ts); MAJ:MIN when it has none. */
  disk: string | null;
  io_type: IoType;
  count: number;
  total_bytes: number;
  /** Latencies of the requests that completed in the interval; null when none did. */
  avg_latency_us: number | null;
  min_latency_us: number | null;
  max_latency_us: number | null;
  throughput_mbps: number;
  /** Completions per latency bucket, `<upper bound in us>:<count>` for non-empty buckets (`inf` last); null if none. */
  latency_buckets: string | null;
  /** cgroup v2 id (option `cgroup`), replaced by its path before output; else null. */
  cgroup: string | null;
}

/** Upper bounds (microseconds) of the latency buckets the script counts into; one more bucket holds the rest. */
export const latencyBoundsUs = [100, 250, 500, 1000, 2500, 5000, 10_000, 25_000, 50_000, 100_000, 250_000, 500_000, 1_000_000, 2_500_000] as const;

/** The script's bucket ladder: $b = index of the first bound >= $lat, or the overflow bucket. */
function bucketScript(): Stmt[] {
  const ladder = latencyBoundsUs.reduceRight<Stmt[]>((rest, us, i) => [when(`$lat <= ${us * 1000}`, [local('$b', String(i))], rest)], []);
  return [local('$b', String(latencyBoundsUs.length)), ...ladder];
}

/** "100:3 250:10 inf:1" from per-bucket counts; null when empty. */
export function formatBuckets(counts: readonly number[]): string | null {
  const parts = counts.flatMap((n, i) => (n ? [`${i < latencyBoundsUs.length ? latencyBoundsUs[i] : 'inf'}:${n}`] : []));
  return parts.length ? parts.join(' ') : null;
}

/** The op codes the script puts in the key, in code order; anything unknown is `other` (0). */
export const ioTypes = ['other', 'read', 'write', 'discard', 'flush'] as const;
export type IoType = (typeof ioTypes)[number];

/**
 * rwbs -> I/O type, the kernel's blk_fill_rwbs rule: an optional leading F (PREFLUSH), then the op letter R, W, D
 * (discard, DE secure erase), F (flush) or N (none), then flags (F FUA, A ahead, S sync, M meta). bpftrace 0.17
 * cannot index a char[] field: strncmp on the first one or two bytes.
 */
function classifyScript(): Stmt[] {
  const is = (letter: string): string => `strncmp($rwbs, "${letter}", 1) == 0 || strncmp($rwbs, "F${letter}", 2) == 0`;
  // 0 other, 1 read, 2 write, 3 discard, 4 flush: the order of ioTypes.
  return [
    local('$rwbs', 'args->rwbs'),
    local('$op', '0'),
    when(is('R'), [local('$op', '1')], [when(is('W'), [local('$op', '2')], [when(is('D'), [local('$op', '3')], [when('strncmp($rwbs, "F", 1) == 0', [local('$op', '4')])])])]),
  ];
}

/** A kernel dev_t (major << 20 | minor, as block tracepoints report it) -> "major:minor". */
export function deviceName(dev: number): string {
  return `${Math.floor(dev / 2 ** 20)}:${dev % 2 ** 20}`;
}

/** Result maps keyed [pid, dev, op, comm], or [pid, dev, op, cgroup, comm] with the cgroup option. */
function mapsFor(opts: { cgroup: boolean }) {
  const key = keyOf(pidPart('$pid'), int('dev', '$dev'), int('op', '$op'), ...cgroupPart(opts, '$cg'), text('comm', '$comm'));
  return {
    count: resultMap('@bio_count', key, 'count', 'requests issued to the device'),
    bytes: resultMap('@bio_bytes', key, 'sum', 'bytes of those requests'),
    done: resultMap('@bio_done', key, 'count', 'requests completed with a known issue time'),
    latSum: resultMap('@bio_lat_ns', key, 'sum', 'total issue-to-completion time (ns)'),
    latMin: resultMap('@bio_lat_min', key, 'min', 'shortest issue-to-completion time (ns)'),
    latMax: resultMap('@bio_lat_max', key, 'max', 'longest issue-to-completion time (ns)'),
  };
}
/** Completions per latency bucket: the key of the result maps with the bucket index before comm. */
const bucketMap = (opts: { cgroup: boolean }) =>
  resultMap(
    '@bio_lat_bucket',
    keyOf(pidPart('$pid'), int('dev', '$dev'), int('op', '$op'), ...cgroupPart(opts, '$cg'), int('bucket', '$b'), text('comm', '$comm')),
    'count',
    `completions per latency bucket (upper bounds ${latencyBoundsUs.join(', ')} us, then the rest)`,
  );
/** A request in flight, by device and sector. */
const rq = ['$dev', '$sector'];
const helperKey = ['dev', 'sector'];
const helpers = {
  start: helperMap('@bio_start', helperKey, 'nsecs', 'issue time of a request in flight'),
  pid: helperMap('@bio_pid', helperKey, 'pid', 'process that submitted it'),
  comm: helperMap('@bio_comm', helperKey, 'comm', 'command that submitted it'),
  cgroup: helperMap('@bio_cgroup', helperKey, 'cgroup', 'cgroup that submitted it (option cgroup)'),
  requeued: helperMap('@bio_requeued', helperKey, '1', 'requeued by the driver, not to be counted again'),
};

const us = (ns: number): number => Math.round(ns / 10) / 100;

/** Series labels: a disk name per whole disk (its number a function of it), and each request type. */
const bioBounds = (machine: Machine) => ({ device: machine.blockDevices, devno: 1, io_type: ioTypes.length });

export const bio = defineMonitor<BioOptions, BioRow>({
  name: 'bio',
  mode: 'aggregate',
  summary: 'Block I/O per process, device and type: count, bytes, latency, throughput',
  cost: {
    class: 'low',
    note: 'one event per block request issued and one per completion (about 13 us at completion), few next to syscalls; build workload alone: +2.7 % wall (noisy)',
    nsPerEvent: 13_000,
    event: 'block request (issue + completion)',
    rate: { counter: 'block_requests' },
  },
  options: bioOptions,
  variants: () => [
    {
      name: 'tracepoint',
      description: 'tracepoints block:block_rq_issue and block:block_rq_complete (+ block_io_start for the submitter)',
      needs: [
        { kind: 'tracepoint', category: 'block', event: 'block_rq_issue', fields: ['dev', 'sector', 'bytes', 'rwbs'] },
        { kind: 'tracepoint', category: 'block', event: 'block_rq_complete', fields: ['dev', 'sector', 'nr_sector', 'rwbs'] },
        { kind: 'tracepoint', category: 'block', event: 'block_io_start', fields: ['dev', 'sector'], optional: true },
        { kind: 'tracepoint', category: 'block', event: 'block_rq_merge', fields: ['dev', 'sector'], optional: true },
        { kind: 'tracepoint', category: 'block', event: 'block_rq_requeue', fields: ['dev', 'sector'], optional: true },
      ],
    },
  ],
  generate(opts, plan) {
    const has = (event: string): boolean => `block:${event}` in plan.tracepointFields;
    const maps = mapsFor(opts);
    const cg = opts.cgroup;
    // Requests counted at issue (see below) are counted once, even when the driver requeues and reissues them.
    const atIssue = opts.min_latency_us === 0;
    const requeue = atIssue && has('block_rq_requeue');
    const used: HelperMap[] = [helpers.start, helpers.pid, helpers.comm, ...(cg ? [helpers.cgroup] : []), ...(requeue ? [helpers.requeued] : [])];
    // dev_t is 32 bits: as a map key bpftrace widens it with an implicit cast, which `bpftrace --aot` refuses
    // (it refuses every cast); `+ 0` widens it without one, so the script also runs ahead of time.
    const request = [local('$dev', 'args->dev + 0'), local('$sector', 'args->sector')];
    const submitter = [set(helpers.pid, rq, 'pid'), set(helpers.comm, rq, 'comm'), ...(cg ? [set(helpers.cgroup, rq, 'cgroup')] : [])];
    const who = [local('$pid', helpers.pid.at(...rq)), local('$comm', helpers.comm.at(...rq)), ...(cg ? [local('$cg', helpers.cgroup.at(...rq))] : [])];
    const forget = used.map((h) => del(h, rq));
    const latency = [...bucketScript(), update(bucketMap(opts)), update(maps.done), update(maps.latSum, '$lat'), update(maps.latMin, '$lat'), update(maps.latMax, '$lat')];
    const countIssued = [update(maps.count), update(maps.bytes, 'args->bytes')];
    // Without a latency threshold, requests are counted at issue (process context): a completion runs in irq
    // context and the kernel skips it when it interrupts another BPF program on that CPU.
    const probes = [
      // The run's process scope (--pid, --comm, run) is the submitter's: tested where it is recorded, and again where
      // a request is counted (a request whose submitter was left out has none recorded: pid 0, no name).
      ...(has('block_io_start') ? [probe('tracepoint:block:block_io_start', [...request, inScope('pid', 'comm', submitter)])] : []),
      ...(has('block_rq_merge') ? [probe('tracepoint:block:block_rq_merge', [...request, ...forget], [], 'A request merged into the one before it is never issued: forget it.')] : []),
      probe('tracepoint:block:block_rq_issue', [
        ...request,
        set(helpers.start, rq, 'nsecs'),
        when(`${helpers.pid.at(...rq)} == 0`, [inScope('pid', 'comm', submitter)]),
        ...(atIssue
          ? [...who, ...classifyScript(), ...(requeue ? [when(helpers.requeued.at(...rq), [del(helpers.requeued, rq)], [inScope('$pid', '$comm', countIssued)])] : [inScope('$pid', '$comm', countIssued)])]
          : []),
      ]),
      ...(requeue ? [probe('tracepoint:block:block_rq_requeue', [...request, set(helpers.requeued, rq, '1')])] : []),
      probe(
        'tracepoint:block:block_rq_complete',
        [
          ...request,
          local('$lat', `nsecs - ${helpers.start.at(...rq)}`),
          ...who,
          ...classifyScript(),
          inScope('$pid', '$comm', atIssue
            ? latency
            : [when(`$lat >= ${opts.min_latency_us * 1000}`, [update(maps.count), update(maps.bytes, 'args->nr_sector * 512'), ...latency])]),
          ...forget,
        ],
        [helpers.start.at('args->dev + 0', 'args->sector')],
        'Requests issued before the script started have no start time and are skipped.',
      ),
    ];
    return { probes, results: [...Object.values(maps), bucketMap(opts)], helpers: used, events: [] };
  },
  parse(rec, ctx, opts) {
    if (rec.kind !== 'interval') return [];
    const rows: BioRow[] = [];
    const maps = mapsFor(opts);
    const names = maps.count.key.parts.map((p) => p.name);
    const idOf = (key: Readonly<Record<string, string>>): string => names.map((n) => key[n]).join('\u0000');
    // Bucket counts per result key.
    const buckets = new Map<string, number[]>();
    for (const { key, value } of rec.entries(bucketMap(opts))) {
      const b = Number(key.bucket);
      const id = idOf(key);
      const counts = buckets.get(id) ?? new Array<number>(latencyBoundsUs.length + 1).fill(0);
      if (b >= 0 && b < counts.length) counts[b] = (counts[b] ?? 0) + value;
      buckets.set(id, counts);
    }
    for (const { key, v } of join(rec, maps)) {
      const count = v.count ?? 0;
      const done = v.done ?? 0;
      if (count === 0 && done === 0) continue;
      const bytes = v.bytes ?? 0;
      const latency = (ns: number | undefined, n = 1): number | null => (ns === undefined || done === 0 ? null : us(ns / n));
      rows.push({
        timestamp: ctx.timestamp,
        pid: Number(key.pid),
        comm: key.comm,
        device: deviceName(Number(key.dev)),
        disk: null,
        io_type: ioTypes[Number(key.op)] ?? 'other',
        count,
        total_bytes: bytes,
        avg_latency_us: latency(v.latSum, done),
        min_latency_us: latency(v.latMin),
        max_latency_us: latency(v.latMax),
        throughput_mbps: ctx.intervalSeconds > 0 ? Math.round(bytes / ctx.intervalSeconds / 1e3) / 1e3 : 0,
        latency_buckets: formatBuckets(buckets.get(idOf(key)) ?? []),
        cgroup: opts.cgroup ? key.cgroup : null,
      });
    }
    return rows.sort((a, b) => b.total_bytes - a.total_bytes || b.count - a.count);
  },
  coverage: {
    counter: 'block_requests',
    expect: 0.8,
    caveat:
      '/proc/diskstats counts requests completed, the monitor requests issued: the window edges differ by the requests in flight; only the devices the monitor saw are compared (device-mapper and other bio-based devices have no requests); flushes are counted differently by some drivers. Not compared with min_latency_us',
    total: (rec, opts) => {
      if (opts.min_latency_us > 0) return null;
      const entries = rec.entries(mapsFor(opts).count);
      return { value: entries.reduce((n, e) => n + e.value, 0), devices: [...new Set(entries.map((e) => deviceName(Number(e.key.dev))))] };
    },
  },
  columns: [
    'timestamp', 'pid', 'comm', 'device', 'disk', 'io_type', 'count', 'total_bytes', 'avg_latency_us', 'min_latency_us',
    'max_latency_us', 'throughput_mbps', 'latency_buckets', 'cgroup', 'pod_uid', 'container_id',
  ],
  // device is the kernel's name, as node_exporter's (node_disk_* join on it); devno the MAJ:MIN, a function of it.
  metrics: [
    { name: 'ebpfmon_bio_requests_total', help: 'Block I/O requests per device and type.', labels: { device: 'disk', devno: 'device', io_type: 'io_type' },
      bounds: bioBounds, value: 'count' },
    { name: 'ebpfmon_bio_bytes_total', help: 'Block I/O bytes per device and type.', labels: { device: 'disk', devno: 'device', io_type: 'io_type' },
      bounds: bioBounds, value: 'total_bytes' },
    {
      name: 'ebpfmon_bio_latency_seconds',
      help: 'Issue-to-completion latency of block requests per device and type.',
      labels: { device: 'disk', devno: 'device', io_type: 'io_type' },
      bounds: bioBounds,
      histogram: { column: 'latency_buckets', bounds: latencyBoundsUs, meanColumn: 'avg_latency_us' },
      scale: 1e-6,
    },
  ],
  // Data moved: reads and writes. A discard names a range freed, not bytes transferred (a truncate can discard as much
  // as was just written), and a flush carries none.
  top: { counts: ['bioBytes'], of: (r) => ({ bioBytes: r.io_type === 'read' || r.io_type === 'write' ? r.total_bytes : 0 }) },
  runSummary: {
    order: 4,
    tally: sumTally<BioRow, 'count' | 'total_bytes'>(['count', 'total_bytes'], (s) => ({ count: s.count, what: `block I/O  (${binaryBytes(s.total_bytes)})` })),
  },
  consoleLine: (r) =>
    `${r.timestamp}  bio      pid=${String(r.pid).padEnd(7)} ${r.comm.padEnd(15)} ${(r.disk ?? r.device).padEnd(8)} ${r.io_type.padEnd(7)} count=${String(r.count).padStart(6)} bytes=${String(r.total_bytes).padStart(11)} avg=${r.avg_latency_us?.toFixed(1) ?? '-'}us max=${r.max_latency_us?.toFixed(1) ?? '-'}us ${r.throughput_mbps.toFixed(2)} MB/s`,
});
