// Cost budgets: per bpftrace process, the tightest of runtime.max_cpu_percent and its monitors' max_cpu_percent,
// against the CPU share of its BPF programs plus bpftrace's own CPU. Pure: a sample in, a verdict out.

export interface BudgetSample {
  /** In-kernel share of one CPU (BPF programs), percent; null when unknown. */
  kernelPercent: number | null;
  /** bpftrace's own share of one CPU, percent; null when unknown. */
  userPercent: number | null;
  /** The budget in percent of one CPU; undefined: none. */
  budget: number | undefined;
  /** Samples in a row over budget before this one. */
  overFor: number;
  /** runtime.budget_intervals: samples in a row over budget before acting. */
  intervals: number;
  action: 'warn' | 'stop';
}

export type BudgetVerdict =
  /** No budget, or nothing to compare yet. */
  | { verdict: 'none' }
  | { verdict: 'within'; overFor: 0 }
  /** Over, but not for long enough yet, or already warned. */
  | { verdict: 'over'; overFor: number; cost: number }
  | { verdict: 'warn'; overFor: number; cost: number }
  | { verdict: 'stop'; overFor: number; cost: number };

export function judgeBudget(s: BudgetSample): BudgetVerdict {
  if (s.budget === undefined || s.kernelPercent === null || s.userPercent === null) return { verdict: 'none' };
  const cost = Math.round((s.kernelPercent + s.userPercent) * 100) / 100;
  if (cost <= s.budget) return { verdict: 'within', overFor: 0 };
  const overFor = s.overFor + 1;
  if (overFor < s.intervals) return { verdict: 'over', overFor, cost };
  if (s.action === 'stop') return { verdict: 'stop', overFor, cost };
  return overFor === s.intervals ? { verdict: 'warn', overFor, cost } : { verdict: 'over', overFor, cost };
}

/** The budget of one process: the tightest of the limits that apply, or undefined when none does. */
export function budgetOf(limits: readonly (number | undefined)[]): number | undefined {
  const set = limits.filter((l): l is number => l !== undefined);
  return set.length ? Math.min(...set) : undefined;
}

/** A bpftrace process's CPU so far, read at one moment of a monotonic clock (ms): a step of the wall clock cannot skew it. */
export interface CostReading {
  atMs: number;
  /** bpftrace's own CPU time (user+system), seconds. */
  userSeconds: number;
  /** Run time of its BPF programs, ns. */
  bpfNs: number;
}

/**
 * The CPU shares a budget judges, from `base` to `cur`: null until the two span a whole interval (a tenth of it
 * is left for timer jitter), and then `cur` is the next base. The first base is read once the process attached, so
 * its start-up (compiling, loading and attaching, about a second of CPU) is never judged, and each verdict covers
 * a whole interval, never the sliver between attaching and the next status tick.
 */
export function budgetWindow(base: CostReading, cur: CostReading, intervalMs: number): { kernelPercent: number; userPercent: number } | null {
  const ms = cur.atMs - base.atMs;
  if (ms < intervalMs * 0.9) return null;
  return {
    kernelPercent: Math.round(((cur.bpfNs - base.bpfNs) / (ms * 1e6)) * 100 * 1000) / 1000,
    userPercent: Math.round(((cur.userSeconds - base.userSeconds) / (ms / 1000)) * 100 * 10) / 10,
  };
}
