// The open monitor against a workload that opens an exact set of existing and missing paths, through open,
// openat and openat2; and its generated script through `bpftrace -d`.
import { assertCompiles } from '../helpers/bpftrace.js';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdir, writeFile } from 'node:fs/promises';
import { execa } from 'execa';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { kernelAvailable } from '../helpers/kernel.js';
import { readCsv, runCli, startCli, tempDir, writeConfig } from '../helpers/cli.js';
import { run, workload } from '../helpers/workload.js';

/** Creates DIR/e0 .. e<n-1>; DIR/m* stay missing. */
async function files(dir: string, n: number): Promise<void> {
  for (let i = 0; i < n; i++) await writeFile(path.join(dir, `e${i}`), '');
}

/** Sums count and error_count per filename over all intervals. */
function perFile(rows: readonly Record<string, string>[]): Map<string, { count: number; errors: number }> {
  const out = new Map<string, { count: number; errors: number }>();
  for (const r of rows) {
    const f = r['filename'] ?? '';
    const cur = out.get(f) ?? { count: 0, errors: 0 };
    cur.count += Number(r['count']);
    cur.errors += Number(r['error_count']);
    out.set(f, cur);
  }
  return out;
}

test('N existing and M missing paths opened REP times each: exact count and error_count per filename', async (t) => {
  if (!kernelAvailable(t)) return;
  const dir = await tempDir('open');
  const target = await tempDir('open-files');
  const comm = 'ebpfm_open';
  const prog = await workload('opens', comm);
  const N = 12;
  const M = 7;
  const REP = 3;
  await files(target, N);
  const config = await writeConfig(dir, 'monitors:\n  open:\n    enabled: true\n    interval: 1\n');
  const cli = startCli(['start', '-c', config, '-o', dir, '--duration', '4']);
  await cli.waitForLog('monitors attached');
  await run(prog, [target, String(N), String(M), String(REP)]);
  const r = await cli.done;
  assert.equal(r.exitCode, 0, r.stderr);
  const all = await readCsv(dir, 'open');
  const rows = all.filter((row) => row['comm'] === comm && (row['filename'] ?? '').startsWith(`${target}/`));
  const expected = new Map<string, { count: number; errors: number }>();
  for (let i = 0; i < N; i++) expected.set(`${target}/e${i}`, { count: REP, errors: 0 });
  for (let i = 0; i < M; i++) expected.set(`${target}/m${i}`, { count: REP, errors: REP });
  assert.deepEqual(perFile(rows), expected);
  assert.equal(new Set(rows.map((row) => row['pid'])).size, 1, 'one process');
  // The dynamic loader's opens are counted too, under the same pid and comm.
  assert.ok(all.some((row) => row['comm'] === comm && row['filename'] === '/etc/ld.so.cache'), 'ld.so.cache open seen');
  for (const row of rows) {
    assert.match(row['timestamp'] ?? '', /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    assert.equal(Number(row['error_rate']), Number(row['error_count']) / Number(row['count']));
  }
});

/** perf stat's counts of the open syscalls' exits of one command (and of those that failed): the ground truth. */
async function perfOpens(cmd: string, args: readonly string[]): Promise<{ opens: number; failed: number }> {
  const tps = ['open', 'openat', 'openat2'].map((s) => `syscalls:sys_exit_${s}`).filter((tp) => existsSync(`/sys/kernel/tracing/events/${tp.replace(':', '/')}`) || existsSync(`/sys/kernel/debug/tracing/events/${tp.replace(':', '/')}`));
  const events = [...tps.flatMap((tp) => ['-e', tp]), ...tps.flatMap((tp) => ['-e', tp, '--filter', 'ret < 0'])];
  const r = await execa('perf', ['stat', '-x,', ...events, '--', cmd, ...args], { all: true });
  const counts = (r.stderr.match(/^\d+,,syscalls:sys_exit_open\w*,/gm) ?? []).map((l) => Number(l.slice(0, l.indexOf(','))));
  assert.equal(counts.length, tps.length * 2, r.stderr);
  const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);
  return { opens: sum(counts.slice(0, tps.length)), failed: sum(counts.slice(tps.length)) };
}

test('one process opening 30,000 distinct missing paths: its opens and failures exact, the paths beyond the map in a folded row', async (t) => {
  if (!kernelAvailable(t)) return;
  const dir = await tempDir('open-many');
  const target = await tempDir('open-many-files');
  const comm = 'ebpfm_manyp';
  const prog = await workload('opens', comm);
  const PATHS = 30_000;
  // 4,096 keys per map under both runtimes (bpftrace-aotrt's fixed size, bpftrace's by map_keys_max): one pid's
  // 30,000 paths cannot fit, whatever shards there are.
  const config = await writeConfig(dir, 'runtime: {map_keys_max: 4096}\nmonitors:\n  open: {enabled: true, interval: 1}\n');
  const cli = startCli(['start', '-c', config, '-o', dir, '--duration', '5']);
  await cli.waitForLog('monitors attached');
  const truth = await perfOpens(prog, [target, '0', String(PATHS), '1']);
  const r = await cli.done;
  assert.equal(r.exitCode, 0, r.stderr);
  assert.equal(truth.failed, PATHS, 'the workload fails every open of a missing path (the loader fails none)');
  const all = await readCsv(dir, 'open');
  const rows = all.filter((row) => row['comm'] === comm);
  assert.equal(new Set(rows.map((row) => row['pid'])).size, 1, 'one process');
  const sum = (rs: readonly Record<string, string>[], col: string): number => rs.reduce((n, row) => n + Number(row[col]), 0);
  // Per process: path rows + folded rows = exactly what perf counted.
  assert.equal(sum(rows, 'count'), truth.opens, 'opens');
  assert.equal(sum(rows, 'error_count'), truth.failed, 'failed opens');
  const folded = rows.filter((row) => row['folded'] === '1');
  const paths = rows.filter((row) => row['folded'] === '0');
  assert.ok(folded.length >= 1, 'a folded row');
  for (const row of folded) assert.equal(row['filename'], '[other paths]');
  // The folded rows carry the exact remainder: what perf counted less the paths kept.
  assert.equal(sum(folded, 'count'), truth.opens - sum(paths, 'count'));
  assert.equal(sum(folded, 'error_count'), truth.failed - sum(paths, 'error_count'));
  // The map holds 4,096 keys per interval, shared with the host's other processes.
  const kept = new Map<string, number>();
  for (const row of paths) if (row['filename']?.startsWith(`${target}/m`)) kept.set(row['timestamp'] ?? '', (kept.get(row['timestamp'] ?? '') ?? 0) + 1);
  assert.ok([...kept.values()].every((n) => n <= 4096) && Math.max(...kept.values()) > 2000, `paths kept per interval: ${JSON.stringify([...kept])}`);
  // The totals are complete: no interval is marked incomplete for the path map.
  assert.deepEqual(all.filter((row) => row['note']?.startsWith('incomplete')), []);
  assert.doesNotMatch(r.stderr, /counts of this interval are incomplete/);
});

test('comm and path_prefix options keep only the matching opens', async (t) => {
  if (!kernelAvailable(t)) return;
  const dir = await tempDir('open-filter');
  const target = await tempDir('open-files');
  const comm = 'ebpfm_openf';
  const prog = await workload('opens', comm);
  const other = await workload('opens', 'ebpfm_openx');
  await files(target, 4);
  const config = await writeConfig(
    dir,
    `monitors:\n  open:\n    enabled: true\n    interval: 1\n    comm: ${comm}\n    path_prefix: ${target}/e\n`,
  );
  const cli = startCli(['start', '-c', config, '-o', dir, '--duration', '3']);
  await cli.waitForLog('monitors attached');
  await run(prog, [target, '4', '3', '2']);
  await run(other, [target, '4', '3', '2']);
  const r = await cli.done;
  assert.equal(r.exitCode, 0, r.stderr);
  // Data rows: a marker row (a timer tick the kernel skipped on a busy machine, say) has only a timestamp and a note.
  const rows = (await readCsv(dir, 'open')).filter((row) => !row['note']);
  // Only our comm (the other program is filtered out in the kernel), and only paths under the prefix.
  assert.deepEqual([...new Set(rows.map((row) => row['comm']))], [comm]);
  assert.ok(rows.every((row) => (row['filename'] ?? '').startsWith(`${target}/e`)), JSON.stringify(rows.map((row) => row['filename'])));
  assert.deepEqual(
    perFile(rows),
    new Map([0, 1, 2, 3].map((i) => [`${target}/e${i}`, { count: 2, errors: 0 }])),
  );
});

test('`generate --out` writes a script that bpftrace -d accepts, filters included', async (t) => {
  if (!kernelAvailable(t)) return;
  const dir = await tempDir('open-gen');
  const config = await writeConfig(dir, 'monitors:\n  open:\n    enabled: true\n    comm: "a,b c"\n    path_prefix: /var/lib/\n');
  const out = path.join(dir, 'scripts');
  const g = await runCli(['generate', '-c', config, '-m', 'open', '--out', out]);
  assert.equal(g.exitCode, 0, g.stderr);
  const scripts = (await readdir(out)).filter((f) => f.endsWith('.bt'));
  assert.equal(scripts.length, 1);
  const file = path.join(out, scripts[0]!);
  await assertCompiles(file);
});
