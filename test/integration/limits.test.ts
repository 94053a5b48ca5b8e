// Limits an operator can hit: long --duration values, config files that are huge, endless or not files at all,
// and values that are not numbers. Each is one clear line and exit 2, or (for --duration) just works.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execa } from 'execa';
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { kernelAvailable } from '../helpers/kernel.js';
import { runCli, sleep, startCli, tempDir, writeConfig } from '../helpers/cli.js';
import { cliPath } from '../helpers/paths.js';

test('--duration 2592000 (30 days, above Node 2^31-1 ms timer limit) keeps running until SIGTERM', async (t) => {
  if (!kernelAvailable(t)) return;
  const dir = await tempDir('long-duration');
  const cli = startCli(['start', '-m', 'syscall', '-o', dir, '--duration', '2592000']);
  await cli.waitForLog('monitors attached');
  await sleep(2000);
  assert.equal(cli.proc.exitCode, null, `ebpfmon stopped early:\n${cli.stderrText()}`);
  cli.proc.kill('SIGTERM');
  const r = await cli.done;
  assert.equal(r.exitCode, 0, r.stderr);
  assert.match(r.stderr, /"reason":"SIGTERM"/);
  assert.doesNotMatch(r.stderr, /TimeoutOverflowWarning|"reason":"duration"/);
});

const oneLine = (s: string): void => {
  assert.equal(s.trim().split('\n').length, 1, `expected one line, got:\n${s}`);
  assert.doesNotMatch(s, /\n\s+at /, 'no stack trace');
};

test('-c on /dev/zero or a FIFO: refused at once with one line, exit 2 (no 512 MB read, no hang)', async () => {
  const dir = await tempDir('config-kinds');
  const fifo = path.join(dir, 'config.fifo');
  await execa('mkfifo', [fifo]);
  for (const [file, why] of [['/dev/zero', 'a character device'], [fifo, 'a FIFO']] as const) {
    const r = await runCli(['generate', '--no-detect', '-c', file], { timeoutMs: 20_000 });
    assert.equal(r.exitCode, 2, r.stderr);
    oneLine(r.stderr);
    assert.equal(r.stderr.trim(), `ebpfmon: cannot read config file ${file}: not a regular file (${why})`);
  }
});

test('a config with 40,000 keys: rejected with a screenful of problems, not 40,001 lines', async (t) => {
  const dir = await tempDir('config-keys');
  const file = await writeConfig(dir, Array.from({ length: 40_000 }, (_, i) => `key${i}: 1\n`).join(''));
  const started = Date.now();
  const r = await runCli(['generate', '--no-detect', '-c', file]);
  t.diagnostic(`ebpfmon generate took ${Date.now() - started} ms, node start-up included`);
  assert.equal(r.exitCode, 2, r.stderr);
  const lines = r.stderr.trimEnd().split('\n');
  assert.equal(lines.length, 22, 'twenty problems, the count of the rest, the file');
  assert.match(lines[0] ?? '', /^ebpfmon: config error: key0: unknown key/);
  assert.equal(lines[20], 'config error: ... and 39980 more problems');
  assert.equal(lines[21], `  (in ${file})`);
});

test('an empty --output-dir, -c or --scripts is refused (it would write into the current directory)', async () => {
  const cwd = await tempDir('empty-dir');
  for (const args of [['start', '-m', 'syscall', '--duration', '1', '--output-dir', ''], ['start', '-m', 'syscall', '--duration', '1', '-c', ''], ['generate', '-c', ''], ['start', '--scripts', '']]) {
    const r = await execa('node', [cliPath, ...args], { reject: false, cwd, stdin: 'ignore', timeout: 60_000 });
    assert.equal(r.exitCode, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, /^error: option '.*' argument '' is invalid\. expected an? .*, not an empty string\n/);
    assert.doesNotMatch(r.stderr, /\n\s+at /);
  }
  assert.deepEqual(await readdir(cwd), [], 'nothing written into the current directory');
});
