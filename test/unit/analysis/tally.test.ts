// The bounded accumulators: a key cap that keeps the biggest keys, and rate buckets of a round size.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Minutes, Span, Tally } from '../../../analysis/tally.js';

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

test('minutes re-bucket to at most 240 points of a round size, empty buckets as 0', () => {
  const m = new Minutes();
  m.add('2026-11-25T00:00:10.000Z', 60);
  m.add('2026-11-25T00:00:50.000Z', 60);
  m.add('2026-11-25T00:05:00.000Z', 30);
  const s = m.series('calls', 'calls/s');
  assert.deepEqual(s?.points.map((p) => [p.t.slice(11, 16), p.total, p.rate]), [
    ['00:00', 120, 2],
    ['00:01', 0, 0],
    ['00:02', 0, 0],
    ['00:03', 0, 0],
    ['00:04', 0, 0],
    ['00:05', 30, 0.5],
  ]);
  const days = new Minutes();
  for (let i = 0; i < 3 * 1440; i++) days.add(new Date(Date.parse('2026-11-20T00:00:00.000Z') + i * 60_000).toISOString(), 1);
  const d = days.series('x', 'x/s');
  assert.equal(d?.bucket_seconds, 1800);
  assert.equal(d?.points.length, 144);
  assert.ok(d?.points.every((p) => p.total === 30));
});

test('span: range and interval from the shortest gap, per file', () => {
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
