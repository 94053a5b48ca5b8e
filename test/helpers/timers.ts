// Timers a test fires itself, so it waits on what a pass did rather than on the clock.
import assert from 'node:assert/strict';
import type { FileSink } from '../../src/sinks/file-sink.js';
import type { TimerApi } from '../../src/timers.js';

/** The sink's flush timer, fired by the test: `tick()` runs one pass and waits for what it started. */
export function manualTimer(): { timers: TimerApi; tick(sink: FileSink): Promise<void> } {
  let due: (() => void) | null = null;
  return {
    timers: { set: (fn) => (due = fn), clear: () => (due = null) },
    async tick(sink) {
      const fn = due;
      assert.ok(fn, 'the flush timer is armed');
      fn();
      await sink.settled();
    },
  };
}
