// The context_switch monitor against two processes passing a byte back and forth over pipes N times.
import { assertCompiles } from '../helpers/bpftrace.js';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { kernelAvailable } from '../helpers/kernel.js';
import { readCsv, runCli, startCli, tempDir, writeConfig } from '../helpers/cli.js';
import { run, workload } from '../helpers/workload.js';

test('N pipe round trips between two processes give about 2N switches for their comm', async (t) => {
  if (!kernelAvailable(t)) return;
  const dir = await tempDir('cswitch');
  const name = `ebpfm_pp${process.pid % 100000}`;
  const prog = await workload('pingpong', name);
  const config = await writeConfig(dir, 'monitors:\n  context_switch:\n    enabled: true\n    interval: 1\n');
  const cli = startCli(['start', '-c', config, '-o', dir, '--duration', '3']);
  // A failed assertion must not leave ebpfmon (and its bpftrace) running after the test.
  t.after(() => void (cli.proc.exitCode === null && cli.proc.kill('SIGKILL')));
  await cli.waitForLog('monitors attached');
  const N = 5000;
  await run(prog, [String(N)]);
  const r = await cli.done;
  assert.equal(r.exitCode, 0, r.stderr);
  const rows = (await readCsv(dir, 'context_switch')).filter((row) => row['comm'] === name);
  const sum = (col: string): number => rows.reduce((n, row) => n + Number(row[col]), 0);
  const summary = JSON.stringify(rows.map((row) => [row['pid'], row['cpu'], row['switches'], row['voluntary'], row['involuntary']]));
  // Each round trip blocks each process once in read(); fork, exit and wait add a few more. On two CPUs a reply
  // can arrive before its reader has gone to sleep, so a few round trips block only one side (measured: 9989 to
  // 10025 switches for N = 5000).
  const switches = sum('switches');
  assert.ok(switches >= 2 * N * 0.99 && switches <= 2 * N + 50, `switches ${switches} for N=${N}: ${summary}`);
  assert.equal(sum('voluntary') + sum('involuntary'), sum('switches'));
  assert.equal(new Set(rows.map((row) => row['pid'])).size, 2, `parent and child: ${summary}`);
  for (const row of rows) {
    assert.ok(Number.isInteger(Number(row['cpu'])) && Number(row['cpu']) >= 0, `cpu ${row['cpu']}`);
    assert.match(row['timestamp'] ?? '', /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
  }
});

test('`ebpfmon generate -m context_switch` writes a script bpftrace accepts', async (t) => {
  if (!kernelAvailable(t)) return;
  const dir = await tempDir('cswitch-gen');
  const gen = await runCli(['generate', '-m', 'context_switch', '--out', dir]);
  assert.equal(gen.exitCode, 0, gen.stderr);
  const file = path.join(dir, 'ebpfmon-main.bt');
  assert.match(await readFile(file, 'utf8'), /tracepoint:sched:sched_switch/);
  await assertCompiles(file);
});
