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
import { baseOptions, cgroupOption, defineMonitor, intervalOption, joinMaps, type MapContract, type Row } from './types.js';
import { clearMaps, flushAndTick, tickContract } from '../script/fragment.js';

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
  device: string;
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
function bucketScript(indent: string): string[] {
  const lines = [`${indent}$b = ${latencyBoundsUs.length};`];
  latencyBoundsUs.forEach((us, i) => lines.push(`${indent}${i ? '} else if' : 'if'} ($lat <= ${us * 1000}) {`, `${indent}  $b = ${i};`));
  lines.push(`${indent}}`);
  return lines;
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
 * rwbs -> I/O type, the rule the script applies (kernel blk_fill_rwbs): an optional leading F (PREFLUSH),
 * then the op letter R, W, D (discard, DE secure erase), F (flush) or N (none), then flags (F FUA, A ahead, S sync, M meta).
 */
export function classifyRwbs(rwbs: string): IoType {
  const op = rwbs[0] === 'F' && rwbs.length > 1 && 'RWD'.includes(rwbs[1]!) ? rwbs[1] : rwbs[0];
  switch (op) {
    case 'R':
      return 'read';
    case 'W':
      return 'write';
    case 'D':
      return 'discard';
    case 'F':
      return 'flush';
    default:
      return 'other';
  }
}

/** The same rule in bpftrace 0.17, which cannot index a char[] field: strncmp on the first one or two bytes. */
function classifyScript(): string[] {
  const is = (letter: string): string => `strncmp(args->rwbs, "${letter}", 1) == 0 || strncmp(args->rwbs, "F${letter}", 2) == 0`;
  return [
    `  $op = 0;             // ${ioTypes.map((t, i) => `${i} ${t}`).join(', ')}`,
    `  if (${is('R')}) { $op = 1; }`,
    `  else if (${is('W')}) { $op = 2; }`,
    `  else if (${is('D')}) { $op = 3; }`,
    '  else if (strncmp(args->rwbs, "F", 1) == 0) { $op = 4; }',
  ];
}

/** A kernel dev_t (major << 20 | minor, as block tracepoints report it) -> "major:minor". */
export function deviceName(dev: number): string {
  return `${Math.floor(dev / 2 ** 20)}:${dev % 2 ** 20}`;
}

/** Result maps keyed [pid, dev, op, comm], or [pid, dev, op, cgroup, comm] with the cgroup option. */
function mapsFor(opts: { cgroup: boolean }) {
  const key = opts.cgroup ? (['pid', 'dev', 'op', 'cgroup', 'comm'] as const) : (['pid', 'dev', 'op', 'comm'] as const);
  return {
    count: { name: '@bio_count', keys: key, value: 'count()', doc: 'requests issued to the device' },
    bytes: { name: '@bio_bytes', keys: key, value: 'sum(bytes)', doc: 'bytes of those requests' },
    done: { name: '@bio_done', keys: key, value: 'count()', doc: 'requests completed with a known issue time' },
    latSum: { name: '@bio_lat_ns', keys: key, value: 'sum(ns)', doc: 'total issue-to-completion time' },
    latMin: { name: '@bio_lat_min', keys: key, value: 'min(ns)', doc: 'shortest issue-to-completion time' },
    latMax: { name: '@bio_lat_max', keys: key, value: 'max(ns)', doc: 'longest issue-to-completion time' },
  } satisfies Record<string, MapContract>;
}
/** Completions per latency bucket: the key of the result maps with the bucket index before comm. */
const bucketMap = (opts: { cgroup: boolean }): MapContract => ({
  name: '@bio_lat_bucket',
  keys: opts.cgroup ? ['pid', 'dev', 'op', 'cgroup', 'bucket', 'comm'] : ['pid', 'dev', 'op', 'bucket', 'comm'],
  value: 'count()',
  doc: `completions per latency bucket (upper bounds ${latencyBoundsUs.join(', ')} us, then the rest)`,
});
const helperKey = ['dev', 'sector'] as const;
const helpers = [
  { name: '@bio_start', keys: helperKey, value: 'nsecs', doc: 'helper: issue time of a request in flight' },
  { name: '@bio_pid', keys: helperKey, value: 'pid', doc: 'helper: process that submitted it' },
  { name: '@bio_comm', keys: helperKey, value: 'comm', doc: 'helper: command that submitted it' },
  { name: '@bio_cgroup', keys: helperKey, value: 'cgroup', doc: 'helper: cgroup that submitted it (option cgroup)' },
  { name: '@bio_requeued', keys: helperKey, value: '1', doc: 'helper: requeued by the driver, not to be counted again' },
] satisfies MapContract[];

const us = (ns: number): number => Math.round(ns / 10) / 100;

export const bio = defineMonitor<BioOptions, BioRow>({
  name: 'bio',
  mode: 'aggregate',
  summary: 'Block I/O per process, device and type: count, bytes, latency, throughput',
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
    // dev_t is 32 bits: as a map key bpftrace widens it with an implicit cast, which `bpftrace --aot` refuses
    // (it refuses every cast); `+ 0` widens it without one, so the script also runs ahead of time.
    const dev = 'args->dev + 0';
    const rq = `[${dev}, args->sector]`;
    const cg = opts.cgroup;
    const k = cg ? `[$pid, ${dev}, $op, $cg, $comm]` : `[$pid, ${dev}, $op, $comm]`;
    const kb = cg ? `[$pid, ${dev}, $op, $cg, $b, $comm]` : `[$pid, ${dev}, $op, $b, $comm]`;
    // Requests counted at issue (see below) are counted once, even when the driver requeues and reissues them.
    const atIssue = opts.min_latency_us === 0;
    const requeue = atIssue && has('block_rq_requeue');
    const forget = [
      `  delete(@bio_start${rq});`,
      `  delete(@bio_pid${rq});`,
      `  delete(@bio_comm${rq});`,
      ...(cg ? [`  delete(@bio_cgroup${rq});`] : []),
      ...(requeue ? [`  delete(@bio_requeued${rq});`] : []),
    ];
    const latency = [
      ...bucketScript(''),
      `@bio_lat_bucket${kb} = count();`,
      `@bio_done${k} = count();`,
      `@bio_lat_ns${k} = sum($lat);`,
      `@bio_lat_min${k} = min($lat);`,
      `@bio_lat_max${k} = max($lat);`,
    ];
    // Without a latency threshold, requests are counted at issue (process context): a completion runs in irq
    // context and the kernel skips it when it interrupts another BPF program on that CPU.
    const probes = [
      ...(has('block_io_start')
        ? ['tracepoint:block:block_io_start {', `  @bio_pid${rq} = pid;`, `  @bio_comm${rq} = comm;`, ...(cg ? [`  @bio_cgroup${rq} = cgroup;`] : []), '}']
        : []),
      // A request merged into the one before it is never issued: forget it.
      ...(has('block_rq_merge') ? ['tracepoint:block:block_rq_merge {', ...forget, '}'] : []),
      'tracepoint:block:block_rq_issue {',
      `  @bio_start${rq} = nsecs;`,
      `  if (@bio_pid${rq} == 0) {`,
      `    @bio_pid${rq} = pid;`,
      `    @bio_comm${rq} = comm;`,
      ...(cg ? [`    @bio_cgroup${rq} = cgroup;`] : []),
      '  }',
      ...(atIssue
        ? [
            `  $pid = @bio_pid${rq};`,
            `  $comm = @bio_comm${rq};`,
            ...(cg ? [`  $cg = @bio_cgroup${rq};`] : []),
            ...classifyScript(),
            ...(requeue
              ? [
                  `  if (@bio_requeued${rq}) {`,
                  `    delete(@bio_requeued${rq});`,
                  '  } else {',
                  `    @bio_count${k} = count();`,
                  `    @bio_bytes${k} = sum(args->bytes);`,
                  '  }',
                ]
              : [`  @bio_count${k} = count();`, `  @bio_bytes${k} = sum(args->bytes);`]),
          ]
        : []),
      '}',
      ...(requeue ? ['tracepoint:block:block_rq_requeue {', `  @bio_requeued${rq} = 1;`, '}'] : []),
      // Requests issued before the script started have no start time and are skipped.
      `tracepoint:block:block_rq_complete /@bio_start${rq}/ {`,
      `  $lat = nsecs - @bio_start${rq};`,
      `  $pid = @bio_pid${rq};`,
      `  $comm = @bio_comm${rq};`,
      ...(cg ? [`  $cg = @bio_cgroup${rq};`] : []),
      ...classifyScript(),
      ...(atIssue
        ? latency.map((l) => `  ${l}`)
        : [
            `  if ($lat >= ${opts.min_latency_us * 1000}) {`,
            `    @bio_count${k} = count();`,
            `    @bio_bytes${k} = sum(args->nr_sector * 512);`,
            ...latency.map((l) => `    ${l}`),
            '  }',
          ]),
      ...forget,
      '}',
    ];
    const printed = [...Object.values(mapsFor(opts)), bucketMap(opts)];
    const used = helpers.filter((h) => (requeue || h.name !== '@bio_requeued') && (cg || h.name !== '@bio_cgroup'));
    return {
      probes: probes.join('\n'),
      flush: flushAndTick('bio', printed),
      cleanup: clearMaps(used.map((h) => h.name)),
      contract: {
        maps: [...printed, ...used],
        printfs: [tickContract],
      },
    };
  },
  parse(rec, ctx, opts) {
    if (rec.kind !== 'interval') return [];
    const rows: BioRow[] = [];
    // Bucket counts per result key: the bucket index is the part before comm.
    const buckets = new Map<string, number[]>();
    for (const { key, value } of rec.maps.get('@bio_lat_bucket') ?? []) {
      const b = Number(key[key.length - 2]);
      const id = [...key.slice(0, -2), key[key.length - 1]].join('\u0000');
      const counts = buckets.get(id) ?? new Array<number>(latencyBoundsUs.length + 1).fill(0);
      if (b >= 0 && b < counts.length) counts[b] = (counts[b] ?? 0) + value;
      buckets.set(id, counts);
    }
    for (const { key, values } of joinMaps(rec.maps, Object.values(mapsFor(opts)).map((m) => m.name)).values()) {
      const [pid, dev, op] = key;
      const comm = key[key.length - 1];
      const count = values['@bio_count'] ?? 0;
      const done = values['@bio_done'] ?? 0;
      if (count === 0 && done === 0) continue;
      const bytes = values['@bio_bytes'] ?? 0;
      const latency = (name: string, n = 1): number | null => {
        const v = values[name];
        return v === undefined || done === 0 ? null : us(v / n);
      };
      rows.push({
        timestamp: ctx.timestamp,
        pid: Number(pid),
        comm: comm ?? '',
        device: deviceName(Number(dev)),
        io_type: ioTypes[Number(op)] ?? 'other',
        count,
        total_bytes: bytes,
        avg_latency_us: latency('@bio_lat_ns', done),
        min_latency_us: latency('@bio_lat_min'),
        max_latency_us: latency('@bio_lat_max'),
        throughput_mbps: ctx.intervalSeconds > 0 ? Math.round(bytes / ctx.intervalSeconds / 1e3) / 1e3 : 0,
        latency_buckets: formatBuckets(buckets.get(key.join('\u0000')) ?? []),
        cgroup: opts.cgroup ? (key[3] ?? null) : null,
      });
    }
    return rows.sort((a, b) => b.total_bytes - a.total_bytes || b.count - a.count);
  },
  columns: [
    'timestamp', 'pid', 'comm', 'device', 'io_type', 'count', 'total_bytes', 'avg_latency_us', 'min_latency_us',
    'max_latency_us', 'throughput_mbps', 'latency_buckets', 'cgroup',
  ],
  metrics: [
    { name: 'ebpfmon_bio_requests_total', help: 'Block I/O requests per device and type.', labels: { device: 'device', io_type: 'io_type' }, value: 'count' },
    { name: 'ebpfmon_bio_bytes_total', help: 'Block I/O bytes per device and type.', labels: { device: 'device', io_type: 'io_type' }, value: 'total_bytes' },
    {
      name: 'ebpfmon_bio_latency_seconds',
      help: 'Issue-to-completion latency of block requests per device and type.',
      labels: { device: 'device', io_type: 'io_type' },
      histogram: { column: 'latency_buckets', bounds: latencyBoundsUs, meanColumn: 'avg_latency_us' },
      scale: 1e-6,
    },
  ],
  consoleLine: (r) =>
    `${r.timestamp}  bio      pid=${String(r.pid).padEnd(7)} ${r.comm.padEnd(15)} ${r.device.padEnd(8)} ${r.io_type.padEnd(7)} count=${String(r.count).padStart(6)} bytes=${String(r.total_bytes).padStart(11)} avg=${r.avg_latency_us?.toFixed(1) ?? '-'}us max=${r.max_latency_us?.toFixed(1) ?? '-'}us ${r.throughput_mbps.toFixed(2)} MB/s`,
});
