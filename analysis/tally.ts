// Bounded accumulators: keyed sums with a memory cap, minute buckets for rates, and the time range seen.
import type { Series, TimeRange } from './model.js';

/**
 * A copy of `s` that does not point into the 1 MB chunk it was cut from. V8 keeps substrings as slices of
 * their parent, so a map key taken straight from a row would keep its whole read chunk alive.
 */
export const detach = (s: string): string => Buffer.from(s, 'utf8').toString('utf8');

/** Keys beyond this many per table make the table prune its smallest half (and become approximate). */
export const defaultKeyCap = 100_000;

/**
 * Sums per key, `width` numbers per key (index 0 is the ranking value). Bounded: when the cap is reached the
 * smaller half of the keys is dropped, so a table of, say, a million distinct file names cannot exhaust memory.
 */
export class Tally {
  readonly map = new Map<string, Float64Array>();
  pruned = 0;

  constructor(
    readonly width: number,
    readonly cap: number = defaultKeyCap,
    /** Sets a new key's starting values, e.g. -Infinity in a column holding a maximum. */
    readonly init?: (a: Float64Array) => void,
  ) {}

  get(key: string): Float64Array {
    let a = this.map.get(key);
    if (a === undefined) {
      if (this.map.size >= this.cap) this.prune();
      a = new Float64Array(this.width);
      this.init?.(a);
      this.map.set(detach(key), a);
    }
    return a;
  }

  private prune(): void {
    const entries = [...this.map.entries()].sort((x, y) => (y[1][0] ?? 0) - (x[1][0] ?? 0));
    const keep = Math.floor(this.cap / 2);
    this.pruned += entries.length - keep;
    this.map.clear();
    for (const [k, v] of entries.slice(0, keep)) this.map.set(k, v);
  }

  get approximate(): boolean {
    return this.pruned > 0;
  }

  /** Keys ordered by `index` descending (ties by key), at most `n` (all when n is Infinity). */
  top(n: number, index = 0): [string, Float64Array][] {
    const all = [...this.map.entries()];
    all.sort((x, y) => (y[1][index] ?? 0) - (x[1][index] ?? 0) || (x[0] < y[0] ? -1 : x[0] > y[0] ? 1 : 0));
    return Number.isFinite(n) ? all.slice(0, n) : all;
  }
}

/** Per-minute sums keyed by the timestamp's first 16 characters (YYYY-MM-DDTHH:MM): no date parsing per row. */
export class Minutes {
  readonly map = new Map<string, number>();
  private key = '\u0000';
  private sum = 0;

  add(timestamp: string, v: number): void {
    if (timestamp.startsWith(this.key)) {
      this.sum += v;
      return;
    }
    this.commit();
    this.key = detach(timestamp.slice(0, 16));
    this.sum = v;
  }

  private commit(): void {
    if (this.key !== '\u0000') this.map.set(this.key, (this.map.get(this.key) ?? 0) + this.sum);
    this.sum = 0;
  }

  /** Re-bucketed to at most `maxPoints` buckets of a round size, empty buckets filled with 0. */
  series(label: string, unit: string, maxPoints = 240): Series | null {
    this.commit();
    this.key = '\u0000';
    if (!this.map.size) return null;
    const minutes = [...this.map.entries()].map(([k, v]) => [Date.parse(`${k}:00.000Z`), v] as const).filter(([t]) => Number.isFinite(t));
    if (!minutes.length) return null;
    let first = Infinity;
    let last = -Infinity;
    for (const [t] of minutes) {
      if (t < first) first = t;
      if (t > last) last = t;
    }
    const sizes = [60, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200, 86400, 604800];
    const span = last - first + 60_000;
    const bucket = sizes.find((s) => span / (s * 1000) <= maxPoints) ?? 604800;
    const ms = bucket * 1000;
    const start = Math.floor(first / ms) * ms;
    const n = Math.floor((last - start) / ms) + 1;
    const totals = new Array<number>(n).fill(0);
    for (const [t, v] of minutes) {
      const i = Math.floor((t - start) / ms);
      totals[i] = (totals[i] ?? 0) + v;
    }
    return {
      label,
      unit,
      bucket_seconds: bucket,
      points: totals.map((total, i) => ({ t: new Date(start + i * ms).toISOString(), total, rate: round(total / bucket, 6) })),
    };
  }
}

/** Timestamps parsed per file to find the interval: it is the same all along, so a sample is enough. */
const gapSample = 5000;

/**
 * First and last timestamp (compared as text: ISO 8601 UTC sorts like time), and the shortest gap between
 * successive distinct timestamps, the monitor's interval. min and max keep a row's string as it is: at most
 * two read chunks per monitor stay alive for it, which is bounded.
 */
export class Span {
  private min: string | null = null;
  private max: string | null = null;
  private prev = '';
  private prevMs = NaN;
  private sampled = 0;
  private minGapMs = Infinity;

  add(ts: string): void {
    if (ts === this.prev) return;
    if (this.min === null || ts < this.min) this.min = ts;
    if (this.max === null || ts > this.max) this.max = ts;
    if (this.sampled < gapSample) {
      this.sampled++;
      const ms = Date.parse(ts);
      const gap = Math.abs(ms - this.prevMs);
      if (gap > 0 && gap < this.minGapMs) this.minGapMs = gap;
      this.prevMs = ms;
    }
    this.prev = ts;
  }

  /** A new file starts: its first timestamp must not be compared with the previous file's last. */
  reset(): void {
    this.prev = '';
    this.prevMs = NaN;
    this.sampled = 0;
  }

  range(aggregate: boolean): TimeRange {
    const from = this.min === null ? NaN : Date.parse(this.min);
    const to = this.max === null ? NaN : Date.parse(this.max);
    const seen = Number.isFinite(from) && Number.isFinite(to);
    const span = seen ? (to - from) / 1000 : 0;
    const interval = aggregate && Number.isFinite(this.minGapMs) ? this.minGapMs / 1000 : null;
    return {
      from: seen ? new Date(from).toISOString() : null,
      to: seen ? new Date(to).toISOString() : null,
      span_seconds: round(span, 3),
      interval_seconds: interval,
      covered_seconds: round(span + (interval ?? 0), 3),
    };
  }
}

export function round(v: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(v * f) / f;
}

/** a / b rounded to 6 digits, or null when b is 0. */
export const ratio = (a: number, b: number): number | null => (b > 0 ? round(a / b, 6) : null);

/** A max column that never saw a value is null. */
export const finiteOrNull = (v: number | undefined): number | null => (v === undefined || !Number.isFinite(v) ? null : v);
