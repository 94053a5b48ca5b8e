// A step of the wall clock while ebpfmon runs (NTP's first sync, `date -s`, a resumed VM): rows take the new
// time, the step is logged once, and nothing that measures time (the missing-tick watchdog, CPU rates, budgets,
// --duration) takes the step for elapsed time. The step is Node's view of the wall clock (a preloaded hook):
// stepping the host's clock would disturb everything else on the machine.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { kernelAvailable } from '../helpers/kernel.js';
import { readCsv, startCli, tempDir, writeConfig } from '../helpers/cli.js';

const hook = pathToFileURL(path.join(import.meta.dirname, '../helpers/clock-step-hook.js')).href;

test('a wall clock stepped 60 s ahead mid-run: logged once, rows dated after it, not taken for a stall, --duration on time', async (t) => {
  if (!kernelAvailable(t)) return;
  const dir = await tempDir('clock-step');
  const config = await writeConfig(dir, 'monitors:\n  syscall: {enabled: true, interval: 1}\n');
  const env = ['env', `NODE_OPTIONS=--import=${hook}`, 'EBPFMON_TEST_CLOCK_STEP_S=60', 'EBPFMON_TEST_CLOCK_STEP_AFTER_MS=4000'];
  const cli = startCli(['start', '-c', config, '-o', dir, '-d', '6', '--log-level', 'debug'], { prefix: env });
  t.after(() => {
    if (cli.proc.exitCode === null) cli.proc.kill('SIGKILL');
  });
  const started = performance.now();
  await cli.waitForLog('monitors attached');
  const r = await cli.done;
  const seconds = (performance.now() - started) / 1000;
  assert.equal(r.exitCode, 0, r.stderr);
  assert.equal(r.stderr.match(/wall clock stepped by \+60\.\d s/g)?.length, 1, r.stderr);
  // A loaded machine may stall bpftrace for real (seconds); the step must not count as 60 s of one.
  const stalls = r.stderr.split('\n').filter((l) => l.includes('bpftrace is stalled')).map((l) => (JSON.parse(l) as { seconds: number }).seconds);
  assert.ok(stalls.every((sec) => sec < 30), `a step is not a stall: stalls of ${stalls.join(', ')} s`);
  assert.ok(seconds < 20, `--duration 6 ended after ${seconds.toFixed(1)} s`);
  // Rows before and after the step: the last ones are dated about 60 s after the first ones.
  const times = (await readCsv(dir, 'syscall')).filter((row) => !row['note']).map((row) => Date.parse(row['timestamp'] ?? ''));
  assert.ok(times.length > 0 && times.every((x) => Number.isFinite(x)), 'rows with timestamps');
  const span = (Math.max(...times) - Math.min(...times)) / 1000;
  assert.ok(span > 60 && span < 75, `rows span ${span} s of wall time across a +60 s step in a 6 s run`);
});
