// Rotation on the real kernel: a busy open monitor with max_file_mb: 1 and compress fills several files, each headed
// and strictly parseable, their rows adding up to the workload's opens; `analyze` reads them, gzipped or not. Then
// external rotation: logrotate's rename (create) + SIGHUP, and copytruncate, lose no row and leave no hole.
import { bpftraceFeatures } from '../helpers/bpftrace.js';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFile, readdir, readFile, rename, rm, stat, truncate, writeFile } from 'node:fs/promises';
import { gunzipSync } from 'node:zlib';
import path from 'node:path';
import { parse } from 'csv-parse/sync';
import { kernelAvailable } from '../helpers/kernel.js';
import { runCli, sleep, startCli, tempDir, writeConfig } from '../helpers/cli.js';
import { run, workload } from '../helpers/workload.js';

const strict = (text: string): Record<string, string>[] =>
  parse(text, { columns: true, relax_quotes: false, relax_column_count: false, skip_empty_lines: false }) as Record<string, string>[];

const textOf = async (file: string): Promise<string> => {
  const buf = await readFile(file);
  return (file.endsWith('.gz') ? gunzipSync(buf) : buf).toString('utf8');
};

test('max_file_mb: 1 with a busy monitor: several files, each headed and strict CSV, every row there once', async (t) => {
  if (!kernelAvailable(t)) return;
  const base = await tempDir('rotate');
  const dir = path.join(base, 'out');
  const target = await tempDir('rot-files');
  const comm = 'ebpfm_rot';
  const prog = await workload('opens', comm);
  const N = 6000;
  const M = 6000;
  const RUNS = 8;
  for (let i = 0; i < N; i++) await writeFile(path.join(target, `e${i}`), '');
  // bpftrace itself (not aotrt, 4096 keys a map): one run's 10000 distinct paths fit in one interval's map.
  // bpftrace 0.24+ prints each path key as a 176-number byte array (src/bt/features.ts textKeys): 12,000 of them take
  // it more than a second here, so it stalls behind 1-second intervals, and a clear that runs after the next flip
  // loses counts (marked as a stall, not counted). Its intervals are 2 s.
  const interval = bpftraceFeatures().textKeys === 'bytes' ? 2 : 1;
  const config = await writeConfig(
    base,
    `output: {flush_interval: 1, rotate: {max_file_mb: 1, compress: true}}\nruntime: {aot: false}\n` +
      `monitors:\n  open: {enabled: true, interval: ${interval}, comm: ${comm}, path_prefix: "${target}/"}\n` +
      // A second monitor keeps the console view off (it is on when one monitor runs).
      `  syscall: {enabled: true, interval: 1, comm: ${comm}}\n`,
  );
  const cli = startCli(['start', '-c', config, '-m', 'open,syscall', '-o', dir, '--duration', '90']);
  try {
    await cli.waitForLog('monitors attached');
    for (let r = 0; r < RUNS; r++) {
      // One run per interval: about 0.8 MB of rows each, so a file ends after its second run.
      await run(prog, [target, String(N), String(M), '1']);
      await sleep(1500 * interval);
    }
    await sleep(1500);
    cli.proc.kill('SIGTERM');
    const res = await cli.done;
    assert.equal(res.exitCode, 0, res.stderr.slice(-3000));
    const names = (await readdir(dir)).filter((n) => n.startsWith('open_')).sort();
    assert.ok(names.length >= 3, `several files: ${names.join(' ')}`);
    assert.ok(names.filter((n) => n.endsWith('.csv.gz')).length >= names.length - 2, `rotated files are gzipped: ${names.join(' ')}`);
    const perFile = new Map<string, number>();
    const counts = new Map<string, number>();
    let rows = 0;
    for (const name of names) {
      const text = await textOf(path.join(dir, name));
      assert.ok(text.startsWith('timestamp,pid,comm,filename,count,'), `${name} starts with its header`);
      assert.ok(Buffer.byteLength(text) < 2 ** 20 + 2_500_000, `${name}: ${Buffer.byteLength(text)} bytes: ends at the first interval past 1 MiB`);
      const data = strict(text).filter((r) => !r['note']);
      perFile.set(name.replace(/\.gz$/, ''), data.length);
      for (const r of data) {
        assert.equal(r['comm'], comm);
        counts.set(r['filename']!, (counts.get(r['filename']!) ?? 0) + Number(r['count']));
      }
      rows += data.length;
    }
    // Every path of every run, once per run: nothing lost or written twice across the rotations.
    assert.equal(counts.size, N + M);
    const off = [...counts].filter(([, n]) => n !== RUNS);
    assert.ok(off.length === 0, `each path counted once per run: ${off.length} not, e.g. ${JSON.stringify(off.slice(0, 3))}; log: ${res.stderr.split('\n').filter((l) => /incomplete|lost|stalled|dropped/.test(l)).slice(0, 3).join(' | ')}`);
    assert.equal(rows, RUNS * (N + M));
    // The run's own tally: rows written per file, the same files.
    const stopped = JSON.parse(res.stderr.split('\n').find((l) => l.includes('"msg":"stopped"')) ?? '{}') as { written?: Record<string, number> };
    const written = Object.fromEntries(Object.entries(stopped.written ?? {}).filter(([f]) => path.basename(f).startsWith('open_')).map(([f, n]) => [path.basename(f), n]));
    assert.deepEqual(written, Object.fromEntries(perFile));
    // analyze reads the gzipped and plain files alike.
    const a = await runCli(['analyze', dir, '--monitor', 'open', '--format', 'json']);
    assert.equal(a.exitCode, 0, a.stderr);
    const rep = JSON.parse(a.stdout) as { rows: number; damaged_rows: number; sections: Record<string, { totals: Record<string, number> }> };
    assert.equal(rep.damaged_rows, 0);
    assert.equal(rep.rows, rows);
    assert.equal(rep.sections['open']?.totals['opens'], RUNS * (N + M));
  } finally {
    if (cli.proc.exitCode === null) {
      cli.proc.kill('SIGTERM');
      await cli.done;
    }
    await rm(base, { recursive: true, force: true });
    await rm(target, { recursive: true, force: true });
  }
});

test('logrotate: a rename (create) then SIGHUP, and copytruncate: every row in one file, every file headed, no hole', async (t) => {
  if (!kernelAvailable(t)) return;
  const base = await tempDir('logrotate');
  const dir = path.join(base, 'out');
  const comm = 'ebpfm_lrot';
  const prog = await workload('syscalls', comm);
  const config = await writeConfig(base, `output: {flush_interval: 1}\nmonitors:\n  syscall: {enabled: true, interval: 1, comm: ${comm}}\n`);
  const cli = startCli(['start', '-c', config, '-m', 'syscall', '-o', dir, '--duration', '90']);
  const getppid = async (file: string): Promise<number> =>
    strict(await textOf(file))
      .filter((r) => r['comm'] === comm && r['syscall'] === 'getppid')
      .reduce((n, r) => n + Number(r['count']), 0);
  try {
    await cli.waitForLog('monitors attached');
    await run(prog, ['100', '0']);
    await sleep(2500);
    const [first] = await readdir(dir);
    const x = path.join(dir, first!);
    // logrotate with `create`: rename, a new empty file in its place, then the postrotate SIGHUP.
    await rename(x, `${x}.1`);
    await writeFile(x, '', { mode: 0o640 });
    cli.proc.kill('SIGHUP');
    const rotated = await cli.waitForLog('output file rotated: the next rows go to a new file', 15_000);
    assert.equal(rotated['reason'], 'renamed');
    await cli.waitForLog('configuration reloaded', 60_000);
    await run(prog, ['200', '0']);
    await sleep(2500);
    const y = path.join(dir, (await readdir(dir)).find((n) => n !== first && !n.startsWith(`${first}`))!);
    // logrotate with `copytruncate`: copy, then truncate in place; no signal.
    await copyFile(y, `${y}.1`);
    await truncate(y, 0);
    await run(prog, ['300', '0']);
    await sleep(2500);
    cli.proc.kill('SIGTERM');
    const res = await cli.done;
    assert.equal(res.exitCode, 0, res.stderr.slice(-3000));
    assert.match(res.stderr, /an output file was truncated by another program/);
    assert.equal((await stat(x)).size, 0, "logrotate's empty file is left alone");
    assert.equal(await getppid(`${x}.1`), 100);
    assert.equal(await getppid(`${y}.1`), 200);
    const now = await readFile(y, 'utf8');
    assert.ok(now.startsWith('timestamp,pid,comm,syscall_nr,'), 'header first after the truncation');
    assert.ok(!now.includes('\0'), 'no hole of zero bytes');
    assert.equal(await getppid(y), 300);
    assert.deepEqual((await readdir(dir)).sort(), [first!, `${first!}.1`, path.basename(y), `${path.basename(y)}.1`].sort());
  } finally {
    if (cli.proc.exitCode === null) {
      cli.proc.kill('SIGTERM');
      await cli.done;
    }
    await rm(base, { recursive: true, force: true });
  }
});

test('SIGUSR1 reopens the output files (logrotate) without a reload: no gap, no new bpftrace', async (t) => {
  if (!kernelAvailable(t)) return;
  const dir = await tempDir('usr1');
  const out = path.join(dir, 'out');
  const prog = await workload('syscalls', 'ebpfm_usr1');
  const config = await writeConfig(dir, `output: {directory: ${out}}\nmonitors:\n  syscall: {enabled: true, interval: 1}\n`);
  const cli = startCli(['start', '-c', config, '--duration', '30']);
  await cli.waitForLog('monitors attached');
  const [first] = (await readdir(out)).filter((f) => f.startsWith('syscall_'));
  await rename(path.join(out, first!), path.join(out, `${first!}.1`));
  process.kill(cli.proc.pid!, 'SIGUSR1');
  await cli.waitForLog('SIGUSR1: log and output files reopened');
  await run(prog, ['333', '0']);
  await sleep(2500);
  cli.proc.kill('SIGTERM');
  const r = await cli.done;
  assert.equal(r.exitCode, 0, r.stderr);
  assert.doesNotMatch(r.stderr, /reloading the configuration/);
  assert.equal(r.stderr.split('\n').filter((l) => l.includes('bpftrace attached its probes')).length, 1, 'the same bpftrace all along');
  const files = (await readdir(out)).filter((f) => f.startsWith('syscall_') && !f.endsWith('.1'));
  assert.equal(files.length, 1, 'a new file after the rename');
  const rows = parse(await readFile(path.join(out, files[0]!), 'utf8'), { columns: true }) as Record<string, string>[];
  assert.equal(rows.filter((row) => row['comm'] === 'ebpfm_usr1' && row['syscall'] === 'getppid').reduce((n, row) => n + Number(row['count']), 0), 333);
});
