// The context_switch monitor: rows from real captured bpftrace 0.17 output, prev_state rule, options and script.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { contextSwitch, contextSwitchOptions } from '../../../src/monitors/context-switch.js';
import { fixtureLines, plannedFor, rendered, route } from '../../helpers/fixtures.js';

const erased = contextSwitch;
// Captured with test/fixtures/workloads/pingpong-comma.sh, default options: `taskset -c 0 ping,pong 200`, a parent
// (pid 30923) and its child (30924) passing a byte back and forth 200 times, both on CPU 0; one interval (END's).
const lines = fixtureLines('context_switch', 'pingpong');
const ts = '2026-01-01T01:28:00.020Z';

test('context_switch: one row per pid, CPU and comm; a comm with a comma stays whole', () => {
  const { rows, rm, unrouted } = route(erased, contextSwitchOptions.parse({ enabled: true }), plannedFor('tracepoint'), lines);
  assert.equal(unrouted, 0);
  assert.equal(rm.stats.parseErrors, 0);
  assert.equal(rows.length, 58);
  const pingpong = rows.filter((r) => r['comm'] === 'ping,pong');
  // Each process blocks in read() about once per round trip: at least 200 switches each.
  assert.deepEqual(pingpong, [
    { timestamp: ts, pid: 30923, comm: 'ping,pong', cpu: 0, switches: 201, voluntary: 121, involuntary: 80, cgroup: null },
    { timestamp: ts, pid: 30924, comm: 'ping,pong', cpu: 0, switches: 200, voluntary: 108, involuntary: 92, cgroup: null },
  ]);
  // The parent was `sh`, then `taskset` (on both CPUs, before it pinned itself) before its exec: same pid, other
  // comms, their own rows.
  assert.deepEqual(rows.filter((r) => r['pid'] === 30923 && r['comm'] !== 'ping,pong').map((r) => [r['comm'], r['cpu'], r['switches'], r['involuntary']]), [
    ['sh', 0, 1, 1],
    ['taskset', 0, 1, 0],
    ['taskset', 1, 1, 0],
  ]);
  // A pid seen on both CPUs has a row per CPU; a key only in the switch map has no involuntary switches.
  assert.deepEqual(rows.filter((r) => r['pid'] === 15).map((r) => [r['cpu'], r['switches'], r['involuntary']]), [[1, 14, 0], [0, 10, 0]]);
  for (const r of rows) {
    assert.deepEqual(Object.keys(r), contextSwitch.columns.filter((c) => c !== 'pod_uid' && c !== 'container_id'), 'the parser leaves the container columns to the writer');
    assert.equal(Number(r['voluntary']) + Number(r['involuntary']), r['switches']);
    assert.equal(r['timestamp'], ts);
  }
});

test('context_switch: min_switches drops small rows; a tick alone gives none', () => {
  const { rows } = route(erased, contextSwitchOptions.parse({ enabled: true, min_switches: 200 }), plannedFor('tracepoint'), lines);
  assert.deepEqual(rows.map((r) => r['pid']), [30923, 30924]);
  const tick = lines.filter((l) => l.includes('context_switch\\ttick'));
  assert.equal(tick.length, 1);
  assert.equal(route(erased, contextSwitchOptions.parse({ enabled: true }), plannedFor('tracepoint'), tick).rows.length, 0);
});


test('context_switch: bad option values are refused with a message', () => {
  const issue = (o: Record<string, unknown>): string | undefined => contextSwitchOptions.safeParse({ enabled: true, ...o }).error?.issues[0]?.message;
  for (const bad of [0, -3, 2.5, 'many']) assert.equal(issue({ min_switches: bad }), 'expected a whole number >= 1', String(bad));
  assert.equal(issue({ include_idle: 'yes' }), 'expected true or false');
  assert.equal(issue({ interval: 0 }), 'expected a positive number of seconds');
  assert.equal(contextSwitchOptions.safeParse({ enabled: true, min_switch: 2 }).success, false, 'unknown keys are errors');
  assert.deepEqual(contextSwitchOptions.parse({}), { enabled: false, interval: 2, min_switches: 1, include_idle: false, cgroup: false });
});

test('context_switch: the script counts per [pid, cpu, comm], skips the idle task unless asked', () => {
  const f = rendered(erased, contextSwitchOptions.parse({ enabled: true }), plannedFor('tracepoint'));
  // The idle task gets no rows, only the counter coverage compares with the kernel's.
  assert.match(f.probes, /^tracepoint:sched:sched_switch \{\n {2}if \(pid == 0\) \{\n {4}@context_switch_idle = count\(\);\n {2}\} else \{/m);
  assert.match(f.probes, /@context_switch_count\[pid, cpu, comm\] = count\(\);/);
  assert.match(f.probes, /\$state = args->prev_state;/);
  assert.match(f.probes, /if \(\(\$state & 0xff\) == 0\) \{\n {6}@context_switch_involuntary\[pid, cpu, comm\] = count\(\);\n {4}\}/);
  assert.deepEqual(f.helpers, []);
  assert.match(f.flush, /printf\("context_switch\\ttick\\t%llu\\t%llu\\n", nsecs, 0\);$/);
  const idle = rendered(erased, contextSwitchOptions.parse({ enabled: true, include_idle: true }), plannedFor('tracepoint'));
  assert.match(idle.probes, /^tracepoint:sched:sched_switch \{$/m);
});
