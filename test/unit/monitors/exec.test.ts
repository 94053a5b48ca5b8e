// exec: the tracepoint-forks variant (ahead-of-time runs) records parents at fork; unknown parents are blank.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { exec } from '../../../src/monitors/exec.js';
import { erase } from '../../../src/monitors/registry.js';
import { plannedFor, rendered, route } from '../../helpers/fixtures.js';

const opts = exec.options.parse({ enabled: true });

test('tracepoint-forks: parents recorded for new processes (not threads), forgotten when the group is dead', () => {
  const plan = { ...plannedFor('tracepoint-forks'), tracepointFields: { 'sched:sched_process_exit': ['comm', 'pid', 'prio', 'group_dead'] } };
  const f = rendered(erase(exec), opts, plan);
  assert.match(f.probes, /tracepoint:task:task_newtask \/\(args->clone_flags & 0x10000\) == 0\/ \{/);
  assert.match(f.probes, /\$child = args->pid \+ 0;\n {2}if \(args->clone_flags & 0x8000\) \{\n {4}@exec_ppid\[\$child\] = @exec_ppid\[pid \+ 0\];\n {2}\} else \{\n {4}@exec_ppid\[\$child\] = pid;/);
  assert.match(f.probes, /tracepoint:sched:sched_process_exit \/args->group_dead\/ \{\n {2}delete\(@exec_ppid\[pid \+ 0\]\);/);
  assert.match(f.probes, /\$ppid = @exec_ppid\[pid \+ 0\];/);
  assert.match(f.probes, /printf\("exec\\tevent\\t%llu\\t%u\\t%d\\t%d\\t%r\\t%s\\n", nsecs, uid, pid, \$ppid, buf\(comm, 16\), \$filename\);/);
  assert.doesNotMatch(f.probes, /curtask/);
  assert.deepEqual(f.helpers, ['@exec_ppid']);
  // Kernels without group_dead: the leader's own exit.
  assert.match(rendered(erase(exec), opts, plannedFor('tracepoint-forks')).probes, /sched_process_exit \/pid == tid\//);
  // The curtask variant has no fork tracking.
  const tp = rendered(erase(exec), opts, plannedFor('tracepoint'));
  assert.match(tp.probes, /curtask->real_parent->tgid/);
  assert.doesNotMatch(tp.probes, /task_newtask/);
});

test('a parent pid of 0 (fork not seen, or pid 1) is blank, not 0', () => {
  const line = (ppid: number, pid: number): string => JSON.stringify({ type: 'printf', data: `exec\tevent\t1000000000\t0\t${pid}\t${ppid}\ttrue\\x00\\x00\t/usr/bin/true\n` });
  const { rows } = route(erase(exec), opts, plannedFor('tracepoint-forks'), [line(0, 41), line(40, 42)]);
  assert.deepEqual(rows.map((r) => [r['pid'], r['ppid']]), [[41, null], [42, 40]]);
});
