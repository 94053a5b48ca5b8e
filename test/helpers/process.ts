// Process state for tests that check what a command left running.
import { readFileSync } from 'node:fs';
import { parseStat } from '../../src/daemon/pid-file.js';

/** Whether `pid` is a running process: a zombie (exited, not yet reaped by its parent or init) is not. */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  try {
    const state = parseStat(readFileSync(`/proc/${pid}/stat`, 'utf8'))?.state;
    return state !== 'Z' && state !== 'X';
  } catch {
    return false;
  }
}
