// The output directory deleted during a run (a cleanup job): the file is created again within a flush interval,
// header first, then a marker row saying so, and rows keep coming.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdir, readFile, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { parse } from 'csv-parse/sync';
import { kernelAvailable } from '../helpers/kernel.js';
import { sleep, startCli, tempDir, writeConfig } from '../helpers/cli.js';
import { run, workload } from '../helpers/workload.js';

test('rm -rf of the output directory mid-run: directory and file created again, header, marker row, rows after it', async (t) => {
  if (!kernelAvailable(t)) return;
  const base = await tempDir('deleted-dir');
  const dir = path.join(base, 'out');
  const prog = await workload('syscalls', 'ebpfm_deldir');
  const config = await writeConfig(base, 'output: {flush_interval: 1}\nmonitors:\n  syscall: {enabled: true, interval: 1}\n');
  const cli = startCli(['start', '-c', config, '-m', 'syscall', '--output-dir', dir, '--duration', '120']);
  try {
    await cli.waitForLog('monitors attached');
    await sleep(2500);
    const name = (await readdir(dir))[0] ?? '';
    assert.ok(name.startsWith('syscall_'), name);
    await rm(dir, { recursive: true });
    const recreated = await cli.waitForLog('an output file was deleted during the run; created it again', 10_000);
    assert.equal((await stat(dir)).mode & 0o777, 0o750);
    // Rows after the deletion: the workload's getppid calls, one interval after it ran.
    await run(prog, ['321', '0']);
    await sleep(2500);
    cli.proc.kill('SIGTERM');
    const r = await cli.done;
    const file = path.join(dir, name);
    assert.equal(recreated['file'], file);
    assert.deepEqual(await readdir(dir), [name], 'the same file name again');
    const text = await readFile(file, 'utf8');
    assert.ok(text.startsWith('timestamp,pid,comm,syscall_nr,'), 'header first');
    const rows = parse(text, { columns: true, relax_quotes: false, relax_column_count: false }) as Record<string, string>[];
    const m = /^output file was deleted during the run and created again; the rows written to it before are gone(?:, and (\d+) rows? (?:at|between) \S+(?: and \S+)?, written after it was last seen, are lost)?$/.exec(rows[0]?.['note'] ?? '');
    assert.ok(m, `the first row is the marker: ${JSON.stringify(rows[0])}`);
    // Data rows after it, and no second deletion marker (other markers, e.g. a timer tick the kernel skipped on a
    // busy machine, may come).
    assert.ok(rows.slice(1).some((row) => !row['note']), 'data rows after it');
    assert.ok(rows.slice(1).every((row) => !row['note']?.includes('deleted')), `one deletion marker: ${JSON.stringify(rows.slice(1).filter((row) => row['note']))}`);
    assert.ok(rows.some((row) => row['comm'] === 'ebpfm_deldir' && row['syscall'] === 'getppid' && row['count'] === '321'), 'rows keep coming');
    // Rows written between the last look and the deletion are counted lost; the exit code says whether there were any.
    const lost = Number(m[1] ?? 0);
    assert.equal(recreated['rowsLost'], lost);
    assert.equal(r.exitCode, lost ? 1 : 0, r.stderr.slice(-2000));
  } finally {
    if (cli.proc.exitCode === null) {
      cli.proc.kill('SIGTERM');
      await cli.done;
    }
    await rm(base, { recursive: true, force: true });
  }
});
