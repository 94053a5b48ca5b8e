// Spawn one bpftrace, hand its stdout to `onLine` line by line, its stderr to `onStderr`, resolve with how it ended.
// It runs for weeks: nothing is buffered, and failure is a value, not an exception.
import { forEachLine } from './lines.js';
import { closeSync, existsSync, openSync } from 'node:fs';
import { spawn } from 'node:child_process';
import { errnoOf } from '../errors.js';

export interface BpftraceSpawn {
  /** bpftrace executable. */
  command: string;
  /** Arguments after the executable, e.g. ['-f', 'json', '/tmp/x/ebpfmon-main.bt']. */
  args: readonly string[];
  env: Readonly<Record<string, string>>;
  onLine(line: string): void;
  /** Checked after each line: a promise pauses reading stdout until it resolves (backpressure from the sinks). */
  throttle?(): Promise<void> | null;
  onStderr(line: string): void;
  /** How long SIGTERM may take before SIGKILL. */
  killAfterMs: number;
}

export interface BpftraceExit {
  exitCode: number | null;
  signal: string | null;
  /** The spawn itself failed (ENOENT, EACCES): message. */
  spawnError: string | null;
}

export interface BpftraceRun {
  pid: number | undefined;
  /** Ask bpftrace to stop: it runs END (final interval), then exits. */
  stop(): void;
  /** Resolves after the process exited and every stdout line was delivered. */
  done: Promise<BpftraceExit>;
}

export type SpawnBpftrace = (s: BpftraceSpawn) => BpftraceRun;

/**
 * With util-linux's setpriv, the kernel sends bpftrace SIGKILL when ebpfmon dies, even by SIGKILL, so no
 * probes stay attached. bpftrace would otherwise only notice when a write to its closed stdout fails.
 */
export const setprivPath = ['/usr/bin/setpriv', '/bin/setpriv'].find((p) => existsSync(p)) ?? null;

/**
 * The environment bpftrace gets: ours over the inherited one, except glibc tunables, which are joined: ours
 * first, then the operator's, so the operator's value wins where both set the same tunable (glibc reads them in
 * order).
 */
export function spawnEnv(ours: Readonly<Record<string, string>>, inherited: NodeJS.ProcessEnv): Record<string, string> {
  const env = { ...ours };
  const theirs = inherited['GLIBC_TUNABLES'];
  if (ours['GLIBC_TUNABLES'] && theirs) env['GLIBC_TUNABLES'] = `${ours['GLIBC_TUNABLES']}:${theirs}`;
  return env;
}

/** How a run of bpftrace ended; a run that never started (ENOENT, EACCES) has only a spawn error. */
export function exitOf(r: { failed: boolean; exitCode?: number | undefined; signal?: string | undefined; cause?: unknown; message?: string }): BpftraceExit {
  const spawnError = r.failed && r.exitCode === undefined && !r.signal ? ((r.cause instanceof Error ? r.cause.message : r.message) ?? null) : null;
  return { exitCode: r.exitCode ?? null, signal: r.signal ?? null, spawnError };
}

const benign = /RLIMIT_MEMLOCK/;

/**
 * Whether a stderr line is one bpftrace prints on every start whatever the script: the RLIMIT_MEMLOCK warning on
 * kernels that account BPF memory by cgroup, and what the version adds (src/bt/features.ts `benignStderr`).
 */
export const isBenignStderr = (line: string, patterns: readonly RegExp[] = [benign]): boolean => patterns.some((p) => p.test(line));

/** A warning bpftrace's compiler gives at a place in the script (`file:12:3-26: WARNING: ...`); its excerpt follows indented. */
export const isCompileWarning = (line: string): boolean => /^\S+:\d+:\d+(-\d+)?: WARNING: /.test(line);

/** The most useful line of bpftrace's stderr: its first error that is not the RLIMIT_MEMLOCK warning (LLVM says "error:"). */
export function errorSummary(stderr: readonly string[], exit: BpftraceExit): string {
  const err =
    stderr.find((l) => /ERROR|\berror:/.test(l) && !benign.test(l)) ?? stderr.find((l) => l.trim() && !benign.test(l) && !/WARNING/.test(l));
  const how = exit.spawnError ?? (exit.signal ? `killed by ${exit.signal}` : `exit code ${String(exit.exitCode)}`);
  return err ? `${err.trim()} (${how})` : how;
}

/** Descriptors a spawn needs: three pipes and what the child's setup opens on our side. */
const spawnFds = 8;

/**
 * Whether `spawnFds` descriptors are free now: without them Node's spawn fails with EMFILE (execa, used before, could not
 * report it: its error event fired with no listener, and the process died with a stack trace). The check and the
 * spawn run in one synchronous stretch, so nothing of ours can take the descriptors in between.
 */
function descriptorsFree(): string | null {
  const fds: number[] = [];
  try {
    for (let i = 0; i < spawnFds; i++) fds.push(openSync('/dev/null', 'r'));
    return null;
  } catch (e) {
    return `cannot spawn bpftrace: ${errnoOf(e) ?? String(e)} (too many open files)`;
  } finally {
    for (const fd of fds) closeSync(fd);
  }
}

/** A run that never started: how a spawn failure looks to the supervisor. */
export const failedRun = (spawnError: string): BpftraceRun => ({
  pid: undefined,
  stop: () => undefined,
  done: Promise.resolve({ exitCode: null, signal: null, spawnError }),
});

export const spawnBpftrace: SpawnBpftrace = (s) => {
  const noFds = descriptorsFree();
  if (noFds) return failedRun(noFds);
  const [file, args] = setprivPath
    ? [setprivPath, ['--pdeathsig', 'KILL', '--', s.command, ...s.args]]
    : [s.command, [...s.args]];
  // Own process group: Ctrl-C reaches ebpfmon only, which then stops bpftrace in order.
  const sub = spawn(file, args, { stdio: ['ignore', 'pipe', 'pipe'], detached: true, env: { ...process.env, ...spawnEnv(s.env, process.env) } });
  let spawnError: Error | undefined;
  sub.on('error', (e) => {
    spawnError = e;
  });
  // Should ebpfmon exit without stopping it (setpriv's parent-death signal covers a SIGKILL of ebpfmon).
  const cleanup = (): void => {
    sub.kill('SIGKILL');
  };
  process.on('exit', cleanup);
  let forceKill: NodeJS.Timeout | undefined;
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    sub.on('close', (code, signal) => {
      process.off('exit', cleanup);
      clearTimeout(forceKill);
      resolve({ code, signal });
    }),
  );
  const pipe = (stream: NodeJS.ReadableStream | null, cb: (l: string) => void, throttle?: () => Promise<void> | null): Promise<unknown> =>
    stream ? forEachLine(stream, cb, throttle) : Promise.resolve();
  const outDone = pipe(sub.stdout, s.onLine, s.throttle);
  const errDone = pipe(sub.stderr, s.onStderr);
  const done = (async (): Promise<BpftraceExit> => {
    const { code, signal } = await exited;
    await Promise.all([outDone, errDone]);
    // A spawn that failed closes with the negative errno as its code: it never exited.
    return exitOf({ failed: spawnError !== undefined || code !== 0, exitCode: spawnError ? undefined : (code ?? undefined), signal: signal ?? undefined, cause: spawnError });
  })();
  return {
    pid: sub.pid,
    stop: () => {
      if (sub.exitCode !== null || sub.signalCode !== null || sub.pid === undefined) return;
      sub.kill('SIGTERM');
      forceKill ??= setTimeout(() => sub.kill('SIGKILL'), s.killAfterMs);
    },
    done,
  };
};
