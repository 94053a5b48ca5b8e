// Shutdown: SIGTERM mid-interval loses nothing; SIGKILL of ebpfmon leaves no bpftrace behind.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { kernelAvailable } from '../helpers/kernel.js';
import { readCsv, sleep, startCli, tempDir, writeConfig } from '../helpers/cli.js';
import { isAlive as alive } from '../helpers/process.js';
import { run, workload } from '../helpers/workload.js';

test('SIGTERM in the middle of an interval: the partial interval is still written, exit 0', async (t) => {
  if (!kernelAvailable(t)) return;
  const dir = await tempDir('sigterm');
  const prog = await workload('syscalls', 'ebpfm_term');
  const config = await writeConfig(dir, 'monitors:\n  syscall:\n    enabled: true\n    interval: 30\n  exec:\n    enabled: true\n');
  const cli = startCli(['start', '-c', config, '-o', dir]);
  await cli.waitForLog('monitors attached');
  await run(prog, ['4321', '123']);
  await sleep(500);
  cli.proc.kill('SIGTERM');
  const r = await cli.done;
  assert.equal(r.exitCode, 0, r.stderr);
  const rows = (await readCsv(dir, 'syscall')).filter((row) => row['comm'] === 'ebpfm_term');
  const get = rows.find((row) => row['syscall'] === 'getppid');
  assert.equal(get?.['count'], '4321', 'all calls of the unfinished 30 s interval');
  assert.equal(rows.find((row) => row['syscall'] === 'close')?.['error_count'], '123');
  const execs = (await readCsv(dir, 'exec')).filter((row) => row['filename'] === prog);
  assert.equal(execs.length, 1);
  assert.match(r.stderr, /"msg":"stopped"/);
});

test('SIGKILL of ebpfmon: its bpftrace dies with it (no probes left attached)', async (t) => {
  if (!kernelAvailable(t)) return;
  const dir = await tempDir('sigkill');
  const cli = startCli(['start', '-m', 'syscall', '-o', dir]);
  const attached = await cli.waitForLog('bpftrace attached its probes');
  const pid = Number(attached['pid']);
  assert.ok(pid > 0 && alive(pid), 'bpftrace runs');
  cli.proc.kill('SIGKILL');
  await cli.done;
  for (let i = 0; i < 50 && alive(pid); i++) await sleep(100);
  assert.equal(alive(pid), false, `bpftrace ${pid} still running after its supervisor was SIGKILLed`);
});
