// The bio monitor against dd with O_DIRECT: every byte dd moves reaches the disk as a request dd submitted.
import { assertCompiles } from '../helpers/bpftrace.js';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execa } from 'execa';
import { copyFile, mkdtemp, readFile, realpath, rm } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { kernelAvailable } from '../helpers/kernel.js';
import { readCsv, runCli, startCli, tempDir, writeConfig } from '../helpers/cli.js';
import { repoRoot } from '../helpers/paths.js';
import { diskOf } from '../helpers/disk.js';

const MiB = 1024 * 1024;

/** A scratch directory on a real disk: /tmp may be tmpfs. */
async function diskDir(): Promise<{ dir: string; disk: string } | null> {
  for (const base of ['/var/tmp', repoRoot]) {
    const disk = await diskOf(base);
    if (disk) return { dir: await mkdtemp(path.join(base, 'ebpfmon-bio-')), disk };
  }
  return null;
}

test('64 MiB written and read back by dd with O_DIRECT are counted exactly, on the right device', async (t) => {
  if (!kernelAvailable(t)) return;
  const scratch = await diskDir();
  if (!scratch) {
    t.skip('no directory on a block device (/var/tmp and the repository are on tmpfs, btrfs or overlay)');
    return;
  }
  t.after(() => rm(scratch.dir, { recursive: true, force: true }));
  // dd under a unique name, so other dd runs on the machine are not counted.
  const name = `ebpfm_dd${process.pid % 100000}`;
  const dd = path.join(scratch.dir, name);
  await copyFile((await execa('sh', ['-c', 'command -v dd'])).stdout.trim(), dd);
  const data = path.join(scratch.dir, 'data');
  const dir = await tempDir('bio');
  const config = await writeConfig(dir, 'monitors:\n  bio:\n    enabled: true\n    interval: 1\n');
  const cli = startCli(['start', '-c', config, '-o', dir, '--duration', '3']);
  // A failed assertion must not leave ebpfmon (and its bpftrace) running after the test.
  t.after(() => void (cli.proc.exitCode === null && cli.proc.kill('SIGKILL')));
  await cli.waitForLog('monitors attached');
  await execa(dd, ['if=/dev/zero', `of=${data}`, 'bs=1M', 'count=64', 'oflag=direct', 'status=none']);
  await execa(dd, [`if=${data}`, 'of=/dev/null', 'bs=1M', 'iflag=direct', 'status=none']);
  const r = await cli.done;
  assert.equal(r.exitCode, 0, r.stderr);
  const rows = (await readCsv(dir, 'bio')).filter((row) => row['comm'] === name);
  const sum = (type: string, col: string): number =>
    rows.filter((row) => row['io_type'] === type).reduce((n, row) => n + Number(row[col]), 0);
  const summary = JSON.stringify(rows.map((row) => [row['io_type'], row['device'], row['count'], row['total_bytes']]));
  assert.equal(sum('write', 'total_bytes'), 64 * MiB, summary);
  // dd may itself read a few filesystem metadata blocks (block bitmap, inode table) and, when the page cache has let
  // them go, its own executable's pages (seen in CI: 5 reads, 104 KiB more).
  assert.ok(sum('read', 'total_bytes') >= 64 * MiB && sum('read', 'total_bytes') <= 64 * MiB + 512 * 1024, summary);
  // 1 MiB per request at most (a request may be split, e.g. at the device's segment limit).
  assert.ok(sum('write', 'count') >= 64 && sum('read', 'count') >= 64, summary);
  assert.deepEqual(new Set(rows.map((row) => row['device'])), new Set([scratch.disk]), summary);
  // disk: the kernel's name of that number, the name /sys/block (and node_exporter's device label) uses.
  const diskName = path.basename(await realpath(`/sys/dev/block/${scratch.disk}`));
  assert.ok(existsSync(`/sys/block/${diskName}`), diskName);
  assert.deepEqual(new Set(rows.map((row) => row['disk'])), new Set([diskName]), summary);
  assert.deepEqual(new Set(rows.map((row) => row['io_type'])), new Set(['write', 'read']), summary);
  assert.equal(new Set(rows.filter((row) => row['io_type'] === 'write').map((row) => row['pid'])).size, 1, 'one dd process wrote');
  // Latency needs the completion, which the kernel may skip (see bio.ts); most are seen.
  const timed = rows.filter((row) => row['avg_latency_us'] !== '');
  assert.ok(timed.length >= 1, summary);
  for (const row of timed) {
    const [min, avg, max] = [row['min_latency_us'], row['avg_latency_us'], row['max_latency_us']].map(Number) as [number, number, number];
    assert.ok(min > 0 && min <= avg && avg <= max && max < 10_000_000, `latency ${min} <= ${avg} <= ${max} us`);
  }
  for (const row of rows) {
    assert.ok(Number(row['throughput_mbps']) > 0);
    assert.match(row['timestamp'] ?? '', /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
  }
});

test('min_latency_us above any real latency counts nothing', async (t) => {
  if (!kernelAvailable(t)) return;
  const dir = await tempDir('bio-slow');
  const config = await writeConfig(dir, 'monitors:\n  bio:\n    enabled: true\n    interval: 1\n    min_latency_us: 60000000\n');
  const cli = startCli(['start', '-c', config, '-o', dir, '--duration', '2']);
  // A failed assertion must not leave ebpfmon (and its bpftrace) running after the test.
  t.after(() => void (cli.proc.exitCode === null && cli.proc.kill('SIGKILL')));
  await cli.waitForLog('monitors attached');
  await execa('sh', ['-c', `dd if=/dev/zero of=/var/tmp/ebpfmon-bio-slow-${process.pid} bs=1M count=8 oflag=direct status=none; rm -f /var/tmp/ebpfmon-bio-slow-${process.pid}`]);
  const r = await cli.done;
  assert.equal(r.exitCode, 0, r.stderr);
  assert.deepEqual(await readCsv(dir, 'bio').catch(() => []), []);
});

test('`ebpfmon generate -m bio` writes a script bpftrace accepts', async (t) => {
  if (!kernelAvailable(t)) return;
  const dir = await tempDir('bio-gen');
  const gen = await runCli(['generate', '-m', 'bio', '--out', dir]);
  assert.equal(gen.exitCode, 0, gen.stderr);
  const file = path.join(dir, 'ebpfmon-main.bt');
  const text = await readFile(file, 'utf8');
  assert.match(text, /tracepoint:block:block_rq_complete/);
  await assertCompiles(file);
});
