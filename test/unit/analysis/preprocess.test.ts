// scripts/preprocess_data.sh: a two-day file becomes two day files whose rows add up to the original.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { analyze, toJsonReport } from '../../../analysis/index.js';
import { repoRoot } from '../../helpers/paths.js';
import { writeFiles } from './fixtures.js';

const run = promisify(execFile);
const script = path.join(repoRoot, 'scripts/preprocess_data.sh');
const header = 'timestamp,pid,comm,function,count,note';

function twoDays(): string {
  const lines = [header];
  for (let i = 0; i < 30; i++) lines.push(`2026-11-24T23:${String(30 + i).padStart(2, '0')}:00.000Z,${i},a,f,${i + 1},`);
  lines.push(header); // a repeated header is left out
  lines.push('2026-11-25T00:00:00.000Z,1,"multi', 'line",g,5,'); // a quoted newline stays whole
  for (let i = 0; i < 20; i++) lines.push(`2026-11-25T00:${String(i + 1).padStart(2, '0')}:00.000Z,${i},b,g,2,`);
  return lines.join('\n') + '\n';
}

const rowsOf = (text: string): string[] => text.split('\n').slice(1).filter(Boolean);

test('splits a two-day file into two day files with the header, leaving the original alone', async () => {
  const original = twoDays();
  const dir = await writeFiles({ 'func_20261124T233000Z.csv': original, 'open_20261124T233000Z.csv': '' }, 'pre');
  const out = path.join(dir, 'days');
  const r = await run('bash', [script, dir, out]);
  assert.match(r.stderr, /func_20261124T233000Z\.csv: 51 rows in 2 day file\(s\), 1 repeated header\(s\) left out/);
  assert.match(r.stderr, /open_20261124T233000Z\.csv: empty/);
  assert.deepEqual((await readdir(out)).sort(), ['func_20261124T233000Z_2026-11-24.csv', 'func_20261124T233000Z_2026-11-25.csv'], 'no file for the empty input');
  const day1 = await readFile(path.join(out, 'func_20261124T233000Z_2026-11-24.csv'), 'utf8');
  const day2 = await readFile(path.join(out, 'func_20261124T233000Z_2026-11-25.csv'), 'utf8');
  assert.equal(day1.split('\n')[0], header);
  assert.equal(day2.split('\n')[0], header);
  assert.equal(rowsOf(day1).length, 30);
  assert.ok(rowsOf(day1).every((l) => l.startsWith('2026-11-24')));
  assert.equal(rowsOf(day2).length, 22, '21 records, one of them on two lines');
  assert.equal(rowsOf(day1).length + rowsOf(day2).length, rowsOf(original).length - 1, 'rows add up (without the repeated header)');
  assert.equal(await readFile(path.join(dir, 'func_20261124T233000Z.csv'), 'utf8'), original, 'original untouched');
  assert.deepEqual((await readdir(dir)).sort(), ['days', 'func_20261124T233000Z.csv', 'open_20261124T233000Z.csv']);

  // The analyzer sees the same numbers in the parts, and --date picks one day.
  const whole = toJsonReport(await analyze({ dir, monitor: 'func' }));
  const parts = toJsonReport(await analyze({ dir: out }));
  assert.deepEqual(parts.sections['func']?.totals, whole.sections['func']?.totals);
  assert.equal(parts.damaged_rows, 0);
  const day = toJsonReport(await analyze({ dir: out, window: { since: '2026-11-25T00:00:00.000Z', until: '2026-11-26T00:00:00.000Z' } }));
  assert.equal(day.files.length, 1, 'only the part of that day is read');
  assert.equal(day.sections['func']?.totals['calls'], 45);

  // A second run does not mix with the first unless --force is given.
  await assert.rejects(run('bash', [script, dir, out]), /parts already in/);
  await run('bash', [script, '--force', dir, out]);
  assert.equal(await readFile(path.join(out, 'func_20261124T233000Z_2026-11-24.csv'), 'utf8'), day1);
});

test('--in-place replaces the originals by their parts and removes empty files', async () => {
  const dir = await writeFiles({ 'func_20261124T233000Z.csv': twoDays(), 'open_20261124T233000Z.csv': '' }, 'inplace');
  await run('bash', [script, '--in-place', dir]);
  assert.deepEqual((await readdir(dir)).sort(), ['func_20261124T233000Z_2026-11-24.csv', 'func_20261124T233000Z_2026-11-25.csv']);
});

test('bad usage exits 2', async () => {
  await assert.rejects(run('bash', [script, '/nonexistent/dir']), (e: { code?: number }) => e.code === 2);
  await assert.rejects(run('bash', [script]), (e: { code?: number }) => e.code === 2);
});
