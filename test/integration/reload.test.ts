// SIGHUP reloads: the counters `status` shows are totals since start, as the exporter's are, and the two agree.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { kernelAvailable } from '../helpers/kernel.js';
import { sleep, startCli, tempDir, writeConfig } from '../helpers/cli.js';
import { run, uniqueTrue } from '../helpers/workload.js';
import { readStatus } from '../../src/daemon/status.js';

/** The value of one series of a Prometheus exposition, 0 when absent. */
function sample(text: string, metric: string, labels: Record<string, string>): number {
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${metric}{`)) continue;
    const body = line.slice(metric.length + 1, line.lastIndexOf('}'));
    if (Object.entries(labels).every(([k, v]) => body.includes(`${k}="${v}"`))) return Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return 0;
}

/** Polls `f` until it returns a value that `ok` accepts; the last value either way. */
async function until<T>(f: () => Promise<T>, ok: (v: T) => boolean, timeoutMs = 15_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await f();
    if (ok(v) || Date.now() > end) return v;
    await sleep(200);
  }
}

test('SIGHUP: status counters are totals since start (they only grow) and agree with the exporter', async (t) => {
  if (!kernelAvailable(t)) return;
  const dir = await tempDir('reload-counters');
  const prog = await uniqueTrue('ebpfm_hupc');
  // exec rows of one command only: the count is the test's own executions, whatever else runs on the host.
  const config = await writeConfig(dir, 'monitors:\n  exec: {enabled: true, comm: ebpfm_hupc}\n');
  const pidFile = path.join(dir, 'ebpfmon.pid');
  const statusFile = path.join(dir, 'ebpfmon.status.json');
  const cli = startCli(['start', '-c', config, '-o', path.join(dir, 'out'), '--pid-file', pidFile, '--prometheus', '127.0.0.1:0', '--duration', '90']);
  t.after(() => cli.proc.kill('SIGKILL'));
  const address = String((await cli.waitForLog('prometheus exporter listening'))['address']);
  await cli.waitForLog('monitors attached');
  const execRows = async (): Promise<number> => (await readStatus(statusFile))?.monitors.find((m) => m.monitor === 'exec')?.rows ?? -1;
  const scrape = async (): Promise<number> => sample(await (await fetch(`http://${address}/metrics`)).text(), 'ebpfmon_rows_total', { monitor: 'exec' });

  for (let i = 0; i < 5; i++) await run(prog);
  assert.equal(await until(execRows, (n) => n === 5), 5, 'status before the reload');
  assert.equal(await scrape(), 5, 'exporter before the reload');
  // Two reloads: counters carry over each one.
  for (const more of [3, 4]) {
    const reloaded = cli.stderrText().split('configuration reloaded').length;
    process.kill(cli.proc.pid!, 'SIGHUP');
    await until(() => Promise.resolve(cli.stderrText().split('configuration reloaded').length), (n) => n > reloaded, 30_000);
    for (let i = 0; i < more; i++) await run(prog);
  }
  const total = 5 + 3 + 4;
  assert.equal(await until(execRows, (n) => n === total), total, 'status after two reloads: a total since start');
  assert.equal(await scrape(), total, 'the exporter agrees');
  cli.proc.kill('SIGTERM');
  const r = await cli.done;
  assert.equal(r.exitCode, 0, r.stderr);
  const stopped = r.stderr.split('\n').filter((l) => l.includes('"msg":"stopped"'));
  assert.equal((JSON.parse(stopped[0]!) as { rows: Record<string, number> }).rows['exec'], total, 'the final summary counts every session once');
});
