// Cost budgets: a monitor over its CPU budget for several intervals is stopped (over_budget); the rest run on.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { kernelAvailable } from '../helpers/kernel.js';
import { readCsv, runCli, sleep, startCli, tempDir, writeConfig } from '../helpers/cli.js';
import { run, uniqueTrue, workload } from '../helpers/workload.js';

test('a tiny budget and a syscall storm: syscall ends over_budget, exec keeps running', async (t) => {
  if (!kernelAvailable(t)) return;
  const dir = await tempDir('budget');
  const pidFile = path.join(dir, 'ebpfmon.pid');
  const storm = await workload('syscalls', 'ebpfm_storm');
  const config = await writeConfig(
    dir,
    `runtime: {shared_process: false, budget_intervals: 2, budget_action: stop}
monitors:
  exec: {enabled: true}
  syscall: {enabled: true, interval: 1, max_cpu_percent: 0.01}
`,
  );
  const cli = startCli(['start', '-c', config, '-o', dir, '--pid-file', pidFile]);
  t.after(() => {
    if (cli.proc.exitCode === null) cli.proc.kill('SIGKILL');
  });
  await cli.waitForLog('monitors attached');
  const until = Date.now() + 20_000;
  type Status = { monitors: { monitor: string; state: string; lastError: string | null }[] };
  let status = null as Status | null;
  while (Date.now() < until) {
    await run(storm, ['300000', '0']);
    const st = await runCli(['status', '--json', '--pid-file', pidFile]);
    status = (JSON.parse(st.stdout) as { status: Status | null }).status;
    if (status?.monitors.find((m) => m.monitor === 'syscall')?.state === 'over_budget') break;
    await sleep(200);
  }
  const sys = status?.monitors.find((m) => m.monitor === 'syscall');
  assert.equal(sys?.state, 'over_budget', JSON.stringify(status));
  assert.match(sys?.lastError ?? '', /^over budget: [\d.]+% of one CPU \(BPF [\d.]+% \+ bpftrace [\d.]+%\) > 0\.01% for \d+ intervals$/);
  assert.equal(status?.monitors.find((m) => m.monitor === 'exec')?.state, 'running');
  const prog = await uniqueTrue('ebpfm_after');
  await run(prog);
  await sleep(300);
  cli.proc.kill('SIGTERM');
  const r = await cli.done;
  assert.equal(r.exitCode, 0, r.stderr);
  assert.match(r.stderr, /stopping syscall: over budget/);
  // Judged after attach only, over whole intervals: two intervals of 1 s cannot end within 1.8 s of attaching.
  const logged = (msg: RegExp): number => Date.parse((JSON.parse(r.stderr.split('\n').find((l) => msg.test(l)) ?? '{}') as { time?: string }).time ?? '');
  const afterAttach = logged(/"msg":"stopping syscall: over budget/) - logged(/"monitors":"syscall".*"msg":"bpftrace attached its probes"/);
  assert.ok(afterAttach >= 1800, `stopped ${afterAttach} ms after attach, for 2 intervals`);
  // The rows end with a marker that says why (analyze counts it as a flagged interval, not a complete run).
  const marker = (await readCsv(dir, 'syscall')).filter((row) => row['note']?.startsWith('stopped by its budget'));
  assert.equal(marker.length, 1, 'one marker row');
  assert.match(marker[0]!['note'] ?? '', /^stopped by its budget \(over budget: [\d.]+% of one CPU .* for 2 intervals\): nothing is counted after this point$/);
  assert.equal((await readCsv(dir, 'exec')).filter((row) => row['filename'] === prog).length, 1, 'exec still recorded');
  assert.ok((await readCsv(dir, 'syscall')).some((row) => row['comm'] === 'ebpfm_storm'), 'the storm was recorded before the stop');
});
