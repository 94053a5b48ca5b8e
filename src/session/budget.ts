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
