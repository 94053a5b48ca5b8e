// cgroup attribution: a workload moved into its own cgroup v2 shows that cgroup's path in CSV and metrics.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execa } from 'execa';
import { mkdir, rmdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { kernelAvailable } from '../helpers/kernel.js';
import { readCsv, sleep, startCli, tempDir, writeConfig } from '../helpers/cli.js';
import { workload } from '../helpers/workload.js';
import { cgroup2Root } from '../../src/rows/cgroup.js';

test('cgroup: rows and metric labels carry the cgroup path of the process', async (t) => {
  if (!kernelAvailable(t)) return;
  const root = cgroup2Root();
  // Shaped as kubelet's cgroupfs driver makes a container's: pod_uid and container_id come from the path.
  const podUid = '7f1e2d3c-4b5a-6978-8a9b-0c1d2e3f4a5b';
  const containerId = `${process.pid.toString(16).padStart(8, '0')}${'c0ffee42'.repeat(7)}`;
  const top = `ebpfmon-test-${process.pid}`;
  const name = `${top}/pod${podUid}/${containerId}`;
  const cg = path.join(root, name);
  await mkdir(cg, { recursive: true });
  t.after(async () => {
    for (const d of [name, `${top}/pod${podUid}`, top]) await rmdir(path.join(root, d)).catch(() => undefined);
  });
  const dir = await tempDir('cgroup');
  const prog = await workload('syscalls', 'ebpfm_cgrp');
  const opener = await workload('opens', 'ebpfm_cgop');
  const config = await writeConfig(dir, 'monitors:\n  exec: {enabled: true, cgroup: true}\n  syscall: {enabled: true, interval: 1, cgroup: true}\n  open: {enabled: true, interval: 1, cgroup: true}\n  context_switch: {enabled: true, interval: 1, cgroup: true}\n');
  const cli = startCli(['start', '-c', config, '-o', dir, '--prometheus', '127.0.0.1:0', '--duration', '4']);
  const exporter = await cli.waitForLog('prometheus exporter listening');
  await cli.waitForLog('monitors attached');
  // The shell joins the cgroup, then execs the workload in it.
  await execa('sh', ['-c', `echo $$ > ${path.join(cg, 'cgroup.procs')} && exec ${prog} 123 0 50`]);
  // 10 opens of files that exist, from inside the cgroup: the open monitor names each pid by its busiest comm.
  const files = path.join(dir, 'files');
  await mkdir(files);
  for (let i = 0; i < 10; i++) await writeFile(path.join(files, `e${i}`), '');
  await execa('sh', ['-c', `echo $$ > ${path.join(cg, 'cgroup.procs')} && exec ${opener} ${files} 10 0 3`]);
  await sleep(2000);
  const metrics = await (await fetch(`http://${String(exporter['address'])}/metrics`)).text();
  const r = await cli.done;
  assert.equal(r.exitCode, 0, r.stderr);
  const rows = (await readCsv(dir, 'syscall')).filter((row) => row['comm'] === 'ebpfm_cgrp' && row['syscall'] === 'getppid');
  assert.equal(rows.length, 1);
  assert.equal(rows[0]?.['cgroup'], `/${name}`);
  assert.equal(rows[0]?.['count'], '123');
  assert.deepEqual([rows[0]?.['pod_uid'], rows[0]?.['container_id']], [podUid, containerId], 'pod and container from the cgroup path');
  const opens = (await readCsv(dir, 'open')).filter((row) => row['comm'] === 'ebpfm_cgop' && row['filename']?.startsWith(files));
  assert.equal(opens.length, 10);
  for (const row of opens) assert.equal(row['cgroup'], `/${name}`);
  const switches = (await readCsv(dir, 'context_switch')).filter((row) => row['comm'] === 'ebpfm_cgrp');
  assert.ok(switches.length > 0, 'the 50 ms sleep switched it out');
  for (const row of switches) assert.equal(row['cgroup'], `/${name}`);
  const execs = (await readCsv(dir, 'exec')).filter((row) => row['filename'] === prog);
  assert.equal(execs[0]?.['cgroup'], `/${name}`);
  // Per command (and cgroup) in total: every syscall of the workload in that cgroup, as the CSV counts them.
  const all = (await readCsv(dir, 'syscall')).filter((row) => row['comm'] === 'ebpfm_cgrp' && row['cgroup'] === `/${name}`);
  const total = all.reduce((n, row) => n + Number(row['count']), 0);
  assert.ok(total >= 123);
  assert.match(metrics, new RegExp(`^ebpfmon_process_syscalls_total\\{comm="ebpfm_cgrp",cgroup="/${name}"\\} ${total}$`, 'm'));
});
