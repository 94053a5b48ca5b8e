// What watching costs, sampled once per interval or refresh: per bpftrace process its CPU and RSS (/proc) and, when
// kernel.bpf_stats_enabled is on, its BPF programs' runs and run time. `start` (status file, exporter, budgets)
// and `top` (its cost lines) read the same sampler.
import { costRate, processBpfCost, type BpfCost, type CostRate } from '../process/bpf-stats.js';
import { createUsageSampler, type ProcessUsage } from '../daemon/status.js';
import type { RoutedMonitor } from '../records/router.js';
import { monotonicMs } from '../timers.js';

export interface CostSample {
  cost: BpfCost;
  /** monotonicMs() of the sample (src/timers.ts). */
  at: number;
  /** Rates since the sample before. */
  rate: CostRate;
}

export interface HealthSampler {
  /**
   * One sample of each bpftrace process serving `monitors` (their monitors share it), its BPF programs too when
   * `bpf`. Per process, in the order of the monitors, the cost read now: null when it could not be (the process is
   * exiting; its last sample stays). Processes no longer serving are forgotten.
   */
  sample(monitors: Iterable<RoutedMonitor>, bpf: boolean): Promise<{ pid: number; cost: CostSample | null }[]>;
  /** The last CPU% and RSS of a process; nulls when not sampled (no process). */
  usage(pid: number | null): ProcessUsage;
  /** The last in-kernel cost of a process. */
  cost(pid: number | null): CostSample | undefined;
}

/** The shortest monitor interval, between 1 and 2 s: how often `start` samples health and `top` refreshes. */
export function refreshSeconds(intervals: readonly number[]): number {
  return Math.max(1, Math.min(...intervals, 2));
}

const none: ProcessUsage = { cpuPercent: null, rssBytes: null };

/** The processes serving `monitors`, each once, in the order of the monitors. */
export function servingPids(monitors: Iterable<RoutedMonitor>): number[] {
  return [...new Set([...monitors].flatMap((m) => (m.stats.bpftracePid === null ? [] : [m.stats.bpftracePid])))];
}

export function createHealthSampler(): HealthSampler {
  const sampleUsage = createUsageSampler();
  const usage = new Map<number, ProcessUsage>();
  const costs = new Map<number, CostSample>();
  return {
    async sample(monitors, bpf) {
      const pids = servingPids(monitors);
      for (const pid of [...usage.keys()]) if (!pids.includes(pid)) usage.delete(pid);
      for (const pid of [...costs.keys()]) if (!bpf || !pids.includes(pid)) costs.delete(pid);
      for (const pid of pids) usage.set(pid, await sampleUsage(pid));
      const read: { pid: number; cost: CostSample | null }[] = [];
      for (const pid of pids) {
        const cost = bpf ? await processBpfCost(pid) : null;
        const at = monotonicMs();
        const c = cost ? { cost, at, rate: costRate(costs.get(pid), cost, at) } : null;
        if (c) costs.set(pid, c);
        read.push({ pid, cost: c });
      }
      return read;
    },
    usage: (pid) => (pid === null ? none : (usage.get(pid) ?? none)),
    cost: (pid) => (pid === null ? undefined : costs.get(pid)),
  };
}
