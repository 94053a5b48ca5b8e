// The file sink when writes fail: short writes, a full disk (held rows, dropped rows, loss markers, whole rows
// only), one failing file beside healthy ones, and an output directory deleted during the run.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, readdir, rm, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parse } from 'csv-parse/sync';
import { createCsvSink } from '../../src/sinks/csv.js';
import { createNdjsonSink } from '../../src/sinks/ndjson.js';
import { createExclusive } from '../../src/safe-fs.js';
import { OutputFileError, type OutputHandle } from '../../src/sinks/output-file.js';
import type { FileSinkOptions } from '../../src/sinks/file-sink.js';
import type { Row } from '../../src/monitors/types.js';
import { manualTimer } from '../helpers/timers.js';

const tmp = (): Promise<string> => mkdtemp(path.join(os.tmpdir(), 'ebpfmon-file-sink-'));
const startedAt = new Date('2026-11-29T18:26:40.000Z');
const columns = new Map([['exec', ['timestamp', 'pid', 'comm']]]);
const ts = (i: number): string => new Date(startedAt.getTime() + i * 1000).toISOString();
const rowsFrom = (from: number, n: number): Row[] => Array.from({ length: n }, (_, k) => ({ timestamp: ts(from + k), pid: 1000 + from + k, comm: `openst${from + k}` }));

/**
 * A pretend disk of `capacity` bytes over real files: a write that does not fit is cut short (as the kernel does),
 * the next one fails with ENOSPC. `maxWrite` cuts every write short, full disk or not.
 */
function smallDisk(capacity: number, maxWrite = Infinity) {
  const sizes = new Map<string, number>();
  const used = (): number => [...sizes.values()].reduce((a, b) => a + b, 0);
  const disk = {
    capacity,
    writes: 0,
    open: async (file: string): Promise<OutputHandle> => {
      const h = await createExclusive(file);
      sizes.set(file, 0);
      return {
        async write(buf, offset, length, position) {
          disk.writes++;
          const size = sizes.get(file)!;
          const room = disk.capacity - used() + size - position;
          if (room <= 0) throw Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC', errno: -28 });
          const n = Math.min(length, room, maxWrite);
          const r = await h.write(buf, offset, n, position);
          sizes.set(file, Math.max(size, position + r.bytesWritten));
          return r;
        },
        async truncate(len) {
          await h.truncate(len);
          sizes.set(file, len);
        },
        stat: () => h.stat(),
        sync: () => h.sync(),
        close: () => h.close(),
      };
    },
  };
  return disk;
}

function sinkOpts(dir: string, more: Partial<FileSinkOptions> = {}): Omit<FileSinkOptions, 'format'> & { errors: unknown[]; infos: string[] } {
  const errors: unknown[] = [];
  const infos: string[] = [];
  return {
    dir,
    columns,
    startedAt,
    bufferRows: 1_000_000,
    flushIntervalMs: 3_600_000,
    onError: (e) => errors.push(e),
    log: { info: (f, m) => infos.push(`${m} ${JSON.stringify(f)}`), warn: (f, m) => infos.push(`${m} ${JSON.stringify(f)}`) },
    now: () => new Date('2026-11-29T19:00:00.000Z'),
    errors,
    infos,
    ...more,
  };
}

/** Every record of a CSV text, strictly (RFC 4180: no loose quotes, every record as wide as the header). */
const strictCsv = (text: string): Record<string, string>[] =>
  parse(text, { columns: true, relax_quotes: false, relax_column_count: false, skip_empty_lines: false }) as Record<string, string>[];

test('a short write is continued: rows cut by the kernel are written whole, byte for byte', async () => {
  const dir = await tmp();
  const disk = smallDisk(Infinity, 7);
  const o = sinkOpts(dir, { open: disk.open });
  const sink = await createCsvSink(o);
  sink.write('exec', rowsFrom(0, 20));
  await sink.flush();
  sink.write('exec', rowsFrom(20, 5));
  await sink.close();
  const text = await readFile(sink.files.get('exec')!, 'utf8');
  assert.equal(text, 'timestamp,pid,comm,note\n' + rowsFrom(0, 25).map((r) => `${String(r['timestamp'])},${String(r['pid'])},${String(r['comm'])},\n`).join(''));
  assert.ok(disk.writes > 100, 'the writes really were cut short');
  assert.deepEqual(o.errors, []);
  assert.deepEqual(sink.stats(), [{ monitor: 'exec', file: sink.files.get('exec'), rowsWritten: 25, rowsDropped: 0, recreated: 0 }]);
});

test('disk full at start: the header waits with the rows, the error names the file once, nothing is lost when space comes back', async () => {
  const dir = await tmp();
  const disk = smallDisk(0);
  const o = sinkOpts(dir, { open: disk.open });
  const sink = await createCsvSink(o);
  const file = sink.files.get('exec')!;
  sink.write('exec', rowsFrom(0, 3));
  await sink.flush();
  sink.write('exec', rowsFrom(3, 3));
  await sink.flush();
  await sink.flush();
  assert.equal((await stat(file)).size, 0);
  assert.equal(o.errors.length, 1, 'one error for the state change, not one per flush');
  const e = o.errors[0];
  assert.ok(e instanceof OutputFileError);
  assert.equal(e.code, 'ENOSPC');
  assert.match(e.message, new RegExp(`cannot write ${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: ENOSPC`));
  disk.capacity = Infinity;
  await sink.close();
  const rows = strictCsv(await readFile(file, 'utf8'));
  assert.deepEqual(rows.map((r) => r['timestamp']), rowsFrom(0, 6).map((r) => r['timestamp']));
  assert.ok(rows.every((r) => r['note'] === ''), 'no loss marker: every row was held');
  assert.equal(sink.stats()[0]!.rowsWritten, 6);
  assert.deepEqual(o.infos, [`an output file that failed is written again ${JSON.stringify({ monitor: 'exec', file, code: 'ENOSPC', rowsLost: 0 })}`]);
});

test('a write cut by a full disk is truncated back to the last whole row: no row is ever fused with the next', async () => {
  const dir = await tmp();
  const header = 'timestamp,pid,comm,note\n';
  const line = (i: number): string => `${ts(i)},${1000 + i},openst${i},\n`;
  // Room for the header, two whole rows and half of the third.
  const disk = smallDisk(header.length + line(0).length + line(1).length + 20);
  const o = sinkOpts(dir, { open: disk.open });
  const sink = await createCsvSink(o);
  const file = sink.files.get('exec')!;
  sink.write('exec', rowsFrom(0, 1));
  await sink.flush();
  sink.write('exec', rowsFrom(1, 1));
  await sink.flush();
  // Only 20 bytes of this one fit.
  sink.write('exec', rowsFrom(2, 1));
  await sink.flush();
  const cut = await readFile(file, 'utf8');
  assert.equal(cut, header + line(0) + line(1), 'the part of the row that fit was cut off again');
  strictCsv(cut);
  sink.write('exec', rowsFrom(3, 2));
  await sink.flush();
  disk.capacity = Infinity;
  sink.write('exec', rowsFrom(5, 1));
  await sink.close();
  const text = await readFile(file, 'utf8');
  assert.equal(text, header + [0, 1, 2, 3, 4, 5].map(line).join(''));
  assert.deepEqual(sink.stats()[0], { monitor: 'exec', file, rowsWritten: 6, rowsDropped: 0, recreated: 0 });
});

test('rows beyond the memory budget are dropped, counted, and reported by one marker row when writing resumes', async () => {
  const dir = await tmp();
  const header = 'timestamp,pid,comm,note\n';
  const disk = smallDisk(header.length);
  // Room in memory for about three rows.
  const o = sinkOpts(dir, { open: disk.open, heldMax: 150 });
  const sink = await createCsvSink(o);
  const file = sink.files.get('exec')!;
  sink.write('exec', rowsFrom(0, 2));
  await sink.flush();
  for (let i = 2; i < 40; i++) {
    sink.write('exec', rowsFrom(i, 1));
    if (i % 5 === 0) await sink.flush();
  }
  assert.ok(sink.backlog!() === 0, 'a failing file does not hold back the reader');
  disk.capacity = Infinity;
  await sink.flush();
  sink.write('exec', rowsFrom(40, 2));
  await sink.close();
  const rows = strictCsv(await readFile(file, 'utf8'));
  const data = rows.filter((r) => !r['note']);
  const markers = rows.filter((r) => r['note']);
  const { rowsWritten, rowsDropped } = sink.stats()[0]!;
  assert.equal(data.length, rowsWritten);
  assert.equal(rowsWritten + rowsDropped, 42);
  assert.ok(rowsDropped > 30, `dropped ${rowsDropped}`);
  assert.equal(markers.length, 1);
  const firstLost = data.length - 2;
  assert.equal(
    markers[0]!['note'],
    `output file write failed (ENOSPC): ${rowsDropped} rows lost between ${ts(firstLost)} and ${ts(39)}`,
  );
  assert.equal(markers[0]!['timestamp'], ts(39), 'the marker sorts where the gap is');
  // Rows before the gap, the marker, then the rows after: in time order, none missing but the ones counted.
  assert.deepEqual(rows.map((r) => r['timestamp']), [...rowsFrom(0, firstLost).map((r) => r['timestamp']), ts(39), ts(40), ts(41)]);
  assert.equal(o.errors.length, 1);
  assert.equal(o.infos.filter((m) => m.startsWith('dropping rows:')).length, 1, 'one warning when dropping begins');
});

test('a failing file holds up neither the other files of its sink nor the other sinks', async () => {
  const dir = await tmp();
  const full = smallDisk(0);
  const healthy = smallDisk(Infinity);
  const two = new Map([
    ['exec', ['timestamp', 'pid', 'comm']],
    ['open', ['timestamp', 'pid', 'comm']],
  ]);
  // exec's file is on the full disk, open's on the healthy one.
  const o = sinkOpts(dir, { columns: two, open: (f) => (path.basename(f).startsWith('exec_') ? full.open(f) : healthy.open(f)) });
  const sink = await createCsvSink(o);
  const nd = await createNdjsonSink(sinkOpts(dir, { columns: two }));
  for (let i = 0; i < 5; i++) {
    sink.write('exec', rowsFrom(i, 1));
    sink.write('open', rowsFrom(i, 1));
    nd.write('exec', rowsFrom(i, 1));
    await Promise.all([sink.flush(), nd.flush()]);
  }
  assert.equal(strictCsv(await readFile(sink.files.get('open')!, 'utf8')).length, 5);
  assert.equal((await readFile(nd.files.get('exec')!, 'utf8')).trimEnd().split('\n').length, 5);
  assert.equal((await stat(sink.files.get('exec')!)).size, 0);
  await nd.close();
  await sink.close();
  const st = new Map(sink.stats().map((s) => [s.monitor, s]));
  assert.equal(st.get('open')!.rowsWritten, 5);
  assert.equal(st.get('exec')!.rowsWritten, 0);
  assert.equal(st.get('exec')!.rowsDropped, 5, 'rows still held at exit are counted lost');
  assert.ok(o.errors.some((e) => e instanceof OutputFileError && /5 rows could not be written before exit/.test(e.message)));
});

test('an output directory deleted during the run is created again: header, a marker row counting the rows gone, then rows', async () => {
  const base = await tmp();
  const dir = path.join(base, 'out');
  // The flush timer's look (is the file still linked?) runs when the test fires it.
  const timer = manualTimer();
  const o = sinkOpts(dir, { timers: timer.timers });
  await rm(dir, { recursive: true, force: true });
  await (await import('../../src/safe-fs.js')).ensureDir(dir);
  const sink = await createCsvSink(o);
  const file = sink.files.get('exec')!;
  sink.write('exec', rowsFrom(0, 3));
  await sink.flush();
  // Seen linked by the look before the next write: these three are safely written. The next two go to a file about to vanish.
  sink.write('exec', rowsFrom(3, 2));
  await sink.flush();
  await rm(dir, { recursive: true });
  await timer.tick(sink);
  assert.deepEqual(await readdir(dir), [path.basename(file)], 'the timer created the directory and the file again');
  assert.equal((await stat(dir)).mode & 0o777, 0o750);
  sink.write('exec', rowsFrom(5, 2));
  await sink.close();
  const text = await readFile(file, 'utf8');
  assert.ok(text.startsWith('timestamp,pid,comm,note\n'), 'header first');
  const rows = strictCsv(text);
  assert.equal(
    rows[0]!['note'],
    `output file was deleted during the run and created again; the rows written to it before are gone, and 2 rows between ${ts(3)} and ${ts(4)}, written after it was last seen, are lost`,
  );
  assert.equal(rows[0]!['timestamp'], '2026-11-29T19:00:00.000Z');
  assert.deepEqual(rows.slice(1).map((r) => r['timestamp']), [ts(5), ts(6)]);
  assert.deepEqual(sink.stats()[0], { monitor: 'exec', file, rowsWritten: 5, rowsDropped: 2, recreated: 1 });
  assert.deepEqual(o.infos, [`an output file was deleted during the run; created it again ${JSON.stringify({ monitor: 'exec', file, was: file, rowsLost: 2 })}`]);
  assert.deepEqual(o.errors, []);
});

test('a symlink planted where the deleted directory was is refused, not followed', async () => {
  const base = await tmp();
  const dir = path.join(base, 'out');
  const elsewhere = path.join(base, 'elsewhere');
  const { ensureDir } = await import('../../src/safe-fs.js');
  await ensureDir(dir);
  await ensureDir(elsewhere);
  const o = sinkOpts(dir);
  const sink = await createCsvSink(o);
  sink.write('exec', rowsFrom(0, 1));
  await sink.flush();
  await rm(dir, { recursive: true });
  await (await import('node:fs/promises')).symlink(elsewhere, dir);
  sink.write('exec', rowsFrom(1, 1));
  await sink.close();
  assert.deepEqual(await readdir(elsewhere), []);
  assert.equal(o.errors.length, 2, 'cannot recreate (once), then the row left at exit');
  assert.match(String(o.errors[0]), /is a symbolic link/);
  assert.equal(sink.stats()[0]!.rowsDropped, 2);
});

test('the last line of a run that lost rows: how many, per file, where to look; none when nothing was lost', async () => {
  const { lostRowsLine } = await import('../../src/sinks/file-sink.js');
  const ok = { monitor: 'exec', file: '/o/exec.csv', rowsWritten: 10, rowsDropped: 0, recreated: 0 };
  assert.equal(lostRowsLine([ok]), null);
  assert.equal(
    lostRowsLine([ok, { monitor: 'syscall', file: '/o/syscall.csv', rowsWritten: 9118, rowsDropped: 6047, recreated: 0 }, { ...ok, file: '/o/exec.ndjson', rowsDropped: 1 }]),
    '6048 rows could not be written to the output files (/o/syscall.csv: 6047 lost, 9118 written; /o/exec.ndjson: 1 lost, 10 written); marker rows in the files show where, the log says why',
  );
});

test('a cut write whose truncate fails too is truncated before the next write: the file still holds whole rows only', async () => {
  const dir = await tmp();
  const header = 'timestamp,pid,comm,note\n';
  const line = (i: number): string => `${ts(i)},${1000 + i},openst${i},\n`;
  const disk = smallDisk(header.length + line(0).length + 10);
  let truncateFails = 1;
  const o = sinkOpts(dir, {
    open: async (f) => {
      const h = await disk.open(f);
      return {
        ...h,
        truncate: (len: number) => (truncateFails-- > 0 ? Promise.reject(Object.assign(new Error('EIO'), { code: 'EIO' })) : h.truncate(len)),
      };
    },
  });
  const sink = await createCsvSink(o);
  const file = sink.files.get('exec')!;
  sink.write('exec', rowsFrom(0, 1));
  sink.write('exec', rowsFrom(1, 1));
  await sink.flush();
  assert.equal(await readFile(file, 'utf8'), header + line(0) + line(1).slice(0, 10), 'the cut row is still there');
  disk.capacity = Infinity;
  sink.write('exec', rowsFrom(2, 1));
  await sink.close();
  assert.equal(await readFile(file, 'utf8'), header + line(0) + line(1) + line(2));
});

test('a file deleted before its header could be written gets one header, not two', async () => {
  const base = await tmp();
  const dir = path.join(base, 'out');
  const { ensureDir } = await import('../../src/safe-fs.js');
  await ensureDir(dir);
  const disk = smallDisk(0);
  const o = sinkOpts(dir, { open: disk.open });
  const sink = await createCsvSink(o);
  const file = sink.files.get('exec')!;
  sink.write('exec', rowsFrom(0, 1));
  await sink.flush();
  await rm(dir, { recursive: true });
  disk.capacity = Infinity;
  await sink.close();
  const text = await readFile(file, 'utf8');
  assert.equal(text.split('timestamp,pid,comm,note\n').length, 2, text);
  const rows = strictCsv(text);
  assert.match(rows[0]!['note']!, /^output file was deleted during the run and created again; the rows written to it before are gone$/);
  assert.deepEqual(rows.slice(1).map((r) => r['timestamp']), [ts(0)]);
  assert.deepEqual(sink.stats()[0], { monitor: 'exec', file, rowsWritten: 1, rowsDropped: 0, recreated: 1 });
});
