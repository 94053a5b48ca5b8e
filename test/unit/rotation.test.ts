// Rotation of the output files: by size during a run (every row kept, every file headed, an interval never split),
// at midnight UTC under a fake clock (rows of a day in that day's files, an idle file closed and gzipped), external
// rotation on SIGHUP (a logrotate rename, with or without an empty file created in its place) and copytruncate.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFile, mkdtemp, readFile, readdir, rename, rm, stat, truncate, writeFile } from 'node:fs/promises';
import { gunzipSync } from 'node:zlib';
import os from 'node:os';
import path from 'node:path';
import { parse } from 'csv-parse/sync';
import { createCsvSink } from '../../src/sinks/csv.js';
import { createNdjsonSink } from '../../src/sinks/ndjson.js';
import { bufferFull, closedIndex, compressQueued, fileStart, foldStats, retireStep, type FileSinkOptions, type OutputFileStats, type RetireStep } from '../../src/sinks/file-sink.js';
import { createOutputRegistry } from '../../src/sinks/retention.js';
import { compareOutputNames, createNext, idleRotationDue, outputFileName, parseOutputName, rotateBeforeWrite, rotationDue, type OutputName } from '../../src/sinks/rotation.js';
import { createExclusive } from '../../src/safe-fs.js';
import { parseCsvName } from '../../analysis/files.js';
import type { Row } from '../../src/monitors/types.js';
import { manualTimer } from '../helpers/timers.js';

const made: string[] = [];
after(() => Promise.all(made.map((d) => rm(d, { recursive: true, force: true }))));
const tmp = async (): Promise<string> => {
  const d = await mkdtemp(path.join(os.tmpdir(), 'ebpfmon-rotation-'));
  made.push(d);
  return d;
};
const header = 'timestamp,pid,comm,note\n';
const columns = new Map([['exec', ['timestamp', 'pid', 'comm']]]);

/** A fake clock: tests move it; rows are stamped with it, as the router stamps them with the real one. */
function fakeClock(iso: string) {
  let ms = Date.parse(iso);
  return {
    now: (): Date => new Date(ms),
    set: (to: string): void => {
      ms = Date.parse(to);
    },
    iso: (): string => new Date(ms).toISOString(),
  };
}

function opts(dir: string, clock: { now(): Date }, more: Partial<FileSinkOptions> = {}) {
  const logs: string[] = [];
  const errors: unknown[] = [];
  const o: Omit<FileSinkOptions, 'format'> = {
    dir,
    columns,
    startedAt: clock.now(),
    bufferRows: 1_000_000,
    flushIntervalMs: 3_600_000,
    onError: (e) => errors.push(e),
    log: { info: (f, m) => logs.push(`${m} ${JSON.stringify(f)}`), warn: (f, m) => logs.push(`WARN ${m} ${JSON.stringify(f)}`) },
    now: () => clock.now(),
    registry: createOutputRegistry(),
    ...more,
  };
  return { o, logs, errors };
}

const strictCsv = (text: string): Record<string, string>[] =>
  parse(text, { columns: true, relax_quotes: false, relax_column_count: false, skip_empty_lines: false }) as Record<string, string>[];

const own = (names: string[], monitors = ['exec', 'func', 'open']): OutputName[] =>
  names.map((n) => parseOutputName(n, monitors)).filter((p): p is OutputName => p !== null).sort(compareOutputNames);

/** The monitor's files in order (start time, then -N), each read whole (gunzipped when .gz). */
async function filesOf(dir: string, monitor: string, ext = 'csv'): Promise<{ name: string; text: string }[]> {
  const names = own(await readdir(dir), [monitor]).filter((p) => p.extension === ext);
  return Promise.all(
    names.map(async (p) => {
      const name = p.gz ? `${p.base}.gz` : p.base;
      const buf = await readFile(path.join(dir, name));
      return { name, text: (p.gz ? gunzipSync(buf) : buf).toString('utf8') };
    }),
  );
}

test('rotation by size: every row kept, in order, every file headed, an interval never split, stats per file add up', async () => {
  const dir = await tmp();
  const clock = fakeClock('2026-11-29T18:00:00.000Z');
  const maxBytes = 400;
  const { o, errors } = opts(dir, clock, { rotate: { daily: false, maxBytes, compress: false } });
  const sink = await createCsvSink(o);
  const nd = await createNdjsonSink({ ...o, registry: o.registry });
  const written: Row[][] = [];
  for (let i = 0; i < 60; i++) {
    clock.set(new Date(Date.parse('2026-11-29T18:00:00.000Z') + i * 700).toISOString());
    // An interval: 1 to 4 rows sharing its timestamp, in one write.
    const batch: Row[] = Array.from({ length: 1 + (i % 4) }, (_, k) => ({ timestamp: clock.iso(), pid: 1000 + i, comm: `c${i}_${k}` }));
    written.push(batch);
    sink.write('exec', batch);
    nd.write('exec', batch);
    if (i % 7 === 0) await Promise.all([sink.flush(), nd.flush()]);
  }
  await sink.close();
  await nd.close();
  assert.deepEqual(errors, []);

  const files = await filesOf(dir, 'exec');
  assert.ok(files.length >= 8, `${files.length} files`);
  const all: Record<string, string>[] = [];
  for (const f of files) {
    assert.ok(f.text.startsWith(header), `${f.name} starts with its header`);
    const rows = strictCsv(f.text);
    assert.ok(rows.length > 0, `${f.name} holds rows`);
    // A file ends at the first interval boundary at or after the limit: at most one interval beyond it.
    const lastBatch = Buffer.byteLength(f.text.split('\n').filter((l) => l.startsWith(rows.at(-1)!['timestamp']!)).join('\n')) + 1;
    assert.ok(Buffer.byteLength(f.text) < maxBytes + lastBatch, `${f.name}: ${Buffer.byteLength(f.text)} bytes`);
    all.push(...rows);
  }
  const flat = written.flat();
  assert.deepEqual(
    all.map((r) => [r['timestamp'], r['pid'], r['comm'], r['note']]),
    flat.map((r) => [r['timestamp'], String(r['pid']), r['comm'], '']),
    'every row once, in order',
  );
  // Rows of one interval (one timestamp) are in one file.
  const fileOf = new Map<string, string>();
  for (const f of files) for (const r of strictCsv(f.text)) {
    const ts = r['timestamp']!;
    assert.ok(!fileOf.has(ts) || fileOf.get(ts) === f.name, `interval ${ts} split between ${fileOf.get(ts)} and ${f.name}`);
    fileOf.set(ts, f.name);
  }
  // The first file has the run's start in its name; each next one the time of its first row.
  assert.equal(files[0]!.name, 'exec_20261129T180000Z.csv');
  for (const f of files.slice(1)) {
    const first = strictCsv(f.text)[0]!['timestamp']!;
    assert.ok(f.name.startsWith(`exec_${first.slice(0, 19).replace(/[-:]/g, '')}Z`), `${f.name} named by ${first}`);
  }
  // One stats entry per file, each with that file's rows.
  const st = sink.stats();
  assert.deepEqual(
    st.map((s) => [path.basename(s.file), s.rowsWritten, s.rowsDropped]),
    files.map((f) => [f.name, strictCsv(f.text).length, 0]),
  );
  // NDJSON rotates the same way: no header, one object per row, none missing.
  const ndFiles = await filesOf(dir, 'exec', 'ndjson');
  assert.ok(ndFiles.length >= 8);
  const objs = ndFiles.flatMap((f) => f.text.trimEnd().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>));
  assert.deepEqual(objs.map((r) => r['comm']), flat.map((r) => r['comm']));
});

test('a file that cannot be written is not rotated until it writes again: no row lost to rotation', async () => {
  const dir = await tmp();
  const clock = fakeClock('2026-11-29T18:00:00.000Z');
  let full = false;
  const { createExclusive } = await import('../../src/safe-fs.js');
  const { o } = opts(dir, clock, {
    rotate: { daily: false, maxBytes: 200, compress: false },
    open: async (f) => {
      const h = await createExclusive(f);
      return {
        write: (b, off, len, pos) => (full ? Promise.reject(Object.assign(new Error('ENOSPC'), { code: 'ENOSPC' })) : h.write(b, off, len, pos)),
        truncate: (n) => h.truncate(n),
        stat: () => h.stat(),
        sync: () => h.sync(),
        close: () => h.close(),
        utimes: (a, m) => h.utimes(a, m),
      };
    },
  });
  const sink = await createCsvSink(o);
  const rows = (i: number): Row[] => [{ timestamp: new Date(Date.parse('2026-11-29T18:00:00.000Z') + i * 1000).toISOString(), pid: i, comm: 'x' }];
  for (let i = 0; i < 3; i++) sink.write('exec', rows(i));
  await sink.flush();
  full = true;
  for (let i = 3; i < 12; i++) {
    sink.write('exec', rows(i));
    await sink.flush();
  }
  full = false;
  await sink.flush();
  for (let i = 12; i < 20; i++) sink.write('exec', rows(i));
  await sink.close();
  const files = await filesOf(dir, 'exec');
  const got = files.flatMap((f) => strictCsv(f.text).map((r) => Number(r['pid'])));
  assert.deepEqual(got, Array.from({ length: 20 }, (_, i) => i));
  assert.equal(sink.stats().reduce((n, s) => n + s.rowsDropped, 0), 0);
  assert.equal(sink.stats().reduce((n, s) => n + s.rowsWritten, 0), 20);
});

test('daily: rows of each UTC day in files named by that day; an idle file of yesterday is closed and gzipped after midnight', async () => {
  const dir = await tmp();
  const clock = fakeClock('2026-11-29T23:59:50.000Z');
  const two = new Map([
    ['exec', ['timestamp', 'pid', 'comm']],
    ['open', ['timestamp', 'pid', 'comm']],
  ]);
  const timer = manualTimer();
  const { o, logs } = opts(dir, clock, { columns: two, timers: timer.timers, rotate: { daily: true, maxBytes: 0, compress: true } });
  const sink = await createCsvSink(o);
  const at = (iso: string, pid: number): Row[] => {
    clock.set(iso);
    return [{ timestamp: iso, pid, comm: 'x' }, { timestamp: iso, pid: pid + 1, comm: 'y' }];
  };
  sink.write('exec', at('2026-11-29T23:59:52.000Z', 1));
  sink.write('open', at('2026-11-29T23:59:53.000Z', 10));
  sink.write('exec', at('2026-11-29T23:59:59.998Z', 3));
  // The boundary: the next interval is stamped after midnight (a fake clock; nothing waits for real time).
  sink.write('exec', at('2026-11-30T00:00:01.000Z', 5));
  sink.write('exec', at('2026-11-30T00:00:03.000Z', 7));
  // open stays quiet: its file of the 29th is closed only once the grace after midnight has passed.
  await timer.tick(sink);
  await timer.tick(sink);
  assert.ok((await readdir(dir)).includes('open_20261129T235950Z.csv'), 'still open within the grace');
  clock.set('2026-11-30T00:01:05.000Z');
  // The next pass of the flush timer closes it; settled() waits for its compression too.
  await timer.tick(sink);
  await sink.close();

  assert.deepEqual((await readdir(dir)).sort(), ['exec_20261129T235950Z.csv.gz', 'exec_20261130T000001Z.csv', 'open_20261129T235950Z.csv.gz']);
  const day = async (name: string): Promise<Record<string, string>[]> => {
    const buf = await readFile(path.join(dir, name));
    const text = (name.endsWith('.gz') ? gunzipSync(buf) : buf).toString('utf8');
    assert.ok(text.startsWith(header), `${name} headed`);
    return strictCsv(text);
  };
  assert.deepEqual((await day('exec_20261129T235950Z.csv.gz')).map((r) => r['pid']), ['1', '2', '3', '4']);
  assert.deepEqual((await day('exec_20261130T000001Z.csv')).map((r) => r['pid']), ['5', '6', '7', '8']);
  assert.deepEqual((await day('open_20261129T235950Z.csv.gz')).map((r) => r['pid']), ['10', '11']);
  // A closed file's modification time is its last row's (gzip keeps it): where its data ends, for analyze and retention.
  assert.equal((await stat(path.join(dir, 'exec_20261129T235950Z.csv.gz'))).mtime.toISOString(), '2026-11-29T23:59:59.998Z');
  assert.equal((await stat(path.join(dir, 'open_20261129T235950Z.csv.gz'))).mtime.toISOString(), '2026-11-29T23:59:53.000Z');
  assert.ok(logs.some((l) => l.startsWith('output file rotated') && l.includes('"reason":"daily"')));
  assert.ok(logs.some((l) => l.startsWith('compressed a rotated output file')));
  assert.deepEqual(
    sink.stats().map((s) => [path.basename(s.file), s.rowsWritten]),
    [
      ['exec_20261129T235950Z.csv', 4],
      ['exec_20261130T000001Z.csv', 4],
      ['open_20261129T235950Z.csv', 2],
    ],
  );
});

test('SIGHUP after a logrotate rename (create): the renamed file keeps its rows, the next ones start a new file; the empty file logrotate made is left alone', async () => {
  const dir = await tmp();
  const clock = fakeClock('2026-11-29T10:00:00.000Z');
  const { o, logs } = opts(dir, clock);
  const sink = await createCsvSink(o);
  const file = sink.files.get('exec')!;
  const rows = (from: number, n: number): Row[] => Array.from({ length: n }, (_, k) => ({ timestamp: clock.iso(), pid: from + k, comm: 'x' }));
  sink.write('exec', rows(0, 3));
  await sink.flush();
  sink.write('exec', rows(3, 2)); // still held when logrotate renames: goes to the renamed file
  await rename(file, `${file}.1`);
  await writeFile(file, '', { mode: 0o640 }); // `create`
  await sink.reopen();
  clock.set('2026-11-29T10:00:05.000Z');
  sink.write('exec', rows(5, 4));
  await sink.close();
  assert.deepEqual(strictCsv(await readFile(`${file}.1`, 'utf8')).map((r) => r['pid']), ['0', '1', '2', '3', '4']);
  assert.equal((await stat(file)).size, 0, "logrotate's new empty file is not written into");
  const next = path.join(dir, 'exec_20261129T100005Z.csv');
  const text = await readFile(next, 'utf8');
  assert.ok(text.startsWith(header));
  assert.deepEqual(strictCsv(text).map((r) => r['pid']), ['5', '6', '7', '8']);
  assert.ok(logs.some((l) => l.startsWith('output file rotated') && l.includes('"reason":"renamed"')));
  assert.deepEqual(sink.stats().map((s) => [s.rowsWritten, s.rowsDropped]), [[5, 0], [4, 0]]);
  // A reopen with nothing renamed changes nothing.
  const dir2 = await tmp();
  const s2 = await createCsvSink(opts(dir2, clock).o);
  s2.write('exec', rows(0, 1));
  await s2.reopen();
  s2.write('exec', rows(1, 1));
  await s2.close();
  assert.deepEqual(await readdir(dir2), [path.basename(s2.files.get('exec')!)]);
});

test('with compress on, a file renamed away (logrotate create) is not compressed by its old path: the empty file logrotate made stays', async () => {
  const dir = await tmp();
  const clock = fakeClock('2026-11-29T10:00:00.000Z');
  const { o, logs } = opts(dir, clock, { rotate: { daily: true, maxBytes: 256 * 2 ** 20, compress: true }, retention: { maxAgeMs: 14 * 86_400_000, maxTotalBytes: 2048 * 2 ** 20 } });
  const sink = await createCsvSink(o);
  const file = sink.files.get('exec')!;
  const rows = (from: number, n: number): Row[] => Array.from({ length: n }, (_, k) => ({ timestamp: clock.iso(), pid: from + k, comm: 'x' }));
  sink.write('exec', rows(0, 3));
  await sink.flush();
  await rename(file, `${file}.1`);
  await writeFile(file, '', { mode: 0o640 }); // `create`
  await sink.reopen();
  clock.set('2026-11-29T10:00:05.000Z');
  sink.write('exec', rows(3, 2));
  await sink.flush();
  // Renamed again, with no signal before the stop: closing must not queue the old path either.
  const next = path.join(dir, 'exec_20261129T100005Z.csv');
  await rename(next, `${next}.1`);
  await writeFile(next, '', { mode: 0o640 });
  await sink.close();
  assert.equal((await stat(file)).size, 0, "logrotate's new empty file is left alone");
  assert.equal((await stat(next)).size, 0);
  assert.deepEqual(strictCsv(await readFile(`${file}.1`, 'utf8')).map((r) => r['pid']), ['0', '1', '2']);
  assert.deepEqual(strictCsv(await readFile(`${next}.1`, 'utf8')).map((r) => r['pid']), ['3', '4']);
  assert.ok(!(await readdir(dir)).some((n) => n.endsWith('.gz')), (await readdir(dir)).join(' '));
  assert.ok(!logs.some((l) => l.startsWith('compressed a rotated output file')));
  assert.deepEqual([...o.registry!.uncompressed], [], 'nothing queued for the next rotation');
});

test('copytruncate: the file cut to zero under us is written again from the start, header first, no hole of zero bytes', async () => {
  const dir = await tmp();
  const clock = fakeClock('2026-11-29T10:00:00.000Z');
  const { o, logs } = opts(dir, clock);
  const sink = await createCsvSink(o);
  const file = sink.files.get('exec')!;
  const rows = (from: number, n: number): Row[] => Array.from({ length: n }, (_, k) => ({ timestamp: clock.iso(), pid: from + k, comm: 'x' }));
  sink.write('exec', rows(0, 4));
  await sink.flush();
  await copyFile(file, `${file}.1`);
  await truncate(file, 0);
  sink.write('exec', rows(4, 3));
  await sink.flush();
  await sink.reopen(); // logrotate may signal too: nothing was renamed, nothing changes
  sink.write('exec', rows(7, 1));
  await sink.close();
  const copy = await readFile(`${file}.1`, 'utf8');
  const now = await readFile(file, 'utf8');
  assert.ok(!now.includes('\0'), 'no zero bytes');
  assert.ok(now.startsWith(header), 'header first');
  assert.deepEqual(strictCsv(copy).map((r) => r['pid']), ['0', '1', '2', '3']);
  assert.deepEqual(strictCsv(now).map((r) => r['pid']), ['4', '5', '6', '7']);
  assert.ok(logs.some((l) => l.startsWith('an output file was truncated by another program')));
  assert.deepEqual(await readdir(dir), [path.basename(file), `${path.basename(file)}.1`].sort());
  assert.equal(sink.stats()[0]!.rowsWritten, 8);
});

test('rotationDue: a later day (not an earlier one) or a full file', () => {
  const p = { daily: true, maxBytes: 100 };
  assert.equal(rotationDue(p, { bytes: 0, day: '2026-11-29' }, '2026-11-30'), 'daily');
  assert.equal(rotationDue(p, { bytes: 0, day: '2026-11-29' }, '2026-11-28'), null, 'a late row of the day before stays');
  assert.equal(rotationDue(p, { bytes: 100, day: '2026-11-29' }, '2026-11-29'), 'size');
  assert.equal(rotationDue(p, { bytes: 99, day: '2026-11-29' }, null), null);
  assert.equal(rotationDue({ daily: false, maxBytes: 0 }, { bytes: 1e12, day: '2026-11-01' }, '2026-12-01'), null);
});

test('rotateBeforeWrite: as rotationDue, never while the file fails', () => {
  const p = { daily: true, maxBytes: 100 };
  const table: [string, { bytes: number; day: string; failing: boolean }, string | null, ReturnType<typeof rotateBeforeWrite>][] = [
    ['full', { bytes: 100, day: '2026-11-29', failing: false }, '2026-11-29', 'size'],
    ['full but failing: rotation waits for it to write again', { bytes: 100, day: '2026-11-29', failing: true }, '2026-11-29', null],
    ['a new day', { bytes: 0, day: '2026-11-29', failing: false }, '2026-11-30', 'daily'],
    ['a new day but failing', { bytes: 0, day: '2026-11-29', failing: true }, '2026-11-30', null],
    ['neither', { bytes: 99, day: '2026-11-29', failing: false }, '2026-11-29', null],
  ];
  for (const [what, file, day, expected] of table) assert.equal(rotateBeforeWrite(p, file, day), expected, what);
});

test('idleRotationDue: an idle file of an earlier day, a grace period after midnight UTC, not while failing', () => {
  const grace = 60_000;
  const at = (iso: string): number => Date.parse(iso);
  const table: [string, boolean, { day: string; failing: boolean }, string, 'daily' | null][] = [
    ['yesterday, past the grace', true, { day: '2026-11-29', failing: false }, '2026-11-30T00:01:00.000Z', 'daily'],
    ['yesterday, within the grace: late rows still reach it', true, { day: '2026-11-29', failing: false }, '2026-11-30T00:00:59.999Z', null],
    ['today', true, { day: '2026-11-30', failing: false }, '2026-11-30T12:00:00.000Z', null],
    ['yesterday but failing', true, { day: '2026-11-29', failing: true }, '2026-11-30T12:00:00.000Z', null],
    ['no daily rotation', false, { day: '2026-11-01', failing: false }, '2026-11-30T12:00:00.000Z', null],
    ['a clock gone back a day', true, { day: '2026-11-30', failing: false }, '2026-11-29T12:00:00.000Z', null],
  ];
  for (const [what, daily, file, now, expected] of table) assert.equal(idleRotationDue({ daily, maxBytes: 0 }, file, at(now), grace), expected, what);
});

test('retireStep, bufferFull, compressQueued, fileStart: the file sink’s decisions', () => {
  const f = { sinkClosed: false, retiring: true, settled: true, failing: false };
  const steps: [string, Partial<typeof f>, RetireStep][] = [
    ['everything written: close it', {}, 'close'],
    ['rows unwritten: flush, then again', { settled: false }, 'flush'],
    ['failing: the timer retries it', { settled: false, failing: true }, 'wait'],
    ['the sink closes: close() takes it', { sinkClosed: true, settled: false }, 'leave'],
    ['already on its way out', { retiring: false }, 'leave'],
  ];
  for (const [what, s, expected] of steps) assert.equal(retireStep({ ...f, ...s }), expected, what);

  assert.equal(bufferFull({ pendingRows: 10, failing: false }, 10), true, 'full');
  assert.equal(bufferFull({ pendingRows: 9, failing: false }, 10), false, 'not yet');
  assert.equal(bufferFull({ pendingRows: 99, failing: true }, 10), false, 'failing: waits for the flush interval');

  const c = { compress: true, renamedAway: false, rowsWritten: 5, atSinkClose: false };
  const compress: [string, Partial<typeof c>, boolean][] = [
    ['rotated', {}, true],
    ['rotated, no rows', { rowsWritten: 0 }, true],
    ['closed with the sink', { atSinkClose: true }, true],
    ['closed with the sink, no rows', { atSinkClose: true, rowsWritten: 0 }, false],
    ['renamed away by logrotate: not ours', { renamedAway: true }, false],
    ['no compression', { compress: false }, false],
  ];
  for (const [what, s, expected] of compress) assert.equal(compressQueued({ ...c, ...s }), expected, what);

  const now = new Date('2026-11-29T19:00:00.000Z');
  assert.deepEqual(fileStart('2026-11-30T00:00:01.500Z', now), new Date('2026-11-30T00:00:01.500Z'), 'the first row');
  assert.equal(fileStart('', now), now, 'no stamp');
  assert.equal(fileStart('1764440000', now), now, 'not one of ours');
  assert.equal(fileStart('2026-13-45T99:00:00Z', now), now, 'not a time');
});

test('closedIndex: closed files listed in the order they started', () => {
  const e = (name: string): OutputFileStats => ({ monitor: 'exec', file: `/o/${name}`, rowsWritten: 1, rowsDropped: 0, recreated: 0 });
  const done = [e('exec_20261129T100000Z.csv'), e('exec_20261129T120000Z.csv'), e('exec_20261129T120000Z_001.csv')];
  const table: [string, string, number][] = [
    ['the latest: at the end', '/o/exec_20261129T130000Z.csv', -1],
    ['between two', '/o/exec_20261129T110000Z.csv', 1],
    ['the same second, a later suffix', '/o/exec_20261129T120000Z_002.csv', -1],
    ['the same second, before a suffix', '/o/exec_20261129T120000Z.csv', 2],
    ['the first', '/o/exec_20261129T090000Z.csv', 0],
    ['not a name of ours: at the end', '/o/other.csv', -1],
  ];
  for (const [what, file, expected] of table) assert.equal(closedIndex(done, file, 'exec', 'csv'), expected, what);
});

test('output names: own ones parse (monitor by name, -N, .gz), order by time then -N; look-alikes do not', () => {
  const monitors = ['exec', 'page_fault', 'open'];
  assert.deepEqual(parseOutputName('page_fault_20261129T100000Z-12.ndjson.gz', monitors), {
    monitor: 'page_fault',
    stamp: '20261129T100000Z',
    n: 12,
    extension: 'ndjson',
    gz: true,
    base: 'page_fault_20261129T100000Z-12.ndjson',
  });
  for (const bad of [
    'exec_20261129T100000Z.csv.1',
    'exec_20261129T100000Z.csv.gz.tmp',
    'exec_20261129T100000Z.txt',
    'exec_20261129T100000Z-0.csv',
    'exec_20261129T100000Z_2026-11-29.csv',
    'syscall_20261129T100000Z.csv',
    'Exec_20261129T100000Z.csv',
    '.exec_20261129T100000Z.csv',
    'exec_20261129T1000Z.csv',
    'exec-20261129T100000Z.csv',
  ]) {
    assert.equal(parseOutputName(bad, monitors), null, bad);
  }
  assert.deepEqual(
    own(['exec_20261129T100000Z.csv', 'exec_20261129T100000Z-10.csv', 'exec_20261129T100000Z-2.csv.gz', 'exec_20261129T095959Z.csv']).map((p) => p.base),
    ['exec_20261129T095959Z.csv', 'exec_20261129T100000Z.csv', 'exec_20261129T100000Z-2.csv', 'exec_20261129T100000Z-10.csv'],
  );
});

test('output names sort by bytes in the order the files started: _001 after none, _010 after _009; old -N names still parse', async () => {
  const at = new Date('2026-12-07T08:15:04.000Z');
  const names = [0, 1, 2, 9, 10, 11, 999].map((n) => outputFileName('open', at, 'csv', n));
  assert.deepEqual(names.slice(0, 3), ['open_20261207T081504Z.csv', 'open_20261207T081504Z_001.csv', 'open_20261207T081504Z_002.csv']);
  const next = outputFileName('open', new Date('2026-12-07T08:15:05.000Z'), 'csv');
  const all = [...names, `${names[1]!}.gz`, `${names[0]!}.gz`, next];
  // Plain byte order (Array#sort on these ASCII names, as `LC_ALL=C ls`) is creation order, a .gz beside its file.
  assert.deepEqual([...all].sort(), [names[0], `${names[0]!}.gz`, names[1], `${names[1]!}.gz`, ...names.slice(2), next]);
  assert.deepEqual(own([...all].reverse()).map((p) => p.n), [0, 0, 1, 1, 2, 9, 10, 11, 999, 0]);
  assert.deepEqual(parseOutputName('open_20261207T081504Z_012.csv.gz', ['open']), {
    monitor: 'open', stamp: '20261207T081504Z', n: 12, extension: 'csv', gz: true, base: 'open_20261207T081504Z_012.csv',
  });
  assert.equal(parseOutputName('open_20261207T081504Z-1.csv', ['open'])?.n, 1, 'the names earlier versions wrote');
  for (const bad of ['open_20261207T081504Z_000.csv', 'open_20261207T081504Z_1.csv', 'open_20261207T081504Z_0001.csv']) {
    assert.equal(parseOutputName(bad, ['open']), null, bad);
  }
  // The analyzer reads them, and the day parts preprocess_data.sh splits them into.
  assert.deepEqual(parseCsvName('open_20261207T081504Z_001_2026-12-07.csv', ['open']), { monitor: 'open', stamp: '20261207T081504Z', n: 1, day: '2026-12-07', gz: false, stem: 'open_20261207T081504Z_001' });
  assert.equal(parseCsvName('open_20261207T081504Z_010.csv.gz', ['open'])?.n, 10);
  // A fast rotation by size: the second file of the same second takes _001.
  const dir = await mkdtemp(path.join(os.tmpdir(), 'ebpfmon-names-'));
  for (const expected of ['open_20261207T081504Z.csv', 'open_20261207T081504Z_001.csv', 'open_20261207T081504Z_002.csv']) {
    const f = await createNext(dir, 'open', at, 'csv', (file) => createExclusive(file));
    await f.handle.close();
    assert.equal(path.basename(f.file), expected);
  }
});

test('stats of a long run stay bounded: older files without losses are summed into one entry', () => {
  const e = (i: number, dropped = 0): OutputFileStats => ({ monitor: 'exec', file: `/o/exec_${i}.csv`, rowsWritten: 10, rowsDropped: dropped, recreated: 0 });
  const done = Array.from({ length: 30 }, (_, i) => e(i, i === 3 ? 2 : 0));
  foldStats(done, 5);
  assert.equal(done.length, 5);
  assert.equal(done.reduce((n, s) => n + s.rowsWritten, 0), 300, 'no row uncounted');
  assert.deepEqual(done.find((s) => s.rowsDropped), e(3, 2), 'a file that lost rows keeps its own entry');
  assert.equal(done[0]!.files, 26);
  assert.equal(done[0]!.file, '/o/exec_0.csv');
});

test('a long run in fast motion: hundreds of rotations with compression and retention stay bounded and count every row', async () => {
  const dir = await tmp();
  const clock = fakeClock('2026-11-01T00:00:00.000Z');
  const registry = createOutputRegistry();
  const warnings: string[] = [];
  const onWarning = (w: Error): void => void warnings.push(w.message);
  process.on('warning', onWarning);
  const { o, errors, logs } = opts(dir, clock, {
    registry,
    rotate: { daily: true, maxBytes: 2000, compress: true },
    retention: { maxAgeMs: 3 * 86_400_000, maxTotalBytes: 20_000 },
  });
  const sink = await createCsvSink(o);
  let rows = 0;
  let maxBusy = 0;
  // 30 days, an interval every 15 minutes of 10 rows: 2880 intervals, ~450 bytes each.
  for (let i = 0; i < 2880; i++) {
    clock.set(new Date(Date.parse('2026-11-01T00:00:00.000Z') + i * 900_000).toISOString());
    sink.write('exec', Array.from({ length: 10 }, (_, k) => ({ timestamp: clock.iso(), pid: i * 10 + k, comm: 'w' })));
    rows += 10;
    if (i % 4 === 0) await sink.flush();
    if (i % 50 === 0) await new Promise((r) => setTimeout(r, 5)); // paces the writer so gzip runs beside it (waits for nothing)
    maxBusy = Math.max(maxBusy, registry.busy.size);
  }
  // Rotated files do not stay open: a few are (the one being written, those closing, one being gzipped).
  assert.ok(maxBusy <= 8, `${maxBusy} files open at once`);
  // gzip lags behind rotations this fast: let it catch up (only the file being written stays plain), then look.
  await sink.settled();
  assert.equal((await readdir(dir)).filter((n) => n.endsWith('.csv')).length, 1, 'only the file being written is plain');
  assert.equal(registry.busy.size, 1, 'only the file being written is open');
  const sizes = await Promise.all((await readdir(dir)).map(async (n) => (await stat(path.join(dir, n))).size));
  const total = sizes.reduce((a, b) => a + b, 0);
  // Under the limit at the last pass; since then only the file being written grew.
  assert.ok(total <= 20_000 + 2500, `retention keeps the directory under max_total: ${total} bytes in ${sizes.length} files`);
  await sink.close();
  process.off('warning', onWarning);
  assert.deepEqual(errors, []);
  assert.deepEqual(warnings, []);
  const st = sink.stats();
  assert.ok(st.length <= 21, `${st.length} stats entries`);
  assert.equal(st.reduce((n, s) => n + s.rowsWritten, 0), rows, 'every row counted once');
  assert.equal(st.reduce((n, s) => n + s.rowsDropped, 0), 0);
  assert.equal(registry.busy.size, 0);
  assert.ok(logs.some((l) => l.startsWith('retention: removed old output files')));
  // What is left is the newest rows, in files that each parse and start with the header.
  const left = await filesOf(dir, 'exec');
  const pids = left.flatMap((f) => {
    assert.ok(f.text.startsWith(header), f.name);
    return strictCsv(f.text).map((r) => Number(r['pid']));
  });
  assert.equal(pids.at(-1), rows - 1, 'the newest row is kept');
  assert.deepEqual(pids, Array.from({ length: pids.length }, (_, k) => rows - pids.length + k), 'a contiguous tail: oldest files went first');
});

test('a rotated file is closed as soon as its last write is done, even when a flush was queued behind it', async () => {
  const dir = await tmp();
  const clock = fakeClock('2026-11-29T18:00:00.000Z');
  const registry = createOutputRegistry();
  // Writes held at a gate the test opens: each write announces itself, then waits to be let through.
  const held: (() => void)[] = [];
  let gated = true;
  let announce: (() => void) | null = null;
  const writeStarted = (): Promise<void> => new Promise((r) => (held.length ? r() : (announce = r)));
  const { o } = opts(dir, clock, {
    registry,
    rotate: { daily: false, maxBytes: 100, compress: false },
    open: async (f) => {
      const h = await createExclusive(f);
      return {
        write: async (b, off, len, pos) => {
          if (gated) {
            await new Promise<void>((r) => {
              held.push(r);
              announce?.();
              announce = null;
            });
          }
          return h.write(b, off, len, pos);
        },
        truncate: (n) => h.truncate(n),
        stat: () => h.stat(),
        sync: () => h.sync(),
        close: () => h.close(),
        utimes: (a, m) => h.utimes(a, m),
      };
    },
  });
  const release = (): void => held.shift()!();
  const sink = await createCsvSink(o);
  const first = sink.files.get('exec')!;
  const rows = (i: number): Row[] => [{ timestamp: new Date(Date.parse('2026-11-29T18:00:00.000Z') + i * 1000).toISOString(), pid: i, comm: 'x'.repeat(60) }];
  sink.write('exec', rows(0));
  void sink.flush();
  await writeStarted(); // that write is under way
  sink.write('exec', rows(1));
  sink.write('exec', rows(2)); // over 100 bytes: rotates; the file's last write is queued behind the first
  release();
  await writeStarted(); // the rotated file's last write is under way
  void sink.flush(); // while it runs: one more write is queued on the rotated file
  // From here nothing is held back (the new file's first write included); the flush timer never fires (an hour).
  gated = false;
  while (held.length) release();
  await sink.settled();
  assert.ok(!registry.busy.has(first), 'the rotated file was closed without waiting for the flush interval');
  await sink.close();
  assert.deepEqual(sink.stats().map((s) => s.rowsWritten), [2, 1]);
});
