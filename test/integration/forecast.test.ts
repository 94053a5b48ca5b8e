// check --cost against a workload of known rate: a getppid loop that mostly sleeps, so the count probe's own cost
// per syscall (about 15 % of a getppid) barely moves its rate.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { kernelAvailable } from '../helpers/kernel.js';
import { runCli, tempDir, writeConfig } from '../helpers/cli.js';
import { run, workload } from '../helpers/workload.js';
import type { CheckReport } from '../../src/cli/commands/check.js';

test('check --cost --seconds 2 --json: the syscall rate holds the workload\'s, every runnable monitor has a positive forecast', async (t) => {
  if (!kernelAvailable(t)) return;
  const dir = await tempDir('forecast');
  const config = await writeConfig(dir, 'monitors:\n  syscall: {enabled: true}\n  page_fault: {enabled: true}\n  context_switch: {enabled: true}\n  exec: {enabled: true}\n');
  const prog = await workload('syscalls', 'ebpfm_fcst');
  const callsPerRun = 20_000;
  let calls = 0;
  let going = true;
  const t0 = performance.now();
  const loop = (async () => {
    // Each run: 20,000 getppid calls, then 80 ms asleep.
    while (going) {
      await run(prog, [String(callsPerRun), '0', '80']);
      calls += callsPerRun;
    }
  })();
  const r = await runCli(['check', '-c', config, '--cost', '--seconds', '2', '--json']);
  going = false;
  await loop;
  const knownRate = calls / ((performance.now() - t0) / 1000);
  assert.equal(r.exitCode, 0, r.stderr);
  const f = (JSON.parse(r.stdout) as CheckReport).forecast;
  assert.ok(f, 'a forecast');
  assert.equal(f.estimate, true);
  assert.equal(f.seconds, 2);
  assert.ok(f.calibration.floorNs > 0 && f.calibration.scale > 0, JSON.stringify(f.calibration));
  const syscall = f.monitors.find((m) => m.monitor === 'syscall');
  // The loop runs slower while the count probe is attached (it adds its cost to every getppid) than over the whole
  // run, most of which is untraced: measured 0.90 of the whole run's rate, so 0.8.
  assert.ok(syscall?.eventsPerSecond != null && syscall.eventsPerSecond >= 0.8 * knownRate, `syscall ${syscall?.eventsPerSecond}/s, workload ${Math.round(knownRate)}/s`);
  assert.deepEqual(syscall.rateFrom, { kind: 'probe', tracepoints: ['raw_syscalls:sys_exit'] });
  for (const name of ['syscall', 'page_fault', 'context_switch']) {
    const m = f.monitors.find((x) => x.monitor === name);
    assert.ok(m && m.cpuPercent !== null && m.cpuPercent > 0 && m.slowdownPercent !== null && m.slowdownPercent > 0 && (m.nsPerEventHere ?? 0) > 0, `${name}: ${JSON.stringify(m)}`);
  }
  assert.ok(f.monitors.find((m) => m.monitor === 'exec')?.eventsPerSecond !== null, 'exec rate from its probe (about 10 execs a second here)');
  assert.ok(f.total.cpuPercent > 0 && Math.abs(f.total.slowdownPercent - f.total.cpuPercent / f.cpus) < 0.002, JSON.stringify(f.total));
  assert.match(f.excludes, /user-space/);
});

test('check --seconds without --cost is refused in one line (exit 2)', async () => {
  const r = await runCli(['check', '--seconds', '3']);
  assert.equal(r.exitCode, 2);
  assert.equal(r.stderr.trim(), 'ebpfmon: --seconds and --recalibrate go with --cost (e.g. ebpfmon check --cost --seconds 10)');
});
