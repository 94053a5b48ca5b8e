// The analyzer over rotated files as the file sink writes them: plain and gzipped together, daily and by size, give
// exactly the numbers of the same rows in one plain file; --date reads that day's files only; a compression cut short
// (a .gz beside its file) counts nothing twice; old names with -N are read too.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFile, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { analyze, toJsonReport, type JsonReport } from '../../../analysis/index.js';
import { createCsvSink } from '../../../src/sinks/csv.js';
import { createOutputRegistry } from '../../../src/sinks/retention.js';
import { monitors } from '../../../src/monitors/registry.js';
import type { Row } from '../../../src/monitors/types.js';
import type { FileSinkOptions } from '../../../src/sinks/file-sink.js';
import { writeFiles } from './fixtures.js';

const columnsOf = (name: string): readonly string[] => monitors.find((m) => m.name === name)!.columns;
const columns = new Map([
  ['func', columnsOf('func')],
  ['open', columnsOf('open')],
]);

/** Two days of func and open intervals around midnight, one write per interval, as the router sends them. */
function intervals(): { monitor: string; rows: Row[] }[] {
  const out: { monitor: string; rows: Row[] }[] = [];
  const start = Date.parse('2026-11-24T23:50:00.000Z');
  for (let i = 0; i < 240; i++) {
    const timestamp = new Date(start + i * 5000).toISOString();
    out.push({
      monitor: 'func',
      rows: Array.from({ length: 1 + (i % 3) }, (_, k) => ({ timestamp, pid: 100 + k, comm: k ? 'bash' : 'nginx, "the" server', function: k % 2 ? 'vfs_write' : 'vfs_read', count: i + k + 1 })),
    });
    if (i % 2) {
      out.push({
        monitor: 'open',
        rows: [{ timestamp, pid: 7, comm: 'cat', filename: `/etc/f${i % 5}`, count: 3, error_count: i % 5 === 0 ? 3 : 0, error_rate: i % 5 === 0 ? 1 : 0 }],
      });
    }
  }
  return out;
}

async function writeThrough(dir: string, more: Partial<FileSinkOptions>): Promise<void> {
  let now = new Date('2026-11-24T23:50:00.000Z');
  const sink = await createCsvSink({
    dir,
    columns,
    startedAt: now,
    bufferRows: 1_000_000,
    flushIntervalMs: 3_600_000,
    onError: (e) => assert.fail(String(e)),
    now: () => now,
    registry: createOutputRegistry(),
    ...more,
  });
  for (const [i, b] of intervals().entries()) {
    now = new Date(String(b.rows[0]!['timestamp']));
    sink.write(b.monitor, b.rows);
    if (i % 10 === 0) await sink.flush();
  }
  // Compression runs in the background and stops when the sink closes: wait until it is done.
  await sink.settled();
  await sink.close();
}

const made: string[] = [];
after(() => Promise.all(made.map((d) => rm(d, { recursive: true, force: true }))));
const tmp = async (p: string): Promise<string> => {
  const d = await mkdtemp(path.join(os.tmpdir(), `ebpfmon-test-${p}-`));
  made.push(d);
  return d;
};
const report = async (dir: string, window?: { since: string; until: string }, parser?: 'fast' | 'csv-parse'): Promise<JsonReport> =>
  toJsonReport(await analyze({ dir, window, parser, now: new Date('2026-11-26T00:00:00.000Z') }));
const day = (d: string) => ({ since: `${d}T00:00:00.000Z`, until: new Date(Date.parse(`${d}T00:00:00.000Z`) + 86_400_000).toISOString() });

test('rotated files, plain and gzipped, daily and by size: the same numbers as one plain file, exactly', async () => {
  const plain = await tmp('rot-plain');
  const rotated = await tmp('rot-mixed');
  await writeThrough(plain, {});
  await writeThrough(rotated, { rotate: { daily: true, maxBytes: 4096, compress: true } });
  const names = await readdir(rotated);
  assert.ok(names.filter((n) => n.endsWith('.csv.gz')).length >= 4, names.join(' '));
  assert.ok(names.some((n) => n.endsWith('.csv')), 'the last files stay plain');
  assert.ok(names.some((n) => n.startsWith('func_20261124')) && names.some((n) => n.startsWith('func_20261125')));

  const whole = await report(plain);
  const expectedCalls = intervals().filter((b) => b.monitor === 'func').flatMap((b) => b.rows).reduce((n, r) => n + Number(r['count']), 0);
  assert.equal(whole.sections['func']?.totals['calls'], expectedCalls);
  for (const parser of ['fast', 'csv-parse'] as const) {
    const r = await report(rotated, undefined, parser);
    assert.equal(r.damaged_rows, 0);
    assert.equal(r.skipped_files, 0);
    assert.equal(r.rows, whole.rows);
    assert.deepEqual(r.sections, whole.sections, `parser ${parser}`);
    assert.equal(r.files.length, names.length);
  }

  // --date: that day's files only (the date is in their names), and that day's numbers.
  for (const d of ['2026-11-24', '2026-11-25']) {
    const r = await report(rotated, day(d));
    const stamp = d.replace(/-/g, '');
    assert.ok(r.files.length > 0 && r.files.every((f) => f.file.split('_').at(-1)!.startsWith(stamp)), `${d}: ${r.files.map((f) => f.file).join(' ')}`);
    assert.deepEqual(r.sections, (await report(plain, day(d))).sections, d);
  }
  assert.equal((await report(rotated, day('2026-11-26'))).files.length, 0, 'a day without files reads nothing');
});

test('a compression cut short (a .gz beside its file) and old -N names: nothing counted twice, nothing left out', async () => {
  const dir = await tmp('rot-pair');
  await writeThrough(dir, { rotate: { daily: false, maxBytes: 8192, compress: true } });
  const before = await report(dir);
  const gz = (await readdir(dir)).filter((n) => n.endsWith('.gz')).sort();
  assert.ok(gz.length >= 2);
  // A crash after the .gz was synced, before the file was removed: both are there and complete.
  const { gunzipSync } = await import('node:zlib');
  await writeFile(path.join(dir, gz[0]!.slice(0, -3)), gunzipSync(await readFile(path.join(dir, gz[0]!))));
  // A crash midway: the file and the first bytes of its .gz.
  const half = await readFile(path.join(dir, gz[1]!));
  await writeFile(path.join(dir, gz[1]!.slice(0, -3)), gunzipSync(half));
  await writeFile(path.join(dir, gz[1]!), half.subarray(0, half.length >> 1));
  const after = await report(dir);
  assert.deepEqual(after.sections, before.sections);
  assert.deepEqual(after.ignored, [gz[0]!, gz[1]!]);

  // A second run started in the same second (-1), and its per-day parts next to it: the file wins over its parts.
  const f = 'func_20261125T000000Z.csv';
  const header = `${columnsOf('func').join(',')},note`;
  const line = (n: number): string => `2026-11-25T00:00:0${n}.000Z,1,sh,vfs_read,${n},,,,`; // cgroup, pod_uid, container_id, note
  const old = await writeFiles({ [f]: `${header}\n${line(1)}\n`, 'func_20261125T000000Z-1.csv': `${header}\n${line(2)}\n`, 'func_20261125T000000Z-1_2026-11-25.csv': `${header}\n${line(2)}\n` }, 'rot-old');
  await copyFile(path.join(old, f), path.join(old, 'func_20261125T000000Z_2026-11-25.csv'));
  const r = await report(old);
  assert.equal(r.sections['func']?.totals['calls'], 3);
  assert.deepEqual(r.files.map((x) => x.file), [f, 'func_20261125T000000Z-1.csv']);
});

test('preprocess_data.sh on a directory of rotated files: plain ones split by day (-N kept), gzipped ones left alone; the same numbers', async () => {
  const { execFile } = await import('node:child_process');
  const { promisify } = await import('node:util');
  const { repoRoot } = await import('../../helpers/paths.js');
  const dir = await tmp('rot-pre');
  await writeThrough(dir, { rotate: { daily: false, maxBytes: 6000, compress: false } });
  // One compressed by hand, as compress would have.
  const { gzipSync } = await import('node:zlib');
  const plainNames = (await readdir(dir)).sort();
  assert.ok(plainNames.length >= 3, plainNames.join(' '));
  await writeFile(path.join(dir, `${plainNames[0]!}.gz`), gzipSync(await readFile(path.join(dir, plainNames[0]!))));
  await rm(path.join(dir, plainNames[0]!));
  const before = await report(dir);
  const r = await promisify(execFile)('bash', [path.join(repoRoot, 'scripts/preprocess_data.sh'), '--in-place', dir]);
  assert.doesNotMatch(r.stderr, /failed/);
  const after = await readdir(dir);
  assert.ok(after.includes(`${plainNames[0]!}.gz`), 'the gzipped file is left alone');
  assert.ok(after.filter((n) => n.endsWith('.csv')).every((n) => /_\d{4}-\d{2}-\d{2}\.csv$/.test(n)), after.join(' '));
  assert.deepEqual((await report(dir)).sections, before.sections);
});
