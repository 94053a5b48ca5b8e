// The bounded accumulators: a key cap that keeps the biggest keys, a bounded timeline with buckets that follow the
// window, and the interval from the gaps between timestamps.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Span, Tally, Timeline, bucketSize, intervalOf } from '../../../analysis/tally.js';

test('a tally over its key cap drops its smallest half and says it is approximate', () => {
  const t = new Tally(1, 10);
  for (let i = 0; i < 25; i++) {
    const a = t.get(`k${i}`);
    a[0] = i < 3 ? 1000 + i : i; // k0..k2 are the big ones, seen first
  }
  assert.ok(t.map.size <= 10);
  assert.equal(t.approximate, true);
  assert.deepEqual(t.top(3).map(([k]) => k), ['k2', 'k1', 'k0']);
  const small = new Tally(1, 10);
  small.get('x');
  assert.equal(small.approximate, false);
});

test('a timeline buckets by the window, anchored at the covered start; a partial last bucket is divided by what it covers', () => {
  const m = new Timeline();
  m.add('2026-11-25T00:00:10.000Z', 60);
  m.add('2026-11-25T00:00:50.000Z', 60);
  m.add('2026-11-25T00:05:00.000Z', 30);
  const covered = { startMs: Date.parse('2026-11-25T00:00:10.000Z'), endMs: Date.parse('2026-11-25T00:05:00.000Z'), intervalMs: null };
  const s = m.series('calls', 'calls/s', covered);
  assert.equal(s?.bucket_seconds, 5, '290 s in at most 120 points');
  assert.equal(s?.points.length, 58);
  assert.deepEqual(s?.points[0], { t: '2026-11-25T00:00:10.000Z', total: 60, seconds: 5, rate: 12 });
  assert.deepEqual(s?.points.at(-1), { t: '2026-11-25T00:04:55.000Z', total: 30, seconds: 5, rate: 6 });
  assert.equal(s?.points.reduce((a, p) => a + p.total, 0), 150);
});

test('a week of 1 s intervals: 2 h buckets, the timeline coarsened to stay bounded, totals exact', () => {
  const start = Date.parse('2026-11-20T00:00:00.000Z');
  const t = new Timeline();
  for (let i = 1; i <= 7 * 86400; i++) t.add(new Date(start + i * 1000).toISOString(), 1);
  assert.ok(t.map.size <= 50_000, `${t.map.size} keys`);
  const s = t.series('x', 'x/s', { startMs: start, endMs: start + 7 * 86_400_000, intervalMs: 1000 });
  assert.equal(s?.bucket_seconds, 7200);
  assert.equal(s?.points.length, 84);
  assert.equal(s?.points.reduce((a, p) => a + p.total, 0), 7 * 86400);
  for (const p of s?.points.slice(1, -1) ?? []) assert.equal(p.rate, 1, p.t);
});

test('bucket sizes: multiples of the interval, round, at most 120 points', () => {
  assert.equal(bucketSize(60_000, 2000), 2000);
  assert.equal(bucketSize(3_600_000, 2000), 30_000);
  assert.equal(bucketSize(3_600_000, 5000), 30_000);
  assert.equal(bucketSize(30_000, 1500), 1500, 'an interval that is not round is its own bucket');
  assert.equal(bucketSize(86_400_000, 2000), 900_000);
  assert.equal(bucketSize(60_000, null), 1000);
});

test('the interval: the shortest gap seen twice, not the final partial one nor the gaps of idle intervals', () => {
  const gaps = (e: [number, number][]): Map<number, number> => new Map(e);
  assert.equal(intervalOf(gaps([[2000, 28], [720, 1]]), gaps([])), 2000);
  assert.equal(intervalOf(gaps([[4000, 10], [6000, 12], [2000, 3]]), gaps([])), 2000, 'a quiet monitor: mostly multiples');
  assert.equal(intervalOf(gaps([[1990, 2], [2000, 40], [2010, 3]]), gaps([])), 2000, 'jitter');
  assert.equal(intervalOf(gaps([]), gaps([[720, 1]])), 720, 'only a last gap: that is all there is');
  assert.equal(intervalOf(gaps([]), gaps([])), null);
});

test('span: range and interval from the gaps, per file', () => {
  const s = new Span();
  for (const t of ['2026-11-25T00:00:02.000Z', '2026-11-25T00:00:02.000Z', '2026-11-25T00:00:04.000Z', '2026-11-25T00:01:04.000Z']) s.add(t);
  s.reset();
  s.add('2026-11-25T00:00:05.000Z'); // another file: its gap to the last file's row is not an interval
  assert.deepEqual(s.range(true), {
    from: '2026-11-25T00:00:02.000Z',
    to: '2026-11-25T00:01:04.000Z',
    span_seconds: 62,
    interval_seconds: 2,
    covered_seconds: 64,
  });
  assert.equal(s.range(false).interval_seconds, null);
});
