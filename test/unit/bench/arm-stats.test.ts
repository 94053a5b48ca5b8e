import { test } from 'node:test';
import assert from 'node:assert/strict';
import { floorText, kernelTotals, median, medianRatio, probeNames, processLabel, progDeltas, programTable, readyProbe, roundOrder, uniqueAttach, type ProgSample } from '../../../scripts/bench/arm-stats.js';

test('the floor: a ready line, then one count() per attach point, a tracepoint attached twice counted twice', () => {
  const text = floorText(['tracepoint:raw_syscalls:sys_exit', 'tracepoint:sched:sched_switch', 'tracepoint:sched:sched_switch']);
  assert.deepEqual(text.split('\n'), [
    readyProbe,
    'tracepoint:raw_syscalls:sys_exit { @n = count(); }',
    'tracepoint:sched:sched_switch { @n = count(); }',
    'tracepoint:sched:sched_switch { @n = count(); }',
    '',
  ]);
  assert.throws(() => floorText([]), /at least one attach point/);
  assert.deepEqual(uniqueAttach(['a', 'b', 'a']), ['a', 'b']);
});

test('round order rotates: each arm leads once every n rounds', () => {
  assert.deepEqual(roundOrder(['A', 'F', 'S', 'B'], 0), ['A', 'F', 'S', 'B']);
  assert.deepEqual(roundOrder(['A', 'F', 'S', 'B'], 1), ['F', 'S', 'B', 'A']);
  assert.deepEqual(roundOrder(['A', 'F', 'S', 'B'], 5), ['F', 'S', 'B', 'A']);
});

test('medians of per-round ratios, not ratios of medians; missing rounds and zero bases are left out', () => {
  assert.equal(median([3, 1, 2]), 2);
  assert.equal(median([4, 1, 2, 3]), 2.5);
  assert.ok(Number.isNaN(median([])));
  // Ratios per round: 1.1, 1.0, 1.5 -> 1.1; the ratio of the medians would be 11/10.
  assert.equal(medianRatio([11, 20, 15], [10, 20, 10]), 1.1);
  assert.equal(medianRatio([2, null, 3], [1, 1, 0]), 2);
  assert.equal(medianRatio([], []), null);
});

const sample = (pid: number, id: number, runTimeNs: number, runCount: number, process = 'main'): ProgSample => ({ pid, process, id, runTimeNs, runCount });

test('program deltas over the workload window, named by id; totals give ns per run', () => {
  const before = [sample(10, 1, 1000, 10), sample(10, 2, 0, 0), sample(11, 1, 500, 5, 'paths')];
  const after = [sample(10, 1, 5000, 30), sample(10, 2, 300, 3), sample(11, 1, 500, 5, 'paths'), sample(10, 3, 100, 1)];
  const d = progDeltas(before, after, new Map([[1, 'sys_exit'], [2, 'sched_switch']]));
  assert.deepEqual(d, [
    { process: 'main', id: 1, name: 'sys_exit', runTimeNs: 4000, runCount: 20 },
    { process: 'main', id: 2, name: 'sched_switch', runTimeNs: 300, runCount: 3 },
    { process: 'paths', id: 1, name: 'sys_exit', runTimeNs: 0, runCount: 0 },
    { process: 'main', id: 3, name: '#3', runTimeNs: 100, runCount: 1 },
  ]);
  assert.deepEqual(kernelTotals(d), { programs: 4, runTimeNs: 4400, runCount: 24, nsPerRun: 4400 / 24 });
  assert.equal(kernelTotals([]).nsPerRun, null);
});

test('program table: per process and name across rounds, same names added within a round, busiest first', () => {
  const round1 = [
    { process: 'main', id: 1, name: 'sys_exit', runTimeNs: 6e6, runCount: 30_000 },
    { process: 'main', id: 2, name: 'sched_switch', runTimeNs: 1e6, runCount: 5_000 },
    { process: 'main', id: 3, name: 'sched_switch', runTimeNs: 1e6, runCount: 5_000 },
  ];
  const round2 = [
    { process: 'main', id: 7, name: 'sys_exit', runTimeNs: 8e6, runCount: 40_000 },
    { process: 'paths', id: 8, name: 'sys_enter_opena', runTimeNs: 2e6, runCount: 10_000 },
  ];
  const rows = programTable([round1, round2]);
  assert.deepEqual(rows.map((r) => r.program), ['main/sys_exit', 'main/sched_switch', 'paths/sys_enter_opena']);
  const top = rows[0]!;
  assert.equal(top.rounds, 2);
  assert.equal(top.msPerRound, 7);
  assert.equal(top.runsPerRound, 35_000);
  assert.equal(top.nsPerRun, 14e6 / 70_000);
  assert.equal(top.share, 14 / 18);
  assert.equal(rows[1]!.msPerRound, 2); // both sched_switch programs of round 1
  assert.equal(rows[1]!.rounds, 1);
});

test('process label from the command line of a tracer', () => {
  assert.equal(processLabel(['/usr/bin/bpftrace-aotrt', '-f', 'json', '/tmp/ebpfmon-123-abc/ebpfmon-main.aot']), 'main');
  assert.equal(processLabel(['bpftrace-aotrt', '-f', 'json', '/var/tmp/x/floor-paths.aot']), 'paths');
  assert.equal(processLabel(['bpftrace-aotrt', '-f', 'json', '/var/tmp/x/bare-page_fault-page_fault.aot']), 'page_fault-page_fault');
  assert.equal(processLabel(['bpftrace', '-f', 'json', '/tmp/x/ebpfmon-context_switch.bt']), 'context_switch');
  assert.equal(processLabel([]), '');
});

test('probe names: names cut to 15 bytes told apart by load order; BEGIN and interval keep theirs', () => {
  const attach = [
    'tracepoint:task:task_newtask',
    'tracepoint:sched:sched_process_exit',
    'tracepoint:sched:sched_process_exec',
    'tracepoint:syscalls:sys_enter_openat',
    'tracepoint:syscalls:sys_exit_openat',
    'tracepoint:syscalls:sys_enter_openat2',
    'tracepoint:syscalls:sys_exit_openat2',
    'tracepoint:signal:signal_generate',
  ];
  const progs = [
    { id: 20, name: 'BEGIN' },
    { id: 24, name: 'sys_enter_opena' },
    { id: 21, name: 'task_newtask' },
    { id: 22, name: 'sched_process_e' },
    { id: 23, name: 'sched_process_e' },
    { id: 25, name: 'sys_exit_openat' },
    { id: 26, name: 'sys_enter_opena' },
    { id: 27, name: 'sys_exit_openat' },
    { id: 28, name: 'signal_generate' },
    { id: 29, name: 's_1' },
    { id: 30, name: '' },
  ];
  assert.deepEqual(
    [...probeNames(progs, attach)].sort((a, b) => a[0] - b[0]),
    [
      [20, 'BEGIN'],
      [21, 'task:task_newtask'],
      [22, 'sched:sched_process_exit'],
      [23, 'sched:sched_process_exec'],
      [24, 'syscalls:sys_enter_openat'],
      [25, 'syscalls:sys_exit_openat'],
      [26, 'syscalls:sys_enter_openat2'],
      [27, 'syscalls:sys_exit_openat2'],
      [28, 'signal:signal_generate'],
      [29, 's_1'],
      [30, '#30'],
    ],
  );
});
