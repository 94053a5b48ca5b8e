// Long timers: a delay above Node's 2^31-1 ms limit is waited in chunks, never fired early. Fake timers, no waiting.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { maxTimerMs, setLongTimeout, type TimerApi } from '../../src/timers.js';

/** Timers that only record what was asked; `fire()` runs the pending one, as if its delay had passed. */
function fakeTimers(): TimerApi & { delays: number[]; pending: number; fire(): void; cleared: number } {
  let id = 0;
  const live = new Map<number, () => void>();
  const f = {
    delays: [] as number[],
    cleared: 0,
    get pending() {
      return live.size;
    },
    set(fn: () => void, ms: number) {
      assert.ok(ms >= 0 && ms <= maxTimerMs, `a Node timer cannot wait ${ms} ms`);
      f.delays.push(ms);
      live.set(++id, fn);
      return id;
    },
    clear(h: unknown) {
      if (live.delete(h as number)) f.cleared++;
    },
    fire() {
      const [first] = live.entries();
      assert.ok(first, 'no timer pending');
      live.delete(first[0]);
      first[1]();
    },
  };
  return f;
}

const day = 86_400_000;

test('30 days is waited as a full 2^31-1 ms chunk and the rest, and fires only after the last', () => {
  const t = fakeTimers();
  let fired = 0;
  setLongTimeout(() => fired++, 30 * day, { timers: t });
  assert.deepEqual(t.delays, [maxTimerMs]);
  t.fire();
  assert.equal(fired, 0, 'not after the first 24.8 days');
  assert.deepEqual(t.delays, [maxTimerMs, 30 * day - maxTimerMs]);
  t.fire();
  assert.equal(fired, 1);
  assert.equal(t.pending, 0);
  assert.equal(t.delays.reduce((a, b) => a + b, 0), 30 * day, 'the chunks add up to the delay');
});

test('90 days takes four chunks; a delay within the limit takes one', () => {
  const t = fakeTimers();
  let fired = 0;
  setLongTimeout(() => fired++, 90 * day, { timers: t });
  while (t.pending) t.fire();
  assert.equal(fired, 1);
  assert.equal(t.delays.length, 4);
  assert.ok(t.delays.slice(0, 3).every((d) => d === maxTimerMs));
  assert.equal(t.delays.reduce((a, b) => a + b, 0), 90 * day);

  const short = fakeTimers();
  setLongTimeout(() => fired++, 60_000, { timers: short });
  assert.deepEqual(short.delays, [60_000]);
  short.fire();
  assert.equal(fired, 2);

  const exact = fakeTimers();
  setLongTimeout(() => fired++, maxTimerMs, { timers: exact });
  exact.fire();
  assert.equal(fired, 3);
  assert.deepEqual(exact.delays, [maxTimerMs]);
});

test('clear() cancels the chain wherever it is, and is safe to repeat', () => {
  const t = fakeTimers();
  let fired = 0;
  const h = setLongTimeout(() => fired++, 60 * day, { timers: t });
  t.fire();
  h.clear();
  h.clear();
  assert.equal(t.pending, 0);
  assert.equal(t.cleared, 1);
  assert.equal(fired, 0);
});

test('a 0 ms delay still waits for a timer (never synchronous); Infinity never fires; a negative or NaN delay is refused', () => {
  const t = fakeTimers();
  let fired = 0;
  setLongTimeout(() => fired++, 0, { timers: t });
  assert.equal(fired, 0);
  t.fire();
  assert.equal(fired, 1);
  const inf = fakeTimers();
  setLongTimeout(() => fired++, Infinity, { timers: inf }).clear();
  assert.equal(inf.pending, 0);
  assert.throws(() => setLongTimeout(() => undefined, -1, { timers: t }), RangeError);
  assert.throws(() => setLongTimeout(() => undefined, NaN, { timers: t }), RangeError);
});

test('small chunks work the same (maxChunkMs), and real Node timers fire', async () => {
  const t = fakeTimers();
  let fired = 0;
  setLongTimeout(() => fired++, 10, { timers: t, maxChunkMs: 3 });
  while (t.pending) t.fire();
  assert.deepEqual(t.delays, [3, 3, 3, 1]);
  assert.equal(fired, 1);
  await new Promise<void>((resolve) => setLongTimeout(resolve, 5, { maxChunkMs: 2 }));
});
