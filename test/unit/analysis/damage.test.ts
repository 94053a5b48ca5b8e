// What a crash or a full disk leaves behind is skipped, counted and reported, never fatal; both parsers agree.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { analyze, renderText, toJsonReport, type CsvParser } from '../../../analysis/index.js';
import { mkdir, rename } from 'node:fs/promises';
import path from 'node:path';
import { writeFiles } from './fixtures.js';

const header = 'timestamp,pid,comm,syscall_nr,syscall,category,count,error_count,error_rate,avg_latency_us,max_latency_us,note';
const ok = (ts: string, count: number): string => `${ts},1,app,0,read,io,${count},1,0,,,`;

const damaged: Record<string, string> = {
  'syscall_20261125T000000Z.csv': [
    header,
    ok('2026-11-25T00:00:02.000Z', 10),
    header, // a second run appended to the same file
    ok('2026-11-25T00:00:04.000Z', 20),
    '2026-11-25T00:00:04.000Z,1,app,0,read,io,5', // wrong field count
    '2026-11-25T00:00:04.000Z,1,app,0,read,io,lots,0,0,,,,', // wrong field count (one too many)
    '2026-11-25T00:00:04.000Z,1,app,0,read,io,lots,0,0,,,', // unreadable count
    'garbage-without-a-date,1,app,0,read,io,5,0,0,,,', // bad timestamp
    '',
    ok('2026-11-25T00:00:06.000Z', 30),
    '2026-11-25T00:00:08.000Z,1,ap', // truncated last line, no newline
  ].join('\n'),
  'open_20261125T000000Z.csv': '', // created, never written
  'exec_20261125T000000Z.csv': 'timestamp,uid,pid,ppid,comm,filename,note\n', // header only
  'func_20261125T000000Z.csv': 'timestamp,pid,comm,function,note\n2026-11-25T00:00:02.000Z,1,a,f,\n', // no count column
  'notes.csv': 'not,a,monitor\n',
};

for (const parser of ['fast', 'csv-parse'] as const satisfies readonly CsvParser[]) {
  test(`damaged rows are skipped and counted by reason (${parser} parser)`, async () => {
    const dir = await writeFiles(damaged, 'damage');
    const r = await analyze({ dir, parser });
    const j = toJsonReport(r);
    assert.deepEqual(Object.keys(j.sections), ['syscall']);
    assert.equal(j.sections['syscall']?.totals['calls'], 60, 'only the three good rows count');
    assert.equal(j.rows, 3);
    assert.equal(j.damaged_rows, 6);
    const sys = r.files.find((f) => f.monitor === 'syscall');
    assert.deepEqual(sys?.damaged, { repeated_header: 1, wrong_field_count: 3, bad_number: 1, bad_timestamp: 1 });
    assert.deepEqual(sys?.first_damaged_lines.slice(0, 3), [3, 5, 6]);
    assert.equal(r.files.find((f) => f.monitor === 'open')?.empty, true);
    assert.equal(r.files.find((f) => f.monitor === 'exec')?.empty, false);
    assert.equal(r.files.find((f) => f.monitor === 'exec')?.rows, 0);
    assert.match(r.files.find((f) => f.monitor === 'func')?.skipped ?? '', /no count column/);
    assert.deepEqual(r.ignored, ['notes.csv']);
    const text = renderText(r);
    assert.match(text, /Skipped rows: 6/);
    assert.match(text, /syscall_20261125T000000Z\.csv: .*repeated header 1.*wrong field count 3/);
    assert.match(text, /Empty files: open_20261125T000000Z\.csv/);
    assert.match(text, /Skipped file func_20261125T000000Z\.csv: no count column/);
  });
}

test('quoted fields (commas, quotes, newlines, UTF-8) parse the same with both parsers; an unterminated quote is damage', async () => {
  const files = {
    'open_20261125T000000Z.csv': [
      'timestamp,pid,comm,filename,count,error_count,error_rate,note',
      '2026-11-25T00:00:02.000Z,1,"a,b","/tmp/x ""y"".txt",2,0,0,',
      '2026-11-25T00:00:02.000Z,1,café,"/tmp/multi',
      'line",3,1,0.3333,',
      '2026-11-25T00:00:04.000Z,1,日本語,/srv/données/ü.txt,4,0,0,',
      '2026-11-25T00:00:06.000Z,1,x,"/never/closed,5,0,0,',
    ].join('\n') + '\n',
  };
  const dir = await writeFiles(files, 'quotes');
  const [fast, slow] = await Promise.all((['fast', 'csv-parse'] as const).map((parser) => analyze({ dir, parser })));
  assert.ok(fast && slow);
  const files0 = toJsonReport(fast).sections['open']?.tables['top_files']?.rows.map((r) => [r['filename'], r['opens']]);
  assert.deepEqual(files0, [
    ['/srv/données/ü.txt', 4],
    ['/tmp/multi\nline', 3],
    ['/tmp/x "y".txt', 2],
  ]);
  assert.deepEqual(toJsonReport(fast).sections, toJsonReport(slow).sections);
  assert.deepEqual(toJsonReport(fast).sections['open']?.tables['top_processes']?.rows.map((r) => r['comm']), ['日本語', 'café', 'a,b']);
  assert.equal(fast.damaged_rows, 1, 'the unterminated quote');
  assert.ok(slow.damaged_rows >= 1);
});

test('UTF-8 split across read chunks survives', async () => {
  // ~3 MB of rows with a 2-byte character in each: some land across the 1 MB chunk edges.
  const lines = ['timestamp,pid,comm,function,count,note'];
  for (let i = 0; i < 60_000; i++) lines.push(`2026-11-25T00:00:${String(2 * (i % 30)).padStart(2, '0')}.000Z,${i},é${'x'.repeat(i % 7)},fé,1,`);
  const dir = await writeFiles({ 'func_20261125T000000Z.csv': lines.join('\n') + '\n' }, 'utf8');
  const j = toJsonReport(await analyze({ dir }));
  assert.equal(j.damaged_rows, 0);
  assert.deepEqual(j.sections['func']?.tables['by_function']?.rows, [{ function: 'fé', calls: 60_000, share: 1 }]);
  assert.equal(j.sections['func']?.totals['processes'], 7);
});

test('a directory named like a CSV is passed over, not fatal', async () => {
  const dir = await writeFiles({ 'syscall_20261125T000000Z.csv': `${header}\n${ok('2026-11-25T00:00:02.000Z', 10)}\n` }, 'unreadable');
  await mkdir(path.join(dir, 'exec_20261125T000000Z.csv.d'));
  // A directory named like a CSV cannot be read as one.
  await rename(path.join(dir, 'exec_20261125T000000Z.csv.d'), path.join(dir, 'open_20261125T000000Z.csv'));
  const r = await analyze({ dir });
  assert.equal(toJsonReport(r).sections['syscall']?.totals['calls'], 10);
  assert.match(renderText(r), /syscall/);
});

test('a day part next to its original is not counted twice', async () => {
  const text = `${header}\n${ok('2026-11-25T00:00:02.000Z', 10)}\n`;
  const dir = await writeFiles({ 'syscall_20261125T000000Z.csv': text, 'syscall_20261125T000000Z_2026-11-25.csv': text }, 'dup');
  const r = await analyze({ dir });
  assert.equal(toJsonReport(r).sections['syscall']?.totals['calls'], 10);
  assert.deepEqual(r.ignored, ['syscall_20261125T000000Z_2026-11-25.csv']);
});
