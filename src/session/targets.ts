// The processes a run is narrowed to (`--pid`, `--comm`, `run`): checked before anything attaches, watched while it
// runs. The filtering itself happens in the kernel (compose renders the scope into every per-process probe).
import { readFileSync } from 'node:fs';
import { UsageError } from '../errors.js';
import { hostScope, type Scope } from '../bt/ir.js';
import type { Logger } from '../log.js';
import type { RoutedMonitor } from '../records/router.js';

export interface ScopeOptions {
  pid?: readonly number[] | undefined;
  comm?: string | undefined;
}

/** The scope of `start --pid/--comm` (no options: the whole host). */
export const scopeOf = (o: ScopeOptions): Scope => ({ ...hostScope, pids: [...(o.pid ?? [])], comm: o.comm ?? null });

/**
 * Whether a process is alive (a zombie is not: it runs nothing more). Reads /proc/PID/stat's state, synchronously:
 * a procfs read takes microseconds, and an asynchronous one is four round trips through libuv's thread pool (open,
 * fstat, read, close), four wakeups of the event loop per process and poll.
 */
export function alive(pid: number): boolean {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return false;
  }
  // The state follows the comm, which sits in parentheses and may hold any byte: read after the last ")".
  const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
  return state !== 'Z' && state !== 'X';
}

/** Every pid names a running process, or one clear error. */
export function requirePids(pids: readonly number[]): void {
  const gone: number[] = [];
  for (const p of pids) if (!alive(p)) gone.push(p);
  if (gone.length) throw new UsageError(`--pid: no such process: ${gone.join(', ')}`);
}

/**
 * Resolves once every one of `pids` has exited (polled: a process that is not ebpfmon's child gives no event),
 * logging each exit. `start --pid` then stops, as bpftrace -p does.
 */
export function watchPids(pids: readonly number[], log: Logger, everyMs = 250): { done: Promise<string>; stop(): void } {
  const left = new Set(pids);
  let timer: NodeJS.Timeout | undefined;
  const done = new Promise<string>((resolve) => {
    if (!left.size) return;
    timer = setInterval(() => {
      for (const p of [...left]) {
        if (alive(p)) continue;
        left.delete(p);
        log.info({ pid: p }, `process ${p} exited`);
      }
      if (!left.size) {
        clearInterval(timer);
        resolve(`every --pid process exited (${pids.join(', ')})`);
      }
    }, everyMs);
  });
  return { done, stop: () => clearInterval(timer) };
}

/** Logs which monitors the scope narrows and which still count the whole host (interrupts have no process). */
export function logScope(scope: Scope, monitors: Iterable<RoutedMonitor>, log: Logger): void {
  const what = [
    ...(scope.pids.length ? [`pid ${scope.pids.join(', ')}`] : []),
    ...(scope.follow !== null ? [`the command (pid ${scope.follow}) and every process it starts`] : []),
    ...(scope.comm !== null ? [`threads named ${scope.comm}`] : []),
  ];
  if (!what.length) return;
  const all = [...monitors];
  const narrowed = all.filter((m) => m.scoped).map((m) => m.monitor.name);
  const host = all.filter((m) => !m.scoped).map((m) => m.monitor.name);
  log.info({ scope: what, monitors: narrowed }, `counting only ${what.join(' and ')} (filtered in the kernel)`);
  if (host.length) log.warn({ monitors: host }, `${host.join(', ')}: not per process, counts the whole host (--pid/--comm do not filter it)`);
}
