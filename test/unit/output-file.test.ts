// The decisions of an output file's writer, table-driven: when it looks at the file, what a look finds, what a
// failed write changes, which rows it holds or drops, what a cut write keeps, and the marker rows' notes. Then the
// idle cut (issue #26) through a real file: an idle file is not looked at, and a file deleted while idle is still
// found before its next rows are written.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { createExclusive } from '../../src/safe-fs.js';
import { createCsvSink } from '../../src/sinks/csv.js';
import {
  afterLook,
  chunkChars,
  closedMtime,
  cutBack,
  deletedNote,
  failureAfter,
  lostNote,
  movedAway,
  needsLook,
  rowsFate,
  type LookVerdict,
  type OutputHandle,
} from '../../src/sinks/output-file.js';
import type { Row } from '../../src/monitors/types.js';
import { manualTimer } from '../helpers/timers.js';

test('needsLook: something to write, rows unchecked, a file known deleted, or closing; an idle file is not looked at', () => {
  const idle = { toWrite: false, uncheckedRows: 0, orphaned: false, closing: false };
  const table: [string, Partial<typeof idle>, boolean][] = [
    ['idle: nothing to write, nothing written since the last look', {}, false],
    ['rows to write: looked at before they are written', { toWrite: true }, true],
    ['rows written since the last look: the next flush looks even with nothing to write', { uncheckedRows: 3 }, true],
    ['found deleted and not created again yet: every flush tries again', { orphaned: true }, true],
    ['the last flush of close looks, as it always did', { closing: true }, true],
  ];
  for (const [what, f, expected] of table) assert.equal(needsLook({ ...idle, ...f }), expected, what);
});

test('afterLook: linked, deleted, truncated to 0 (header again) or elsewhere (a newline), unknown', () => {
  const table: [string, { nlink: number; size: number } | null, number, LookVerdict][] = [
    ['as written', { nlink: 1, size: 100 }, 100, { kind: 'linked' }],
    ['longer than written (another writer appended): still ours', { nlink: 1, size: 150 }, 100, { kind: 'linked' }],
    ['hard-linked elsewhere too', { nlink: 2, size: 100 }, 100, { kind: 'linked' }],
    ['no links: deleted, or its directory was', { nlink: 0, size: 100 }, 100, { kind: 'deleted' }],
    ['deleted and truncated: deleted wins', { nlink: 0, size: 0 }, 100, { kind: 'deleted' }],
    ['copytruncate: cut to 0', { nlink: 1, size: 0 }, 100, { kind: 'truncated', found: 0, restart: 'header' }],
    ['cut in the middle', { nlink: 1, size: 40 }, 100, { kind: 'truncated', found: 40, restart: 'newline' }],
    ['fstat failed', null, 100, { kind: 'unknown' }],
  ];
  for (const [what, st, size, expected] of table) assert.deepEqual(afterLook(st, size), expected, what);
});

test('failureAfter: ENOSPC, EIO, EDQUOT: reported once per code, the lost count and dropping kept across codes', () => {
  const table: [string, Parameters<typeof failureAfter>[0], string, ReturnType<typeof failureAfter>][] = [
    ['first failure: disk full', null, 'ENOSPC', { next: { code: 'ENOSPC', lost: 0, dropping: false }, report: true }],
    ['the same again: not reported twice', { code: 'ENOSPC', lost: 5, dropping: true }, 'ENOSPC', { next: { code: 'ENOSPC', lost: 5, dropping: true }, report: false }],
    ['another code: reported, counts kept', { code: 'ENOSPC', lost: 5, dropping: true }, 'EIO', { next: { code: 'EIO', lost: 5, dropping: true }, report: true }],
    ['a quota', null, 'EDQUOT', { next: { code: 'EDQUOT', lost: 0, dropping: false }, report: true }],
    ['the deleted directory could not be created again', null, 'ENOENT', { next: { code: 'ENOENT', lost: 0, dropping: false }, report: true }],
  ];
  for (const [what, prev, code, expected] of table) assert.deepEqual(failureAfter(prev, code), expected, what);
});

test('rowsFate: held while writing; while failing, dropped in an open gap or past the budget, text measured only when needed', () => {
  const base = { failing: true, gapOpen: false, held: 900, heldMax: 1000 };
  const table: [string, Partial<typeof base>, number, 'hold' | 'drop', boolean][] = [
    ['writing normally: held whatever the size, not measured', { failing: false, held: 5000 }, 10_000, 'hold', false],
    ['failing, fits the budget', {}, 100, 'hold', true],
    ['failing, one byte over', {}, 101, 'drop', true],
    ['failing, a gap open: dropped without formatting', { gapOpen: true, held: 0 }, 1, 'drop', false],
  ];
  for (const [what, s, length, expected, measured] of table) {
    let asked = false;
    const fate = rowsFate({ ...base, ...s }, () => {
      asked = true;
      return length;
    });
    assert.equal(fate, expected, what);
    assert.equal(asked, measured, `${what}: measured`);
  }
});

test('cutBack: the whole chunks of a cut write, their bytes, whether a partial one is cut off', () => {
  const table: [string, number[], number, ReturnType<typeof cutBack>][] = [
    ['all written', [10, 20, 5], 35, { whole: 3, end: 35, cut: false }],
    ['nothing written', [10, 20], 0, { whole: 0, end: 0, cut: false }],
    ['stopped inside the first', [10, 20], 4, { whole: 0, end: 0, cut: true }],
    ['stopped at a boundary', [10, 20, 5], 30, { whole: 2, end: 30, cut: false }],
    ['stopped inside the second', [10, 20, 5], 29, { whole: 1, end: 10, cut: true }],
    ['an empty chunk at the end is whole', [10, 0], 10, { whole: 2, end: 10, cut: false }],
  ];
  for (const [what, lengths, done, expected] of table) assert.deepEqual(cutBack(lengths, done), expected, what);
});

test("lostNote and deletedNote: the 'at' form for one stamp, 'between' for two, none unknown", () => {
  const a = '2026-11-29T18:26:40.000Z';
  const b = '2026-11-29T18:26:42.000Z';
  const lost: [string, Parameters<typeof lostNote>[0], string][] = [
    ['one interval', { code: 'ENOSPC', rows: 7, notes: 0, firstTs: a, lastTs: a }, `output file write failed (ENOSPC): 7 rows lost at ${a}`],
    ['a span, markers too', { code: 'EIO', rows: 1, notes: 2, firstTs: a, lastTs: b }, `output file write failed (EIO): 1 row and 2 marker rows lost between ${a} and ${b}`],
    ['one marker row', { code: 'ENOSPC', rows: 0, notes: 1, firstTs: a, lastTs: b }, `output file write failed (ENOSPC): 0 rows and 1 marker row lost between ${a} and ${b}`],
    ['no stamps', { code: 'error', rows: 2, notes: 0, firstTs: '', lastTs: '' }, 'output file write failed (error): 2 rows lost'],
    ['one stamp missing', { code: 'ENOSPC', rows: 2, notes: 0, firstTs: a, lastTs: '' }, 'output file write failed (ENOSPC): 2 rows lost'],
  ];
  for (const [what, c, expected] of lost) assert.equal(lostNote(c), expected, what);
  const head = 'output file was deleted during the run and created again';
  const gone = '; the rows written to it before are gone';
  const deleted: [string, Parameters<typeof deletedNote>[0], string][] = [
    ['nothing unchecked (an idle file)', { renamedTo: null, rows: 0, firstTs: '', lastTs: '' }, `${head}${gone}`],
    ['one row since the last look', { renamedTo: null, rows: 1, firstTs: a, lastTs: a }, `${head}${gone}, and 1 row at ${a}, written after it was last seen, are lost`],
    ['rows of two intervals', { renamedTo: null, rows: 4, firstTs: a, lastTs: b }, `${head}${gone}, and 4 rows between ${a} and ${b}, written after it was last seen, are lost`],
    ['created under another name', { renamedTo: 'exec_20261129T182640Z_001.csv', rows: 0, firstTs: '', lastTs: '' }, `${head} as exec_20261129T182640Z_001.csv${gone}`],
  ];
  for (const [what, g, expected] of deleted) assert.equal(deletedNote(g), expected, what);
});

test('closedMtime and movedAway', () => {
  assert.deepEqual(closedMtime('2026-11-29T18:26:40.000Z', false), new Date('2026-11-29T18:26:40.000Z'), 'the last row');
  assert.equal(closedMtime('', false), null, 'no row');
  assert.equal(closedMtime('2026-11-29T18:26:40.000Z', true), null, 'deleted');
  assert.equal(closedMtime('not a time', false), null, 'not a time');
  const open = { nlink: 1, ino: 7, dev: 1 };
  const table: [string, typeof open | null, { ino: number; dev: number } | null, boolean][] = [
    ['the same file', open, { ino: 7, dev: 1 }, false],
    ['another file at the path (logrotate create)', open, { ino: 8, dev: 1 }, true],
    ['another device', open, { ino: 7, dev: 2 }, true],
    ['nothing at the path', open, null, true],
    ['deleted: not moved, the next flush creates it again', { ...open, nlink: 0 }, null, false],
    ['cannot fstat', null, null, false],
  ];
  for (const [what, o, at, expected] of table) assert.equal(movedAway(o, at), expected, what);
});

const startedAt = new Date('2026-11-29T18:26:40.000Z');
const ts = (i: number): string => new Date(startedAt.getTime() + i * 1000).toISOString();
const rowsFrom = (from: number, n: number): Row[] => Array.from({ length: n }, (_, k) => ({ timestamp: ts(from + k), pid: 1000 + from + k, comm: `c${from + k}` }));

/** A sink over real files whose handles count their looks (stat: no fd, so the writer asks the handle). */
async function countingSink(dir: string) {
  const looks = { n: 0 };
  /** The length of every write. */
  const writes: number[] = [];
  const open = async (file: string): Promise<OutputHandle> => {
    const h = await createExclusive(file);
    return {
      write: (b, o, l, p) => {
        writes.push(l);
        return h.write(b, o, l, p);
      },
      truncate: (len) => h.truncate(len),
      stat: () => {
        looks.n++;
        return h.stat();
      },
      sync: () => h.sync(),
      close: () => h.close(),
    };
  };
  const timer = manualTimer();
  const warns: string[] = [];
  const sink = await createCsvSink({
    dir,
    columns: new Map([['exec', ['timestamp', 'pid', 'comm']]]),
    startedAt,
    bufferRows: 1_000_000,
    flushIntervalMs: 1000,
    onError: (e) => assert.fail(String(e)),
    log: { info: () => undefined, warn: (_f, m) => warns.push(m) },
    now: () => new Date('2026-11-29T19:00:00.000Z'),
    open,
    timers: timer.timers,
  });
  return { sink, looks, timer, warns, writes };
}

test('an interval of many rows is written in chunks of about chunkChars, every row once and in order', async () => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'ebpfmon-output-file-'));
  const { sink, timer, writes } = await countingSink(dir);
  // 30k rows of ~150 characters: 4.5 MB of CSV in one add, as open's interval under a flood of distinct paths.
  const pad = 'x'.repeat(120);
  const rows = Array.from({ length: 30_000 }, (_, k) => ({ timestamp: ts(0), pid: k, comm: `${pad}${k}` }));
  sink.write('exec', rows);
  await timer.tick(sink);
  await sink.close();
  const text = await readFile(sink.files.get('exec')!, 'utf8');
  const lines = text.split('\n');
  assert.equal(lines[0], 'timestamp,pid,comm,note');
  assert.equal(lines.length, 30_002, 'header, every row, the last newline');
  assert.ok(lines.slice(1, -1).every((l, k) => l === `${ts(0)},${k},${pad}${k},`), 'every row once, in order');
  const big = writes.filter((n) => n > 100);
  assert.ok(big.length >= 4, `${big.length} writes`);
  // A chunk is sealed once it reaches chunkChars: at most one slice (1024 rows here: 150 KB) more.
  for (const n of big) assert.ok(n <= chunkChars + 1024 * 160, `a write of ${n} bytes`);
  await rm(dir, { recursive: true, force: true });
});

test('idle cut: the timer looks at a file only after rows were written to it since the last look', async () => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'ebpfmon-output-file-'));
  const { sink, looks, timer } = await countingSink(dir);
  await timer.tick(sink);
  assert.equal(looks.n, 1, 'the header is written: looked at before');
  await timer.tick(sink);
  assert.equal(looks.n, 1, 'nothing written since: not looked at');
  sink.write('exec', rowsFrom(0, 2));
  await timer.tick(sink);
  assert.equal(looks.n, 2, 'rows to write: looked at before writing them');
  await timer.tick(sink);
  assert.equal(looks.n, 3, 'rows written since the last look: looked at once more (a deletion after them is noticed)');
  for (let i = 0; i < 5; i++) await timer.tick(sink);
  assert.equal(looks.n, 3, 'idle: no more looks');
  await sink.close();
  assert.equal(looks.n, 4, 'close looks once');
  await rm(dir, { recursive: true, force: true });
});

test('idle cut: a file deleted while idle loses nothing and is created again, marker first, before its next rows', async () => {
  const base = await mkdtemp(path.join(os.tmpdir(), 'ebpfmon-output-file-'));
  const dir = path.join(base, 'out');
  await (await import('../../src/safe-fs.js')).ensureDir(dir);
  const { sink, looks, timer, warns } = await countingSink(dir);
  const file = sink.files.get('exec')!;
  sink.write('exec', rowsFrom(0, 3));
  await timer.tick(sink);
  await timer.tick(sink);
  const before = looks.n;
  await rm(dir, { recursive: true });
  await timer.tick(sink);
  assert.equal(looks.n, before, 'idle: the deletion is not looked for');
  assert.deepEqual(warns, []);
  sink.write('exec', rowsFrom(3, 2));
  await timer.tick(sink);
  assert.deepEqual(warns, ['an output file was deleted during the run; created it again']);
  await sink.close();
  const text = await readFile(file, 'utf8');
  assert.equal(
    text,
    'timestamp,pid,comm,note\n' +
      '2026-11-29T19:00:00.000Z,,,output file was deleted during the run and created again; the rows written to it before are gone\n' +
      `${ts(3)},1003,c3,\n${ts(4)},1004,c4,\n`,
    'header, the marker (no row lost: none was written since the last look), then the new rows',
  );
  assert.deepEqual(sink.stats()[0], { monitor: 'exec', file, rowsWritten: 5, rowsDropped: 0, recreated: 1 });
  await rm(base, { recursive: true, force: true });
});
