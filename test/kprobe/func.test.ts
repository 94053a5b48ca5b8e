// The func monitor on a kernel with kprobes (scripts/ci/kprobe-kernels.sh runs this in QEMU guests with Debian's
// kernels): kprobes on vfs_read and vfs_write count exactly the calls of a workload whose calls are known.
//
// Why the counts are exact. `dd if=/dev/zero of=/dev/null bs=1 count=N status=none` makes N read(2) and N write(2)
// calls of one byte, and read(2), pread64(2) and write(2) each call vfs_read or vfs_write exactly once in the kernel
// (ksys_read, ksys_pread64, ksys_write). Before main, ld.so loads dd's one library, libc: one read(2) of its ELF
// header and two pread64(2) of its program headers (strace of bookworm's dd with glibc 2.36 and trixie's with 2.41).
// With an empty environment setlocale(LC_ALL, "") reads no locale file, and status=none prints no statistics (three
// write(2) calls otherwise). The program's file is read by exec with kernel_read, not vfs_read, and its pages are
// faulted in, not read. The comm becomes the copy's unique name at exec, before ld.so runs, and nothing else has that
// comm. So that process calls vfs_read N + 3 times and vfs_write N times, on every kernel and glibc in the matrix.
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { copyFile, chmod } from 'node:fs/promises';
import path from 'node:path';
import { execa } from 'execa';
import { kprobesAvailable } from '../helpers/kprobes.js';
import { readCsv, runCli, startCli, tempDir, writeConfig } from '../helpers/cli.js';

/** vfs_read calls ld.so makes loading libc (read of the ELF header, two pread64 of the program headers). */
const loaderReads = 3;

const funcConfig = (functions: string): string =>
  `monitors:\n  func:\n    enabled: true\n    interval: 1\n    functions: ${functions}\n    per_process: true\n`;

/** A copy of /bin/dd named `as`, so its comm tells its rows apart from everything else. */
async function uniqueDd(dir: string, as: string): Promise<string> {
  const file = path.join(dir, as);
  await copyFile('/bin/dd', file);
  await chmod(file, 0o755);
  return file;
}

/** N one-byte copies, in an empty environment (no locale files read) and without the closing statistics. */
async function copies(dd: string, n: number): Promise<void> {
  await execa(dd, ['if=/dev/zero', 'of=/dev/null', 'bs=1', `count=${n}`, 'status=none'], { env: {}, extendEnv: false, stdio: 'ignore' });
}

/** Runs `workload` between the start of a func session and its SIGTERM; returns the func rows. */
async function funcRows(t: TestContext, dir: string, functions: string, workload: () => Promise<void>): Promise<Record<string, string>[]> {
  const config = await writeConfig(dir, funcConfig(functions));
  const cli = startCli(['start', '-c', config, '-m', 'func', '-o', dir]);
  t.after(() => void (cli.proc.exitCode === null && cli.proc.kill('SIGKILL')));
  // bpftrace compiles in a guest without KVM: give it time.
  const attached = await cli.waitForLog('monitors attached', 300_000);
  assert.deepEqual(attached['monitors'], ['func']);
  await workload();
  // SIGTERM mid-interval: the final partial interval is still written.
  cli.proc.kill('SIGTERM');
  const r = await cli.done;
  assert.equal(r.exitCode, 0, r.stderr);
  return readCsv(dir, 'func');
}

/** Sum of `function`'s counts over the rows of `comm`. */
const total = (rows: Record<string, string>[], comm: string, fn: string): number =>
  rows.filter((row) => row['comm'] === comm && row['function'] === fn).reduce((n, row) => n + Number(row['count']), 0);

test('check --json: kprobes ok and func ready with its kprobe variant', async (t) => {
  if (!kprobesAvailable(t)) return;
  const dir = await tempDir('kprobe-func-check');
  const config = await writeConfig(dir, funcConfig('[vfs_read, vfs_write]'));
  const r = await runCli(['check', '--json', '-c', config]);
  assert.equal(r.exitCode, 0, r.stderr);
  const report = JSON.parse(r.stdout) as { kprobes: { ok: boolean; detail: string }; monitors: { monitor: string; status: string; variant: string | null; detail: string }[] };
  assert.equal(report.kprobes.ok, true, report.kprobes.detail);
  const v = report.monitors.find((m) => m.monitor === 'func');
  assert.equal(v?.status, 'ready', v?.detail);
  assert.equal(v?.variant, 'kprobe');
  assert.match(v?.detail ?? '', /kprobes on vfs_read, vfs_write/);
});

test('func per process counts exactly the vfs_read and vfs_write calls of two dd processes', async (t) => {
  if (!kprobesAvailable(t)) return;
  const dir = await tempDir('kprobe-func');
  const runs = [
    { name: `kf_a${process.pid}`, n: 20_000 },
    { name: `kf_b${process.pid}`, n: 7_000 },
  ];
  for (const r of runs) assert.ok(r.name.length <= 15, `${r.name} fits in a comm`);
  const dds = await Promise.all(runs.map((r) => uniqueDd(dir, r.name)));
  const rows = await funcRows(t, dir, '[vfs_read, vfs_write]', async () => {
    for (const [i, r] of runs.entries()) await copies(dds[i]!, r.n);
  });
  for (const r of runs) {
    const mine = rows.filter((row) => row['comm'] === r.name);
    assert.equal(new Set(mine.map((row) => row['pid'])).size, 1, `${r.name}: one process, ${JSON.stringify(mine)}`);
    assert.deepEqual([...new Set(mine.map((row) => row['function']))].sort(), ['vfs_read', 'vfs_write']);
    assert.equal(total(rows, r.name, 'vfs_read'), r.n + loaderReads, `${r.name}: ${r.n} copies + ${loaderReads} loader reads`);
    assert.equal(total(rows, r.name, 'vfs_write'), r.n, `${r.name}: ${r.n} copies`);
  }
  for (const row of rows) assert.match(row['timestamp'] ?? '', /^\d{4}-\d\d-\d\dT/);
});

test('func with a wildcard names the function that fired: vfs_rea* gives vfs_read rows, exactly counted', async (t) => {
  if (!kprobesAvailable(t)) return;
  const dir = await tempDir('kprobe-func-glob');
  const name = `kf_g${process.pid}`;
  const n = 5_000;
  const dd = await uniqueDd(dir, name);
  // vfs_rea* matches vfs_read, vfs_readv, vfs_readlink...: dd calls only vfs_read.
  const rows = await funcRows(t, dir, '["vfs_rea*"]', () => copies(dd, n));
  const mine = rows.filter((row) => row['comm'] === name);
  assert.deepEqual([...new Set(mine.map((row) => row['function']))], ['vfs_read'], JSON.stringify(mine));
  assert.equal(total(rows, name, 'vfs_read'), n + loaderReads);
});
