// CSV output: header with the note column, batched rows, restrictive modes, no symlink followed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, stat, symlink, mkdir, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { createCsvSink, csvFileName } from '../../src/sinks/csv.js';
import { createOutput } from '../../src/sinks/output.js';
import { createExclusive, ensureDir } from '../../src/sinks/safe-fs.js';
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
  assert.equal(sink.files.get('exec'), path.join(dir, 'exec_20261125T024413Z-1.csv'), 'a taken name gets a suffix');
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
  const { backlogHigh } = await import('../../src/sinks/output.js');
  let backlog = 0;
  const out = createOutput([{ write: () => undefined, flush: () => Promise.resolve(), close: () => Promise.resolve(), backlog: () => backlog }]);
  assert.equal(out.throttle(), null);
  backlog = backlogHigh;
  const wait = out.throttle();
  assert.ok(wait);
  let resolved = false;
  void wait.then(() => (resolved = true));
  await new Promise((r) => setTimeout(r, 60));
  assert.equal(resolved, false, 'still above the low mark');
  backlog = 0;
  await wait;
});
