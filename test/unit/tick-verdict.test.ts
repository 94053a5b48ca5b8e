// The router's tick decision as a table: late ticks merge into a stall, the on-time one after them ends it,
// an on-time tick far after the one before follows skipped timer runs, anything else is one interval.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { classifyTick, incompleteDetail, spanNote, stallAfter, type Stall, type TickVerdict } from '../../src/records/router.js';

const s = (x: number): bigint => BigInt(Math.round(x * 1e9));

test('classifyTick: late, stalled, skipped, on time', () => {
  type At = { ns: number; now: number; last: number | null; stall: Stall | null; held?: { keys: number; max: number } };
  const cases: [string, At, TickVerdict][] = [
    ['first tick, read at once: one interval', { ns: 10, now: 10.1, last: null, stall: null }, { kind: 'on-time', seconds: 2 }],
    ['next tick, 2 s later', { ns: 12, now: 12.05, last: 10, stall: null }, { kind: 'on-time', seconds: 2 }],
    ['read 2.9 s late: still on time (interval + 1 s slack)', { ns: 12, now: 14.9, last: 10, stall: null }, { kind: 'on-time', seconds: 2 }],
    ['read 3.1 s late: late', { ns: 12, now: 15.1, last: 10, stall: null }, { kind: 'late' }],
    ['on time after a stall from 10 s', { ns: 20, now: 20.1, last: 18, stall: { fromNs: s(10), ticks: 4 } }, { kind: 'stalled', fromNs: s(10), seconds: 10, intervals: 5 }],
    ['on time after a stall that began at the first tick', { ns: 20, now: 20.1, last: 18, stall: { fromNs: null, ticks: 1 } }, { kind: 'stalled', fromNs: null, seconds: 2, intervals: 2 }],
    ['on time, 6 s after the tick before: 2 skipped', { ns: 16, now: 16.1, last: 10, stall: null }, { kind: 'skipped', fromNs: s(10), seconds: 6, skipped: 2 }],
    ['3.1 s after the tick before: 1 skipped (over 1.5 intervals)', { ns: 13.1, now: 13.2, last: 10, stall: null }, { kind: 'skipped', fromNs: s(10), seconds: 3.1, skipped: 1 }],
    ['2.9 s after: jitter, one interval', { ns: 12.9, now: 13, last: 10, stall: null }, { kind: 'on-time', seconds: 2.9 }],
    // A stall holding many keys is written at a late tick: memory stays bounded however long it lasts.
    ['late, the stall holds fewer keys than the bound: merged', { ns: 18, now: 22, last: 16, stall: { fromNs: s(10), ticks: 3 }, held: { keys: 999, max: 1000 } }, { kind: 'late' }],
    [
      'late, the stall holds the bound: written, and it goes on',
      { ns: 18, now: 22, last: 16, stall: { fromNs: s(10), ticks: 3 }, held: { keys: 1000, max: 1000 } },
      { kind: 'stalled', fromNs: s(10), seconds: 8, intervals: 4, goesOn: true },
    ],
    [
      'the first late tick over the bound: one interval',
      { ns: 12, now: 15.1, last: 10, stall: null, held: { keys: 5000, max: 1000 } },
      { kind: 'stalled', fromNs: s(10), seconds: 2, intervals: 1, goesOn: true },
    ],
    ['on time after a stall, over the bound: the stall ends as before', { ns: 20, now: 20.1, last: 18, stall: { fromNs: s(10), ticks: 4 }, held: { keys: 5000, max: 1000 } }, { kind: 'stalled', fromNs: s(10), seconds: 10, intervals: 5 }],
  ];
  for (const [name, c, want] of cases) {
    const got = classifyTick(s(c.ns), { nowNs: s(c.now), interval: 2, lastTickNs: c.last === null ? null : s(c.last), stall: c.stall, ...(c.held ? { held: c.held } : {}) });
    if ('seconds' in got && 'seconds' in want) assert.ok(Math.abs(got.seconds - want.seconds) < 1e-6, `${name}: ${got.seconds} s`);
    assert.deepEqual({ ...got, ...('seconds' in want ? { seconds: want.seconds } : {}) }, want, name);
  }
});

test('stallAfter: a late tick opens a stall from the tick before, or lengthens the open one; any other tick ends it', () => {
  const onTime: TickVerdict = { kind: 'on-time', seconds: 2 };
  const late: TickVerdict = { kind: 'late' };
  const cases: [string, TickVerdict, Stall | null, number | null, Stall | null][] = [
    ['late, no stall yet: opens at the tick before', late, null, 10, { fromNs: s(10), ticks: 1 }],
    ['late, the first tick of the run: opens from the start', late, null, null, { fromNs: null, ticks: 1 }],
    ['late again: same start, one tick more', late, { fromNs: s(10), ticks: 3 }, 16, { fromNs: s(10), ticks: 4 }],
    ['the on-time tick after a stall ends it', { kind: 'stalled', fromNs: s(10), seconds: 10, intervals: 5 }, { fromNs: s(10), ticks: 4 }, 18, null],
    ['on time, no stall: none', onTime, null, 10, null],
    ['a stall written at a late tick: the next late tick opens another from it', { kind: 'stalled', fromNs: s(10), seconds: 8, intervals: 4, goesOn: true }, { fromNs: s(10), ticks: 3 }, 16, null],
    ['skipped ticks are no stall', { kind: 'skipped', fromNs: s(10), seconds: 6, skipped: 2 }, null, 10, null],
  ];
  for (const [name, v, stall, last, want] of cases) assert.deepEqual(stallAfter(v, stall, last === null ? null : s(last)), want, name);
});

test('spanNote: stalled and skipped intervals are marked with their span; one interval is not', () => {
  const wall = (ns: bigint): string => `t${Number(ns) / 1e9}`;
  const cases: [string, TickVerdict, ReturnType<typeof spanNote>][] = [
    ['on time', { kind: 'on-time', seconds: 2 }, null],
    ['late (merged into the stall, marked when it ends)', { kind: 'late' }, null],
    [
      'stalled from a tick',
      { kind: 'stalled', fromNs: s(10), seconds: 10, intervals: 5 },
      { level: 'warn', text: "bpftrace stalled: this interval's rows cover 10.0 s from t10 (5 intervals), not 2 s; counts are totals for that span" },
    ],
    [
      'stalled from the start',
      { kind: 'stalled', fromNs: null, seconds: 2, intervals: 2 },
      { level: 'warn', text: "bpftrace stalled: this interval's rows cover 2.0 s (2 intervals), not 2 s; counts are totals for that span" },
    ],
    [
      'a stall that goes on, written at a late tick',
      { kind: 'stalled', fromNs: s(10), seconds: 2, intervals: 1, goesOn: true },
      {
        level: 'warn',
        text: "bpftrace is stalled (its ticks arrive late): this interval's rows cover 2.0 s from t10 (1 interval), not 2 s, written at a late tick so that the stall's keys do not pile up in memory; counts are totals for that span, up to the tick's arrival",
      },
    ],
    [
      'one tick skipped',
      { kind: 'skipped', fromNs: s(10), seconds: 4, skipped: 1 },
      { level: 'info', text: "the kernel skipped 1 tick of the interval timer: this interval's rows cover 4.0 s from t10, not 2 s; counts are totals for that span" },
    ],
    [
      'two ticks skipped',
      { kind: 'skipped', fromNs: s(10), seconds: 6, skipped: 2 },
      { level: 'info', text: "the kernel skipped 2 ticks of the interval timer: this interval's rows cover 6.0 s from t10, not 2 s; counts are totals for that span" },
    ],
  ];
  for (const [name, v, want] of cases) assert.deepEqual(spanNote(v, 2, wall), want, name);
});

test('incompleteDetail: full maps and dropped updates by cause, each or together; null when complete', () => {
  const none = { full: 0, race: 0 };
  const cases: [string, string[], { full: number; race: number }, string | null][] = [
    ['complete', [], none, null],
    ['one map full', ['@x_count'], none, '@x_count held 100 keys, as many as a kernel map can; updates beyond were dropped in the kernel'],
    ['one update dropped, map full', [], { full: 1, race: 0 }, '1 update was dropped in the kernel (map full)'],
    ['one count lost to the race', [], { full: 0, race: 1 }, "1 update was lost in the kernel (a key created on two CPUs at once: bpftrace's count() race, issue 4068)"],
    [
      'two maps full, 3 dropped, 2 races',
      ['@x_count', '@x_bytes'],
      { full: 3, race: 2 },
      "@x_count, @x_bytes held 100 keys, as many as a kernel map can; 3 updates were dropped in the kernel (map full); 2 updates were lost in the kernel (a key created on two CPUs at once: bpftrace's count() race, issue 4068)",
    ],
  ];
  for (const [name, full, dropped, want] of cases) assert.equal(incompleteDetail(full, dropped, 100), want, name);
});
