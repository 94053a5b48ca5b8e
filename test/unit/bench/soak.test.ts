import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  averageCpu, countByMessage, cpuPercent, errorRecords, explainsGap, fileScanner, findGaps, gapInstants, growth, pointsOf, sampleRows, tracerLabels, warmupMinutes,
  type ProcSample, type SoakSample,
} from '../../../scripts/bench/soak-stats.js';

const t0 = Date.parse('2026-11-29T22:00:01.325Z');
const at = (s: number): number => t0 + s * 1000;

test('gaps: regular 2 s ticks have none; one missing tick is a 4 s step, two missing a 6 s step', () => {
  const regular = [0, 2, 4, 6, 8, 9.1].map(at);
  assert.deepEqual(findGaps(regular, [], 2), { intervals: 6, gaps: [], maxStepSeconds: 2, short: 0 });
  const r = findGaps([0, 2, 6, 8, 14, 16].map(at), [], 2);
  assert.equal(r.intervals, 6);
  assert.deepEqual(
    r.gaps.map((g) => [g.seconds, g.missing, g.nearMarker]),
    [
      [4, 1, false],
      [6, 2, false],
    ],
  );
  assert.equal(r.gaps[0]!.fromMs, at(2));
  assert.equal(r.gaps[0]!.toMs, at(6));
  assert.equal(r.maxStepSeconds, 6);
});

test('gaps: a late tick inside the slack is no gap; duplicates and order do not matter; a marker near a gap is noted', () => {
  // 2.9 s is within 1.5 intervals: a late tick, not a missing one.
  assert.equal(findGaps([0, 2.9, 4.9].map(at), [], 2).gaps.length, 0);
  assert.equal(findGaps([4, 0, 2, 2, 4].map(at), [], 2).intervals, 3);
  const near = findGaps([0, 2, 6, 8, 12].map(at), [at(7.5), at(100)], 2);
  // The marker at 7.5 s lies within an interval after the first gap (2 -> 6) and within the second (8 -> 12).
  assert.deepEqual(near.gaps.map((g) => g.nearMarker), [true, true]);
  assert.deepEqual(findGaps([0, 2, 6].map(at), [at(9)], 2).gaps.map((g) => g.nearMarker), [false]);
});

test('gaps: short steps count, except the last one (the final interval ends at the stop)', () => {
  assert.equal(findGaps([0, 2, 2.5, 4, 4.3].map(at), [], 2).short, 1);
  assert.equal(findGaps([at(0)], [], 2).maxStepSeconds, 0);
});

test('gap instants: monitors of one process share a gap; sorted by time', () => {
  const a = findGaps([0, 2, 6, 8].map(at), [], 2);
  const b = findGaps([0, 2, 6, 8, 12].map(at), [at(11)], 2);
  const c = findGaps([0.5, 2.5, 4.5].map(at), [], 2);
  const g = gapInstants(new Map([['syscall', a], ['bio', b], ['open', c]]));
  assert.deepEqual(g, [
    { from: '2026-11-29T22:00:03.325Z', to: '2026-11-29T22:00:07.325Z', seconds: 4, missing: 1, monitors: ['syscall', 'bio'], nearMarker: false },
    { from: '2026-11-29T22:00:09.325Z', to: '2026-11-29T22:00:13.325Z', seconds: 4, missing: 1, monitors: ['bio'], nearMarker: true },
  ]);
});

test('warm-up: minute 10, or a sixth of a shorter run', () => {
  assert.equal(warmupMinutes(60), 10);
  assert.equal(warmupMinutes(120), 10);
  assert.equal(warmupMinutes(6), 1);
  assert.equal(warmupMinutes(20), 20 / 6);
});

test('growth: medians of three samples at each end after warm-up, slope per hour', () => {
  const flat = [100, 180, 100, 101, 99, 100, 100, 101, 100].map((value, i) => ({ minute: i, value }));
  // The 180 is before warm-up (minute 2): not counted.
  const g = growth(flat, 2)!;
  assert.equal(g.start, 100);
  assert.equal(g.end, 100);
  assert.equal(g.percent, 0);
  assert.ok(Math.abs(g.perHour) < 10);
  // A leak of 1 per minute: 60 per hour; one outlier at the end does not move the median.
  const leak = Array.from({ length: 21 }, (_, i) => ({ minute: i, value: 100 + i }));
  leak[20] = { minute: 20, value: 500 };
  const l = growth(leak, 5)!;
  assert.equal(l.start, 106);
  assert.equal(l.end, 119);
  assert.equal(Math.round(l.percent! * 10) / 10, 12.3);
  assert.ok(l.perHour > 60);
  assert.equal(growth([{ minute: 0, value: 1 }], 0), null);
  assert.equal(growth([0, 0, 0, 5].map((value, minute) => ({ minute, value })), 0)!.percent, null);
});

const proc = (label: string, pid: number, rssMb: number, fds: number, cpuSeconds: number): ProcSample => ({
  label, pid, rssKb: rssMb * 1024, anonKb: rssMb * 512, fileKb: rssMb * 512, fds, cpuSeconds,
});
const sample = (minute: number, procs: ProcSample[], rotatedFiles = 0): SoakSample => ({ minute, procs, rotatedFiles, files: rotatedFiles + 2, dirBytes: 2 ** 20 * rotatedFiles, rotations: rotatedFiles });

const samples = [
  sample(0, [proc('supervisor', 10, 80, 30, 1), proc('main', 11, 13, 200, 0.5)]),
  sample(0.5, [proc('supervisor', 10, 100, 30, 2.5), proc('main', 11, 13, 200, 1.1), proc('paths', 12, 12, 87, 0.3)], 3),
  // main restarted: a new pid, its CPU seconds start again.
  sample(1, [proc('supervisor', 10, 101, 31, 4), proc('main', 13, 13, 200, 0.1), proc('paths', 12, 12, 87, 0.6)], 5),
];

const r3 = (x: number | null): number | null => (x === null ? null : Math.round(x * 1000) / 1000);

test('CPU %: seconds between samples over the wall time; none across a restart or for a process not in both', () => {
  assert.equal(r3(cpuPercent(samples[0], samples[1]!, 'supervisor')), 5);
  assert.equal(r3(cpuPercent(samples[0], samples[1]!, 'main')), 2);
  assert.equal(cpuPercent(samples[1], samples[2]!, 'main'), null);
  assert.equal(cpuPercent(samples[0], samples[1]!, 'paths'), null);
  assert.equal(cpuPercent(undefined, samples[0]!, 'supervisor'), null);
  assert.equal(r3(averageCpu(samples, 'supervisor')), 5);
  // Over the first pid's samples only.
  assert.equal(r3(averageCpu(samples, 'main')), 2);
  assert.equal(averageCpu(samples, 'nobody'), null);
});

test('sample table: a row per sample, a group of columns per bpftrace process in first-seen order', () => {
  assert.deepEqual(tracerLabels(samples), ['main', 'paths']);
  const t = sampleRows(samples);
  assert.deepEqual(t.columns, [
    'minute', 'supervisor RSS MB', 'anon MB', 'fds', 'CPU %', 'main RSS MB', 'main fds', 'main CPU %', 'paths RSS MB', 'paths fds', 'paths CPU %', 'rotations', '.gz files', 'dir MB',
  ]);
  assert.deepEqual(t.rows[0], [0, 80, 40, 30, null, 13, 200, null, null, null, null, 0, 0, 0]);
  assert.deepEqual(t.rows[1], [0.5, 100, 50, 30, 5, 13, 200, 2, 12, 87, null, 3, 3, 3]);
  assert.deepEqual(t.rows[2], [1, 101, 50.5, 31, 5, 13, 200, null, 12, 87, 1, 5, 5, 5]);
  assert.deepEqual(pointsOf(samples, 'paths', 'fds'), [
    { minute: 0.5, value: 87 },
    { minute: 1, value: 87 },
  ]);
});

const header = 'timestamp,pid,comm,syscall_nr,syscall,category,count,error_count,error_rate,avg_latency_us,max_latency_us,cgroup,note'.split(',');

test('file scan: header first, then data rows and marker rows by their note, each timestamp once', () => {
  const s = fileScanner('syscall');
  s.record(header);
  s.record('2026-11-29T22:05:51.002Z,1,a,0,read,file,5,0,0,,,,'.split(','));
  s.record('2026-11-29T22:05:51.002Z,2,b,0,read,file,5,0,0,,,,'.split(','));
  s.record('2026-11-29T22:05:53.002Z,1,a,0,read,file,5,0,0,,,,'.split(','));
  s.record(['2026-11-29T22:05:53.014Z', '', '', '', '', '', '', '', '', '', '', '', 'bpftrace restarted']);
  s.record(['2026-11-29T22:05:55.010Z', '', '', '', '', '', '', '', '', '', '', '', 'coverage below 0.97: 0.95 of the kernel\'s count']);
  s.record(['2026-11-29T22:05:55.010Z', '', '', '', '', '', '', '', '', '', '', '', 'incomplete: @syscall_count held 4096 keys']);
  s.record('garbage,1,a,0,read,file,5,0,0,,,,'.split(','));
  const r = s.result();
  assert.equal(r.header.ok, true);
  assert.deepEqual([...r.data], [Date.parse('2026-11-29T22:05:51.002Z'), Date.parse('2026-11-29T22:05:53.002Z')]);
  // Coverage and full-map notes are about counts: kept apart, no excuse for a gap.
  assert.deepEqual([...r.markers], [Date.parse('2026-11-29T22:05:53.014Z')]);
  assert.equal(r.countMarkers, 2);
  assert.equal(r.bad, 1);
});

test('file scan: a file that does not start with its header (or holds another monitor\'s) fails, and its rows are not counted', () => {
  const s = fileScanner('syscall');
  s.record('2026-11-29T22:05:51.002Z,1,a,0,read,file,5,0,0,,,,'.split(','));
  s.record('2026-11-29T22:05:53.002Z,1,a,0,read,file,5,0,0,,,,'.split(','));
  const r = s.result();
  assert.equal(r.header.ok, false);
  assert.equal(r.data.size, 0);
  const other = fileScanner('bio');
  other.record(header);
  assert.match((other.result().header as { reason: string }).reason, /syscall/);
  assert.equal(fileScanner('open').result().header.ok, false);
});

test('markers that excuse a gap: restarts, stalls, reloads, lost rows; not coverage or full-map notes', () => {
  assert.equal(explainsGap('bpftrace restarted: counts of 2.0 s lost'), true);
  assert.equal(explainsGap("bpftrace stalled: this interval's rows cover 6.0 s"), true);
  assert.equal(explainsGap('configuration reloaded: events from ... were not counted'), true);
  assert.equal(explainsGap('coverage below 0.97: 0.9536 of the kernel\'s count (interrupts) over the last 10 intervals'), false);
  assert.equal(explainsGap('incomplete: @open_count held 4096 keys'), false);
});

test('log: error and fatal lines; warnings grouped by message with figures blanked', () => {
  const logs = [
    { level: 30, msg: 'monitors attached' },
    { level: 40, msg: 'exec: 3 records lost on CPU 0' },
    { level: 40, msg: 'exec: 6 records lost on CPU 1' },
    { level: 50, msg: 'output file write failed' },
    { level: 60, msg: 'fatal' },
    { msg: 'no level' },
  ];
  assert.deepEqual(errorRecords(logs).map((l) => l.msg), ['output file write failed', 'fatal']);
  assert.deepEqual(countByMessage(logs), [
    { msg: 'exec: N records lost on CPU N', level: 40, count: 2 },
    { msg: 'fatal', level: 60, count: 1 },
    { msg: 'output file write failed', level: 50, count: 1 },
  ]);
});
