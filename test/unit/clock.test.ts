// Kernel time -> ISO 8601: the per-second cache must give exactly what Date#toISOString gives.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isoFormatter, parseTimensOffsets, systemClock } from '../../src/rows/clock.js';

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

/** Time sources a test moves by hand: wall and monotonic ms, and a time namespace's offset. */
function fakeSources(wallMs: number, monoMs: number, namespaceOffsetNs = 0n) {
  const t = { wall: wallMs, mono: monoMs };
  return {
    t,
    advance(ms: number) {
      t.wall += ms;
      t.mono += ms;
    },
    sources: { wallMs: () => t.wall, monotonicNs: () => BigInt(t.mono) * 1_000_000n, namespaceOffsetNs },
  };
}
const ns = (ms: number): bigint => BigInt(ms) * 1_000_000n;

test('systemClock: a wall-clock step either way moves data rows and markers within a second, logged once per step', () => {
  const start = Date.parse('2026-12-07T09:00:00.000Z');
  // Started with the clock 1 h ahead (before NTP), then set right.
  const f = fakeSources(start + 3_600_000, 100_000);
  const steps: number[] = [];
  const c = systemClock({ sources: f.sources, onStep: (s) => steps.push(s) });
  assert.equal(c.wallTime(ns(100_000)), '2026-12-07T10:00:00.000Z');
  f.advance(1000);
  f.t.wall -= 3_600_000;
  f.advance(500);
  // An event 0.3 s after the step, stamped when it is read 0.2 s later.
  assert.equal(c.wallTime(ns(101_300)), '2026-12-07T09:00:01.300Z', 'a data row after the step');
  assert.equal(c.now(), '2026-12-07T09:00:01.500Z', 'a marker row on the same base');
  assert.deepEqual(steps, [-3600]);
  for (let i = 0; i < 10; i++) {
    f.advance(300);
    c.wallTime(ns(f.t.mono));
    c.now();
  }
  assert.deepEqual(steps, [-3600], 'logged once');
  // Forward, by a day.
  f.t.wall += 86_400_000;
  f.advance(250);
  assert.equal(c.wallTime(ns(f.t.mono)), new Date(f.t.wall).toISOString());
  assert.deepEqual(steps, [-3600, 86_400]);
});

test('systemClock: drift (NTP slewing) is followed silently; a kernel ns read soon after the last check costs no clock read', () => {
  const f = fakeSources(1_000_000, 5_000);
  const steps: number[] = [];
  let reads = 0;
  const c = systemClock({ sources: {
      ...f.sources,
      wallMs: () => {
        reads++;
        return f.t.wall;
      },
    }, onStep: (s) => steps.push(s) });
  reads = 0;
  for (let i = 0; i < 100; i++) c.wallTime(ns(5_000 + i));
  assert.equal(reads, 0, 'events within 0.2 s of the last check');
  f.t.wall += 40;
  f.advance(1000);
  assert.equal(c.wallTime(ns(f.t.mono)), new Date(f.t.wall).toISOString());
  assert.deepEqual(steps, []);
});

test('systemClock in a time namespace: kernel ns (bpftrace nsecs) are unshifted, node\'s monotonic clock is shifted', () => {
  // `unshare --time --monotonic 5`: node reads 5 s more than the kernel's bpf_ktime_get_ns.
  const f = fakeSources(Date.parse('2026-12-07T09:00:00.000Z'), 105_000, 5_000_000_000n);
  const c = systemClock({ sources: f.sources });
  assert.equal(c.monotonicNs(), ns(100_000), 'the kernel\'s now: a tick printed now is not late');
  assert.equal(c.wallTime(ns(100_000)), '2026-12-07T09:00:00.000Z', 'an exec now is stamped now');
});

test('parseTimensOffsets: the monotonic line, 0 when absent', () => {
  assert.equal(parseTimensOffsets('monotonic           5         0\nboottime            0         0\n'), 5_000_000_000n);
  assert.equal(parseTimensOffsets('monotonic          -3 250000000\nboottime 0 0\n'), -2_750_000_000n);
  assert.equal(parseTimensOffsets(''), 0n);
});

test('systemClock: events read late (a backlog) recheck once per 0.2 s of their own time, not on every event', () => {
  const f = fakeSources(1_000_000, 5_000);
  let reads = 0;
  const c = systemClock({
    sources: {
      ...f.sources,
      wallMs: () => {
        reads++;
        return f.t.wall;
      },
    },
  });
  f.advance(3000);
  reads = 0;
  // 1,000 events of one second, read 2 s after they happened.
  for (let i = 0; i < 1000; i++) c.wallTime(ns(6_000) + BigInt(i) * 1_000_000n);
  assert.ok(reads <= 6, `${reads} clock reads`);
});
