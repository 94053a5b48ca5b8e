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

test('with arguments (max_args > 0) exec offers no ahead-of-time variant: the arguments need curtask', () => {
  assert.deepEqual(exec.variants(opts).map((v) => [v.name, v.bpftraceOnly ?? false]), [['kprobe', false], ['tracepoint', true]]);
  const none = exec.options.parse({ enabled: true, max_args: 0 });
  assert.deepEqual(exec.variants(none).map((v) => v.name), ['kprobe', 'tracepoint-forks', 'tracepoint']);
  assert.deepEqual(exec.variants(none)[0]?.needs.map((n) => n.kind), ['kprobe'], 'no sched_process_exec need without arguments');
});

test('kprobe variant: the arguments read at sched_process_exec join only an event that says its CPU printed them', () => {
  const plan = { ...plannedFor('kprobe'), tracepointFields: { 'sched:sched_process_exec': ['filename', 'pid', 'old_pid'] } };
  const f = rendered(exec, opts, plan);
  assert.match(f.probes, /tracepoint:sched:sched_process_exec \{\n {2}\$mm = curtask->mm;[^}]*@exec_argcpu\[tid \+ 0\] = cpu \+ 1;\n {2}printf\("exec\\targs/);
  assert.match(f.probes, /@exec_argcpu\[tid \+ 0\], buf\(comm, 16\), str\(\$path\)\);\n {2}\}\n {2}delete\(@exec_argcpu\[tid \+ 0\]\);/);
  // Without the tracepoint (or with max_args 0) no arguments: the event has no argcpu field.
  assert.doesNotMatch(rendered(exec, opts, plannedFor('kprobe')).probes, /sched_process_exec|argcpu/);
  const hex = (s: string): string => [...Buffer.from(s, 'latin1')].map((c) => `\\x${c.toString(16).padStart(2, '0')}`).join('');
  const args = (cpu: number, seq: number, pid: number, s: string): string =>
    JSON.stringify({ type: 'printf', data: `exec\targs\t${cpu}\t${seq}\t${pid}\t${s.length}\t${hex(s)}\n` });
  const event = (cpu: number, seq: number, pid: number, argcpu: number): string =>
    JSON.stringify({ type: 'printf', data: `exec\tevent\t1000000000\t${cpu}\t${seq}\t0\t${pid}\t1\t${argcpu}\tx\\x00\t/x\n` });
  const { rows } = route(exec, opts, plan, [
    // Printed and returned on CPU 0: joined.
    args(0, 1, 50, 'a\0one\0'),
    event(0, 1, 50, 1),
    // Pid 60 printed its arguments on CPU 1 and moved to CPU 0 before its kretprobe: none (CPU 1's record stays held).
    args(1, 1, 60, 'b\0first\0'),
    event(0, 2, 60, 2),
    // Pid 60 execs again, printed on CPU 0, returns on CPU 1 as record 1 of CPU 1, where its first exec's record is
    // held with that number and pid: the event says CPU 0 printed its own, so the held one is not taken.
    args(0, 3, 60, 'b\0second\0'),
    event(1, 1, 60, 1),
    // No args record at all (argcpu 0).
    event(0, 3, 70, 0),
  ]);
  assert.deepEqual(rows.map((r) => [r['pid'], r['args']]), [[50, 'a one'], [60, null], [60, null], [70, null]]);
});
