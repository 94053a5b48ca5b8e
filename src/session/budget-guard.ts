// Enforcing the cost budgets while a session runs: per bpftrace process, a window of whole intervals from its
// attach on (budgetWindow), judged against the tightest budget of its monitors (judgeBudget); over for
// runtime.budget_intervals, it is warned about or stopped. The decisions are the pure functions of budget.ts.
import type { Logger } from '../log.js';
import type { Config } from '../config/schema.js';
import type { BpfCost } from '../process/bpf-stats.js';
import { processUsage } from '../daemon/status.js';
import type { RoutedMonitor } from '../records/router.js';
import { budgetOf, budgetWindow, judgeBudget, type CostReading } from './budget.js';
import { monotonicMs } from '../timers.js';

/** What the guard may do to a process over budget. */
export interface BudgetActions {
  /** Stops the process for good; false when it is not running. */
  halt(pid: number, reason: string): boolean;
  /** A marker row in a monitor's output. */
  note(monitor: string, timestamp: string, text: string): void;
}

export type BudgetGuard = (pid: number, cost: BpfCost, served: readonly RoutedMonitor[], runtime: Config['runtime'], act: BudgetActions) => Promise<void>;

/** A guard over the processes of successive sessions (the state is per pid); `intervalMs` is the window. */
export function createBudgetGuard(intervalMs: number, log: Logger): BudgetGuard {
  const overFor = new Map<number, number>();
  // Per bpftrace pid: the reading the next budget window starts from (taken once it attached).
  const base = new Map<number, CostReading>();
  return async (pid, cost, served, rt, act) => {
    // The budget judges CPU after attach only, over whole intervals (budgetWindow).
    const cpu = served.length && served.every((m) => m.stats.state === 'running') ? await processUsage(pid) : null;
    if (!cpu) {
      base.delete(pid);
      return;
    }
    const reading = { atMs: monotonicMs(), userSeconds: cpu.cpuSeconds, bpfNs: cost.runTimeNs };
    const from = base.get(pid);
    const w = from ? budgetWindow(from, reading, intervalMs) : null;
    if (!from || w) base.set(pid, reading);
    if (!w) return;
    const names = served.map((m) => m.monitor.name);
    const budget = budgetOf([rt.max_cpu_percent, ...served.map((m) => m.opts.max_cpu_percent)]);
    const v = judgeBudget({ kernelPercent: w.kernelPercent, userPercent: w.userPercent, budget, overFor: overFor.get(pid) ?? 0, intervals: rt.budget_intervals, action: rt.budget_action });
    if (v.verdict === 'none') return;
    overFor.set(pid, v.overFor);
    if (v.verdict === 'within' || v.verdict === 'over') return;
    const reason = `over budget: ${v.cost}% of one CPU (BPF ${w.kernelPercent}% + bpftrace ${w.userPercent}%) > ${budget}% for ${v.overFor} intervals`;
    if (v.verdict === 'stop' && act.halt(pid, reason)) {
      log.error({ monitors: names, bpftracePid: pid, cost: v.cost, budget }, `stopping ${names.join(', ')}: ${reason}`);
      // The rows end here: a marker says why, so nobody (analyze included) reads the silence as an idle host.
      for (const name of names) act.note(name, new Date().toISOString(), `stopped by its budget (${reason}): nothing is counted after this point`);
    } else if (v.overFor === rt.budget_intervals) {
      log.warn({ monitors: names, bpftracePid: pid, cost: v.cost, budget }, `${names.join(', ')}: ${reason}`);
    }
  };
}
