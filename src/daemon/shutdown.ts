// Shutdown runs every step, whatever the others do: a failing close must not leave a host-wide setting
// changed, a bpftrace running or a server listening.
import type { Logger } from '../log.js';
import { describe } from '../errors.js';

export type ShutdownStep = readonly [name: string, run: () => unknown];

/** Runs the steps in order; each failure is logged, and the first one is thrown once all have run. */
export async function runSteps(log: Logger, steps: readonly ShutdownStep[]): Promise<void> {
  const failures: unknown[] = [];
  for (const [name, run] of steps) {
    try {
      await run();
    } catch (e) {
      log.error({ step: name, err: describe(e) }, `shutdown: ${name} failed`);
      failures.push(e);
    }
  }
  if (failures.length) throw failures[0];
}
