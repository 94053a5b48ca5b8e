// Counters per monitor, kept by the router and supervisor, read by the logger and `status`.

export interface MonitorStats {
  state: 'starting' | 'running' | 'restarting' | 'failed' | 'stopped' | 'unavailable' | 'over_budget';
  bpftracePid: number | null;
  /** How its bpftrace runs the script: 'aot' (bpftrace-aotrt, compiled ahead of time) or 'jit' (bpftrace). */
  runtime: 'aot' | 'jit' | null;
  restarts: number;
  records: number;
  rows: number;
  parseErrors: number;
  lostEvents: number;
  lastError: string | null;
}

export const newStats = (): MonitorStats => ({
  state: 'starting',
  bpftracePid: null,
  runtime: null,
  restarts: 0,
  records: 0,
  rows: 0,
  parseErrors: 0,
  lostEvents: 0,
  lastError: null,
});
