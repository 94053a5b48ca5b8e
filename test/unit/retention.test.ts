// Retention removes ebpfmon's own closed files only: by age and by total size, oldest first. Files that merely look
// like its own (another extension, a suffix, an unknown monitor, a symlink, a directory, a day part), and the files
// being written, survive. Compression keeps the original until its .gz is complete.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readFile, readdir, rm, stat, symlink, utimes, writeFile } from 'node:fs/promises';
import { gunzipSync } from 'node:zlib';
import os from 'node:os';
import path from 'node:path';
import { createCsvSink } from '../../src/sinks/csv.js';
import { createOutputRegistry, planRetention, runRetention, type OwnFile } from '../../src/sinks/retention.js';
import { compressFile, createNext, parseOutputName } from '../../src/sinks/rotation.js';
import { createExclusive } from '../../src/safe-fs.js';

const made: string[] = [];
after(() => Promise.all(made.map((d) => rm(d, { recursive: true, force: true }))));
const tmp = async (): Promise<string> => {
  const d = await mkdtemp(path.join(os.tmpdir(), 'ebpfmon-retention-'));
  made.push(d);
  return d;
};
const now = new Date('2026-11-29T12:00:00.000Z');
const daysAgo = (d: number): Date => new Date(now.getTime() - d * 86_400_000);
const known = ['exec', 'open', 'page_fault'];

/** Writes `name` in `dir` with `bytes` bytes, last modified `age` days before `now`. */
async function put(dir: string, name: string, age: number, bytes = 100): Promise<void> {
  await writeFile(path.join(dir, name), 'x'.repeat(bytes));
  await utimes(path.join(dir, name), daysAgo(age), daysAgo(age));
}

function logger() {
  const lines: { msg: string; fields: Record<string, unknown> }[] = [];
  return { lines, log: { info: (fields: object, msg: string) => lines.push({ msg, fields: fields as Record<string, unknown> }), warn: (fields: object, msg: string) => lines.push({ msg, fields: fields as Record<string, unknown> }) } };
}

test('max_age_days: its own old files go; look-alikes, files of unknown monitors, symlinks, directories and busy files stay', async () => {
  const dir = await tmp();
  const outside = await tmp();
  const ownOld = [
    'exec_20261101T000000Z.csv',
    'exec_20261101T000000Z-1.csv.gz',
    'page_fault_20261102T000000Z.ndjson',
    // A compression cut short: the file and its .gz are one unit.
    'open_20261101T000000Z.csv',
    'open_20261101T000000Z.csv.gz',
  ];
  for (const n of ownOld) await put(dir, n, 20);
  await put(dir, 'exec_20261128T000000Z.csv', 1);
  await put(dir, 'exec_20261103T000000Z.csv', 20); // being written (busy)
  const foreign = [
    'exec_20261101T000000Z.csv.1',
    'exec_20261101T000000Z.csv.gz.tmp',
    'exec_20261101T000000Z.txt',
    'exec_20261101T000000Z_2026-11-01.csv',
    'exec_20261101T000000Z-0.csv',
    'Exec_20261101T000000Z.csv',
    'syscallx_20261101T000000Z.csv',
    'bio_20261101T000000Z.csv',
    'notes.csv',
    '.exec_20261101T000000Z.csv',
  ];
  for (const n of foreign) await put(dir, n, 20);
  await mkdir(path.join(dir, 'exec_20261104T000000Z.csv'));
  await put(outside, 'target.csv', 20);
  await symlink(path.join(outside, 'target.csv'), path.join(dir, 'exec_20261105T000000Z.csv'));

  const registry = createOutputRegistry();
  registry.busy.add(path.join(dir, 'exec_20261103T000000Z.csv'));
  const { lines, log } = logger();
  const removed = await runRetention({ dir, policy: { maxAgeMs: 14 * 86_400_000, maxTotalBytes: 0 }, monitors: known, now: () => now, registry, log });
  assert.deepEqual(removed.flatMap((r) => r.names).sort(), [...ownOld].sort());
  assert.deepEqual(
    (await readdir(dir)).sort(),
    ['exec_20261103T000000Z.csv', 'exec_20261104T000000Z.csv', 'exec_20261105T000000Z.csv', 'exec_20261128T000000Z.csv', ...foreign].sort(),
  );
  assert.deepEqual(await readdir(outside), ['target.csv'], 'a symlink is not followed');
  assert.equal(lines.length, 1, 'one line per pass');
  assert.equal(lines[0]!.msg, 'retention: removed old output files');
  assert.deepEqual((lines[0]!.fields['removed'] as string[]).sort(), [...ownOld].sort());
  assert.deepEqual(lines[0]!.fields['reasons'], ['max_age_days']);
  // Nothing to do: no line.
  await runRetention({ dir, policy: { maxAgeMs: 14 * 86_400_000, maxTotalBytes: 0 }, monitors: known, now: () => now, registry, log });
  assert.equal(lines.length, 1);
});

test('max_total_mb: the oldest of its own files go until the total is under the limit; busy files count but stay', async () => {
  const dir = await tmp();
  await put(dir, 'exec_20261120T000000Z.csv', 9, 400); // busy: counted, never removed
  await put(dir, 'exec_20261121T000000Z.csv', 8, 300);
  await put(dir, 'open_20261121T000000Z.csv.gz', 8, 300); // same mtime: by name, exec's first
  await put(dir, 'exec_20261122T000000Z.csv', 7, 300);
  await put(dir, 'exec_20261123T000000Z.csv', 6, 300);
  await put(dir, 'huge-foreign.csv', 30, 100_000); // not ours: neither counted nor removed
  const registry = createOutputRegistry();
  registry.busy.add(path.join(dir, 'exec_20261120T000000Z.csv'));
  const r = await runRetention({ dir, policy: { maxAgeMs: 0, maxTotalBytes: 1000 }, monitors: known, now: () => now, registry });
  // 1600 bytes: 400 busy + 300 + 300 + 300 + 300; removing the two oldest removable leaves 1000.
  assert.deepEqual(r.map((x) => [x.names, x.reason]), [
    [['exec_20261121T000000Z.csv'], 'max_total_mb'],
    [['open_20261121T000000Z.csv.gz'], 'max_total_mb'],
  ]);
  assert.deepEqual((await readdir(dir)).sort(), ['exec_20261120T000000Z.csv', 'exec_20261122T000000Z.csv', 'exec_20261123T000000Z.csv', 'huge-foreign.csv']);
});

test('planRetention: a unit is a file with its .gz; age and size together; off when both are 0', () => {
  const f = (name: string, bytes: number, ageDays: number, busy = false): OwnFile => ({ name, parsed: parseOutputName(name, known)!, bytes, mtimeMs: daysAgo(ageDays).getTime(), busy });
  const files = [f('exec_20261101T000000Z.csv', 10, 30), f('exec_20261101T000000Z.csv.gz', 5, 29), f('exec_20261110T000000Z.csv', 10, 10), f('exec_20261111T000000Z.csv', 10, 9)];
  assert.deepEqual(planRetention(files, { maxAgeMs: 0, maxTotalBytes: 0 }, now.getTime()), []);
  assert.deepEqual(planRetention(files, { maxAgeMs: 14 * 86_400_000, maxTotalBytes: 0 }, now.getTime()), [
    { names: ['exec_20261101T000000Z.csv', 'exec_20261101T000000Z.csv.gz'], bytes: 15, reason: 'max_age_days' },
  ]);
  assert.deepEqual(planRetention(files, { maxAgeMs: 14 * 86_400_000, maxTotalBytes: 12 }, now.getTime()).map((r) => [r.names[0], r.reason]), [
    ['exec_20261101T000000Z.csv', 'max_age_days'],
    ['exec_20261110T000000Z.csv', 'max_total_mb'],
  ]);
});

test('the file sink runs retention at start and never removes the file it writes, however old or large', async () => {
  const dir = await tmp();
  await put(dir, 'exec_20261101T000000Z.csv', 20);
  await put(dir, 'exec_20261101T000000Z.csv.bak', 20);
  const registry = createOutputRegistry();
  const { lines, log } = logger();
  const sink = await createCsvSink({
    dir,
    columns: new Map([['exec', ['timestamp', 'pid']]]),
    startedAt: now,
    bufferRows: 1000,
    flushIntervalMs: 3_600_000,
    onError: (e) => assert.fail(String(e)),
    log,
    now: () => now,
    registry,
    retention: { maxAgeMs: 14 * 86_400_000, maxTotalBytes: 1 },
  });
  const mine = sink.files.get('exec')!;
  // At start: the old file goes (in the background), the look-alike stays.
  await sink.settled();
  assert.deepEqual((await readdir(dir)).sort(), [path.basename(mine), 'exec_20261101T000000Z.csv.bak'].sort());
  sink.write('exec', [{ timestamp: now.toISOString(), pid: 1 }]);
  await sink.flush();
  await utimes(mine, daysAgo(100), daysAgo(100));
  await runRetention({ dir, policy: { maxAgeMs: 1, maxTotalBytes: 1 }, monitors: ['exec'], now: () => now, registry, log });
  assert.deepEqual((await readdir(dir)).sort(), [path.basename(mine), 'exec_20261101T000000Z.csv.bak'].sort());
  assert.ok(lines.some((l) => l.msg === 'retention: removed old output files' && (l.fields['removed'] as string[]).includes('exec_20261101T000000Z.csv')));
  await sink.close();
  assert.equal(registry.busy.size, 0, 'closed files are no longer busy');
});

test('compression: the .gz holds the file exactly, keeps its times; stopped midway, the file stays and no .gz is left', async () => {
  const dir = await tmp();
  const text = 'timestamp,pid,note\n' + Array.from({ length: 5000 }, (_, i) => `2026-11-29T00:00:00.000Z,${i},\n`).join('');
  await put(dir, 'exec_20261129T000000Z.csv', 3);
  await writeFile(path.join(dir, 'exec_20261129T000000Z.csv'), text);
  await utimes(path.join(dir, 'exec_20261129T000000Z.csv'), daysAgo(3), daysAgo(3));
  const busy = new Set<string>();
  const gz = await compressFile(path.join(dir, 'exec_20261129T000000Z.csv'), { busy });
  assert.equal(gunzipSync(await readFile(gz)).toString(), text);
  assert.equal((await stat(gz)).mtime.toISOString(), daysAgo(3).toISOString(), 'the modification time is kept');
  assert.deepEqual(await readdir(dir), ['exec_20261129T000000Z.csv.gz']);
  assert.equal(busy.size, 0);

  await writeFile(path.join(dir, 'exec_20261129T010000Z.csv'), text);
  const stop = new AbortController();
  stop.abort();
  await assert.rejects(compressFile(path.join(dir, 'exec_20261129T010000Z.csv'), { signal: stop.signal }));
  assert.deepEqual((await readdir(dir)).sort(), ['exec_20261129T000000Z.csv.gz', 'exec_20261129T010000Z.csv']);
  assert.equal(await readFile(path.join(dir, 'exec_20261129T010000Z.csv'), 'utf8'), text);

  // A new file never takes a name whose .gz exists.
  const next = await createNext(dir, 'exec', new Date('2026-11-29T00:00:00.000Z'), 'csv', (f) => createExclusive(f));
  await next.handle.close();
  assert.equal(path.basename(next.file), 'exec_20261129T000000Z_001.csv');
});
