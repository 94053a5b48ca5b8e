// Supervision of the bpftrace processes: a small loop per process over the results of `SpawnBpftrace`, with the
// decision after each exit taken by the pure `afterExit`. The supervisor knows processes, not monitors: it hands
// each run's stdout lines to whoever asked (`onRun`) and reports states (`onState`).
import type { Logger } from '../log.js';
import type { BpftraceExit, BpftraceRun, SpawnBpftrace } from './bpftrace.js';
import { errorSummary, failedRun, isBenignStderr, isCompileWarning } from './bpftrace.js';
import type { BackoffPolicy } from './backoff.js';
import type { Runner } from './aot.js';
import { afterExit, attachOverdue, stopStep } from './after-exit.js';
import { monotonicMs } from '../timers.js';

export interface ProcessSpec {
  id: string;
  /** What runs the script: bpftrace, or bpftrace-aotrt on the compiled script. */
  runner: Runner;
  /** Run instead when `runner` fails before attaching (bpftrace on the script the AOT runner was compiled from). */
  fallback?: Runner;
  /** The monitors it serves, by name. */
  monitors: readonly string[];
  /** bpftrace's environment for this process (map sizes, string size). */
  env: Readonly<Record<string, string>>;
  /** stderr lines this bpftrace prints on every start that say nothing about the script (logged at debug level). */
  benignStderr?: readonly RegExp[];
}

export type ProcessState = 'starting' | 'running' | 'restarting' | 'failed' | 'stopped' | 'over_budget';

export interface StateReport {
  state: ProcessState;
  pid: number | null;
  runner: Runner;
  /** Why it exited (restarting, failed, over_budget). */
  reason?: string;
  /** restarting: it had attached, so counts since its last output are lost. */
  lostOutput?: boolean;
}

/** One run of a process: its pid, its runner, and the callback that says its probes are attached. */
export interface RunInfo {
  readonly pid: number | undefined;
  runner: Runner;
  attached(probes: number): void;
}

export interface SupervisorDeps {
  log: Logger;
  spawn: SpawnBpftrace;
  maxRestarts: number;
  backoff: BackoffPolicy;
  killAfterMs: number;
  /** A bpftrace that has not attached its probes by then is stopped and counted as a failed start. */
  attachTimeoutMs: number;
  /** A new run starts: returns what handles its stdout lines (a router, which calls `run.attached()`) and its end. */
  onRun(spec: ProcessSpec, run: RunInfo): { line(line: string): void; end(): void };
  onState(spec: ProcessSpec, report: StateReport): void;
  /** Backpressure from the output: see BpftraceSpawn.throttle. */
  throttle?(): Promise<void> | null;
  /** Splits a shared process that failed to start into one process per monitor; none means no isolation. */
  isolate?(spec: ProcessSpec): Promise<ProcessSpec[]>;
}

export interface Supervisor {
  /** Resolves once every process has attached its probes or failed for good. */
  settled: Promise<void>;
  /** Resolves once no process runs any more (stopped or failed). */
  done: Promise<void>;
  /** Asks every bpftrace to stop: each prints its final interval; resolves when all output was handed over. */
  stop(): Promise<void>;
  /** Stops the process currently running as `pid` for good: it ends in `over_budget`. */
  halt(pid: number, reason: string): boolean;
}


export function createSupervisor(specs: readonly ProcessSpec[], deps: SupervisorDeps): Supervisor {
  const { log } = deps;
  let stopping = false;
  const current = new Map<ProcessSpec, { pid: number | undefined; stop(): void }>();
  const halted = new Map<ProcessSpec, string>();
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

  /** Runs one process until stopped or failed; `onSettled` fires once it attached or gave up. */
  async function runProcess(spec: ProcessSpec, onSettled: () => void): Promise<void> {
    const plog = log.child({ process: spec.id, monitors: spec.monitors.join(',') });
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
    const report = (r: Omit<StateReport, 'runner'>): void => deps.onState(spec, { ...r, runner });
    while (!stopping) {
      report({ state: 'starting', pid: null });
      const stderr: string[] = [];
      /** Lines of compiler warnings so far (a located WARNING and the source excerpt under it). */
      let warnings = 0;
      let inWarning = false;
      let attachedAt: number | null = null;
      let run: BpftraceRun | undefined;
      const info: RunInfo = {
        get pid() {
          return run?.pid;
        },
        runner,
        attached: (probes) => {
          if (attachedAt !== null) return;
          attachedAt = monotonicMs();
          report({ state: 'running', pid: run?.pid ?? null });
          plog.info({ probes, pid: run?.pid, runtime: runner.mode }, 'bpftrace attached its probes');
          settle();
        },
      };
      const output = deps.onRun(spec, info);
      try {
        run = deps.spawn({
          command: runner.command,
          args: runner.args,
          env: spec.env,
          onLine: (l) => output.line(l),
          ...(deps.throttle ? { throttle: deps.throttle } : {}),
          onStderr: (l) => {
            if (stderr.length < 50) stderr.push(l);
            if (!l.trim()) return;
            // bpftrace 0.24+ warns about constructs that every version it supports runs (`delete` without using its
            // result, int widths, address spaces): about a hundred lines per start, none about what the script does.
            if (isCompileWarning(l) || (inWarning && /^\s/.test(l))) {
              if (!inWarning && warnings === 0) plog.info({ stderr: l }, 'bpftrace printed compiler warnings about the script (at debug level; the script runs as written)');
              inWarning = true;
              warnings++;
              plog.debug({ stderr: l }, 'bpftrace compiler warning');
              return;
            }
            inWarning = false;
            if (isBenignStderr(l, spec.benignStderr)) plog.debug({ stderr: l }, 'bpftrace stderr (printed on every start; says nothing about the script)');
            else plog.warn({ stderr: l }, 'bpftrace stderr');
          },
          killAfterMs: deps.killAfterMs,
        });
      } catch (e) {
        // A spawn that threw (EMFILE, ENOMEM): the same as a process that could not start.
        run = failedRun(`cannot spawn bpftrace: ${e instanceof Error ? e.message : String(e)}`);
      }
      const proc = run;
      report({ state: 'starting', pid: proc.pid ?? null });
      // A runner with its own stop (the script's stop probe, which bpftrace-aotrt needs) is asked that way once
      // attached; SIGTERM follows only if it has not exited in time. Before attaching there is nothing to lose.
      let stopTimer: NodeJS.Timeout | undefined;
      const handle = {
        pid: proc.pid,
        stop(): void {
          const own = runner.stop;
          const step = stopStep({ attached: attachedAt !== null, ownStop: own !== undefined, hasPid: proc.pid !== undefined, asked: stopTimer !== undefined });
          if (step === 'terminate') proc.stop();
          else if (step === 'ask' && own && proc.pid !== undefined) {
            own(proc.pid);
            stopTimer = setTimeout(() => proc.stop(), deps.killAfterMs);
          }
        },
      };
      current.set(spec, handle);
      let attachTimedOut = null as { reason: string } | null;
      const attachTimer = setTimeout(() => {
        attachTimedOut = attachOverdue({ attached: attachedAt !== null, stopping, timeoutMs: deps.attachTimeoutMs });
        if (!attachTimedOut) return;
        plog.error({ pid: proc.pid, seconds: deps.attachTimeoutMs / 1000 }, 'bpftrace did not attach its probes in time; stopping it');
        proc.stop();
      }, deps.attachTimeoutMs);
      const exit: BpftraceExit = await proc.done;
      output.end();
      clearTimeout(attachTimer);
      clearTimeout(stopTimer);
      current.delete(spec);
      const reason = halted.get(spec) ?? attachTimedOut?.reason ?? errorSummary(stderr, exit);
      const next = afterExit({
        stopping,
        halted: halted.has(spec),
        attached: attachedAt !== null,
        spawnFailed: exit.spawnError !== null,
        ranMs: attachedAt === null ? 0 : monotonicMs() - attachedAt,
        attempts,
        hasFallback: fallback !== undefined,
        canIsolate: spec.monitors.length > 1 && deps.isolate !== undefined,
        maxRestarts: deps.maxRestarts,
        backoff: deps.backoff,
      });
      switch (next.action) {
        case 'halted':
          report({ state: 'over_budget', pid: null, reason });
          plog.error({ reason }, 'bpftrace stopped for good: over_budget');
          settle();
          return;
        case 'stopped':
          report({ state: 'stopped', pid: null });
          plog.info({ exitCode: exit.exitCode, signal: exit.signal }, 'bpftrace stopped');
          settle();
          return;
        case 'fallback':
          // The compiled script would not load (a probe type bpftrace-aotrt cannot attach, say): bpftrace runs the
          // script itself from now on, without counting a restart.
          plog.warn({ reason, runtime: fallback!.mode }, 'bpftrace-aotrt failed to start the compiled script; running it with bpftrace');
          runner = fallback!;
          fallback = undefined;
          continue;
        case 'isolate': {
          plog.warn({ reason }, 'shared bpftrace failed to start; running each monitor in its own process');
          const parts = await deps.isolate!(spec).catch((e: unknown) => {
            plog.error({ err: e instanceof Error ? e.message : String(e) }, 'cannot split the shared process');
            return [];
          });
          if (!parts.length) {
            report({ state: 'failed', pid: null, reason });
            settle();
            return;
          }
          await Promise.all(parts.map((p, i) => runProcess(p, i === parts.length - 1 ? settle : () => undefined)));
          settle();
          return;
        }
        case 'fail':
          report({ state: 'failed', pid: null, reason });
          plog.error({ reason, attempts: next.attempts }, `bpftrace failed; giving up after ${next.attempts} restarts`);
          settle();
          return;
        case 'restart':
          attempts = next.attempts;
          report({ state: 'restarting', pid: null, reason, lostOutput: attachedAt !== null });
          plog.warn({ reason, attempt: attempts, delayMs: next.delayMs }, 'bpftrace exited unexpectedly; restarting');
          await sleep(next.delayMs);
      }
    }
    report({ state: 'stopped', pid: null });
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
      for (const r of current.values()) r.stop();
      await done;
    },
    halt(pid, reason) {
      for (const [spec, run] of current) {
        if (run.pid !== pid) continue;
        halted.set(spec, reason);
        run.stop();
        return true;
      }
      return false;
    },
  };
}
