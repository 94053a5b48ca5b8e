// runtime.self_stats: the in-kernel cost of the monitors is visible in status and metrics, and the kernel
// setting is put back afterwards.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { kernelAvailable } from '../helpers/kernel.js';
import { runCli, sleep, startCli, tempDir, writeConfig } from '../helpers/cli.js';
import { run, workload } from '../helpers/workload.js';

const sysctl = '/proc/sys/kernel/bpf_stats_enabled';

test('self_stats: status shows runs, ns per event and CPU share of the BPF programs; the sysctl is restored', async (t) => {
  if (!kernelAvailable(t)) return;
  const before = (await readFile(sysctl, 'utf8')).trim();
  const dir = await tempDir('selfstats');
  const pidFile = path.join(dir, 'ebpfmon.pid');
  const prog = await workload('syscalls', 'ebpfm_cost');
  const config = await writeConfig(dir, 'runtime: {self_stats: true}\nmonitors:\n  syscall: {enabled: true, interval: 1}\n');
  const cli = startCli(['start', '-c', config, '-o', dir, '--pid-file', pidFile, '--prometheus', '127.0.0.1:0', '--log-level', 'debug']);
  const exporter = await cli.waitForLog('prometheus exporter listening');
  await cli.waitForLog('monitors attached');
  assert.equal((await readFile(sysctl, 'utf8')).trim(), '1');
  await run(prog, ['20000', '0']);
  await sleep(2500);
  await run(prog, ['20000', '0']);
  await sleep(2500);
  const st = await runCli(['status', '--json', '--pid-file', pidFile]);
  assert.equal(st.exitCode, 0, st.stderr);
  const doc = JSON.parse(st.stdout) as { status: { monitors: { monitor: string; bpf: { programs: number; runCount: number; nsPerEvent: number; cpuPercent: number } | null }[] } };
  const bpf = doc.status.monitors.find((m) => m.monitor === 'syscall')?.bpf;
  assert.ok(bpf, 'bpf cost present');
  assert.ok(bpf.programs >= 2, `programs ${bpf.programs}`);
  assert.ok(bpf.runCount >= 40000, `runs ${bpf.runCount}`);
  assert.ok(bpf.nsPerEvent > 0 && bpf.nsPerEvent < 100000, `ns/event ${bpf.nsPerEvent}`);
  assert.ok(bpf.cpuPercent >= 0);
  const metrics = await (await fetch(`http://${String(exporter['address'])}/metrics`)).text();
  assert.match(metrics, /^ebpfmon_bpf_runs_total\{process="main"\} [1-9]\d*/m);
  assert.match(cli.stderrText(), /in-kernel cost of bpftrace programs/);
  cli.proc.kill('SIGTERM');
  assert.equal((await cli.done).exitCode, 0);
  assert.equal((await readFile(sysctl, 'utf8')).trim(), before, 'kernel.bpf_stats_enabled restored');
});
