// Supervision of the bpftrace processes: a small state machine per process over the results of `SpawnBpftrace`.
// starting -> running -> (exit) restarting -> starting ... -> failed after too many tries; stopped on request.
// A shared process that cannot even start is split into one process per monitor, so one bad probe
// does not take the others down.
import type { Logger } from '../log.js';
import type { Row } from '../monitors/types.js';
import type { RoutedMonitor } from '../records/router.js';
import { createRouter } from '../records/router.js';
import type { Clock } from '../rows/clock.js';
import type { BpftraceExit, SpawnBpftrace } from './bpftrace.js';
import { backoffDelay, healthyAfterMs, type BackoffPolicy } from './backoff.js';
import type { Runner } from './aot.js';

export interface ProcessSpec {
  id: string;
  /** What runs the script: bpftrace, or bpftrace-aotrt on the compiled script. */
  runner: Runner;
  /** Run instead when `runner` fails before attaching (bpftrace on the script the AOT runner was compiled from). */
  fallback?: Runner;
  monitors: RoutedMonitor[];
}

export interface SupervisorDeps {
  log: Logger;
  spawn: SpawnBpftrace;
  clock: Clock;
  arch: string;
  env: Readonly<Record<string, string>>;
  maxRestarts: number;
  backoff: BackoffPolicy;
  killAfterMs: number;
  /** A bpftrace that has not attached its probes by then is stopped and counted as a failed start. */
  attachTimeoutMs: number;
  onRows(monitor: string, rows: Row[]): void;
  /** Backpressure from the output: see BpftraceSpawn.throttle. */
  throttle?(): Promise<void> | null;
  /** A marker row for each monitor of a process that died: the output shows the gap. */
  onGap(monitor: string, timestamp: string, text: string): void;
  /** Splits a shared process that failed to start into one process per monitor; none means no isolation. */
  isolate?(spec: ProcessSpec): Promise<ProcessSpec[]>;
}

export interface Supervisor {
  /** Resolves once every process has attached its probes or failed for good. */
  settled: Promise<void>;
  /** Resolves once no process runs any more (stopped or failed). */
  done: Promise<void>;
  /** SIGTERM to every bpftrace: each prints its final interval; resolves when all output was routed. */
  stop(): Promise<void>;
  /** Stops the process currently running as `pid` for good: its monitors end in `state` (e.g. over_budget). */
  halt(pid: number, state: 'over_budget', reason: string): boolean;
  monitors(): RoutedMonitor[];
}

const benign = /RLIMIT_MEMLOCK/;

/** The most useful line of bpftrace's stderr: its first ERROR that is not the RLIMIT_MEMLOCK warning. */
export function errorSummary(stderr: readonly string[], exit: BpftraceExit): string {
  const err = stderr.find((l) => /ERROR/.test(l) && !benign.test(l)) ?? stderr.find((l) => l.trim() && !benign.test(l));
  const how = exit.spawnError ?? (exit.signal ? `killed by ${exit.signal}` : `exit code ${String(exit.exitCode)}`);
  return err ? `${err.trim()} (${how})` : how;
}

export function createSupervisor(specs: readonly ProcessSpec[], deps: SupervisorDeps): Supervisor {
  const { log } = deps;
  let stopping = false;
  const running = new Set<{ stop(): void }>();
  const current = new Map<ProcessSpec, { pid: number | undefined; stop(): void }>();
  const halted = new Map<ProcessSpec, { state: 'over_budget'; reason: string }>();
  const all: RoutedMonitor[] = specs.flatMap((s) => s.monitors);
  const wakers = new Set<() => void>();

  const sleep = (ms: number): Promise<void> =>
    new Promise((resolve) => {
      const t = setTimeout(done, ms);
      function done(): void {
        clearTimeout(t);
        wakers.delete(done);
        resolve();
      }
      wakers.add(done);
    });

  const setState = (spec: ProcessSpec, state: RoutedMonitor['stats']['state'], pid?: number | null, runner?: Runner): void => {
    for (const m of spec.monitors) {
      m.stats.state = state;
      if (pid !== undefined) m.stats.bpftracePid = pid;
      if (runner) m.stats.runtime = runner.mode;
    }
  };

  /** Runs one process until stopped or failed; `onSettled` fires once it attached or gave up. */
  async function runProcess(spec: ProcessSpec, onSettled: () => void): Promise<void> {
    const plog = log.child({ process: spec.id, monitors: spec.monitors.map((m) => m.monitor.name).join(',') });
    let attempts = 0;
    let runner = spec.runner;
    let fallback = spec.fallback;
    let settled = false;
    const settle = (): void => {
      if (!settled) {
        settled = true;
        onSettled();
      }
    };
    while (!stopping) {
      setState(spec, 'starting');
      const stderr: string[] = [];
      let attachedAt: number | null = null;
      const router = createRouter({
        monitors: spec.monitors,
        onRows: deps.onRows,
        onAttached: (probes) => {
          attachedAt = Date.now();
          setState(spec, 'running');
          plog.info({ probes, pid: run.pid, runtime: runner.mode }, 'bpftrace attached its probes');
          settle();
        },
        log: plog,
        clock: deps.clock,
        arch: deps.arch,
      });
      const run = deps.spawn({
        command: runner.command,
        args: runner.args,
        env: deps.env,
        onLine: (l) => router.line(l),
        ...(deps.throttle ? { throttle: deps.throttle } : {}),
        onStderr: (l) => {
          if (stderr.length < 50) stderr.push(l);
          if (!l.trim()) return;
          if (benign.test(l)) plog.debug({ stderr: l }, 'bpftrace stderr (harmless on kernels that account BPF memory by cgroup)');
          else plog.warn({ stderr: l }, 'bpftrace stderr');
        },
        killAfterMs: deps.killAfterMs,
      });
      setState(spec, 'starting', run.pid ?? null, runner);
      // A runner with its own stop (bpftrace-aotrt, which dies on SIGTERM without running END) is asked that way
      // once attached; SIGTERM follows only if it has not exited in time. Before attaching there is nothing to lose.
      let stopTimer: NodeJS.Timeout | undefined;
      const handle = {
        pid: run.pid,
        stop(): void {
          const { stop } = runner;
          if (attachedAt === null || !stop || run.pid === undefined) run.stop();
          else if (!stopTimer) {
            stop(run.pid);
            stopTimer = setTimeout(() => run.stop(), deps.killAfterMs);
          }
        },
      };
      running.add(handle);
      current.set(spec, handle);
      let attachTimedOut = false;
      const attachTimer = setTimeout(() => {
        if (attachedAt !== null || stopping) return;
        attachTimedOut = true;
        plog.error({ pid: run.pid, seconds: deps.attachTimeoutMs / 1000 }, 'bpftrace did not attach its probes in time; stopping it');
        run.stop();
      }, deps.attachTimeoutMs);
      const exit = await run.done;
      clearTimeout(attachTimer);
      clearTimeout(stopTimer);
      running.delete(handle);
      current.delete(spec);
      const halt = halted.get(spec);
      if (halt) {
        setState(spec, halt.state, null);
        for (const m of spec.monitors) m.stats.lastError = halt.reason;
        plog.error({ reason: halt.reason }, `bpftrace stopped for good: ${halt.state}`);
        break;
      }
      if (stopping) {
        setState(spec, 'stopped', null);
        plog.info({ exitCode: exit.exitCode, signal: exit.signal }, 'bpftrace stopped');
        break;
      }
      const reason = attachTimedOut
        ? `bpftrace did not attach its probes within ${deps.attachTimeoutMs / 1000} s`
        : errorSummary(stderr, exit);
      for (const m of spec.monitors) m.stats.lastError = reason;
      if (attachedAt === null && fallback) {
        // The compiled script would not load (a probe type bpftrace-aotrt cannot attach, say): bpftrace runs the
        // script itself from now on, without counting a restart.
        plog.warn({ reason, runtime: fallback.mode }, 'bpftrace-aotrt failed to start the compiled script; running it with bpftrace');
        runner = fallback;
        fallback = undefined;
        continue;
      }
      if (attachedAt === null && spec.monitors.length > 1 && deps.isolate) {
        plog.warn({ reason }, 'shared bpftrace failed to start; running each monitor in its own process');
        const parts = await deps.isolate(spec);
        await Promise.all(parts.map((p, i) => runProcess(p, i === parts.length - 1 ? settle : () => undefined)));
        settle();
        return;
      }
      if (attachedAt !== null && Date.now() - attachedAt >= healthyAfterMs) attempts = 0;
      attempts++;
      if (attempts > deps.maxRestarts) {
        setState(spec, 'failed', null);
        plog.error({ reason, attempts: attempts - 1 }, `bpftrace failed; giving up after ${attempts - 1} restarts`);
        settle();
        break;
      }
      const delay = backoffDelay(attempts, deps.backoff);
      setState(spec, 'restarting', null);
      for (const m of spec.monitors) m.stats.restarts++;
      if (attachedAt !== null) {
        const now = deps.clock.now();
        for (const m of spec.monitors) {
          if (m.monitor.mode === 'aggregate') {
            deps.onGap(m.monitor.name, now, `bpftrace restarted: counts since the previous row are lost (${reason})`);
          } else {
            deps.onGap(m.monitor.name, now, `bpftrace restarted: events may be missing until it is back (${reason})`);
          }
        }
      }
      plog.warn({ reason, attempt: attempts, delayMs: delay }, 'bpftrace exited unexpectedly; restarting');
      await sleep(delay);
    }
    settle();
  }

  let resolveSettled!: () => void;
  const settledP = new Promise<void>((r) => (resolveSettled = r));
  let pending = specs.length;
  if (pending === 0) resolveSettled();
  const done = Promise.all(
    specs.map((s) =>
      runProcess(s, () => {
        if (--pending === 0) resolveSettled();
      }),
    ),
  ).then(() => {
    resolveSettled();
  });

  return {
    settled: settledP,
    done,
    async stop() {
      stopping = true;
      for (const w of [...wakers]) w();
      for (const r of running) r.stop();
      await done;
    },
    halt(pid, state, reason) {
      for (const [spec, run] of current) {
        if (run.pid !== pid) continue;
        halted.set(spec, { state, reason });
        run.stop();
        return true;
      }
      return false;
    },
    monitors: () => all,
  };
}
