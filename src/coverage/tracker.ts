// Coverage of one monitor: how much of what happened its numbers hold, over a window of recent intervals. Against a
// kernel counter it is the monitor's total over the kernel's; without one it is the share of intervals known
// complete (no full map, no stall, no lost records). Pure: samples in, a ratio and its crossings out.
import type { CoverageState } from '../records/stats.js';

export interface CoverageSample {
  /** The monitor's comparable total for the interval (null: not comparable, e.g. a comm filter). */
  total: number | null;
  /** What the kernel counted over the same interval (null: no counter, or no earlier reading yet). */
  kernel: number | null;
  /** Nothing ebpfmon knows of was lost in the interval (no full map, stall or lost records). */
  complete: boolean;
}

/** Below this, numbers are called incomplete (where both sides count the same events). */
export const coverageThreshold = 0.99;
/** Intervals compared at once: the edges of one interval's counts and the kernel's reading differ by a few ms. */
export const coverageWindow = 10;
/**
 * Seconds of compared intervals before a kernel-counter ratio can be called low. Over a window the kernel's deltas
 * telescope, so its error is the two edges' (the counter is read when Node's timer fires, tens of ms after the tick on a
 * busy host): measured here, single 2-s intervals at 0.979-1.036 of the kernel's count while 10 of them held 0.998.
 * Two intervals after start is a ratio of noise, and a warning every operator saw on every start.
 */
export const coverageSettleSeconds = 10;

export interface CoverageTracker {
  add(s: CoverageSample): { state: CoverageState; crossed: 'fell' | 'recovered' | null };
}

/**
 * `minSamples`: comparable intervals needed before a ratio against a count can be called low (the ratio is shown
 * before that, never judged).
 */
export function createCoverageTracker(basis: 'kernel' | 'self', window = coverageWindow, threshold = coverageThreshold, minSamples = 1): CoverageTracker {
  const samples: CoverageSample[] = [];
  let low = false;
  return {
    add(s) {
      samples.push(s);
      if (samples.length > window) samples.shift();
      // Totals against a count of what happened, where there is one (the kernel's, or records seen plus lost);
      // else the share of intervals known complete.
      let ratio: number | null;
      const usable = samples.filter((x) => x.total !== null && x.kernel !== null);
      const settled = usable.length >= Math.min(minSamples, window) || (!usable.length && basis === 'self');
      if (usable.length) {
        const kernel = usable.reduce((n, x) => n + x.kernel!, 0);
        // No events at all in the window is full coverage of nothing.
        ratio = kernel > 0 ? usable.reduce((n, x) => n + x.total!, 0) / kernel : 1;
      } else ratio = basis === 'kernel' ? null : samples.filter((x) => x.complete).length / samples.length;
      const rounded = ratio === null ? null : Math.round(ratio * 10_000) / 10_000;
      // Not yet settled: keep the verdict it had (none at start).
      const nowLow = settled ? rounded !== null && rounded < threshold : low;
      const crossed = nowLow === low ? null : nowLow ? 'fell' : 'recovered';
      low = nowLow;
      return { state: { ratio: rounded, basis, low }, crossed };
    },
  };
}
