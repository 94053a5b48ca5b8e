// Bounded accumulators: keyed sums with a memory cap, a timeline of sums for rates, and the time range seen.
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

/** Sum keys coarsen through these resolutions (ms) as a timeline grows; every bucket size below is a multiple of its. */
const resolutions = [1, 1000, 10_000, 60_000, 300_000, 3_600_000] as const;
/** Distinct keys a timeline holds before it coarsens: a week of 2 s intervals fits at 10 s. */
const timelineCap = 50_000;
/** Chart bucket sizes (ms), smallest first: round for people, and never below the monitor's interval. */
const bucketSizes = [100, 200, 500, 1000, 2000, 5000, 10_000, 15_000, 30_000, 60_000, 120_000, 300_000, 600_000, 900_000, 1_800_000, 3_600_000, 7_200_000, 10_800_000, 21_600_000, 43_200_000, 86_400_000, 604_800_000];
/** At most this many points per chart. */
export const maxPoints = 120;

/** The time the rows of a section cover, in ms: what every rate of the section is divided by. */
export interface Covered {
  startMs: number;
  endMs: number;
  /** The monitor's interval (aggregate rows are stamped at their interval's end), or null for an event monitor. */
  intervalMs: number | null;
}

/** From a section's range: the first row's interval start (first - interval) to the last row's time. */
export function coveredOf(range: TimeRange): Covered | null {
  if (range.to === null || !(range.covered_seconds > 0)) return null;
  const endMs = Date.parse(range.to);
  return { startMs: endMs - Math.round(range.covered_seconds * 1000), endMs, intervalMs: range.interval_seconds === null ? null : Math.round(range.interval_seconds * 1000) };
}

/** The bucket size for a window: the smallest round size (a multiple of the interval, of at least it) giving at most maxPoints buckets. */
export function bucketSize(windowMs: number, intervalMs: number | null, resolutionMs = 1): number {
  const iv = intervalMs ?? 0;
  // Events are charted in buckets of a second at least.
  const fits = (ms: number): boolean => ms >= (intervalMs ?? 1000) && ms % resolutionMs === 0;
  // Multiples of the interval, so every bucket holds whole intervals; the interval itself when it is not round.
  const aligned = [...(iv > 0 ? [iv] : []), ...bucketSizes.filter((ms) => iv === 0 || ms % iv === 0)].filter(fits);
  const any = bucketSizes.filter(fits);
  for (const list of [aligned, any]) {
    const found = list.find((ms) => Math.ceil(windowMs / ms) <= maxPoints);
    if (found !== undefined) return found;
  }
  return Math.max(bucketSizes[bucketSizes.length - 1] ?? 0, resolutionMs);
}

/**
 * Sums over time, keyed by the row's time at a resolution that starts at the millisecond and coarsens (1 s, 10 s,
 * 1 min, 5 min, 1 h) when more than timelineCap keys are held, so memory stays bounded. Rows of one interval share a
 * timestamp and events of one second a prefix: a timestamp is parsed once per change.
 */
export class Timeline {
  readonly map = new Map<number, number>();
  private level = 0;
  private ts = '';
  private key = NaN;
  private sum = 0;

  get resolutionMs(): number {
    return resolutions[this.level] ?? 1;
  }

  add(timestamp: string, v: number): void {
    if (timestamp === this.ts) {
      this.sum += v;
      return;
    }
    const ms = Date.parse(timestamp);
    const res = this.resolutionMs;
    const key = Math.floor(ms / res) * res;
    this.ts = detach(timestamp);
    if (key === this.key) {
      this.sum += v;
      return;
    }
    this.commit();
    this.key = key;
    this.sum = v;
  }

  private commit(): void {
    if (Number.isFinite(this.key)) this.map.set(this.key, (this.map.get(this.key) ?? 0) + this.sum);
    this.sum = 0;
    this.key = NaN;
    while (this.map.size > timelineCap && this.level < resolutions.length - 1) this.coarsen();
  }

  private coarsen(): void {
    this.level++;
    const res = this.resolutionMs;
    const old = [...this.map.entries()];
    this.map.clear();
    for (const [k, v] of old) {
      const key = Math.floor(k / res) * res;
      this.map.set(key, (this.map.get(key) ?? 0) + v);
    }
    this.ts = '';
  }

  /**
   * Buckets over the covered time, anchored at its start (so buckets of whole intervals hold whole intervals),
   * empty ones 0. A row stamped at its interval's end counts in the bucket holding its interval's middle. Each
   * point's rate is its total over the seconds of the bucket the rows cover: a partial first or last bucket is not
   * divided by the bucket's nominal size.
   */
  series(label: string, unit: string, covered: Covered | null): Series | null {
    this.commit();
    this.ts = '';
    if (!this.map.size || covered === null || !(covered.endMs > covered.startMs)) return null;
    const { startMs, endMs } = covered;
    const res = this.resolutionMs;
    const size = bucketSize(endMs - startMs, covered.intervalMs, res);
    const n = Math.max(1, Math.ceil((endMs - startMs) / size));
    const totals = new Array<number>(n).fill(0);
    // Rows stamped at their interval's end count at the interval's middle: the interval starts an interval earlier,
    // or at the previous timestamp when that is later (a run's last, partial interval). Once coarsened, a key
    // stands for [key, key + res): its middle, less half an interval.
    const iv = covered.intervalMs ?? 0;
    let prev = startMs;
    for (const k of [...this.map.keys()].sort((a, b) => a - b)) {
      const v = this.map.get(k) ?? 0;
      const mid = res > 1 ? k + res / 2 - iv / 2 : (Math.max(prev, k - iv) + k) / 2;
      prev = k;
      const t = Math.min(endMs, Math.max(startMs, mid));
      const i = Math.min(n - 1, Math.floor((t - startMs) / size));
      totals[i] = (totals[i] ?? 0) + v;
    }
    return {
      label,
      unit,
      bucket_seconds: size / 1000,
      points: totals.map((total, i) => {
        const from = startMs + i * size;
        const seconds = round((Math.min(endMs, from + size) - from) / 1000, 3);
        return { t: new Date(from).toISOString(), total: round(total, 6), seconds, rate: round(total / seconds, 6) };
      }),
    };
  }
}

/** Timestamps parsed per file to find the interval: it is the same all along, so a sample is enough. */
const gapSample = 5000;
/** Gaps are compared at this resolution (ms): ticks jitter by a millisecond or two. */
const gapResolutionMs = 10;

/**
 * The monitor's interval from the gaps between successive distinct timestamps of its files. Not the shortest gap:
 * a run's last interval is cut short when it stops (its last gap, left out), and not the commonest either, since
 * a quiet monitor writes no row in an idle interval (gaps of 2, 3... intervals). The shortest gap seen at least
 * twice, then the commonest gap within 5 % of it; with no repeated gap, the commonest, then the shortest.
 */
export function intervalOf(gaps: ReadonlyMap<number, number>, lastGaps: ReadonlyMap<number, number>): number | null {
  const pool = gaps.size ? gaps : lastGaps;
  if (!pool.size) return null;
  const repeated = [...pool.entries()].filter(([, n]) => n >= 2).map(([g]) => g);
  if (repeated.length) {
    const g = Math.min(...repeated);
    let best = g;
    for (const [h, n] of pool) if (Math.abs(h - g) <= g * 0.05 && (n > (pool.get(best) ?? 0) || (n === pool.get(best) && h < best))) best = h;
    return best;
  }
  let best = -1;
  for (const [h, n] of pool) if (best < 0 || n > (pool.get(best) ?? 0) || (n === pool.get(best) && h < best)) best = h;
  return best;
}

/**
 * First and last timestamp (compared as text: ISO 8601 UTC sorts like time), and the gaps between successive
 * distinct timestamps, from which the monitor's interval. min and max keep a row's string as it is: at most two
 * read chunks per monitor stay alive for it, which is bounded.
 */
export class Span {
  private min: string | null = null;
  private max: string | null = null;
  private prev = '';
  private prevMs = NaN;
  private sampled = 0;
  /** Gap (ms, at gapResolutionMs) -> times seen; a file's last gap waits in `pending` until another follows it. */
  private readonly gaps = new Map<number, number>();
  private readonly lastGaps = new Map<number, number>();
  private pending: number | null = null;

  add(ts: string): void {
    if (ts === this.prev) return;
    if (this.min === null || ts < this.min) this.min = ts;
    if (this.max === null || ts > this.max) this.max = ts;
    if (this.sampled < gapSample) {
      this.sampled++;
      const ms = Date.parse(ts);
      const gap = Math.round(Math.abs(ms - this.prevMs) / gapResolutionMs) * gapResolutionMs;
      if (gap > 0) {
        if (this.pending !== null) bump(this.gaps, this.pending);
        this.pending = gap;
      }
      this.prevMs = ms;
    }
    this.prev = ts;
  }

  /** A new file starts: its first timestamp must not be compared with the previous file's last. */
  reset(): void {
    if (this.pending !== null) bump(this.lastGaps, this.pending);
    this.pending = null;
    this.prev = '';
    this.prevMs = NaN;
    this.sampled = 0;
  }

  range(aggregate: boolean): TimeRange {
    this.reset();
    const from = this.min === null ? NaN : Date.parse(this.min);
    const to = this.max === null ? NaN : Date.parse(this.max);
    const seen = Number.isFinite(from) && Number.isFinite(to);
    const span = seen ? (to - from) / 1000 : 0;
    const gap = aggregate ? intervalOf(this.gaps, this.lastGaps) : null;
    const interval = gap === null ? null : gap / 1000;
    return {
      from: seen ? new Date(from).toISOString() : null,
      to: seen ? new Date(to).toISOString() : null,
      span_seconds: round(span, 3),
      interval_seconds: interval,
      covered_seconds: round(span + (interval ?? 0), 3),
    };
  }
}

const bump = (m: Map<number, number>, k: number): void => {
  m.set(k, (m.get(k) ?? 0) + 1);
};

export function round(v: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(v * f) / f;
}

/** a / b rounded to 6 digits, or null when b is 0. */
export const ratio = (a: number, b: number): number | null => (b > 0 ? round(a / b, 6) : null);

/** A max column that never saw a value is null. */
export const finiteOrNull = (v: number | undefined): number | null => (v === undefined || !Number.isFinite(v) ? null : v);
