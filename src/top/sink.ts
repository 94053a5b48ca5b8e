// The sink `ebpfmon top` adds to its session: rows go into the model, with their arrival time; nothing is written.
import type { Sink } from '../sinks/sink.js';
import { ingest, type TopState } from './model.js';

export function createTopSink(state: TopState, deps: { now?: () => number; onRows?: () => void } = {}): Sink {
  const now = deps.now ?? Date.now;
  return {
    write(monitor, rows) {
      ingest(state, monitor, rows, now());
      deps.onRows?.();
    },
    flush: () => Promise.resolve(),
    close: () => Promise.resolve(),
  };
}
