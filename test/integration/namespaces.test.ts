// ebpfmon inside namespaces: a time namespace (node's CLOCK_MONOTONIC shifted, bpftrace's nsecs not).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { kernelAvailable } from '../helpers/kernel.js';
import { readCsv, startCli, tempDir, writeConfig } from '../helpers/cli.js';
import { run, uniqueTrue, workload } from '../helpers/workload.js';

test('time namespace (unshare --time --monotonic 5): aggregate rows are written, exec timestamps are right within a second', async (t) => {
  if (!kernelAvailable(t)) return;
  const dir = await tempDir('timens');
  const prog = await uniqueTrue('ebpfm_tns');
  const calls = await workload('syscalls', 'ebpfm_tnsc');
  const config = await writeConfig(dir, 'monitors:\n  exec: {enabled: true, comm: ebpfm_tns}\n  syscall: {enabled: true, interval: 1, comm: ebpfm_tnsc}\n');
  const cli = startCli(['start', '-c', config, '-o', dir, '--duration', '4'], { prefix: ['unshare', '--time', '--monotonic', '5', '--fork'] });
  t.after(() => cli.proc.kill('SIGKILL'));
  await cli.waitForLog('monitors attached');
  const before = Date.now();
  await run(prog);
  const after = Date.now();
  await run(calls, ['321', '0']);
  const r = await cli.done;
  assert.equal(r.exitCode, 0, r.stderr);
  const execs = (await readCsv(dir, 'exec')).filter((row) => row['comm'] === 'ebpfm_tns');
  assert.equal(execs.length, 1, 'one exec row');
  const at = Date.parse(execs[0]!['timestamp'] ?? '');
  assert.ok(at >= before - 1000 && at <= after + 1000, `exec stamped ${execs[0]!['timestamp']}, run between ${new Date(before).toISOString()} and ${new Date(after).toISOString()}`);
  const sys = (await readCsv(dir, 'syscall')).filter((row) => row['syscall'] === 'getppid');
  assert.equal(sys.reduce((n, row) => n + Number(row['count']), 0), 321, 'every interval written');
});
