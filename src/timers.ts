// Timers longer than Node allows. setTimeout takes at most 2^31-1 ms (about 24.8 days): above that it warns
// and fires after 1 ms, so `--duration 2592000` (30 days) would stop at once. A long delay is waited in chunks.

/**
 * Milliseconds on CLOCK_MONOTONIC, the clock of bpftrace's ticks (bpf_ktime_get_ns) and of Node's timers: for how
 * long and since when, never for a date. The wall clock steps (NTP, `date -s`, a resumed VM): a step must not
 * make a stall, a CPU rate or a timeout out of nothing.
 */
export const monotonicMs = (): number => Number(process.hrtime.bigint() / 1000n) / 1000;

/** The longest delay one Node timer can wait. */
export const maxTimerMs = 2 ** 31 - 1;

/** How the chain sets and clears its timers: Node's by default, fakes in tests. */
export interface TimerApi {
  set(fn: () => void, ms: number): unknown;
  clear(handle: unknown): void;
}

export interface LongTimeout {
  /** Cancels the timer; calling it again, or after it fired, does nothing. */
  clear(): void;
}

export interface LongTimeoutOptions {
  /** Like Timeout.unref(): the timer alone does not keep the process alive. */
  unref?: boolean;
  timers?: TimerApi;
  /** The largest chunk (tests make it small); at most maxTimerMs. */
  maxChunkMs?: number;
}

/** Node's own timers; `unref`: they alone do not keep the process alive. */
export const nodeTimers = (unref: boolean): TimerApi => ({
  set(fn, ms) {
    const t = setTimeout(fn, ms);
    if (unref) t.unref();
    return t;
  },
  clear: (h) => clearTimeout(h as NodeJS.Timeout),
});

/**
 * Calls `fn` once after `ms` milliseconds, for any finite `ms >= 0`; an infinite one never fires. The delay is
 * waited in chunks of at most `maxChunkMs`, so it may exceed Node's 24.8-day limit.
 */
export function setLongTimeout(fn: () => void, ms: number, opts: LongTimeoutOptions = {}): LongTimeout {
  if (!(ms >= 0)) throw new RangeError(`setLongTimeout: expected a delay >= 0 ms, got ${ms}`);
  const timers = opts.timers ?? nodeTimers(opts.unref ?? false);
  const chunk = Math.max(1, Math.min(opts.maxChunkMs ?? maxTimerMs, maxTimerMs));
  let handle: unknown = null;
  let done = false;
  if (ms === Infinity) return { clear: () => undefined };
  let left = ms;
  // Each timer waits one chunk; the last one calls fn. Even a 0 ms delay sets a timer: fn never runs synchronously.
  const next = (): void => {
    const wait = Math.min(left, chunk);
    left -= wait;
    handle = timers.set(() => {
      if (done) return;
      if (left > 0) return next();
      done = true;
      handle = null;
      fn();
    }, wait);
  };
  next();
  return {
    clear() {
      if (done) return;
      done = true;
      if (handle !== null) timers.clear(handle);
      handle = null;
    },
  };
}
