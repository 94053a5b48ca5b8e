// Config files at the limits: huge, endless, not files at all, or holding values that are not numbers. Each is
// refused quickly with a bounded message (one line per problem, at most a screenful), never read whole or hung on.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { loadConfig, maxConfigBytes, parseConfig } from '../../src/config/load.js';
import { maxProblemLines, shown } from '../../src/config/format-issues.js';
import { UsageError } from '../../src/errors.js';
import { problems } from '../helpers/config.js';


const manyKeys = (n: number, indent = ''): string => Array.from({ length: n }, (_, i) => `${indent}k${i}: 1\n`).join('');

test('40,000 unknown keys: a screenful of problems and a count of the rest, fast', (t) => {
  for (const [where, yaml, prefix] of [
    ['top level', manyKeys(40_000), 'k'],
    ['monitors.syscall', 'monitors:\n  syscall:\n' + manyKeys(40_000, '    '), 'monitors.syscall.k'],
  ] as const) {
    const started = performance.now();
    const p = problems(yaml);
    t.diagnostic(`${where}: ${(performance.now() - started).toFixed(0)} ms for ${yaml.length} bytes`);
    assert.equal(p.length, maxProblemLines + 1, where);
    assert.ok(p.slice(0, -1).every((l) => l.startsWith(prefix) && l.includes('unknown key')), where);
    assert.equal(p.at(-1), `... and ${40_000 - maxProblemLines} more problems`);
  }
});

test('a duplicate key among 40,000 is found, with both lines (yaml only checks pairwise, in quadratic time)', () => {
  const yaml = 'monitors:\n  syscall:\n' + manyKeys(40_000, '    ') + '    k7: 2\n';
  assert.deepEqual(problems(yaml), ['line 40003: duplicate key "k7" (first on line 10)']);
  assert.deepEqual(problems('output:\n  directory: a\n  directory: b\n'), ['line 3: duplicate key "directory" (first on line 2)']);
  assert.deepEqual(problems('{a: 1, a: 2}'), ['line 1: duplicate key "a" (first on line 1)']);
  // The same key in different mappings is fine.
  assert.equal(parseConfig('monitors:\n  syscall:\n    enabled: true\n  exec:\n    enabled: true\n', 'ok').monitors['exec']?.enabled, true);
});

test('problems of different kinds are capped together', () => {
  const yaml = 'monitors:\n' + ['syscall', 'open', 'bio', 'func', 'interrupt', 'page_fault', 'context_switch'].map((m) => `  ${m}:\n    interval: x\n    enabled: 3\n    zz: 1\n`).join('');
  const p = problems(yaml);
  assert.equal(p.length, maxProblemLines + 1);
  assert.equal(p.at(-1), '... and 1 more problem');
});

test('.inf, -.inf and .nan are named as written, not as null', () => {
  assert.deepEqual(problems('monitors:\n  syscall:\n    interval: .inf\n'), ['monitors.syscall.interval: expected a positive number of seconds, got .inf (not a finite number)']);
  assert.deepEqual(problems('runtime:\n  attach_timeout: -.inf\n'), ['runtime.attach_timeout: expected a positive number of seconds, got -.inf (not a finite number)']);
  assert.deepEqual(problems('output:\n  buffer_rows: .nan\n'), ['output.buffer_rows: expected a whole number >= 1, got .nan (not a finite number)']);
  assert.deepEqual(problems('output:\n  flush_interval: ~\n'), ['output.flush_interval: expected a positive number of seconds, got null']);
});

test('an interval below 0.1 s is refused and says the minimum; 0.1 is fine', () => {
  assert.deepEqual(problems('monitors:\n  syscall:\n    interval: 0.0001\n'), [
    'monitors.syscall.interval: expected at least 0.1 seconds (a shorter interval costs much of a CPU), got 0.0001',
  ]);
  assert.deepEqual(problems('monitors:\n  bio:\n    interval: 0\n'), ['monitors.bio.interval: expected a positive number of seconds, got 0']);
  assert.equal(parseConfig('monitors:\n  syscall:\n    interval: 0.1\n', 'ok').monitors['syscall']?.interval, 0.1);
});

test('timeouts a Node timer cannot hold are refused: attach_timeout and flush_interval at most one hour', () => {
  assert.deepEqual(problems('runtime:\n  attach_timeout: 2147484\n'), ['runtime.attach_timeout: expected at most 3600 seconds (one hour), got 2147484']);
  assert.deepEqual(problems('output:\n  flush_interval: 3601\n'), ['output.flush_interval: expected at most 3600 seconds (one hour), got 3601']);
  const c = parseConfig('runtime:\n  attach_timeout: 3600\noutput:\n  flush_interval: 3600\n', 'ok');
  assert.equal(c.runtime.attach_timeout, 3600);
  assert.equal(c.output.flush_interval, 3600);
});

test('an empty output.directory (it would mean the current directory) is refused', () => {
  assert.deepEqual(problems('output:\n  directory: ""\n'), ['output.directory: expected a directory path, not an empty string']);
  assert.deepEqual(problems('logging:\n  file: ""\n'), ['logging.file: expected a file path (or null for stderr), not an empty string']);
});

test('a value is shown in bounded time and space, whatever its size or depth', () => {
  const big: Record<string, number> = {};
  for (let i = 0; i < 100_000; i++) big[`k${i}`] = i;
  let deep: unknown = 1;
  for (let i = 0; i < 100_000; i++) deep = [deep];
  for (const v of [big, deep, 'x'.repeat(1e6)]) assert.ok(shown(v).length <= 60, shown(v));
  assert.equal(shown({ a: [1, 'b'], c: null }), '{"a":[1,"b"],"c":null}');
  assert.equal(shown(undefined), 'nothing');
  assert.equal(shown(NaN), '.nan');
});

test('a very deeply nested value is one problem, not a crash', () => {
  const [p] = problems('app: ' + '['.repeat(200_000) + ']'.repeat(200_000) + '\n');
  assert.match(p ?? '', /^line 1: /);
});

const refusal = async (file: string): Promise<string> => {
  try {
    await loadConfig(file);
  } catch (e) {
    assert.ok(e instanceof UsageError, String(e));
    assert.equal(e.exitCode, 2);
    assert.equal(e.message.split('\n').length, 1, e.message);
    return e.message;
  }
  assert.fail(`${file} was accepted`);
};

test('loadConfig refuses what is not a config file, before reading it: /dev/zero, a FIFO, a directory, a huge file', { timeout: 20_000 }, async () => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'ebpfmon-test-config-'));
  try {
    assert.equal(await refusal('/dev/zero'), 'cannot read config file /dev/zero: not a regular file (a character device)');
    const fifo = path.join(dir, 'fifo.yaml');
    execFileSync('mkfifo', [fifo]);
    assert.equal(await refusal(fifo), `cannot read config file ${fifo}: not a regular file (a FIFO)`);
    assert.equal(await refusal(dir), `cannot read config file ${dir}: not a regular file (a directory)`);
    const huge = path.join(dir, 'huge.yaml');
    await writeFile(huge, '#'.repeat(3 * maxConfigBytes));
    assert.equal(await refusal(huge), `config file ${huge} is too large (3 MiB; the limit is 1 MiB)`);
    assert.equal(await refusal(path.join(dir, 'nope.yaml')), `cannot read config file ${path.join(dir, 'nope.yaml')}: no such file`);
    assert.equal(await refusal(''), 'cannot read config file: the path is empty');
    // Right at the limit is still read.
    const full = path.join(dir, 'full.yaml');
    await writeFile(full, 'app:\n  name: x\n' + '#'.repeat(maxConfigBytes - 16) + '\n');
    assert.equal((await loadConfig(full)).app.name, 'x');
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
