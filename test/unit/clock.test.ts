// Kernel time -> ISO 8601: the per-second cache must give exactly what Date#toISOString gives.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isoFormatter, systemClock } from '../../src/rows/clock.js';

test('isoFormatter matches toISOString across seconds, minutes, years and back in time', () => {
  const iso = isoFormatter();
  const starts = [0, 999, 1000, 1_700_000_000_000, 1_735_689_599_999, 1_735_689_600_000, 4_102_444_800_000];
  for (const start of starts) {
    for (const ms of [start, start + 1, start + 7, start + 999, start + 1000, start + 61_001, start - 1]) {
      if (ms < 0) continue;
      assert.equal(iso(ms), new Date(ms).toISOString(), String(ms));
    }
  }
});

test('systemClock.wallTime turns monotonic now into wall-clock now', () => {
  const c = systemClock();
  const diff = Math.abs(Date.parse(c.wallTime(c.monotonicNs())) - Date.now());
  assert.ok(diff < 50, `off by ${diff} ms`);
});
