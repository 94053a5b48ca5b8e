// The router's tick decision as a table: late ticks merge into a stall, the on-time one after them ends it,
// an on-time tick far after the one before follows skipped timer runs, anything else is one interval.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { classifyTick, type Stall, type TickVerdict } from '../../src/records/router.js';

const s = (x: number): bigint => BigInt(Math.round(x * 1e9));

test('classifyTick: late, stalled, skipped, on time', () => {
  const cases: [string, { ns: number; now: number; last: number | null; stall: Stall | null }, TickVerdict][] = [
    ['first tick, read at once: one interval', { ns: 10, now: 10.1, last: null, stall: null }, { kind: 'on-time', seconds: 2 }],
    ['next tick, 2 s later', { ns: 12, now: 12.05, last: 10, stall: null }, { kind: 'on-time', seconds: 2 }],
    ['read 2.9 s late: still on time (interval + 1 s slack)', { ns: 12, now: 14.9, last: 10, stall: null }, { kind: 'on-time', seconds: 2 }],
    ['read 3.1 s late: late', { ns: 12, now: 15.1, last: 10, stall: null }, { kind: 'late' }],
    ['on time after a stall from 10 s', { ns: 20, now: 20.1, last: 18, stall: { fromNs: s(10), ticks: 4 } }, { kind: 'stalled', fromNs: s(10), seconds: 10, intervals: 5 }],
    ['on time after a stall that began at the first tick', { ns: 20, now: 20.1, last: 18, stall: { fromNs: null, ticks: 1 } }, { kind: 'stalled', fromNs: null, seconds: 2, intervals: 2 }],
    ['on time, 6 s after the tick before: 2 skipped', { ns: 16, now: 16.1, last: 10, stall: null }, { kind: 'skipped', fromNs: s(10), seconds: 6, skipped: 2 }],
    ['3.1 s after the tick before: 1 skipped (over 1.5 intervals)', { ns: 13.1, now: 13.2, last: 10, stall: null }, { kind: 'skipped', fromNs: s(10), seconds: 3.1, skipped: 1 }],
    ['2.9 s after: jitter, one interval', { ns: 12.9, now: 13, last: 10, stall: null }, { kind: 'on-time', seconds: 2.9 }],
  ];
  for (const [name, c, want] of cases) {
    const got = classifyTick(s(c.ns), { nowNs: s(c.now), interval: 2, lastTickNs: c.last === null ? null : s(c.last), stall: c.stall });
    if ('seconds' in got && 'seconds' in want) assert.ok(Math.abs(got.seconds - want.seconds) < 1e-6, `${name}: ${got.seconds} s`);
    assert.deepEqual({ ...got, ...('seconds' in want ? { seconds: want.seconds } : {}) }, want, name);
  }
});
