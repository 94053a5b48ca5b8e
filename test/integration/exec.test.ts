// The exec monitor: N executions of a uniquely named program give exactly N rows with real paths.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { kernelAvailable } from '../helpers/kernel.js';
import { readCsv, startCli, tempDir } from '../helpers/cli.js';
import { run, uniqueTrue } from '../helpers/workload.js';

test('N executions of a uniquely named program give exactly N exec rows', async (t) => {
  if (!kernelAvailable(t)) return;
  const dir = await tempDir('exec');
  const name = `ebpfm_x${process.pid}`;
  const prog = await uniqueTrue(name);
  const cli = startCli(['start', '-m', 'exec', '-o', dir, '--duration', '3']);
  await cli.waitForLog('monitors attached');
  const N = 25;
  for (let i = 0; i < N; i++) await run(prog);
  const r = await cli.done;
  assert.equal(r.exitCode, 0, r.stderr);
  const rows = (await readCsv(dir, 'exec')).filter((row) => row['filename'] === prog);
  assert.equal(rows.length, N);
  const pids = new Set(rows.map((row) => row['pid']));
  assert.equal(pids.size, N, 'each execution is its own process');
  for (const row of rows) {
    assert.equal(row['comm'], name.slice(0, 15));
    assert.equal(row['uid'], '0');
    assert.equal(row['ppid'], String(process.pid), 'the test runner spawned them');
    const ts = Date.parse(row['timestamp'] ?? '');
    assert.ok(Math.abs(ts - Date.now()) < 60_000, `timestamp ${row['timestamp']} is near now`);
  }
  // The console view is on by default when a single monitor runs.
  assert.match(r.stdout, new RegExp(`exec .*${name}`));
});
