// The run's process scope (--pid, --comm, run): which probes carry it, how it is written, and the CLI's checks.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { InvalidArgumentError } from 'commander';
import { assumedFeatures } from '../../src/bt/features.js';
import { composeScript, type ComposeContext } from '../../src/script/compose.js';
import { hostScope, scopeConditions, taskScoped, type Scope } from '../../src/bt/ir.js';
import { monitors } from '../../src/monitors/registry.js';
import type { PlannedMonitor, ProcessPlan } from '../../src/plan/plan.js';
import { plannedFor } from '../helpers/fixtures.js';
import { commOption, pidOption } from '../../src/cli/options.js';
import { shellStatus } from '../../src/session/run-command.js';
import { addRows, newTotals, renderSummary } from '../../src/session/run-summary.js';
import { scopeOf } from '../../src/session/targets.js';

const ctx: ComposeContext = { bpftraceVersion: '0.17.0', kernel: '6.18.0', runtime: { map_keys_max: 16384, perf_rb_pages: 256 } };
const byName = (n: string) => monitors.find((m) => m.name === n)!;
const planned = (name: string, variant = 'tracepoint', o: Record<string, unknown> = {}): PlannedMonitor => {
  const m = byName(name);
  const plan = plannedFor(variant);
  // bio and open read which tracepoints this kernel has.
  const fields = { 'block:block_io_start': ['dev'], 'block:block_rq_merge': ['dev'], 'block:block_rq_requeue': ['dev'], 'syscalls:sys_enter_openat': ['filename'], 'syscalls:sys_exit_openat': ['ret'] };
  return { monitor: m, opts: m.options.parse({ enabled: true, ...(name === 'func' ? { functions: ['vfs_read'] } : {}), ...o }), plan: { ...plan, tracepointFields: fields, symbols: { vfs_read: 'vfs_read', bprm_execve: 'bprm_execve' } } };
};
const script = (ms: PlannedMonitor[], scope: Scope): string => {
  const proc: ProcessPlan = { id: 'main', monitors: ms, strlen: 64, aheadOfTime: false, layout: { double: false, shards: 1 }, bt: assumedFeatures, scope };
  return composeScript(proc, ctx).text;
};
/** The attach lines (with their predicates) of a script. */
const heads = (t: string): string[] => t.split('\n').filter((l) => /^[a-z]+:.*\{$/.test(l));

test('scope conditions: one pid, several, the followed set, a name; nothing for the whole host', () => {
  assert.deepEqual(scopeConditions(hostScope, 'pid', 'comm'), []);
  assert.deepEqual(scopeConditions({ ...hostScope, pids: [42] }, 'pid', 'comm'), ['pid == 42']);
  assert.deepEqual(scopeConditions({ ...hostScope, pids: [42, 7] }, '$pid', '$comm'), ['($pid == 42 || $pid == 7)']);
  assert.deepEqual(scopeConditions({ pids: [], comm: 'make', follow: 9 }, 'pid', 'comm'), ['@ebpfmon_follow[pid + 0]', 'comm == "make"']);
  // A name the CLI did not check is still refused where it would reach the script.
  assert.throws(() => scopeConditions({ ...hostScope, comm: 'a"b' }, 'pid', 'comm'), /refusing to quote/);
});

test('every per-process monitor carries the scope; interrupt does not, and no scope changes no script', () => {
  for (const m of monitors) {
    const variant = m.name === 'func' ? 'kprobe' : m.name === 'exec' ? 'tracepoint-forks' : 'tracepoint';
    const p = planned(m.name, variant);
    assert.equal(taskScoped(p.monitor.generate(p.opts, p.plan)), m.name !== 'interrupt', m.name);
  }
  const all = ['syscall', 'page_fault', 'context_switch', 'interrupt'].map((n) => planned(n));
  assert.equal(script(all, hostScope), script(all, { pids: [], comm: null, follow: null }));
  assert.doesNotMatch(script(all, hostScope), /pid == [1-9]|ebpfmon_follow/);
  const t = script(all, { ...hostScope, pids: [4242] });
  for (const h of heads(t)) {
    if (/raw_syscalls|page_fault|sched_switch/.test(h)) assert.match(h, /\/pid == 4242( && |\/)/, h);
    if (/irq:/.test(h)) assert.doesNotMatch(h, /4242/, h);
  }
});

test('run: BEGIN seeds the command, forks of followed processes join, exits leave, END clears the map', () => {
  const t = script([planned('syscall'), planned('exec', 'tracepoint-forks')], { pids: [], comm: null, follow: 777 });
  assert.match(t, /^BEGIN \{ @ebpfmon_self\[0\] = pid; @ebpfmon_follow\[777\] = 1; printf/m);
  assert.match(t, /^tracepoint:task:task_newtask \/\(args->clone_flags & 0x10000\) == 0 && @ebpfmon_follow\[pid \+ 0\]\/ \{\n {2}@ebpfmon_follow\[args->pid \+ 0\] = 1;\n\}/m);
  assert.match(t, /^tracepoint:sched:sched_process_exit \/@ebpfmon_follow\[args->pid \+ 0\]\/ \{\n {2}delete\(@ebpfmon_follow\[args->pid \+ 0\]\);\n\}/m);
  assert.match(t.slice(t.indexOf('END {')), /clear\(@ebpfmon_follow\);/);
  assert.match(t, /^tracepoint:raw_syscalls:sys_exit \/@ebpfmon_follow\[pid \+ 0\]\/ \{/m);
  // exec's own fork tracking must see every process: not narrowed.
  assert.match(t, /^tracepoint:task:task_newtask \/\(args->clone_flags & 0x10000\) == 0\/ \{/m);
});

test('bio: the scope is the submitter\'s, tested where it is recorded and where a request is counted', () => {
  const t = script([planned('bio')], { ...hostScope, comm: 'dd' });
  const start = t.slice(t.indexOf('tracepoint:block:block_io_start'), t.indexOf('tracepoint:block:block_rq_merge'));
  assert.match(start, /if \(comm == "dd"\) \{\n\s+@bio_pid/);
  const issue = t.slice(t.indexOf('tracepoint:block:block_rq_issue'), t.indexOf('tracepoint:block:block_rq_requeue'));
  assert.match(issue, /if \(\$comm == "dd"\) \{/);
  const done = t.slice(t.indexOf('tracepoint:block:block_rq_complete'));
  assert.match(done, /if \(\$comm == "dd"\) \{/);
});

test('exec (kprobe): the scope is tested after the entry is deleted, so a filtered exec leaves nothing behind', () => {
  const t = script([planned('exec', 'kprobe')], { ...hostScope, pids: [5] });
  const ret = t.slice(t.indexOf('kretprobe:'));
  assert.ok(ret.indexOf('delete(@exec_bprm[pid])') < ret.indexOf('if (pid == 5)'), ret);
});

test('--pid: whole numbers, repeated or comma-separated, without duplicates; --comm as the YAML comm', () => {
  assert.deepEqual(pidOption('12'), [12]);
  assert.deepEqual(pidOption('3,4', pidOption('12')), [12, 3, 4]);
  assert.deepEqual(pidOption('12,12'), [12]);
  for (const bad of ['', '0', '-1', '1.5', '12a', '1e3', ' ', '4194305', '1,,2', '$(id)']) assert.throws(() => pidOption(bad), InvalidArgumentError, bad);
  assert.equal(commOption('make'), 'make');
  for (const bad of ['', 'a"b', 'x\\y', 'sixteen-chars-xx', 'é']) assert.throws(() => commOption(bad), InvalidArgumentError, bad);
  assert.deepEqual(scopeOf({ pid: [1, 2], comm: 'x' }), { pids: [1, 2], comm: 'x', follow: null });
  assert.deepEqual(scopeOf({}), hostScope);
});

test('the exit status is the command\'s: its code, or 128 + the signal that killed it', () => {
  assert.equal(shellStatus(0, null), 0);
  assert.equal(shellStatus(3, null), 3);
  assert.equal(shellStatus(null, 'SIGTERM'), 143);
  assert.equal(shellStatus(null, 'SIGKILL'), 137);
  assert.equal(shellStatus(null, 'SIGINT'), 130);
});

test('the summary adds up the rows the files got, leaves markers out of the counts and names host-wide monitors', () => {
  const t = newTotals();
  addRows(t, 'syscall', [
    { pid: 10, syscall: 'getppid', count: 5, error_count: 0 },
    { pid: 11, syscall: 'getppid', count: 2, error_count: 0 },
    { pid: 10, syscall: 'close', count: 3, error_count: 3 },
    { timestamp: 'x', note: 'bpftrace restarted' },
  ]);
  addRows(t, 'open', [{ pid: 10, count: 4, error_count: 1 }]);
  addRows(t, 'bio', [{ pid: 10, count: 2, total_bytes: 8192 }]);
  addRows(t, 'context_switch', [{ pid: 10, switches: 5, voluntary: 4, involuntary: 1 }]);
  addRows(t, 'exec', [{ pid: 11 }, { pid: 12 }]);
  addRows(t, 'page_fault', [{ pid: 10, count: 7 }]);
  const s = renderSummary(t, { command: ['w', '1'], status: 143, signal: 'SIGTERM', seconds: 1.5, ran: ['syscall', 'open', 'bio', 'context_switch', 'exec', 'page_fault', 'interrupt'], hostWide: ['interrupt'] });
  const lines = s.split('\n');
  assert.match(lines[0]!, /^ebpfmon run: w 1: killed by SIGTERM \(status 143\), 1\.50 s, 3 processes seen$/);
  assert.match(s, /^\s+10 {2}syscalls {3}\(3 errors, 30\.00 %\)$/m);
  assert.match(s, /^\s+70\.00 % +7 +0 {2}getppid$/m);
  assert.match(s, /^\s+30\.00 % +3 +3 {2}close$/m);
  assert.match(s, /^\s+4 {2}opens {6}\(1 failed\)$/m);
  assert.match(s, /^\s+7 {2}page faults$/m);
  assert.match(s, /^\s+2 {2}block I\/O {2}\(8\.0 KiB\)$/m);
  assert.match(s, /^\s+5 {2}context switches \(4 voluntary, 1 involuntary\)$/m);
  assert.match(s, /^\s+2 {2}execs$/m);
  assert.match(s, /interrupt: counts the whole host/);
  assert.match(s, /note: syscall: bpftrace restarted/);
  // Monitors that did not run print nothing (no zero that reads as measured).
  assert.doesNotMatch(renderSummary(newTotals(), { command: ['x'], status: 0, signal: null, seconds: 0, ran: ['exec'], hostWide: [] }), /syscalls|opens/);
});

test("run's summary names the command as a shell would need it typed: quoted where needed, control bytes escaped", async () => {
  const { shellQuote } = await import('../../src/session/run-summary.js');
  assert.equal(shellQuote('ls'), 'ls');
  assert.equal(shellQuote('/usr/bin/x-y_z.sh'), '/usr/bin/x-y_z.sh');
  assert.equal(shellQuote('ls /nonexistent; true'), "'ls /nonexistent; true'");
  assert.equal(shellQuote(''), "''");
  assert.equal(shellQuote("it's"), "'it'\\''s'");
  assert.equal(shellQuote('a\nb\x1b'), "'a'$'\\x0a''b'$'\\x1b'");
  const s = renderSummary(newTotals(), { command: ['sh', '-c', 'ls /x; true'], status: 0, signal: null, seconds: 0, ran: [], hostWide: [] });
  assert.match(s, /^ebpfmon run: sh -c 'ls \/x; true': exit status 0/);
});

test("the summary's lines are the monitors' own parts (Monitor.runSummary), in their declared order whatever order they ran in", () => {
  const orders = monitors.flatMap((m) => (m.runSummary ? [m.runSummary.order] : []));
  assert.equal(new Set(orders).size, orders.length, 'no two parts share a place');
  const t = newTotals();
  addRows(t, 'exec', [{ pid: 1 }]);
  addRows(t, 'syscall', [{ pid: 1, syscall: 'read', count: 3, error_count: 1 }]);
  addRows(t, 'func', [{ pid: 1, function: 'vfs_read', count: 9 }]);
  const lines = renderSummary(t, { command: ['x'], status: 0, signal: null, seconds: 1, ran: ['exec', 'func', 'syscall'], hostWide: [] }, 1).split('\n').slice(1);
  assert.deepEqual(lines, [
    '           3  syscalls   (1 errors, 33.33 %)',
    '                % calls      calls     errors  syscall',
    '                100.00 %          3          1  read',
    '           1  execs',
  ]);
});
