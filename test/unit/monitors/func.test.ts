// func: the options refuse anything but kernel symbol names; hand-written 0.17 output (no kprobes here) -> rows.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { func, funcOptions } from '../../../src/monitors/func.js';
import type { MonitorPlan } from '../../../src/monitors/types.js';
import { parseConfig } from '../../../src/config/load.js';
import { ConfigError } from '../../../src/errors.js';
import { fixtureLines, plannedFor, rendered, route } from '../../helpers/fixtures.js';

const monitor = func;
const kprobePlan = (symbols: readonly string[]): MonitorPlan => ({ ...plannedFor('kprobe'), symbols: Object.fromEntries(symbols.map((s) => [s, s])) });

const problems = (yaml: string): string[] => {
  try {
    parseConfig(yaml, 'test.yaml');
  } catch (e) {
    assert.ok(e instanceof ConfigError, String(e));
    return [...e.problems];
  }
  assert.fail('expected a ConfigError');
};

test('a function name that is not a kernel symbol is refused with its path, never reaching a script', () => {
  assert.deepEqual(problems('monitors:\n  func:\n    enabled: true\n    functions: [vfs_read, \'vfs_read; system("x")\']\n'), [
    'monitors.func.functions.1: expected a kernel function name (letters, digits, _ and .; * as a wildcard), e.g. vfs_read or tcp_*, got "vfs_read; system(\\"x\\")"',
  ]);
  for (const bad of ['vfs_read}', 'a b', '"x"', '', 'kprobe:vfs_read', 'x'.repeat(200)]) {
    assert.equal(funcOptions.safeParse({ functions: [bad] }).success, false, bad);
  }
});

test('enabled with no functions is refused; disabled with none is the default', () => {
  assert.deepEqual(problems('monitors:\n  func:\n    enabled: true\n'), [
    'monitors.func.functions: expected at least one kernel function name when func is enabled (e.g. functions: [vfs_read]), got []',
  ]);
  assert.deepEqual(funcOptions.parse({}), { enabled: false, interval: 2, functions: [], per_process: false, cgroup: false });
});

test('too broad patterns and duplicates are refused', () => {
  assert.deepEqual(problems('monitors:\n  func:\n    functions: ["*", "vfs_read", "vfs_read"]\n'), [
    'monitors.func.functions.0: a pattern needs at least 3 characters besides *, got "*"',
    'monitors.func.functions.2: vfs_read is listed twice, got "vfs_read"',
  ]);
  assert.ok(funcOptions.safeParse({ functions: ['tcp_*', 'vfs_*_iter', 'foo.isra.0'] }).success);
});

test('one kprobe need per configured function; an empty list still needs kprobes', () => {
  const opts = funcOptions.parse({ enabled: true, functions: ['vfs_read', 'tcp_*'] });
  assert.deepEqual(func.variants(opts).map((v) => [v.name, v.needs]), [
    ['kprobe', [{ kind: 'kprobe', symbols: ['vfs_read'] }, { kind: 'kprobe', symbols: ['tcp_*'] }]],
  ]);
  assert.deepEqual(func.variants(funcOptions.parse({})).at(0)?.needs, [{ kind: 'kprobe', symbols: [] }]);
});

test('the script attaches one kprobe per function and keys by func, with comm last when per process', () => {
  const global = rendered(monitor, funcOptions.parse({ enabled: true, functions: ['vfs_read', 'tcp_*'] }), kprobePlan(['vfs_read', 'tcp_*']));
  assert.equal(global.probes, 'kprobe:vfs_read,\nkprobe:tcp_* {\n  @func_count[func] = count();\n}');
  assert.deepEqual(func.generate(funcOptions.parse({ enabled: true, functions: ['vfs_read'] }), kprobePlan(['vfs_read'])).results.map((m) => [m.name, m.key.parts.map((p) => p.name)]), [['@func_count', ['func']]]);
  const opts = funcOptions.parse({ enabled: true, functions: ['vfs_read'], per_process: true });
  const perProcess = rendered(monitor, opts, kprobePlan(['vfs_read']));
  assert.match(perProcess.probes, /@func_count\[pid, func, comm\] = count\(\);/);
  assert.deepEqual(func.generate(opts, kprobePlan(['vfs_read'])).results[0]?.key.parts.map((p) => p.name), ['pid', 'func', 'comm']);
  assert.match(perProcess.flush, /print\(@func_count\);\n {2}clear\(@func_count\);\n {2}printf\("func\\ttick/);
  // A plan can never smuggle code past the pattern.
  assert.throws(() => func.generate(funcOptions.parse({ functions: ['vfs_read'] }), { ...kprobePlan([]), symbols: { vfs_read: 'x { system("id") }' } }), /refusing/);
  // No functions: only the tick, and no map bpftrace would reject as never assigned.
  const none = func.generate(funcOptions.parse({}), kprobePlan([]));
  assert.deepEqual(none.probes, []);
  assert.deepEqual(none.results, []);
});

test('per process: one row per pid, function and comm; a comm with a comma stays whole; an empty interval has no rows', () => {
  const opts = funcOptions.parse({ enabled: true, functions: ['vfs_read', 'vfs_write'], per_process: true });
  const { rows, unrouted } = route(monitor, opts, kprobePlan(opts.functions), fixtureLines('func', 'per-process'));
  assert.equal(unrouted, 0);
  assert.deepEqual(rows, [
    { timestamp: '2026-01-01T00:17:49.434Z', pid: 4242, comm: 'my,app', function: 'vfs_read', count: 40, cgroup: null },
    { timestamp: '2026-01-01T00:17:49.434Z', pid: 4242, comm: 'my,app', function: 'vfs_write', count: 7, cgroup: null },
    { timestamp: '2026-01-01T00:17:49.434Z', pid: 1, comm: 'systemd', function: 'vfs_read', count: 3, cgroup: null },
    { timestamp: '2026-01-01T00:17:49.434Z', pid: 812, comm: 'sshd', function: 'vfs_write', count: 2, cgroup: null },
    { timestamp: '2026-01-01T00:17:52.189Z', pid: 4242, comm: 'my,app', function: 'vfs_read', count: 5, cgroup: null },
  ]);
});

test('global: pid 0 and an empty comm, one row per function a wildcard matched', () => {
  const opts = funcOptions.parse({ enabled: true, functions: ['vfs_*'] });
  const { rows, unrouted } = route(monitor, opts, kprobePlan(opts.functions), fixtureLines('func', 'global'));
  assert.equal(unrouted, 0);
  assert.deepEqual(rows.map((r) => [r['timestamp'], r['pid'], r['comm'], r['function'], r['count']]), [
    ['2026-01-01T00:17:49.434Z', 0, '', 'vfs_read', 130],
    ['2026-01-01T00:17:49.434Z', 0, '', 'vfs_write', 48],
    ['2026-01-01T00:17:49.434Z', 0, '', 'vfs_getattr', 12],
    ['2026-01-01T00:17:49.434Z', 0, '', 'vfs_fsync_range', 1],
    ['2026-01-01T00:17:51.434Z', 0, '', 'vfs_read', 9],
  ]);
});
