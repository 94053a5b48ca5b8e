// Every section's figures, asserted exactly against fixtures whose numbers follow from their lines.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { analyze, toJsonReport, type JsonReport } from '../../../analysis/index.js';
import { r6, writeFiles, writeFixtureDir } from './fixtures.js';

let cached: JsonReport | undefined;
async function report(): Promise<JsonReport> {
  cached ??= toJsonReport(await analyze({ dir: await writeFixtureDir() }));
  return cached;
}
async function section(monitor: string): Promise<NonNullable<JsonReport['sections'][string]>> {
  const s = (await report()).sections[monitor];
  assert.ok(s, `a ${monitor} section`);
  return s;
}
const rows = (s: NonNullable<JsonReport['sections'][string]>, id: string): Record<string, unknown>[] => {
  const t = s.tables[id];
  assert.ok(t, `table ${id}`);
  return t.rows;
};

test('all eight monitors get a section, in order, with no damage', async () => {
  const r = await report();
  assert.deepEqual(Object.keys(r.sections), ['exec', 'syscall', 'open', 'bio', 'func', 'interrupt', 'page_fault', 'context_switch']);
  assert.equal(r.rows, 4 + 6 + 3 + 3 + 4 + 4 + 3 + 3);
  assert.equal(r.damaged_rows, 0);
  assert.equal(r.format, 'ebpfmon-analyze/1');
});

test('exec: totals, rate, top executables, processes and users', async () => {
  const s = await section('exec');
  assert.deepEqual(s.range, { from: '2026-11-25T01:00:00.000Z', to: '2026-11-25T01:02:00.000Z', span_seconds: 120, interval_seconds: null, covered_seconds: 120 });
  assert.deepEqual(s.totals, { executions: 4, rate: r6(4 / 120), per_minute: 2, executables: 3, processes: 3, users: 2 });
  assert.deepEqual(rows(s, 'top_executables'), [
    { filename: '/usr/bin/ls', executions: 2, share: 0.5 },
    { filename: '/bin/sh', executions: 1, share: 0.25 },
    { filename: '/usr/bin/git', executions: 1, share: 0.25 },
  ]);
  assert.deepEqual(rows(s, 'top_processes')[0], { comm: 'ls', executions: 2, share: 0.5 });
  assert.deepEqual(rows(s, 'by_user'), [
    { uid: 1000, executions: 3, share: 0.75 },
    { uid: 0, executions: 1, share: 0.25 },
  ]);
  // 120 s of events in 1 s buckets (the smallest for events), anchored at the first one.
  assert.equal(s.series?.bucket_seconds, 1);
  assert.equal(s.series?.points.length, 120);
  assert.deepEqual(s.series?.points.filter((p) => p.total > 0).map((p) => [p.t, p.total]), [
    ['2026-11-25T01:00:00.000Z', 1],
    ['2026-11-25T01:00:30.000Z', 1],
    ['2026-11-25T01:01:00.000Z', 1],
    ['2026-11-25T01:01:59.000Z', 1], // the last event, at the covered end, in the last bucket
  ]);
});

test('syscall: calls, errors, categories, worst error rates, processes, latency, markers', async () => {
  const s = await section('syscall');
  assert.deepEqual(s.range, { from: '2026-11-25T00:00:02.000Z', to: '2026-11-25T00:01:10.000Z', span_seconds: 68, interval_seconds: 2, covered_seconds: 70 });
  assert.equal(s.rows, 6);
  assert.deepEqual(s.markers, { total: 1, first: [{ timestamp: '2026-11-25T00:00:06.000Z', note: 'bpftrace restarted: counts of one interval lost' }] });
  assert.deepEqual(s.totals, {
    calls: 300,
    rate: r6(300 / 70), // over 70 s covered: the first row's interval start (00:00:00) to the last row
    errors: 19,
    error_rate: r6(19 / 300),
    syscalls: 3,
    processes: 3,
    avg_latency_us: 3.042, // (2.5*100 + 1*20 + 5*80 + 1.5*40) / 240
    max_latency_us: 20,
  });
  assert.deepEqual(rows(s, 'top_syscalls'), [
    { syscall: 'read', category: 'io', calls: 200, share: r6(200 / 300), errors: 0, error_rate: 0 },
    { syscall: 'openat', category: 'file', calls: 60, share: 0.2, errors: 15, error_rate: 0.25 },
    { syscall: 'write', category: 'io', calls: 40, share: r6(40 / 300), errors: 4, error_rate: 0.1 },
  ]);
  assert.deepEqual(rows(s, 'by_category'), [
    { category: 'io', calls: 240, share: 0.8, errors: 4, error_rate: r6(4 / 240) },
    { category: 'file', calls: 60, share: 0.2, errors: 15, error_rate: 0.25 },
  ]);
  assert.deepEqual(rows(s, 'worst_error_rates'), [
    { syscall: 'openat', error_rate: 0.25, errors: 15, calls: 60 },
    { syscall: 'write', error_rate: 0.1, errors: 4, calls: 40 },
  ]);
  assert.deepEqual(rows(s, 'top_processes'), [
    { comm: 'nginx', calls: 230, share: r6(230 / 300), errors: 5, error_rate: r6(5 / 230) },
    { comm: 'we,ird', calls: 40, share: r6(40 / 300), errors: 4, error_rate: 0.1 },
    { comm: 'bash', calls: 30, share: 0.1, errors: 10, error_rate: r6(10 / 30) },
  ]);
  assert.deepEqual(rows(s, 'slowest_syscalls'), [
    { syscall: 'read', calls: 200, avg_latency_us: 3.35, max_latency_us: 20 },
    { syscall: 'write', calls: 40, avg_latency_us: 1.5, max_latency_us: 7 },
  ]);
  // 70 s covered in 2 s buckets (the interval) from 00:00:00; each row counts in the bucket of its interval.
  const points = s.series?.points ?? [];
  assert.equal(s.series?.bucket_seconds, 2);
  assert.equal(points.length, 35);
  assert.deepEqual(points.filter((p) => p.total > 0), [
    { t: '2026-11-25T00:00:00.000Z', total: 170, seconds: 2, rate: 85 },
    { t: '2026-11-25T00:00:02.000Z', total: 90, seconds: 2, rate: 45 },
    { t: '2026-11-25T00:01:08.000Z', total: 40, seconds: 2, rate: 20 },
  ]);
});

test('open: totals, error rate, top files, most failures, processes', async () => {
  const s = await section('open');
  assert.equal(s.range.interval_seconds, 5);
  assert.equal(s.range.covered_seconds, 10);
  // A file written before the folded column: no folded row.
  assert.deepEqual(s.totals, { opens: 20, rate: 2, errors: 5, error_rate: 0.25, files: 2, folded: 0, processes: 2 });
  assert.deepEqual(rows(s, 'top_files'), [
    { filename: '/etc/passwd', opens: 16, share: 0.8, errors: 1, error_rate: 0.0625 },
    { filename: '/nope', opens: 4, share: 0.2, errors: 4, error_rate: 1 },
  ]);
  assert.deepEqual(rows(s, 'most_failures'), [
    { filename: '/nope', errors: 4, opens: 4, error_rate: 1 },
    { filename: '/etc/passwd', errors: 1, opens: 16, error_rate: 0.0625 },
  ]);
  assert.deepEqual(rows(s, 'top_processes'), [
    { comm: 'cat', opens: 14, share: 0.7, errors: 4, error_rate: r6(4 / 14) },
    { comm: 'vim', opens: 6, share: 0.3, errors: 1, error_rate: r6(1 / 6) },
  ]);
});

test('open: a folded row counts in the totals and its process, never as a file (a real file named like it does)', async () => {
  const dir = await writeFiles({
    'open_20261125T020000Z.csv': [
      'timestamp,pid,comm,filename,count,error_count,error_rate,cgroup,folded,note',
      '2026-11-25T02:00:05.000Z,1,grep,[other paths],9000,8000,0.8889,,1,',
      '2026-11-25T02:00:05.000Z,1,grep,/src/a.c,4,0,0,,0,',
      '2026-11-25T02:00:05.000Z,2,evil,[other paths],3,0,0,,0,',
    ].join('\n') + '\n',
  });
  const s = toJsonReport(await analyze({ dir })).sections['open'];
  assert.ok(s);
  // One interval: no covered time known, so no rate.
  assert.deepEqual(s.totals, { opens: 9007, rate: null, errors: 8000, error_rate: r6(8000 / 9007), files: 2, folded: 9000, processes: 2 });
  assert.deepEqual(rows(s, 'top_files').map((r) => [r['filename'], r['opens']]), [['/src/a.c', 4], ['[other paths]', 3]]);
  assert.deepEqual(rows(s, 'top_processes').map((r) => [r['comm'], r['opens'], r['errors']]), [['grep', 9004, 8000], ['evil', 3, 0]]);
});

test('bio: by type, bytes, throughput, latency weighted by count, devices and processes', async () => {
  const s = await section('bio');
  assert.deepEqual(s.totals, {
    ios: 20,
    bytes: 1061440,
    throughput_mbps: 0.106, // 1,061,440 bytes over 10 s covered (5 s span + 5 s interval)
    peak_interval_mbps: 0.2,
    avg_latency_us: 200, // (100*10 + 200*5 + 400*5) / 20
    min_latency_us: 10,
    max_latency_us: 900,
    reads_share: r6(40960 / 1061440),
  });
  assert.deepEqual(rows(s, 'by_type'), [
    { io_type: 'read', ios: 10, bytes: 40960, avg_latency_us: 100, max_latency_us: 300, avg_bytes: 4096 },
    { io_type: 'write', ios: 10, bytes: 1020480, avg_latency_us: 300, max_latency_us: 900, avg_bytes: 102048 },
  ]);
  assert.deepEqual(rows(s, 'top_devices'), [
    { disk: 'sda', device: 'sda', ios: 5, bytes: 1000000, avg_latency_us: 400, max_latency_us: 900 },
    { disk: 'nvme0n1', device: 'nvme0n1', ios: 15, bytes: 61440, avg_latency_us: 133.333, max_latency_us: 400 },
  ]);
  assert.deepEqual(rows(s, 'top_processes').map((r) => [r['comm'], r['bytes']]), [
    ['dd', 1000000],
    ['postgres', 61440],
  ]);
});

test('func: calls per function and the process x function table', async () => {
  const s = await section('func');
  assert.deepEqual(s.totals, { calls: 20, rate: 5, functions: 3, processes: 2 });
  assert.deepEqual(rows(s, 'by_function'), [
    { function: 'vfs_read', calls: 13, share: 0.65 },
    { function: 'vfs_write', calls: 5, share: 0.25 },
    { function: 'tcp_sendmsg', calls: 2, share: 0.1 },
  ]);
  assert.deepEqual(rows(s, 'process_by_function'), [
    { comm: 'nginx', 'fn:vfs_read': 10, 'fn:vfs_write': 5, 'fn:tcp_sendmsg': 2, other: 0, total: 17 },
    { comm: 'bash', 'fn:vfs_read': 3, 'fn:vfs_write': 0, 'fn:tcp_sendmsg': 0, other: 0, total: 3 },
  ]);
});

test('func without per_process (no pid, no comm): no cross table', async () => {
  const dir = await writeFiles({ 'func_20261125T000000Z.csv': 'timestamp,pid,comm,function,count,note\n2026-11-25T00:00:02.000Z,0,,vfs_read,7,\n2026-11-25T00:00:04.000Z,0,,vfs_read,3,\n' }, 'func');
  const s = toJsonReport(await analyze({ dir })).sections['func'];
  assert.deepEqual(s?.totals, { calls: 10, rate: 2.5, functions: 1, processes: null });
  assert.deepEqual(Object.keys(s?.tables ?? {}), ['by_function']);
});

test('interrupt: by type and name, over CPUs, time in handlers', async () => {
  const s = await section('interrupt');
  assert.deepEqual(s.totals, { interrupts: 550, rate: 137.5, hardirq: 200, softirq: 350, time_us: 475, cpu_share: r6(475 / 1e6 / 4 / 2), cpus: 2 });
  assert.deepEqual(rows(s, 'by_type'), [
    { type: 'softirq', count: 350, share: r6(350 / 550), time_us: 175, avg_us: 0.5 },
    { type: 'hardirq', count: 200, share: r6(200 / 550), time_us: 300, avg_us: 1.5 },
  ]);
  assert.deepEqual(rows(s, 'by_name'), [
    { type: 'softirq', name: 'NET_RX', count: 300, time_us: 150, avg_us: 0.5, max_us: 4 },
    { type: 'hardirq', name: 'nvme0q1', count: 200, time_us: 300, avg_us: 1.5, max_us: 9 },
    { type: 'softirq', name: 'TIMER', count: 50, time_us: 25, avg_us: 0.5, max_us: 1 },
  ]);
  assert.deepEqual(rows(s, 'by_cpu'), [
    { cpu: 0, count: 150, share: r6(150 / 550), hardirq: 100, softirq: 50, time_us: 225 },
    { cpu: 1, count: 400, share: r6(400 / 550), hardirq: 100, softirq: 300, time_us: 250 },
  ]);
});

test('page_fault: by type, over CPUs and NUMA nodes, top processes', async () => {
  const s = await section('page_fault');
  assert.equal(s.range.interval_seconds, null, 'one timestamp only: no interval seen');
  assert.deepEqual(s.totals, { faults: 150, rate: null, user: 130, kernel: 20, processes: 2, cpus: 3, numa_nodes: 2 });
  assert.deepEqual(rows(s, 'by_type'), [
    { fault_type: 'user', faults: 130, share: r6(130 / 150) },
    { fault_type: 'kernel', faults: 20, share: r6(20 / 150) },
  ]);
  assert.deepEqual(rows(s, 'by_cpu'), [
    { cpu: 0, faults: 100, share: r6(100 / 150) },
    { cpu: 1, faults: 20, share: r6(20 / 150) },
    { cpu: 3, faults: 30, share: 0.2 },
  ]);
  assert.deepEqual(rows(s, 'by_numa_node'), [
    { numa_node: 0, faults: 120, share: 0.8 },
    { numa_node: 1, faults: 30, share: 0.2 },
  ]);
  assert.deepEqual(rows(s, 'top_processes'), [
    { comm: 'java', faults: 120, share: 0.8, user: 100, kernel: 20 },
    { comm: 'bash', faults: 30, share: 0.2, user: 30, kernel: 0 },
  ]);
  assert.equal(s.tables['by_access'], undefined, 'no access column, no table');
});

test('context_switch: top switchers, voluntary vs involuntary, CPUs', async () => {
  const s = await section('context_switch');
  assert.deepEqual(s.totals, { switches: 170, rate: 42.5, voluntary: 115, involuntary: 55, voluntary_share: r6(115 / 170), processes: 2, cpus: 2 });
  assert.deepEqual(rows(s, 'top_switchers'), [
    { comm: 'postgres', switches: 120, share: r6(120 / 170), voluntary: 110, involuntary: 10, voluntary_share: r6(110 / 120) },
    { comm: 'stress', switches: 50, share: r6(50 / 170), voluntary: 5, involuntary: 45, voluntary_share: 0.1 },
  ]);
  assert.deepEqual(rows(s, 'by_cpu'), [
    { cpu: 0, switches: 100, share: r6(100 / 170), voluntary: 90, involuntary: 10, voluntary_share: 0.9 },
    { cpu: 1, switches: 70, share: r6(70 / 170), voluntary: 25, involuntary: 45, voluntary_share: r6(25 / 70) },
  ]);
});

test('--monitor keeps one section; --top cuts every table', async () => {
  const dir = await writeFixtureDir();
  const one = toJsonReport(await analyze({ dir, monitor: 'syscall', top: 1 }));
  assert.deepEqual(Object.keys(one.sections), ['syscall']);
  assert.deepEqual(one.files.map((f) => f.file), ['syscall_20261125T000000Z.csv']);
  for (const t of Object.values(one.sections['syscall']?.tables ?? {})) assert.ok(t.rows.length <= 1, t.title);
  assert.equal(one.sections['syscall']?.totals['calls'], 300, 'totals are not cut by --top');
});

test('a window keeps only the rows inside it (since inclusive, until exclusive)', async () => {
  const dir = await writeFixtureDir();
  const r = toJsonReport(await analyze({ dir, window: { since: '2026-11-25T00:00:04.000Z', until: '2026-11-25T00:01:10.000Z' } }));
  assert.deepEqual(Object.keys(r.sections), ['syscall']);
  assert.equal(r.sections['syscall']?.totals['calls'], 90);
  assert.equal(r.sections['syscall']?.markers.total, 1);
  const day = toJsonReport(await analyze({ dir, window: { since: '2026-11-26T00:00:00.000Z', until: '2026-11-27T00:00:00.000Z' } }));
  assert.deepEqual(day.sections, {});
});

test('exec: a file with the args column (commas, quotes, a newline inside cells) gives the same figures as one without', async () => {
  const old = (await section('exec')).totals;
  const dir = await writeFiles({
    'exec_20261125T010000Z.csv': [
      'timestamp,uid,pid,ppid,comm,filename,args,cgroup,note',
      '2026-11-25T01:00:00.000Z,0,10,1,ls,/usr/bin/ls,"ls -l a,b \\""x\\""y\\x0a",,',
      '2026-11-25T01:00:30.000Z,1000,11,1,ls,/usr/bin/ls,"ls """" \\…\nx",,',
      '2026-11-25T01:01:00.000Z,1000,12,1,sh,/bin/sh,,,',
      '2026-11-25T01:02:00.000Z,1000,13,12,git,/usr/bin/git,git\\ x,,',
    ].join('\n') + '\n',
  });
  const s = toJsonReport(await analyze({ dir })).sections['exec'];
  assert.deepEqual(s?.totals, old);
  assert.equal(toJsonReport(await analyze({ dir })).damaged_rows, 0);
});
