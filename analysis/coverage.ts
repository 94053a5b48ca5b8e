// Coverage of one section from the rows a run wrote: intervals, the ones marker rows flag, and the coverage ratios
// the run reported (src/coverage/monitor-coverage.ts writes "coverage below <expect>: <ratio> ..." when a monitor
// falls under what it expects, "coverage back at <ratio> ..." when it recovers).
import type { Coverage } from './model.js';
import { detach } from './tally.js';

export const worstKept = 5;

/** The ratio a "coverage below" marker reports, or null for any other marker. */
export function reportedRatio(note: string): number | null {
  const m = /^coverage below [\d.]+: ([\d.]+) /.exec(note);
  return m ? Number(m[1]) : null;
}

const recovered = (note: string): boolean => note.startsWith('coverage back at ');

export interface CoverageCounter {
  /** A data row's timestamp (rows of one interval share it). */
  row(ts: string): void;
  /** A marker row. */
  marker(ts: string, note: string): void;
  finish(): Coverage;
}

export function coverageCounter(aggregate: boolean): CoverageCounter {
  const stamps = new Set<string>();
  const flagged = new Set<string>();
  let lowest: number | null = null;
  // Kept small as they come: the lowest reported ratios, and the earliest other flags.
  let reported: { timestamp: string; ratio: number; note: string }[] = [];
  const others: { timestamp: string; ratio: null; note: string }[] = [];
  return {
    row(ts) {
      if (aggregate && !stamps.has(ts)) stamps.add(detach(ts));
    },
    marker(ts, note) {
      if (recovered(note)) return;
      if (!flagged.has(ts)) flagged.add(detach(ts));
      const ratio = reportedRatio(note);
      if (ratio === null) {
        if (others.length < worstKept) others.push({ timestamp: detach(ts), ratio: null, note: detach(note) });
        return;
      }
      lowest = lowest === null ? ratio : Math.min(lowest, ratio);
      reported.push({ timestamp: detach(ts), ratio, note: detach(note) });
      if (reported.length > worstKept * 4) reported = reported.sort((a, b) => a.ratio - b.ratio).slice(0, worstKept);
    },
    finish() {
      const intervals = aggregate ? stamps.size : null;
      const complete = intervals ? Math.round(((intervals - Math.min(flagged.size, intervals)) / intervals) * 10000) / 10000 : null;
      const worst = [...reported.sort((a, b) => a.ratio - b.ratio || (a.timestamp < b.timestamp ? -1 : 1)), ...others].slice(0, worstKept);
      return { intervals, flagged: flagged.size, complete_ratio: complete, lowest_reported: lowest, worst };
    },
  };
}
