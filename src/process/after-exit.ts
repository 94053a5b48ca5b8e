// What the supervisor does once a bpftrace process has exited: pure, so every case has a table-driven test.
import { backoffDelay, healthyAfterMs, type BackoffPolicy } from './backoff.js';

export interface ExitFacts {
  /** ebpfmon is stopping (signal, --duration, reload): the exit was asked for. */
  stopping: boolean;
  /** The process was stopped for good on purpose (a cost budget). */
  halted: boolean;
  /** It had attached its probes (printed the BEGIN marker) before it exited. */
  attached: boolean;
  /** The process never started (EMFILE, ENOMEM, no executable): the host's fault, not the script's. */
  spawnFailed: boolean;
  /** How long it ran after attaching, in ms (0 when it never attached). */
  ranMs: number;
  /** Restarts counted so far in this streak. */
  attempts: number;
  /** Another runner can take over a script that failed before attaching (bpftrace for bpftrace-aotrt). */
  hasFallback: boolean;
  /** The process serves several monitors and can be split into one process per monitor. */
  canIsolate: boolean;
  maxRestarts: number;
  backoff: BackoffPolicy;
}

export type ExitAction =
  | { action: 'stopped' }
  | { action: 'halted' }
  /** Run the same script with the fallback runner, without counting a restart. */
  | { action: 'fallback' }
  /** Split into one process per monitor, so one bad probe does not take the others down. */
  | { action: 'isolate' }
  | { action: 'restart'; attempts: number; delayMs: number }
  | { action: 'fail'; attempts: number };

export function afterExit(f: ExitFacts): ExitAction {
  if (f.halted) return { action: 'halted' };
  if (f.stopping) return { action: 'stopped' };
  // A script that would not load is given another runner, or split; a process that could not even be spawned is
  // retried as it is (splitting it would only need more descriptors).
  if (!f.attached && !f.spawnFailed && f.hasFallback) return { action: 'fallback' };
  if (!f.attached && !f.spawnFailed && f.canIsolate) return { action: 'isolate' };
  // A process that ran long enough counts as healthy: its restart streak starts over.
  const attempts = (f.attached && f.ranMs >= healthyAfterMs ? 0 : f.attempts) + 1;
  if (attempts > f.maxRestarts) return { action: 'fail', attempts: attempts - 1 };
  return { action: 'restart', attempts, delayMs: backoffDelay(attempts, f.backoff) };
}

/**
 * The attach timer fired: a run that has not attached its probes by now (and is not being stopped anyway) failed to
 * start; it is stopped, and this is why it ended. Null: nothing to do.
 */
export function attachOverdue(s: { attached: boolean; stopping: boolean; timeoutMs: number }): { reason: string } | null {
  if (s.attached || s.stopping) return null;
  return { reason: `bpftrace did not attach its probes within ${s.timeoutMs / 1000} s` };
}

/**
 * How a run is stopped: once attached, a runner with its own stop (the script's stop probe, so END prints the last
 * interval) is asked that way, SIGTERM following if it has not exited in time; asked once, it is left to finish.
 * Before attaching, or without its own stop or a pid, there is nothing to lose: SIGTERM at once.
 */
export type StopStep = 'terminate' | 'ask' | 'wait';
export function stopStep(s: { attached: boolean; ownStop: boolean; hasPid: boolean; asked: boolean }): StopStep {
  if (!s.attached || !s.ownStop || !s.hasPid) return 'terminate';
  return s.asked ? 'wait' : 'ask';
}
