// interrupt: real bpftrace 0.17 output -> rows (one per type, CPU and handler or vector), softirq names, the script.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { interrupt, interruptOptions, softirqName, softirqNames } from '../../../src/monitors/interrupt.js';
import { fixtureLines, plannedFor, rendered, route, tickLine } from '../../helpers/fixtures.js';

const monitor = interrupt;
const opts = interruptOptions.parse({ enabled: true });
const plan = plannedFor('tracepoint');

test('softirq vectors are named in the kernel order, unknown ones keep their number', () => {
  assert.deepEqual(
    [...softirqNames.keys()].map(softirqName),
    ['hi', 'timer', 'net_tx', 'net_rx', 'block', 'irq_poll', 'tasklet', 'sched', 'hrtimer', 'rcu'],
  );
  assert.equal(softirqName(10), 'vec_10');
});

test('a captured run gives one row per interval, type, CPU and handler, with times in microseconds', () => {
  // Captured with test/fixtures/workloads/bio-dd.sh (virtio block interrupts) and 4 s more, default options: two
  // interval ticks and END's, so both copies of the double-buffered maps were printed (the second interval as @*_b).
  const lines = fixtureLines('interrupt', 'intervals');
  assert.ok(lines.some((l) => l.includes('"@interrupt_hard_count_b"')));
  const { rows, rm, unrouted } = route(monitor, opts, plan, lines);
  assert.equal(unrouted, 0);
  assert.equal(rm.stats.parseErrors, 0);
  const first = rows.filter((r) => r['timestamp'] === rows[0]?.['timestamp']);
  // First interval: 3 hard handlers and 7 softirq (cpu, vector) pairs.
  assert.equal(first.length, 10);
  assert.deepEqual(first.find((r) => r['name'] === 'virtio1-req.0'), {
    timestamp: '2026-01-01T01:27:48.062Z',
    type: 'hardirq',
    name: 'virtio1-req.0',
    cpu: 1,
    count: 15,
    total_time_us: 41.81,
    avg_time_us: 2.79,
    max_time_us: 8.09,
    irq: 36,
  });
  assert.deepEqual(first.find((r) => r['type'] === 'softirq' && r['name'] === 'block'), {
    timestamp: '2026-01-01T01:27:48.062Z',
    type: 'softirq',
    name: 'block',
    cpu: 1,
    count: 15,
    total_time_us: 267.76,
    avg_time_us: 17.85,
    max_time_us: 36.7,
    irq: 4,
  });
  // Three intervals (two ticks and END), hard rows sorted before soft ones, by CPU then number.
  assert.deepEqual([...new Set(rows.map((r) => r['timestamp']))], ['2026-01-01T01:27:48.062Z', '2026-01-01T01:27:50.062Z', '2026-01-01T01:27:50.597Z']);
  assert.deepEqual(first.map((r) => `${String(r['type'])}/${String(r['cpu'])}/${String(r['irq'])}`), [
    'hardirq/1/31', 'hardirq/1/36', 'hardirq/1/42',
    'softirq/0/1', 'softirq/0/7', 'softirq/0/9', 'softirq/1/1', 'softirq/1/4', 'softirq/1/7', 'softirq/1/9',
  ]);
  // The second interval comes from the @*_b copies.
  assert.deepEqual(rows.filter((r) => r['timestamp'] === '2026-01-01T01:27:50.062Z' && r['type'] === 'hardirq').map((r) => [r['name'], r['count']]), [['virtio1-req.0', 678], ['virtio3-tx', 1]]);
  const softTotal = rows.filter((r) => r['type'] === 'softirq').reduce((n, r) => n + Number(r['count']), 0);
  assert.equal(softTotal, (15 + 39 + 70 + 129 + 143 + 155 + 183) + (108 + 166 + 308 + 312 + 348 + 432 + 678) + (5 + 5 + 23 + 25 + 35 + 44 + 44));
});

test('a handler name with a comma stays whole; time without a counted entry gives count 0, not NaN', () => {
  const { rows } = route(monitor, opts, plan, [
    '{"type": "map", "data": {"@interrupt_hard_count": {"0,19,eth0,rx": 4}}}',
    '{"type": "map", "data": {"@interrupt_hard_ns": {"0,19,eth0,rx": 4000, "1,20,nvme0q1": 1500}}}',
    '{"type": "map", "data": {"@interrupt_hard_max": {"0,19,eth0,rx": 2500, "1,20,nvme0q1": 1500}}}',
    '{"type": "map", "data": {"@interrupt_soft_count": {"1,12": 2}}}',
    tickLine('interrupt', 2000000000),
  ]);
  assert.deepEqual(rows.map((r) => [r['type'], r['name'], r['cpu'], r['irq'], r['count'], r['total_time_us'], r['avg_time_us'], r['max_time_us']]), [
    ['hardirq', 'eth0,rx', 0, 19, 4, 4, 1, 2.5],
    ['hardirq', 'nvme0q1', 1, 20, 0, 1.5, 1.5, 1.5],
    ['softirq', 'vec_12', 1, 12, 2, 0, 0, 0],
  ]);
});

test('a tick with no maps closes an idle interval with no rows', () => {
  const { rows, unrouted } = route(monitor, opts, plan, [tickLine('interrupt', 2000000000), '']);
  assert.deepEqual(rows, []);
  assert.equal(unrouted, 0);
});

test('the script counts at entry, times entry to exit per CPU, reads the __data_loc name with str() and clears helpers', () => {
  const f = rendered(monitor, opts, plan);
  assert.match(f.probes, /tracepoint:irq:irq_handler_entry \{\n {2}\$name = str\(args->name\);\n {2}\$irq = args->irq \+ 0;\n {2}@interrupt_hard_count\[cpu, \$irq, \$name\] = count\(\);/);
  assert.match(f.probes, /tracepoint:irq:softirq_entry \{\n {2}\$vec = args->vec \+ 0;\n {2}@interrupt_soft_count\[cpu, \$vec\] = count\(\);/);
  assert.match(f.probes, /tracepoint:irq:softirq_exit \/@interrupt_start\[cpu, 1\]\/ \{/);
  assert.match(f.probes, /\$name = @interrupt_hard_name\[cpu\];\n {2}@interrupt_hard_ns\[cpu, \$irq, \$name\] = sum\(\$ns\);/);
  assert.match(f.flush, /printf\("interrupt\\ttick\\t%llu\\t%llu\\n", nsecs, 0\);$/);
  assert.deepEqual(f.helpers, ['@interrupt_start', '@interrupt_hard_name']);
  for (const m of [...f.results, ...f.helpers]) assert.ok(m.startsWith('@interrupt_'), m);
  assert.deepEqual(interrupt.columns.slice(0, 8), ['timestamp', 'type', 'name', 'cpu', 'count', 'total_time_us', 'avg_time_us', 'max_time_us']);
});

test('options: only enabled and interval', () => {
  assert.deepEqual(interruptOptions.parse({}), { enabled: false, interval: 2 });
  assert.equal(interruptOptions.safeParse({ enabled: true, cpu: 1 }).success, false);
});
