// The page_fault monitor against a workload that writes one byte to each of N fresh anonymous pages;
// and its generated script through `bpftrace -d`.
import { assertCompiles } from '../helpers/bpftrace.js';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { kernelAvailable } from '../helpers/kernel.js';
import { readCsv, runCli, startCli, tempDir, writeConfig } from '../helpers/cli.js';
import { run, workload } from '../helpers/workload.js';

/** Faults a dynamically linked program takes before and after main(): loader, libc, stack, exit. */
const STARTUP_MARGIN = 200;

test('N freshly written pages give about N user write faults on not-present pages', async (t) => {
  if (!kernelAvailable(t)) return;
  const dir = await tempDir('page-fault');
  const comm = 'ebpfm_fault';
  const prog = await workload('faults', comm);
  const N = 3000;
  const config = await writeConfig(dir, 'monitors:\n  page_fault:\n    enabled: true\n    interval: 1\n');
  const cli = startCli(['start', '-c', config, '-o', dir, '--duration', '4']);
  await cli.waitForLog('monitors attached');
  await run(prog, [String(N)]);
  const r = await cli.done;
  assert.equal(r.exitCode, 0, r.stderr);
  const rows = (await readCsv(dir, 'page_fault')).filter((row) => row['comm'] === comm);
  const sum = (pred: (row: Record<string, string>) => boolean): number =>
    rows.filter(pred).reduce((n, row) => n + Number(row['count']), 0);
  const user = sum((row) => row['fault_type'] === 'user');
  const userWrites = sum((row) => row['fault_type'] === 'user' && row['access'] === 'write' && row['cause'] === 'not_present');
  t.diagnostic(`N=${N}: user faults ${user}, of which write/not_present ${userWrites}; kernel faults ${sum((row) => row['fault_type'] === 'kernel')}`);
  assert.ok(userWrites >= N && userWrites <= N + STARTUP_MARGIN, `user write not_present faults ${userWrites}`);
  assert.ok(user >= N && user <= N + STARTUP_MARGIN, `user faults ${user}`);
  assert.ok(sum((row) => row['access'] === 'exec') > 0, 'the loader faults code pages in');
  assert.equal(new Set(rows.map((row) => row['pid'])).size, 1, 'one process');
  const cpus = os.cpus().length;
  for (const row of rows) {
    assert.ok(['user', 'kernel'].includes(row['fault_type'] ?? ''), row['fault_type']);
    assert.ok(['read', 'write', 'exec'].includes(row['access'] ?? ''), row['access']);
    assert.ok(['not_present', 'protection'].includes(row['cause'] ?? ''), row['cause']);
    assert.ok(Number(row['cpu']) >= 0 && Number(row['cpu']) < cpus, `cpu ${row['cpu']}`);
    assert.ok(existsSync(`/sys/devices/system/node/node${row['numa_node']}`), `numa_node ${row['numa_node']}`);
    assert.match(row['timestamp'] ?? '', /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
  }
});

test('`generate --out` writes a script that bpftrace -d accepts, comm filter included', async (t) => {
  if (!kernelAvailable(t)) return;
  const dir = await tempDir('page-fault-gen');
  const config = await writeConfig(dir, 'monitors:\n  page_fault:\n    enabled: true\n    comm: "a,b c"\n');
  const out = path.join(dir, 'scripts');
  const g = await runCli(['generate', '-c', config, '-m', 'page_fault', '--out', out]);
  assert.equal(g.exitCode, 0, g.stderr);
  const scripts = (await readdir(out)).filter((f) => f.endsWith('.bt'));
  assert.equal(scripts.length, 1);
  await assertCompiles(path.join(out, scripts[0]!));
});
