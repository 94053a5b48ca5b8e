// Verdicts from capabilities: ready, fallback (and which), unavailable (and why); one shared process by default.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { assumedFeatures } from '../../src/bt/features.js';
import type { Capabilities } from '../../src/plan/capabilities.js';
import { parseFormatFields, globToRegExp, requireRunnable } from '../../src/plan/capabilities.js';
import { planScripts, selectMonitors } from '../../src/script/prepare.js';
import { EnvironmentError, UsageError } from '../../src/errors.js';
import { buildPlan } from '../../src/plan/plan.js';
import { parseConfig } from '../../src/config/load.js';

function caps(over: { kprobes?: boolean; tracepoints?: Record<string, string[]>; symbols?: string[]; aotrt?: string }): Capabilities {
  const tps = over.tracepoints ?? {
    'sched:sched_process_exec': ['filename', 'pid', 'old_pid'],
    'raw_syscalls:sys_exit': ['id', 'ret'],
    'raw_syscalls:sys_enter': ['id', 'args'],
  };
  const syms = over.symbols ?? ['bprm_execve', 'vfs_read'];
  return {
    root: { ok: true, detail: 'root' },
    kernel: '6.18.0',
    arch: 'x64',
    bpftrace: { path: '/usr/bin/bpftrace', version: '0.17.0', detail: '', aotrt: over.aotrt ?? null, features: assumedFeatures },
    tracefs: { path: '/sys/kernel/tracing', detail: '' },
    debugfs: { ok: true, detail: '' },
    kprobes: over.kprobes === false ? { ok: false, detail: 'no kprobe_events' } : { ok: true, detail: '' },
    btf: { ok: true, detail: '' },
    tracepoint: (c, e) => tps[`${c}:${e}`] ?? null,
    symbols: (p) => syms.filter((s) => globToRegExp(p).test(s)),
  };
}

const config = parseConfig('monitors:\n  exec: {enabled: true}\n  syscall: {enabled: true, interval: 3}\n', 't');

test('with kprobes, exec uses its kprobe variant; monitors that carry paths share a process with long strings', () => {
  const plan = buildPlan(config, ['exec', 'syscall'], caps({}));
  assert.deepEqual(plan.verdicts.map((v) => [v.monitor, v.status, v.variant]), [['exec', 'ready', 'kprobe'], ['syscall', 'ready', 'tracepoint']]);
  assert.deepEqual(plan.processes.map((p) => [p.id, p.strlen, p.monitors.map((m) => m.monitor.name)]), [
    ['main', 64, ['syscall']],
    ['paths', 176, ['exec']],
  ]);
  assert.equal(plan.processes[0]?.monitors[0]?.plan.interval, 3);
  assert.deepEqual(plan.processes[1]?.monitors[0]?.plan.symbols, { bprm_execve: 'bprm_execve' });
});

test('without kprobes, exec falls back to the tracepoint and says why', () => {
  const [v] = buildPlan(config, ['exec'], caps({ kprobes: false })).verdicts;
  assert.equal(v?.status, 'fallback');
  assert.equal(v?.variant, 'tracepoint');
  assert.match(v?.detail ?? '', /kprobe: kprobes unavailable: no kprobe_events/);
});

test('where scripts run ahead of time, exec without arguments records parents at fork instead of reading curtask', () => {
  const tps = {
    'sched:sched_process_exec': ['filename', 'pid', 'old_pid'],
    'task:task_newtask': ['pid', 'comm', 'clone_flags', 'oom_score_adj'],
    'sched:sched_process_exit': ['comm', 'pid', 'prio', 'group_dead'],
  };
  const aot = caps({ kprobes: false, tracepoints: tps, aotrt: '/usr/bin/bpftrace-aotrt' });
  const noArgs = parseConfig('monitors:\n  exec: {enabled: true, max_args: 0}\n', 't');
  const plan = buildPlan(noArgs, ['exec'], aot);
  assert.equal(plan.verdicts[0]?.variant, 'tracepoint-forks');
  assert.match(plan.verdicts[0]?.detail ?? '', /recorded at fork/);
  assert.equal(plan.processes[0]?.aheadOfTime, true);
  // runtime.aot off, or no bpftrace-aotrt, or no task_newtask: curtask.
  const off = parseConfig('runtime: {aot: false}\nmonitors:\n  exec: {enabled: true, max_args: 0}\n', 't');
  assert.equal(buildPlan(off, ['exec'], aot).verdicts[0]?.variant, 'tracepoint');
  assert.equal(buildPlan(noArgs, ['exec'], caps({ kprobes: false, tracepoints: tps })).verdicts[0]?.variant, 'tracepoint');
  const [noTask] = buildPlan(noArgs, ['exec'], caps({ kprobes: false, tracepoints: { 'sched:sched_process_exec': ['filename'] }, aotrt: '/usr/bin/bpftrace-aotrt' })).verdicts;
  assert.equal(noTask?.variant, 'tracepoint');
  assert.match(noTask?.detail ?? '', /tracepoint-forks: tracepoint task:task_newtask does not exist/);
});

test('exec with arguments (max_args > 0, the default) reads curtask: its process runs in bpftrace, not ahead of time', () => {
  const tps = {
    'sched:sched_process_exec': ['filename', 'pid', 'old_pid'],
    'task:task_newtask': ['pid', 'comm', 'clone_flags', 'oom_score_adj'],
    'sched:sched_process_exit': ['comm', 'pid', 'prio', 'group_dead'],
    'raw_syscalls:sys_exit': ['id', 'ret'],
  };
  const plan = buildPlan(config, ['exec', 'syscall'], caps({ kprobes: false, tracepoints: tps, aotrt: '/usr/bin/bpftrace-aotrt' }));
  assert.equal(plan.verdicts[0]?.variant, 'tracepoint');
  assert.match(plan.verdicts[0]?.detail ?? '', /the parent and the arguments read from curtask, so bpftrace runs it/);
  assert.doesNotMatch(plan.verdicts[0]?.detail ?? '', /tracepoint-forks/, 'not offered with arguments');
  // Only the process holding exec leaves ahead of time; its maps are then laid out for bpftrace (no shards).
  assert.deepEqual(plan.processes.map((p) => [p.id, p.aheadOfTime, p.layout.shards]), [['main', true, 8], ['paths', false, 1]]);
  // With kprobes the kprobe variant also reads them, at sched_process_exec (an optional need: the plan keeps its fields).
  const k = buildPlan(config, ['exec'], caps({ tracepoints: tps, aotrt: '/usr/bin/bpftrace-aotrt' }));
  assert.equal(k.verdicts[0]?.variant, 'kprobe');
  assert.deepEqual(k.processes[0]?.monitors[0]?.plan.tracepointFields['sched:sched_process_exec'], ['filename', 'pid', 'old_pid']);
  assert.equal(k.processes[0]?.aheadOfTime, false);
});

test('a missing symbol, tracepoint or field makes the reason precise', () => {
  const [v] = buildPlan(config, ['exec'], caps({ symbols: [], tracepoints: {} })).verdicts;
  assert.equal(v?.status, 'unavailable');
  assert.match(v?.detail ?? '', /kernel function not found: bprm_execve/);
  assert.match(v?.detail ?? '', /tracepoint sched:sched_process_exec does not exist/);
  const [s] = buildPlan(config, ['syscall'], caps({ tracepoints: { 'raw_syscalls:sys_exit': ['id'] } })).verdicts;
  assert.equal(s?.status, 'unavailable');
  assert.match(s?.detail ?? '', /lacks field\(s\) ret/);
  const plan = buildPlan(config, ['exec', 'syscall'], caps({ tracepoints: { 'raw_syscalls:sys_exit': ['id'] } }));
  assert.deepEqual(plan.processes[0]?.monitors.map((m) => m.monitor.name), ['exec'], 'the rest still runs');
});

test('shared_process: false gives one process per monitor', () => {
  const c = parseConfig('runtime: {shared_process: false}\n', 't');
  assert.deepEqual(buildPlan(c, ['exec', 'syscall'], caps({})).processes.map((p) => p.id), ['exec', 'syscall']);
});

test('tracefs format files: field names without the common_ ones', () => {
  const format = `name: sched_process_exec
format:
\tfield:unsigned short common_type;\toffset:0;\tsize:2;\tsigned:0;
\tfield:__data_loc char[] filename;\toffset:8;\tsize:4;\tsigned:0;
\tfield:pid_t pid;\toffset:12;\tsize:4;\tsigned:1;
\tfield:char prev_comm[16];\toffset:8;\tsize:16;\tsigned:0;
`;
  assert.deepEqual(parseFormatFields(format), ['filename', 'pid', 'prev_comm']);
});

test('selectMonitors: the config\'s enabled monitors, or --monitors; none is a usage error naming the file', () => {
  assert.deepEqual(selectMonitors(config, 'c.yaml', undefined), ['exec', 'syscall']);
  assert.deepEqual(selectMonitors(config, 'c.yaml', 'syscall,bio'), ['syscall', 'bio']);
  const none = parseConfig('monitors:\n  exec: {enabled: false}\n', 't');
  assert.throws(() => selectMonitors(none, 'c.yaml', undefined), (e: unknown) => e instanceof UsageError && /no monitor is enabled in c\.yaml/.test(e.message));
});

test('planScripts: one script per planned process, the same text for the same config and machine', () => {
  const a = planScripts(config, ['exec', 'syscall'], caps({}));
  const b = planScripts(config, ['exec', 'syscall'], caps({}));
  assert.deepEqual(a.plan.verdicts, buildPlan(config, ['exec', 'syscall'], caps({})).verdicts);
  assert.deepEqual(a.scripts.map((s) => s.file), a.plan.processes.map((p) => `ebpfmon-${p.id}.bt`));
  assert.deepEqual(a.scripts.map((s) => s.text), b.scripts.map((s) => s.text));
});

test('requireRunnable: root, then a working bpftrace, then tracefs, each refused with its own detail', () => {
  const ok = caps({});
  const cases: [string, Capabilities, RegExp | null][] = [
    ['all there', ok, null],
    ['not root', { ...ok, root: { ok: false, detail: 'ebpfmon needs root' } }, /needs root/],
    ['no bpftrace', { ...ok, bpftrace: { ...ok.bpftrace, path: null, detail: 'bpftrace not found' } }, /bpftrace not found/],
    ['no version', { ...ok, bpftrace: { ...ok.bpftrace, version: null, detail: 'not a working bpftrace' } }, /not a working bpftrace/],
    ['no tracefs', { ...ok, tracefs: { path: null, detail: 'tracefs is not mounted' } }, /tracefs is not mounted/],
    ['not root and no tracefs', { ...ok, root: { ok: false, detail: 'ebpfmon needs root' }, tracefs: { path: null, detail: 'tracefs' } }, /needs root/],
  ];
  for (const [name, c, want] of cases) {
    if (want === null) assert.doesNotThrow(() => requireRunnable(c), name);
    else assert.throws(() => requireRunnable(c), (e: unknown) => e instanceof EnvironmentError && want.test(e.message), name);
  }
});
