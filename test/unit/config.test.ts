// Config validation: every error names its path and what was expected; nothing from config reaches a script raw.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parseConfig, parseMonitorList, selectedMonitors } from '../../src/config/load.js';
import { ConfigError, UsageError } from '../../src/errors.js';
import { defaultRetention, defaultRotate } from '../../src/config/schema.js';
import { repoRoot } from '../helpers/paths.js';
import { problems } from '../helpers/config.js';


test('the documented default config is valid and enables every monitor but func (which needs kprobes)', () => {
  const c = parseConfig(readFileSync(path.join(repoRoot, 'config/monitor_config.yaml'), 'utf8'), 'default');
  assert.deepEqual(selectedMonitors(c), ['exec', 'syscall', 'bio', 'open', 'interrupt', 'page_fault', 'context_switch']);
  assert.equal(c.monitors['syscall']?.interval, 2);
});

test('the packaged config rotates daily and at 256 MiB, gzipped, and keeps 14 days under 2 GiB', () => {
  const c = parseConfig(readFileSync(path.join(repoRoot, 'config/monitor_config.yaml'), 'utf8'), 'default');
  assert.deepEqual(c.output.rotate, { daily: true, max_file_mb: 256, compress: true });
  assert.deepEqual(c.output.retention, { max_age_days: 14, max_total_mb: 2048 });
  assert.deepEqual(c.output.rotate, { ...defaultRotate }, 'the packaged config writes out the schema defaults');
  assert.deepEqual(c.output.retention, { ...defaultRetention });
});

test('a config without an output section (or with an empty one) gets rotation and retention on', () => {
  for (const text of ['', 'monitors: {syscall: {enabled: true}}\n', 'output: {}\n', 'output: {rotate: {}, retention: {}}\n']) {
    const c = parseConfig(text, 'test.yaml');
    assert.deepEqual(c.output.rotate, { daily: true, max_file_mb: 256, compress: true }, JSON.stringify(text));
    assert.deepEqual(c.output.retention, { max_age_days: 14, max_total_mb: 2048 }, JSON.stringify(text));
  }
  // Off only when asked: each one, explicitly.
  const off = parseConfig('output:\n  rotate: {daily: false, max_file_mb: null, compress: false}\n  retention: {max_age_days: 0, max_total_mb: 0}\n', 'off.yaml');
  assert.deepEqual(off.output.rotate, { daily: false, max_file_mb: null, compress: false });
  assert.deepEqual(off.output.retention, { max_age_days: 0, max_total_mb: 0 });
  // One key changed leaves the others at their defaults.
  const age = parseConfig('output: {retention: {max_age_days: 0}}\n', 'age.yaml');
  assert.deepEqual(age.output.retention, { max_age_days: 0, max_total_mb: 2048 });
});

test('an empty file gives the defaults', () => {
  const c = parseConfig('', 'empty.yaml');
  assert.equal(c.output.directory, 'ebpfmon-output');
  assert.equal(c.logging.level, 'info');
  assert.equal(c.monitors['syscall']?.enabled, false);
  assert.equal(c.monitors['syscall']?.interval, 2);
  assert.deepEqual(selectedMonitors(c), []);
});

test('a wrong type names the path, the expectation and the value', () => {
  assert.deepEqual(problems('monitors:\n  syscall:\n    interval: fast\n'), [
    'monitors.syscall.interval: expected a positive number of seconds, got "fast"',
  ]);
  assert.deepEqual(problems('monitors:\n  syscall:\n    interval: -1\n'), [
    'monitors.syscall.interval: expected a positive number of seconds, got -1',
  ]);
  assert.deepEqual(problems('logging:\n  level: loud\n'), [
    'logging.level: expected one of "fatal", "error", "warn", "info", "debug", "trace", "silent", got "loud"',
  ]);
});

test('unknown keys are errors, with the likely intended key', () => {
  assert.deepEqual(problems('monitors:\n  sycall:\n    enabled: true\n'), ['monitors.sycall: unknown key (did you mean "syscall"?)']);
  assert.deepEqual(problems('outptu: {}\n'), ['outptu: unknown key (did you mean "output"?)']);
  // Through defaults and optionals (zod's public unwrap): nested sections have their keys suggested too.
  assert.deepEqual(problems('output:\n  rotate: {dayly: true}\n'), ['output.rotate.dayly: unknown key (did you mean "daily"?)']);
  const [p] = problems('monitors:\n  syscall:\n    zzz: 1\n');
  assert.match(p ?? '', /^monitors\.syscall\.zzz: unknown key \(expected one of: enabled, max_cpu_percent, interval, min_count, comm, latency, cgroup\)$/);
});

test('several problems are all reported, and the message is one line each', () => {
  const e = (() => {
    try {
      parseConfig('monitors:\n  syscall:\n    interval: x\n    min_count: 0\n', 'f.yaml');
    } catch (err) {
      return err as ConfigError;
    }
    return null;
  })();
  assert.ok(e);
  assert.equal(e.problems.length, 2);
  assert.match(e.message, /^config error: monitors\.syscall\.interval: .*\nconfig error: monitors\.syscall\.min_count: expected a whole number >= 1, got 0\n {2}\(in f\.yaml\)$/);
});

test('YAML syntax errors are config errors with a line number', () => {
  const [p] = problems('monitors:\n  syscall: [\n');
  assert.match(p ?? '', /^line \d+: /);
});

test('strings that reach a script must pass a strict pattern: no bpftrace injection', () => {
  for (const evil of ['x"); system("id', 'a\\nb', 'bash; rm', 'averyveryverylongname']) {
    const [p] = problems(`monitors:\n  syscall:\n    comm: ${JSON.stringify(evil)}\n`);
    assert.match(p ?? '', /^monitors\.syscall\.comm: expected a process name/);
  }
  assert.equal(parseConfig('monitors:\n  exec:\n    comm: nginx\n', 'ok').monitors['exec']?.enabled, false);
});

test('--monitors: known names only, replacing the enabled set', () => {
  assert.deepEqual(parseMonitorList('syscall, exec,syscall'), ['syscall', 'exec']);
  assert.throws(() => parseMonitorList('sycall'), (e: unknown) => e instanceof UsageError && /unknown monitor "sycall"/.test(e.message));
  assert.throws(() => parseMonitorList(' , '), UsageError);
  const c = parseConfig('monitors:\n  exec: {enabled: true}\n', 'x');
  assert.deepEqual(selectedMonitors(c, ['syscall']), ['syscall']);
});
