// Counters per monitor, kept by the router and supervisor, read by the logger and `status`.

/** A monitor's coverage as src/coverage/tracker.ts judges it over a window of intervals. */
export interface CoverageState {
  /** Over the window; null until there is something to compare. */
  ratio: number | null;
  /** 'kernel': against a kernel counter; 'self': the share of complete intervals. */
  basis: 'kernel' | 'self';
  /** The ratio is below the threshold. */
  low: boolean;
}

export interface MonitorStats {
  state: 'starting' | 'running' | 'restarting' | 'failed' | 'stopped' | 'unavailable' | 'over_budget';
  bpftracePid: number | null;
  /** The bpftrace process serving the monitor ("main", "paths", or the monitor's name once isolated). */
  bpftraceProcess: string | null;
  /**
   * bpftrace's pid as the rows carry it (printed by the script once attached). Inside a pid namespace bpftrace 0.17
   * reports host pids, so this is its host pid while `bpftracePid` is the namespace's; elsewhere they are equal.
   */
  bpftraceRowPid: number | null;
  /** How its bpftrace runs the script: 'aot' (bpftrace-aotrt, compiled ahead of time) or 'jit' (bpftrace). */
  runtime: 'aot' | 'jit' | null;
  restarts: number;
  records: number;
  rows: number;
  parseErrors: number;
  lostEvents: number;
  /** Intervals in which a result map was printed as full as a kernel map can be: counts incomplete. */
  saturatedIntervals: number;
  /** Map updates the kernel refused because the map was full, each reported by bpftrace (0.23+ `helper_error`). */
  droppedUpdates: number;
  /** Times bpftrace stalled (ticks arrived late); the rows after each cover the whole stall. */
  stalls: number;
  /**
   * Intervals whose tick came on time but more than an interval after the one before: the kernel skipped the timer
   * probe (it runs no BPF program on a CPU where another is running). Nothing is lost; the rows cover the span.
   */
  skippedTicks: number;
  /** When the last interval closed (monotonicMs: never a date), for the missing-tick watchdog; null before the first. */
  lastTickAt: number | null;
  /** Set while no tick arrived for two intervals. */
  stalled: boolean;
  /** How much of what happened the numbers hold, over the last intervals (see src/coverage/); null until known. */
  coverage: CoverageState | null;
  lastError: string | null;
}

export const newStats = (): MonitorStats => ({
  state: 'starting',
  bpftracePid: null,
  bpftraceProcess: null,
  bpftraceRowPid: null,
  runtime: null,
  restarts: 0,
  records: 0,
  rows: 0,
  parseErrors: 0,
  lostEvents: 0,
  saturatedIntervals: 0,
  droppedUpdates: 0,
  stalls: 0,
  skippedTicks: 0,
  lastTickAt: null,
  stalled: false,
  coverage: null,
  lastError: null,
});

/** The counters among the stats: totals since `start`, which a reload must not reset (status and the exporter agree). */
export const counterKeys = ['restarts', 'records', 'rows', 'parseErrors', 'lostEvents', 'saturatedIntervals', 'droppedUpdates', 'stalls', 'skippedTicks'] as const;
export type Counters = Pick<MonitorStats, (typeof counterKeys)[number]>;

export function countersOf(s: MonitorStats): Counters {
  const { restarts, records, rows, parseErrors, lostEvents, saturatedIntervals, droppedUpdates, stalls, skippedTicks } = s;
  return { restarts, records, rows, parseErrors, lostEvents, saturatedIntervals, droppedUpdates, stalls, skippedTicks };
}

/** A new session's stats start from the totals of the sessions before it. */
export function carryCounters(into: MonitorStats, from: Counters): void {
  for (const k of counterKeys) into[k] += from[k];
}
