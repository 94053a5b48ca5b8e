// The bio monitor: rows from real captured bpftrace 0.17 output, rwbs classification, options and the script.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { bio, bioOptions, classifyRwbs, deviceName } from '../../../src/monitors/bio.js';
import type { MonitorPlan, Row } from '../../../src/monitors/types.js';
import { fixtureLines, intervalOf, plannedFor, rendered, route } from '../../helpers/fixtures.js';

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
// dd wrote 4 MiB and read it back with O_DIRECT, rm discarded the blocks, sync flushed (vda = 254:0).
const lines = fixtureLines('bio', 'dd-write-read');
const ts = '2026-01-01T00:38:48.609Z';

test('bio: one row per process, device and I/O type, with bytes, latency (us) and throughput', () => {
  const { rows, unrouted, rm } = route(erased, bioOptions.parse({ enabled: true }), plannedFor('tracepoint'), lines);
  assert.equal(unrouted, 0);
  assert.equal(rm.stats.parseErrors, 0);
  const row = (pid: number, comm: string, io_type: string, count: number, total_bytes: number, lat: [number, number, number] | null, throughput_mbps: number): Row => ({
    timestamp: ts, pid, comm, device: '254:0', io_type, count, total_bytes,
    avg_latency_us: lat?.[0] ?? null, min_latency_us: lat?.[1] ?? null, max_latency_us: lat?.[2] ?? null, throughput_mbps,
    // This fixture predates the bucket map.
    latency_buckets: null, cgroup: null,
  });
  assert.deepEqual(rows, [
    row(32691, 'dd', 'read', 4, 4194304, [502.17, 408.96, 638.86], 2.097),
    row(32690, 'dd', 'write', 4, 4194304, [622.59, 500.81, 701.73], 2.097),
    row(32692, 'rm', 'discard', 1, 4194304, [838.59, 838.59, 838.59], 2.097),
    row(11648, 'kworker/u8:4', 'write', 45, 507904, [376.11, 142.87, 676.34], 0.254),
    row(32693, 'sync', 'write', 6, 28672, [281.12, 137.47, 615.56], 0.014),
    row(32689, 'sh', 'read', 6, 24576, [109.69, 104.85, 124.38], 0.012),
    row(32693, 'sync', 'read', 1, 24576, [124.32, 124.32, 124.32], 0.012),
    // The same pid before its exec (sh reading the sync binary) keeps its old comm.
    row(32693, 'sh', 'read', 1, 16384, [124.91, 124.91, 124.91], 0.008),
    // A flush carries no data; it completed without a matching start, so no latency.
    row(32693, 'sync', 'flush', 1, 0, null, 0),
  ]);
  for (const r of rows) assert.deepEqual(Object.keys(r), bio.columns);
});

test('bio: throughput uses the measured interval; an interval with no I/O gives no rows', () => {
  const tick = lines.find((l) => l.includes('bio\\ttick'));
  assert.ok(tick);
  // The same maps again, closed 0.5 s after the first tick: 4 MiB in 0.5 s.
  const later = tick.replace(/\d+\\n/, `${2328609027013 + 500_000_000}\\n`);
  const again = [...lines.filter((l) => l.includes('"map"')), later];
  const { rows } = route(erased, bioOptions.parse({ enabled: true }), plannedFor('tracepoint'), [...lines, ...again]);
  assert.equal(rows.length, 18);
  assert.equal(rows[9]?.['throughput_mbps'], 8.389);
  assert.equal(rows[9]?.['timestamp'], '2026-01-01T00:38:49.109Z');
  assert.equal(route(erased, bioOptions.parse({ enabled: true }), plannedFor('tracepoint'), [tick]).rows.length, 0);
});

test('bio: rwbs -> io_type, a leading F (preflush) before the op letter skipped', () => {
  const cases: Record<string, string> = {
    R: 'read', RA: 'read', RS: 'read', RM: 'read', FR: 'read',
    W: 'write', WS: 'write', WFS: 'write', FWS: 'write', WM: 'write', WSM: 'write',
    D: 'discard', DS: 'discard', DE: 'discard', FD: 'discard',
    F: 'flush', FF: 'flush', FS: 'flush',
    N: 'other', '': 'other', X: 'other',
  };
  for (const [rwbs, type] of Object.entries(cases)) assert.equal(classifyRwbs(rwbs), type, `rwbs ${rwbs}`);
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
  assert.match(plain.flush, /printf\("bio\\ttick\\t%llu\\n", nsecs\);$/);
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
