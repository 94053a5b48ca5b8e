// The sink `ebpfmon top` adds to its session: rows go into the model, with their arrival time; nothing is written.
import type { Sink } from '../sinks/sink.js';
import { ingest, type TopState } from './model.js';
import { monotonicMs } from '../timers.js';

export interface TopSinkDeps {
  now?: () => number;
  /**
   * The monitor's count of long intervals (stats.stalls + stats.skippedTicks) as its rows arrive: a stall or a
   * skipped timer tick makes them cover more than one interval.
   */
  stalls?: (monitor: string) => number;
  /** Called after each batch of rows, to schedule a redraw. */
  onRows?: () => void;
}

export function createTopSink(state: TopState, deps: TopSinkDeps = {}): Sink {
  const now = deps.now ?? monotonicMs;
  return {
    write(monitor, rows) {
      ingest(state, monitor, rows, now(), deps.stalls?.(monitor) ?? 0);
      deps.onRows?.();
    },
    flush: () => Promise.resolve(),
    close: () => Promise.resolve(),
  };
}
