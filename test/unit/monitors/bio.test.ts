// The bio monitor: rows from real captured bpftrace 0.17 output, rwbs classification, options and the script.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { bio, bioOptions, deviceName } from '../../../src/monitors/bio.js';
import type { MonitorPlan, Row } from '../../../src/monitors/types.js';
import { fixtureLines, intervalOf, plannedFor, rendered, route, tickLine } from '../../helpers/fixtures.js';

const erased = bio;
const withAllTracepoints: MonitorPlan = {
  ...plannedFor('tracepoint'),
  tracepointFields: {
    'block:block_rq_issue': ['dev', 'sector'],
    'block:block_rq_complete': ['dev', 'sector', 'nr_sector', 'rwbs'],
    'block:block_io_start': ['dev', 'sector'],
    'block:block_rq_merge': ['dev', 'sector'],
    'block:block_rq_requeue': ['dev', 'sector'],
  },
};
// Captured with test/fixtures/workloads/bio-dd.sh, default options: dd wrote 4 MiB with O_DIRECT and read it back,
// rm discarded the blocks (the root file system is mounted with discard), sync flushed (vda = 254:0). One interval,
// closed by END's tick.
const lines = fixtureLines('bio', 'dd-direct');
const ts = '2026-01-01T01:27:40.737Z';

test('bio: one row per process, device and I/O type, with bytes, latency (us) and throughput', () => {
  const { rows, unrouted, rm } = route(erased, bioOptions.parse({ enabled: true }), plannedFor('tracepoint'), lines);
  assert.equal(unrouted, 0);
  assert.equal(rm.stats.parseErrors, 0);
  const row = (pid: number, comm: string, io_type: string, count: number, total_bytes: number, lat: [number, number, number] | null, throughput_mbps: number, latency_buckets: string | null): Row => ({
    timestamp: ts, pid, comm, device: '254:0', disk: null, io_type, count, total_bytes,
    avg_latency_us: lat?.[0] ?? null, min_latency_us: lat?.[1] ?? null, max_latency_us: lat?.[2] ?? null, throughput_mbps,
    latency_buckets, cgroup: null,
  });
  assert.deepEqual(rows, [
    // dd's bytes are exact: 4 MiB each way (the reads came in 8 requests, the writes in 4).
    row(30299, 'dd', 'read', 8, 4194304, [414.06, 30.9, 933.89], 2.097, '100:4 1000:4'),
    row(30298, 'dd', 'write', 4, 4194304, [374.96, 324.86, 494.72], 2.097, '500:4'),
    row(30300, 'rm', 'discard', 2, 4194304, [326.04, 172.64, 479.44], 2.097, '250:1 500:1'),
    row(19340, 'kworker/u8:10', 'write', 33, 311296, [156.07, 62.09, 245.11], 0.156, '100:1 250:32'),
    // 9 completions timed for 8 writes counted at issue and none for the flush, as in earlier captures (presumably a
    // request of sync's flush sequence completing with a write's rwbs).
    row(30301, 'sync', 'write', 8, 40960, [68.86, 33.18, 77.06], 0.02, '100:9'),
    row(30297, 'mktemp', 'read', 1, 4096, [117.14, 117.14, 117.14], 0.002, '250:1'),
    // A flush carries no data; no completion was timed as a flush, so no latency.
    row(30301, 'sync', 'flush', 1, 0, null, 0, null),
  ]);
  // pod_uid and container_id are set from the cgroup path when rows are written (src/rows/cgroup.ts).
  for (const r of rows) assert.deepEqual(Object.keys(r), bio.columns.filter((c) => c !== 'pod_uid' && c !== 'container_id'));
});

test('bio: throughput uses the measured interval; an interval with no I/O gives no rows', () => {
  const tick = lines.find((l) => l.includes('bio\\ttick'));
  assert.ok(tick);
  // The same maps again, closed 0.5 s after the first tick: 4 MiB in 0.5 s.
  const later = tickLine('bio', 5260737482274 + 500_000_000, 1);
  const again = [...lines.filter((l) => l.includes('"map"')), later];
  const { rows } = route(erased, bioOptions.parse({ enabled: true }), plannedFor('tracepoint'), [...lines, ...again]);
  assert.equal(rows.length, 14);
  assert.deepEqual([rows[7]?.['comm'], rows[7]?.['io_type'], rows[7]?.['throughput_mbps']], ['dd', 'read', 8.389]);
  assert.equal(rows[7]?.['timestamp'], '2026-01-01T01:27:41.237Z');
  assert.equal(route(erased, bioOptions.parse({ enabled: true }), plannedFor('tracepoint'), [tick]).rows.length, 0);
});

test('bio: dev_t from the block tracepoints (major << 20 | minor) -> major:minor', () => {
  assert.equal(deviceName(266338304), '254:0');
  assert.equal(deviceName((8 << 20) | 17), '8:17');
  assert.equal(deviceName((259 << 20) | 0xfffff), '259:1048575');
});

test('bio: bad option values are refused with a message', () => {
  const issue = (v: unknown): string | undefined => bioOptions.safeParse({ enabled: true, min_latency_us: v }).error?.issues[0]?.message;
  for (const bad of [-1, 1.5, 'fast']) assert.equal(issue(bad), 'expected a whole number of microseconds >= 0', String(bad));
  assert.equal(issue(4_000_000_000), 'expected at most 3600000000 microseconds (one hour)');
  assert.equal(bioOptions.safeParse({ enabled: true, min_latency: 5 }).success, false, 'unknown keys are errors');
  assert.equal(bioOptions.parse({}).min_latency_us, 0);
  assert.equal(bioOptions.parse({}).interval, 2);
});

test('bio: the script keys by an op code, never by rwbs; counts at issue unless a latency threshold is set', () => {
  const plain = rendered(erased, bioOptions.parse({ enabled: true }), withAllTracepoints);
  assert.doesNotMatch(plain.probes, /\[[^\]]*rwbs[^\]]*\]/, 'rwbs is never part of a map key');
  const issue = plain.probes.slice(plain.probes.indexOf('tracepoint:block:block_rq_issue'), plain.probes.indexOf('tracepoint:block:block_rq_complete'));
  assert.match(issue, /@bio_count\[\$pid, \$dev, \$op, \$comm\] = count\(\);/);
  assert.match(issue, /@bio_bytes\[\$pid, \$dev, \$op, \$comm\] = sum\(args->bytes\);/);
  assert.match(plain.probes, /tracepoint:block:block_io_start \{/);
  assert.match(plain.probes, /tracepoint:block:block_rq_merge \{/);
  assert.doesNotMatch(plain.probes, /\$lat >=/);
  assert.deepEqual(plain.results, ['@bio_count', '@bio_bytes', '@bio_done', '@bio_lat_ns', '@bio_lat_min', '@bio_lat_max', '@bio_lat_bucket']);
  assert.deepEqual(plain.helpers, ['@bio_start', '@bio_pid', '@bio_comm', '@bio_requeued']);
  // A request the driver requeues is issued again: counted once.
  assert.match(issue, /if \(@bio_requeued\[\$dev, \$sector\]\) \{\n {4}delete\(@bio_requeued\[\$dev, \$sector\]\);\n {2}\} else \{\n {4}@bio_count/);
  assert.match(plain.probes, /tracepoint:block:block_rq_requeue \{\n {2}\$dev = args->dev \+ 0;\n {2}\$sector = args->sector;\n {2}@bio_requeued\[\$dev, \$sector\] = 1;\n\}/);
  for (const m of plain.results) assert.match(plain.flush, new RegExp(`print\\(${m}\\);`));
  assert.match(plain.flush, /printf\("bio\\ttick\\t%llu\\t%llu\\n", nsecs, 0\);$/);
  const slow = rendered(erased, bioOptions.parse({ enabled: true, min_latency_us: 500 }), withAllTracepoints);
  const complete = slow.probes.slice(slow.probes.indexOf('tracepoint:block:block_rq_complete'));
  assert.match(complete, /if \(\$lat >= 500000\) \{\n {4}@bio_count/);
  assert.doesNotMatch(slow.probes.slice(0, slow.probes.indexOf('tracepoint:block:block_rq_complete')), /@bio_count/);
  assert.doesNotMatch(slow.probes + slow.helpers.join(), /@bio_requeued/, 'counted at completion: requeues do not matter');
  // Kernels before 6.5 have no block_io_start: the issuing task is credited instead.
  const old = rendered(erased, bioOptions.parse({ enabled: true }), plannedFor('tracepoint'));
  assert.doesNotMatch(old.probes, /block_io_start/);
  assert.match(old.probes, /if \(@bio_pid\[\$dev, \$sector\] == 0\)/);
});

test('bio: completions per latency bucket become a compact column; cgroup joins the key before comm', () => {
  const opts = bioOptions.parse({ enabled: true, cgroup: true });
  const f = rendered(erased, opts, withAllTracepoints);
  assert.match(f.probes, /@bio_lat_bucket\[\$pid, \$dev, \$op, \$cg, \$b, \$comm\] = count\(\);/);
  assert.match(f.probes, /@bio_cgroup\[\$dev, \$sector\] = cgroup;/);
  const key = (b?: string): Record<string, string> => ({ pid: '7', dev: String((254 << 20) | 0), op: '2', cgroup: '99', ...(b === undefined ? {} : { bucket: b }), comm: 'dd' });
  const rows = bio.parse(
    intervalOf({
      '@bio_count': [{ key: key(), value: 3 }],
      '@bio_done': [{ key: key(), value: 3 }],
      '@bio_lat_ns': [{ key: key(), value: 3_000_000 }],
      '@bio_lat_bucket': [{ key: key('1'), value: 2 }, { key: key('14'), value: 1 }],
    }),
    { timestamp: 't', intervalSeconds: 1, wallTime: () => 't', arch: 'x64' },
    opts,
  );
  assert.equal(rows[0]?.latency_buckets, '250:2 inf:1');
  assert.equal(rows[0]?.cgroup, '99');
  assert.equal(rows[0]?.comm, 'dd');
  assert.equal(rows[0]?.device, '254:0');
});
