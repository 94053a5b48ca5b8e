// CSV output: header with the note column, batched rows, restrictive modes, no symlink followed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, stat, symlink, mkdir, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { stringify } from 'csv-stringify/sync';
import { createCsvSink, csvFormat } from '../../src/sinks/csv.js';
import { outputFileName } from '../../src/sinks/rotation.js';

const csvFileName = (monitor: string, startedAt: Date): string => outputFileName(monitor, startedAt, 'csv', 0);
import type { Cell, Row } from '../../src/monitors/types.js';
import { createOutput } from '../../src/sinks/output.js';
import { createExclusive, ensureDir } from '../../src/safe-fs.js';
import { UsageError } from '../../src/errors.js';

const tmp = () => mkdtemp(path.join(os.tmpdir(), 'ebpfmon-csv-'));
const startedAt = new Date('2026-11-25T02:44:13.470Z');

test('rows are quoted as CSV, a marker row fills timestamp and note only, close flushes everything', async () => {
  const dir = await tmp();
  const sink = await createCsvSink({
    dir,
    columns: new Map([['exec', ['timestamp', 'pid', 'filename']]]),
    startedAt,
    bufferRows: 1000,
    flushIntervalMs: 60_000,
    onError: (e) => assert.fail(String(e)),
  });
  const out = createOutput([sink]);
  out.write('exec', [{ timestamp: 't1', pid: 1, filename: '/a,b "c"\nd' }]);
  out.note('exec', 't2', 'bpftrace restarted');
  await out.close();
  const file = path.join(dir, 'exec_20261125T024413Z.csv');
  assert.equal(csvFileName('exec', startedAt), 'exec_20261125T024413Z.csv');
  assert.equal(await readFile(file, 'utf8'), 'timestamp,pid,filename,note\nt1,1,"/a,b ""c""\nd",\nt2,,,bpftrace restarted\n');
  assert.equal((await stat(file)).mode & 0o777, 0o640);
});

test('never writes through a planted symlink or over an existing file', async () => {
  const dir = await tmp();
  const victim = path.join(dir, 'victim');
  await writeFile(victim, 'precious');
  const planted = path.join(dir, csvFileName('exec', startedAt));
  await symlink(victim, planted);
  await assert.rejects(createExclusive(planted), (e: unknown) => e instanceof UsageError && /already exists|symbolic link/.test(e.message));
  const sink = await createCsvSink({ dir, columns: new Map([['exec', ['timestamp']]]), startedAt, bufferRows: 1, flushIntervalMs: 1000, onError: () => undefined });
  sink.write('exec', [{ timestamp: 't' }]);
  await sink.close();
  assert.equal(sink.files.get('exec'), path.join(dir, 'exec_20261125T024413Z_001.csv'), 'a taken name gets a suffix');
  assert.equal(await readFile(victim, 'utf8'), 'precious');
});

test('the output directory is created 0750 and may not be a symlink', async () => {
  const base = await tmp();
  const dir = await ensureDir(path.join(base, 'out/deeper'));
  assert.equal((await stat(dir)).mode & 0o777, 0o750);
  await mkdir(path.join(base, 'real'));
  await symlink(path.join(base, 'real'), path.join(base, 'link'));
  await assert.rejects(ensureDir(path.join(base, 'link')), /is a symbolic link/);
});

test('NDJSON: one object per row with the CSV field names; numbers stay numbers; empty note left out', async () => {
  const { ndjsonFormat } = await import('../../src/sinks/ndjson.js');
  const text = ndjsonFormat.rows(['timestamp', 'pid', 'comm', 'avg', 'note'], [
    { timestamp: 't1', pid: 7, comm: 'a,"b"', avg: null, note: '' },
    { timestamp: 't2', note: 'bpftrace restarted' },
  ]);
  assert.deepEqual(text.trimEnd().split('\n').map((l) => JSON.parse(l) as unknown), [
    { timestamp: 't1', pid: 7, comm: 'a,"b"', avg: null },
    { timestamp: 't2', pid: null, comm: null, avg: null, note: 'bpftrace restarted' },
  ]);
  assert.equal(ndjsonFormat.header(['a']), '');
});

test('output backpressure: throttle() is null while sinks keep up, a promise until their backlog drains', async () => {
  const { backlogHigh, backlogLow } = await import('../../src/sinks/output.js');
  let backlog = 0;
  // The backlog is polled through these timers: the test fires each check itself.
  const pending: (() => void)[] = [];
  const timers = { set: (fn: () => void) => pending.push(fn), clear: () => undefined };
  const out = createOutput([{ write: () => undefined, flush: () => Promise.resolve(), close: () => Promise.resolve(), backlog: () => backlog }], timers);
  assert.equal(out.throttle(), null);
  backlog = backlogHigh;
  const wait = out.throttle();
  assert.ok(wait);
  let resolved = false;
  void wait.then(() => (resolved = true));
  backlog = backlogLow; // below the high mark, not yet below the low one
  for (let i = 0; i < 3; i++) {
    assert.equal(pending.length, 1, 'one check pending');
    pending.shift()!();
    await Promise.resolve();
    assert.equal(resolved, false, 'still at the low mark');
  }
  backlog = backlogLow - 1;
  pending.shift()!();
  await wait;
  assert.equal(pending.length, 0, 'no check left behind');
});

test('rows written without csv-stringify are byte for byte what csv-stringify writes', () => {
  // A fixed pseudo-random sequence (no flaky seeds): cells drawn from plain text, numbers, empty values and
  // every character csv-stringify quotes for, in every position.
  let seed = 12345;
  const next = (n: number): number => {
    // mulberry32
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return Math.floor((((t ^ (t >>> 14)) >>> 0) / 2 ** 32) * n);
  };
  const pieces = ['a', '/usr/bin/x', ' ', ',', '"', '\n', '\r', '\t', "'", '=1', '-', 'é', ';', '\\'];
  const columns = ['timestamp', 'pid', 'comm', 'filename', 'count', 'note'];
  const cell = (): Cell => {
    const k = next(5);
    if (k === 0) return null;
    if (k === 1) return next(2) ? next(100000) : -next(50) / 4;
    return Array.from({ length: next(4) }, () => pieces[next(pieces.length)]).join('');
  };
  const rows: Row[] = Array.from({ length: 3000 }, () => Object.fromEntries(columns.filter(() => next(6) > 0).map((c) => [c, cell()])));
  const reference = stringify(rows.map((r) => columns.map((c) => r[c] ?? '')), { cast: { number: (n) => String(n) } });
  assert.equal(csvFormat.rows(columns, rows), reference);
  for (const ch of [',', '"', '\n', '\r']) {
    assert.ok(rows.some((r) => Object.values(r).some((v) => typeof v === 'string' && v.includes(ch))), `some cells hold ${JSON.stringify(ch)}`);
  }
});
