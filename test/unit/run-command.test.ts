// runCommand: the short commands' runner (bpftrace --aot, --version, mount) without execa.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runCommand } from '../../src/process/run.js';
import { exitOf } from '../../src/process/bpftrace.js';

test('output, exit code and environment', async () => {
  const r = await runCommand('sh', ['-c', 'echo "$X"; echo err >&2; exit 3'], { env: { X: 'ours' }, timeoutMs: 10_000 });
  assert.deepEqual({ exitCode: r.exitCode, failed: r.failed, stdout: r.stdout, stderr: r.stderr, timedOut: r.timedOut }, { exitCode: 3, failed: true, stdout: 'ours\n', stderr: 'err\n', timedOut: false });
  const ok = await runCommand('sh', ['-c', 'read x || echo closed'], { timeoutMs: 10_000 });
  assert.deepEqual([ok.exitCode, ok.failed, ok.stdout], [0, false, 'closed\n'], 'stdin is closed');
});

test('a command that does not start is a spawn error, not an exit code', async () => {
  const r = await runCommand('/nonexistent/bpftrace', ['--version'], { timeoutMs: 10_000 });
  assert.equal(r.exitCode, undefined);
  assert.equal(exitOf(r).spawnError, 'spawn /nonexistent/bpftrace ENOENT');
});

test('a command past its timeout is stopped and says so', async () => {
  const t0 = Date.now();
  const r = await runCommand('sleep', ['30'], { timeoutMs: 200 });
  assert.equal(r.timedOut, true);
  assert.equal(r.signal, 'SIGTERM');
  assert.ok(Date.now() - t0 < 10_000);
});
