// A full disk during a run, on a real tmpfs: every row in the CSV is whole, the rows that could not be held are
// counted by a marker row, the summary counts what the file holds, and the run ends with exit code 1.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { execa } from 'execa';
import { parse } from 'csv-parse/sync';
import { kernelAvailable } from '../helpers/kernel.js';
import { sleep, startCli, tempDir, writeConfig } from '../helpers/cli.js';

// Calls `width` distinct invalid syscall numbers (ENOSYS; the raw_syscalls tracepoints still see them) every
// 100 ms until killed: `width` syscall rows per interval from one process, at almost no CPU.
const manyRows = `
#define _GNU_SOURCE
#include <stdlib.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>
int main(int argc, char **argv) {
  long width = argc > 1 ? atol(argv[1]) : 1000;
  struct timespec ts = {0, 100000000L};
  for (;;) {
    for (long n = 0; n < width; n++) syscall(1000 + n);
    nanosleep(&ts, NULL);
  }
}
`;

const isoTs = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

test('disk full during a run (tmpfs): whole rows only, a marker row counts the lost rows, the summary counts the file, exit 1', async (t) => {
  if (!kernelAvailable(t)) return;
  const base = await tempDir('disk-full');
  const dir = path.join(base, 'out');
  await mkdir(dir);
  // 4 MiB, not less: once space is back the file must take the 1 MiB of rows it held while the disk was full.
  await execa('mount', ['-t', 'tmpfs', '-o', 'size=4m,mode=0750', 'tmpfs', dir]);
  let workload: ReturnType<typeof execa> | undefined;
  let cli: ReturnType<typeof startCli> | undefined;
  try {
    await writeFile(path.join(base, 'many-rows.c'), manyRows);
    const prog = path.join(base, 'ebpfm_rows');
    await execa('cc', ['-O1', '-o', prog, path.join(base, 'many-rows.c')]);
    const config = await writeConfig(base, 'output: {flush_interval: 1}\nmonitors:\n  syscall: {enabled: true, interval: 1}\n');
    cli = startCli(['start', '-c', config, '-m', 'syscall', '--output-dir', dir, '--duration', '120']);
    await cli.waitForLog('monitors attached');
    await sleep(2500);
    // Fill what is left: dd stops at ENOSPC.
    await execa('dd', ['if=/dev/zero', `of=${path.join(dir, 'filler')}`, 'bs=4k'], { reject: false });
    // About 3000 rows a second until the file's held rows pass their budget and rows are dropped.
    workload = execa(prog, ['3000'], { reject: false, stdio: 'ignore' });
    const dropping = await cli.waitForLog('dropping rows: an output file cannot be written and its held rows reached the budget', 60_000);
    await sleep(1500);
    workload.kill('SIGKILL');
    await rm(path.join(dir, 'filler'));
    await sleep(3500);
    cli.proc.kill('SIGTERM');
    const r = await cli.done;

    const files = (await readdir(dir)).filter((f) => f.startsWith('syscall_') && f.endsWith('.csv'));
    assert.equal(files.length, 1, files.join(', '));
    const file = path.join(dir, files[0]!);
    assert.equal(dropping['file'], file);
    const text = await readFile(file, 'utf8');
    assert.ok(text.startsWith('timestamp,pid,comm,syscall_nr,syscall,category,count,error_count,error_rate,avg_latency_us,max_latency_us,cgroup,pod_uid,container_id,note\n'), 'the header is there');
    // Strict RFC 4180: a cut or fused row would fail here (wrong field count, stray quote).
    const rows = parse(text, { columns: true, relax_quotes: false, relax_column_count: false }) as Record<string, string>[];
    const data = rows.filter((row) => !row['note']);
    // Loss markers; a timer tick the kernel skipped (common on a busy machine at a 1 s interval) has its own.
    const markers = rows.filter((row) => row['note'] && !row['note'].startsWith('the kernel skipped'));
    for (const [i, row] of data.entries()) {
      assert.match(row['timestamp']!, isoTs, `data row ${i}`);
      assert.ok(!Number.isNaN(Date.parse(row['timestamp']!)), `data row ${i}`);
      assert.match(row['pid']!, /^\d+$/, `data row ${i}`);
    }
    // Rows of one interval share its stamp: their marker says "at" it, rows of several "between" the first and last.
    const loss = markers.map((m) => /^output file write failed \(ENOSPC\): (\d+) rows lost (?:between (\S+) and (\S+)|at (\S+))$/.exec(m['note']!));
    assert.ok(loss.length >= 1 && loss.every((m) => m !== null), JSON.stringify(markers));
    const lostInMarkers = loss.reduce((n, m) => n + Number(m![1]), 0);
    assert.ok(lostInMarkers > 0);
    for (const m of loss) {
      const [first, last] = m![4] ? [m![4], m![4]] : [m![2]!, m![3]!];
      assert.ok(first <= last && isoTs.test(first) && isoTs.test(last), m![0]);
    }
    // The run's summary counts what the file holds, and what it lost.
    const stopped = r.stderr.split('\n').map((l) => { try { return JSON.parse(l) as Record<string, unknown>; } catch { return {}; } }).find((l) => l['msg'] === 'stopped');
    assert.ok(stopped, r.stderr.slice(-2000));
    assert.deepEqual(stopped['written'], { [file]: data.length });
    assert.deepEqual(stopped['lost'], { [file]: lostInMarkers });
    assert.equal(r.exitCode, 1, r.stderr.slice(-2000));
    const last = r.stderr.trimEnd().split('\n').at(-1)!;
    assert.equal(last, `ebpfmon: ${lostInMarkers} rows could not be written to the output files (${file}: ${lostInMarkers} lost, ${data.length} written); marker rows in the files show where, the log says why`);
    // The error names the file, once for the failure rather than once per flush.
    const errors = r.stderr.split('\n').filter((l) => l.includes('"msg":"writing an output file failed"'));
    assert.equal(errors.length, 1, errors.join('\n'));
    assert.ok(errors[0]!.includes(`cannot write ${file}: ENOSPC`), errors[0]);
  } finally {
    workload?.kill('SIGKILL');
    if (cli && cli.proc.exitCode === null) {
      cli.proc.kill('SIGTERM');
      await cli.done;
    }
    if ((await execa('umount', [dir], { reject: false })).exitCode !== 0) await execa('umount', ['-l', dir], { reject: false });
    await rm(base, { recursive: true, force: true });
  }
});
