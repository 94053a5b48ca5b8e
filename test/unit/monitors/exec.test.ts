// exec: the tracepoint-forks variant (ahead-of-time runs) records parents at fork; unknown parents are blank.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { exec } from '../../../src/monitors/exec.js';
import { plannedFor, rendered, route } from '../../helpers/fixtures.js';

const opts = exec.options.parse({ enabled: true });

test('tracepoint-forks: parents recorded for new processes (not threads), forgotten when the group is dead', () => {
  const plan = { ...plannedFor('tracepoint-forks'), tracepointFields: { 'sched:sched_process_exit': ['comm', 'pid', 'prio', 'group_dead'] } };
  const f = rendered(exec, opts, plan);
  assert.match(f.probes, /tracepoint:task:task_newtask \/\(args->clone_flags & 0x10000\) == 0\/ \{/);
  assert.match(f.probes, /\$child = args->pid \+ 0;\n {2}if \(args->clone_flags & 0x8000\) \{\n {4}@exec_ppid\[\$child\] = @exec_ppid\[pid \+ 0\];\n {2}\} else \{\n {4}@exec_ppid\[\$child\] = pid \+ 0;/);
  assert.match(f.probes, /tracepoint:sched:sched_process_exit \/args->group_dead\/ \{\n {2}delete\(@exec_ppid\[pid \+ 0\]\);/);
  assert.match(f.probes, /\$ppid = @exec_ppid\[pid \+ 0\];/);
  assert.match(f.probes, /\$seq = @exec_seq\[cpu\] \+ 1;\n {2}@exec_seq\[cpu\] = \$seq;/);
  assert.match(f.probes, /printf\("exec\\tevent\\t%llu\\t%u\\t%llu\\t%u\\t%d\\t%d\\t%r\\t%s\\n", nsecs, cpu, \$seq, uid, pid, \$ppid, buf\(comm, 16\), str\(\$path\)\);/);
  assert.doesNotMatch(f.probes, /curtask/);
  assert.deepEqual(f.helpers, ['@exec_ppid', '@exec_seq']);
  // Kernels without group_dead: the leader's own exit.
  assert.match(rendered(exec, opts, plannedFor('tracepoint-forks')).probes, /sched_process_exit \/pid == tid\//);
  // The curtask variant has no fork tracking.
  const tp = rendered(exec, opts, plannedFor('tracepoint'));
  assert.match(tp.probes, /curtask->real_parent->tgid/);
  assert.doesNotMatch(tp.probes, /task_newtask/);
});

test('a parent pid of 0 (fork not seen, or pid 1) is blank, not 0', () => {
  const line = (ppid: number, pid: number): string => JSON.stringify({ type: 'printf', data: `exec\tevent\t1000000000\t1\t${pid - 40}\t0\t${pid}\t${ppid}\ttrue\\x00\\x00\t/usr/bin/true\n` });
  const { rows } = route(exec, opts, plannedFor('tracepoint-forks'), [line(0, 41), line(40, 42)]);
  assert.deepEqual(rows.map((r) => [r['pid'], r['ppid']]), [[41, null], [42, 40]]);
});

test('records are numbered per CPU: a gap is records lost (counted, logged and marked), never a silent hole', () => {
  const line = (cpu: number, seq: number): string => JSON.stringify({ type: 'printf', data: `exec\tevent\t1000000000\t${cpu}\t${seq}\t0\t7\t1\tx\\x00\t/x\n` });
  const { rows, rm, notes } = route(exec, opts, plannedFor('tracepoint'), [line(0, 1), line(1, 1), line(0, 2), line(0, 6), line(1, 2), line(1, 4)]);
  assert.equal(rows.length, 6);
  assert.equal(rm.stats.lostEvents, 3 + 1);
  assert.deepEqual(notes.map((n) => n.replace(/^\S+ /, '')), ['3 events lost on CPU 0 before this point (bpftrace\'s event buffer overflowed)', '1 events lost on CPU 1 before this point (bpftrace\'s event buffer overflowed)']);
});

test('the sequence counters, printed every second and in END, reveal records lost after the last that arrived', () => {
  const line = (cpu: number, seq: number): string => JSON.stringify({ type: 'printf', data: `exec\tevent\t1000000000\t${cpu}\t${seq}\t0\t7\t1\tx\\x00\t/x\n` });
  const counter = (m: Record<string, number>): string => JSON.stringify({ type: 'map', data: { '@exec_seq': m } });
  const { rows, rm, notes } = route(exec, opts, plannedFor('tracepoint'), [
    line(0, 1),
    line(0, 2),
    counter({ 0: 3 }), // record 3 may still be on its way: nothing is settled yet
    line(0, 3),
    counter({ 0: 9 }), // the print before said 3, and 3 arrived: still nothing lost
  ]);
  assert.equal(rows.length, 3);
  assert.equal(rm.stats.lostEvents, 0);
  assert.deepEqual(notes, []);
  // The end of the output settles the last print: 4..9 never arrived.
  const end = route(exec, opts, plannedFor('tracepoint'), [line(0, 1), counter({ 0: 9 })], 'x64', { end: true });
  assert.equal(end.rm.stats.lostEvents, 8);
  assert.equal(end.notes.length, 1);
});
