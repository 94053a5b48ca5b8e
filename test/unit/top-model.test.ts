// The model of `ebpfmon top`: rows of one interval become per-process rates; sorting and filtering.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createTopState, filterProcesses, ingest, snapshot, sortKeys, sortProcesses, withUsage, type MonitorClock, type ProcessRates } from '../../src/top/model.js';
import type { Row } from '../../src/monitors/types.js';

const ts1 = '2026-01-01T00:00:02.000Z';
const ts2 = '2026-01-01T00:00:04.000Z';
const sys = (pid: number, comm: string, count: number, errors = 0, timestamp = ts1): Row => ({ timestamp, pid, comm, syscall_nr: 0, syscall: 'read', category: 'file', count, error_count: errors, error_rate: 0, avg_latency_us: null, max_latency_us: null, cgroup: null });
const clock = (name: string, lastTickAt: number | null, interval = 2): MonitorClock => ({ name, mode: 'aggregate', interval, lastTickAt });
const all = (lastTickAt: number | null): MonitorClock[] =>
  ['syscall', 'open', 'page_fault', 'context_switch', 'bio', 'interrupt'].map((n) => clock(n, lastTickAt)).concat([{ name: 'exec', mode: 'event', interval: 2, lastTickAt: null }]);
const byPid = (list: readonly ProcessRates[], pid: number): ProcessRates | undefined => list.find((p) => p.pid === pid);

test('top model: the rows of an interval are summed per process and divided by the interval', () => {
  const s = createTopState();
  ingest(s, 'syscall', [sys(10, 'web', 300, 20), sys(10, 'web', 100), sys(11, 'db', 50)], 1000);
  ingest(s, 'open', [{ timestamp: ts1, pid: 10, comm: 'web', filename: '/a', count: 8, error_count: 2, error_rate: 0.25, cgroup: null }], 1000);
  ingest(s, 'page_fault', [{ timestamp: ts1, pid: 10, comm: 'web', fault_type: 'user', cpu: 0, numa_node: 0, count: 40, access: 'read', cause: 'not_present', cgroup: null }], 1000);
  ingest(s, 'context_switch', [{ timestamp: ts1, pid: 11, comm: 'db', cpu: 1, switches: 6, voluntary: 6, involuntary: 0, cgroup: null }], 1000);
  const bio = (io_type: string, total_bytes: number): Row => ({ timestamp: ts1, pid: 11, comm: 'db', device: '8:0', io_type, count: 2, total_bytes, avg_latency_us: 1, min_latency_us: 1, max_latency_us: 1, throughput_mbps: 2, latency_buckets: null, cgroup: null });
  // Reads and writes move data; the discard of a truncate does not.
  ingest(s, 'bio', [bio('write', 3_000_000), bio('read', 1_000_000), bio('discard', 3_000_000), bio('flush', 0)], 1000);
  const snap = snapshot(s, all(1000), 1500, 2000);
  assert.deepEqual(byPid(snap.processes, 10), { pid: 10, comm: 'web', syscalls: 200, errors: 10, opens: 4, openFailures: 1, faults: 20, switches: 0, bio: 0, cpu: null, mem: null, time: null });
  assert.deepEqual(byPid(snap.processes, 11), { pid: 11, comm: 'db', syscalls: 25, errors: 0, opens: 0, openFailures: 0, faults: 0, switches: 3, bio: 2, cpu: null, mem: null, time: null });
  assert.equal(snap.ready, true);
});

test('top model: a monitor that is not running gives null columns, not zeros', () => {
  const s = createTopState();
  ingest(s, 'syscall', [sys(10, 'web', 10)], 1000);
  const snap = snapshot(s, [clock('syscall', 1000)], 1000, 2000);
  assert.deepEqual(byPid(snap.processes, 10), { pid: 10, comm: 'web', syscalls: 5, errors: 0, opens: null, openFailures: null, faults: null, switches: null, bio: null, cpu: null, mem: null, time: null });
  assert.deepEqual(snap.totals, { execs: null, hardirqs: null, softirqs: null });
});

test('top model: each monitor shows its latest interval; an interval that closed without rows empties it', () => {
  const s = createTopState();
  ingest(s, 'syscall', [sys(10, 'web', 100)], 1000);
  ingest(s, 'syscall', [sys(10, 'web', 50)], 1001); // same timestamp: the same interval, merged
  assert.equal(byPid(snapshot(s, [clock('syscall', 1000)], 1100, 2000).processes, 10)?.syscalls, 75);
  ingest(s, 'syscall', [sys(12, 'new', 20, 0, ts2)], 3000); // the next interval replaces it
  const next = snapshot(s, [clock('syscall', 3000)], 3100, 2000).processes;
  assert.equal(byPid(next, 10), undefined);
  assert.equal(byPid(next, 12)?.syscalls, 10);
  // The interval after closed with no rows at all (the router's lastTickAt moved on): nothing is current.
  assert.deepEqual(snapshot(s, [clock('syscall', 5000)], 5100, 2000).processes, []);
  // No tick for more than two intervals (bpftrace stalled): the old rates are not shown as current.
  assert.deepEqual(snapshot(s, [clock('syscall', 3000)], 8100, 2000).processes, []);
});

test('top model: marker rows are skipped; the comm that did the most names the process', () => {
  const s = createTopState();
  ingest(s, 'syscall', [{ timestamp: ts1, note: 'bpftrace restarted: counts since the previous row are lost' }, sys(10, 'worker', 5), sys(10, 'main', 90), sys(10, 'worker', 6)], 1000);
  const p = byPid(snapshot(s, [clock('syscall', 1000)], 1000, 2000).processes, 10);
  assert.equal(p?.comm, 'main');
  assert.equal(p?.syscalls, 50.5);
});

test('top model: interrupts and execs are host-wide totals', () => {
  const s = createTopState();
  ingest(s, 'interrupt', [
    { timestamp: ts1, type: 'hardirq', name: 'virtio0', cpu: 0, count: 30, total_time_us: 1, avg_time_us: 1, max_time_us: 1, irq: 24 },
    { timestamp: ts1, type: 'softirq', name: 'timer', cpu: 0, count: 100, total_time_us: 1, avg_time_us: 1, max_time_us: 1, irq: 1 },
    { timestamp: ts1, type: 'softirq', name: 'rcu', cpu: 1, count: 40, total_time_us: 1, avg_time_us: 1, max_time_us: 1, irq: 9 },
  ], 1000);
  const exec = (pid: number): Row => ({ timestamp: ts1, uid: 0, pid, ppid: 1, comm: 'true', filename: '/bin/true', cgroup: null });
  ingest(s, 'exec', [exec(1), exec(2)], 500);
  ingest(s, 'exec', [exec(3), { timestamp: ts1, note: '3 events lost' }], 1000);
  ingest(s, 'exec', [exec(4)], -5000); // long before the window
  const snap = snapshot(s, all(1000), 1200, 2000);
  assert.deepEqual(snap.totals, { execs: 1.5, hardirqs: 15, softirqs: 70 });
  assert.deepEqual(snap.processes, []);
});

test('top model: ready once every aggregate monitor closed an interval, or two intervals after the first rows', () => {
  const s = createTopState();
  assert.equal(snapshot(s, [clock('syscall', null), clock('open', null)], 0, 2000).ready, false);
  ingest(s, 'open', [{ timestamp: ts1, pid: 1, comm: 'a', filename: '/x', count: 1, error_count: 0, error_rate: 0, cgroup: null }], 1000);
  assert.equal(snapshot(s, [clock('syscall', null), clock('open', 1000)], 1000, 2000).ready, false);
  assert.equal(snapshot(s, [clock('syscall', 2500), clock('open', 1000)], 2600, 2000).ready, true);
  assert.equal(snapshot(s, [clock('syscall', null), clock('open', 3000)], 5000, 2000).ready, true);
  assert.equal(snapshot(createTopState(), [{ name: 'exec', mode: 'event', interval: 2, lastTickAt: null }], 0, 2000).ready, true);
});

const p = (pid: number, comm: string, v: Partial<ProcessRates>): ProcessRates => ({ pid, comm, syscalls: 0, errors: 0, opens: 0, openFailures: 0, faults: 0, switches: 0, bio: 0, cpu: null, mem: null, time: null, ...v });
const list = [
  p(3, 'nginx', { syscalls: 100, faults: 5, bio: 0.5 }),
  p(1, 'postgres', { syscalls: 10, opens: 40, errors: 9, switches: 3 }),
  p(2, 'Postgres-wal', { syscalls: 100, faults: 50, bio: 9, switches: null }),
];

test('top model: sorting by each key puts the busiest first; ties by syscalls, then pid', () => {
  const order = (key: (typeof sortKeys)[number]): number[] => sortProcesses(list, key).map((x) => x.pid);
  assert.deepEqual(order('syscalls'), [2, 3, 1]);
  assert.deepEqual(order('errors'), [1, 2, 3]);
  assert.deepEqual(order('opens'), [1, 2, 3]);
  assert.deepEqual(order('faults'), [2, 3, 1]);
  assert.deepEqual(order('switches'), [1, 2, 3]);
  assert.deepEqual(order('bio'), [2, 3, 1]);
  assert.deepEqual(list.map((x) => x.pid), [3, 1, 2], 'the input is left in its order');
});

test('top model: the filter keeps comms containing the text, in any case; empty keeps all', () => {
  assert.deepEqual(filterProcesses(list, 'postgres').map((x) => x.pid), [1, 2]);
  assert.deepEqual(filterProcesses(list, 'WAL').map((x) => x.pid), [2]);
  assert.deepEqual(filterProcesses(list, '').map((x) => x.pid), [3, 1, 2]);
  assert.deepEqual(filterProcesses(list, 'redis'), []);
});

test('top model: after a stall the rows cover the time since the previous interval, not one interval', () => {
  const s = createTopState();
  ingest(s, 'syscall', [sys(10, 'web', 100)], 1000, 0);
  // Two intervals late (the router merged them and counted a stall): 6 s of counts.
  ingest(s, 'syscall', [sys(10, 'web', 600, 0, '2026-01-01T00:00:08.000Z')], 7000, 1);
  assert.equal(byPid(snapshot(s, [clock('syscall', 7000)], 7000, 2000).processes, 10)?.syscalls, 100);
  // The next one on time: one interval again.
  ingest(s, 'syscall', [sys(10, 'web', 100, 0, '2026-01-01T00:00:10.000Z')], 9000, 1);
  assert.equal(byPid(snapshot(s, [clock('syscall', 9000)], 9000, 2000).processes, 10)?.syscalls, 50);
});

test('top model: I inverts the order (smallest first), ties still by pid; CPU and RSS join by pid, null where /proc had none', () => {
  assert.deepEqual(sortProcesses(list, 'syscalls', true).map((x) => x.pid), [1, 2, 3]);
  assert.deepEqual(sortProcesses(list, 'faults', true).map((x) => x.pid), [1, 3, 2]);
  const usage = new Map([[3, { cpuPercent: 12.5, rssBytes: 4096, cpuSeconds: 7 }], [1, { cpuPercent: null, rssBytes: 8192, cpuSeconds: 1 }]]);
  const joined = withUsage(list, usage);
  assert.deepEqual(joined.map((x) => [x.pid, x.cpu, x.mem, x.time]), [[3, 12.5, 4096, 7], [1, null, 8192, 1], [2, null, null, null]]);
  assert.deepEqual(sortProcesses(joined, 'cpu').map((x) => x.pid), [3, 2, 1]);
  assert.deepEqual(sortProcesses(joined, 'mem').map((x) => x.pid), [1, 3, 2]);
});

test('top model: a running monitor that has not closed an interval yet gives null columns, not zeros', () => {
  const s = createTopState();
  ingest(s, 'syscall', [{ timestamp: '2026-01-01T00:00:02.000Z', pid: 5, comm: 'a', syscall: 'read', count: 4, error_count: 0, error_rate: 0, cgroup: null }], 1000);
  const snap = snapshot(s, [clock('syscall', 1000), clock('page_fault', null)], 1100, 2000);
  assert.equal(snap.processes[0]?.syscalls, 2);
  assert.equal(snap.processes[0]?.faults, null);
});

test("top's counts come from the monitors' `top` contributions: each from exactly one monitor, event monitors' from the host", async () => {
  const { monitors } = await import('../../src/monitors/registry.js');
  const { topHostCounts, topProcessCounts } = await import('../../src/monitors/types.js');
  const suppliers = monitors.flatMap((m) => (m.top?.counts ?? []).map((c) => `${c}:${m.name}`));
  assert.deepEqual(suppliers.map((s) => s.split(':')[0]).sort(), [...topProcessCounts, ...topHostCounts].sort(), 'every count has one supplier');
  for (const m of monitors.filter((x) => x.mode === 'event')) {
    for (const c of m.top?.counts ?? []) assert.ok((topHostCounts as readonly string[]).includes(c), `${m.name}: an event monitor counts for the host (${c})`);
  }
  // A contribution gives only the counts it declares (a renamed column fails to compile in the monitor's file).
  const s = createTopState();
  ingest(s, 'context_switch', [{ timestamp: ts1, pid: 5, comm: 'x', cpu: 0, switches: 4, voluntary: 1, involuntary: 3, cgroup: null }], 1000);
  assert.deepEqual(s.batches.get('context_switch')?.perPid.get(5)?.values, { switches: 4 });
  // A monitor without a contribution (func) is not shown.
  ingest(s, 'func', [{ timestamp: ts1, pid: 5, comm: 'x', function: 'vfs_read', count: 9, cgroup: null }], 1000);
  assert.equal(s.batches.has('func'), false);
});
