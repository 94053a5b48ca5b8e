// The output controller: fans rows out to every sink, and writes marker rows (restarts) to all of them.
import type { Row } from '../monitors/types.js';
import { noteColumn, type Sink } from './sink.js';
import { nodeTimers, type TimerApi } from '../timers.js';

export interface Output {
  write(monitor: string, rows: readonly Row[]): void;
  /** A marker row: timestamp and note only, e.g. "bpftrace restarted: counts of ... lost". */
  note(monitor: string, timestamp: string, text: string): void;
  close(): Promise<void>;
  /** Null when the sinks keep up; else a promise that resolves once their backlog is below the low mark. */
  throttle(): Promise<void> | null;
}

/** Above this many bytes waiting for the disk, the reader pauses bpftrace's stdout; it resumes below the low mark. */
export const backlogHigh = 16 * 1024 * 1024;
export const backlogLow = 4 * 1024 * 1024;


/** `timers` polls the sinks' backlog while throttled (every 20 ms); tests pass fakes. */
export function createOutput(sinks: readonly Sink[], timers: TimerApi = nodeTimers(false)): Output {
  let closed: Promise<void> | null = null;
  return {
    write(monitor, rows) {
      for (const s of sinks) s.write(monitor, rows);
    },
    note(monitor, timestamp, text) {
      const row: Row = { timestamp, [noteColumn]: text };
      for (const s of sinks) s.write(monitor, [row]);
    },
    close() {
      closed ??= Promise.all(sinks.map((s) => s.close())).then(() => undefined);
      return closed;
    },
    throttle() {
      const backlog = (): number => sinks.reduce((n, s) => n + (s.backlog?.() ?? 0), 0);
      if (backlog() < backlogHigh) return null;
      return new Promise<void>((resolve) => {
        const check = (): void => {
          if (backlog() < backlogLow) resolve();
          else timers.set(check, 20);
        };
        check();
      });
    },
  };
}
