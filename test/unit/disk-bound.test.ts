// The disk bound `check` prints: max_total_mb + one open file per monitor and format, each up to max_file_mb; or
// unbounded, naming the setting that would bound it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { bytesPerEventRow, dailyVolume, diskBound, renderDailyVolume, renderDiskBound, type DiskSettings } from '../../src/forecast/disk.js';
import { parseConfig } from '../../src/config/load.js';

const settings = (over: Partial<{ daily: boolean; max_file_mb: number | null; compress: boolean; max_age_days: number; max_total_mb: number; formats: string[] }> = {}): DiskSettings => ({
  rotate: { daily: over.daily ?? true, max_file_mb: over.max_file_mb === undefined ? 256 : over.max_file_mb, compress: over.compress ?? true },
  retention: { max_age_days: over.max_age_days ?? 14, max_total_mb: over.max_total_mb ?? 2048 },
  formats: over.formats ?? ['csv'],
});

test('bounded: max_total_mb + monitors x formats x max_file_mb', () => {
  assert.equal(diskBound(settings(), 7).boundMb, 2048 + 7 * 256);
  assert.equal(diskBound(settings(), 7).openFiles, 7);
  const both = diskBound(settings({ formats: ['csv', 'ndjson'], max_file_mb: 10, max_total_mb: 100 }), 3);
  assert.deepEqual([both.openFiles, both.boundMb, both.unbounded], [6, 160, undefined]);
  assert.match(both.detail, /retention\.max_total_mb 100 \+ 6 open files \(3 monitors x 2 formats\) x rotate\.max_file_mb 10/);
});

test('unbounded: retention off, age only, or open files without a size limit; each names the setting to use', () => {
  const off = diskBound(settings({ max_age_days: 0, max_total_mb: 0 }), 7);
  assert.equal(off.boundMb, null);
  assert.match(off.detail, /retention is off \(max_age_days: 0, max_total_mb: 0\)/);
  assert.match(off.unbounded ?? '', /output\.retention\.max_total_mb/);
  const age = diskBound(settings({ max_total_mb: 0 }), 7);
  assert.equal(age.boundMb, null);
  assert.match(age.detail, /kept 14 days whatever their size/);
  const noSize = diskBound(settings({ max_file_mb: null }), 2);
  assert.equal(noSize.boundMb, null);
  assert.match(noSize.detail, /no size limit until midnight UTC/);
  assert.match(noSize.unbounded ?? '', /output\.rotate\.max_file_mb/);
  assert.match(diskBound(settings({ max_file_mb: null, daily: false }), 2).detail, /never rotate/);
});

test('no monitor: nothing written', () => {
  assert.deepEqual(diskBound(settings(), 0).boundMb, 0);
});

test("check's lines at the defaults, and with retention off", () => {
  const c = parseConfig('monitors: {exec: {enabled: true}, syscall: {enabled: true}}\n', 'test');
  const s: DiskSettings = { rotate: c.output.rotate, retention: c.output.retention, formats: c.output.format };
  assert.equal(
    renderDiskBound(diskBound(s, 2), s, 'out'),
    'disk use of out: at most 2,560 MiB (retention.max_total_mb 2,048 + 2 open files (2 monitors x 1 format) x rotate.max_file_mb 256)\n' +
      '  rotate daily and at 256 MiB, gzipped; removed after 14 days (output.rotate, output.retention; docs/operations.md "Files over weeks")',
  );
  const off = settings({ daily: false, max_file_mb: null, compress: false, max_age_days: 0, max_total_mb: 0 });
  assert.equal(
    renderDiskBound(diskBound(off, 2), off, 'out'),
    'disk use of out: unbounded: retention is off (max_age_days: 0, max_total_mb: 0): no file is ever removed and the directory grows by every row written; set output.retention.max_total_mb (e.g. 2048) to cap it\n' +
      '  no rotation (one file per monitor and run); no age limit (output.rotate, output.retention; docs/operations.md "Files over weeks")',
  );
});

test('per day: an event monitor from its rate (one row per event), an aggregate one not, saying why', () => {
  const vs = dailyVolume([
    { monitor: 'exec', eventsPerSecond: 5 },
    { monitor: 'exec', eventsPerSecond: null },
    { monitor: 'syscall', eventsPerSecond: 50_000 },
  ]);
  assert.equal(vs[0]!.mbPerDay, (5 * 86_400 * bytesPerEventRow['exec']!) / 2 ** 20);
  assert.deepEqual([vs[1]!.mbPerDay, vs[1]!.why], [null, 'its event rate was not measured']);
  assert.equal(vs[2]!.mbPerDay, null);
  assert.equal(
    renderDailyVolume(vs),
    'disk use per day at the rates measured (before compression):\n' +
      '  exec            about 26.8 MiB/day\n' +
      '  not estimated for exec: its event rate was not measured\n' +
      '  not estimated for syscall: rows are the keys active per interval, not events: see the measured figures in docs/operations.md "Files over weeks"',
  );
});
