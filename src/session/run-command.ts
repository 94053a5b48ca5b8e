// `ebpfmon run -- CMD ARGS`: the command and every process it starts, counted in the kernel from its first
// instruction to its exit. The command is started held (a shell waiting for one byte on fd 3 before it execs it), so
// its pid is known and goes into the scripts; it is released once every bpftrace has attached. When it exits,
// bpftrace prints its final interval (nothing lost), the summary goes to stderr and the exit status is the command's.
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import os from 'node:os';
import type { Logger } from '../log.js';
import { RunFailure } from '../errors.js';
import { hostScope, type Scope } from '../bt/ir.js';
import { makeRunnable } from '../script/runnable.js';
import { prepareSession, type Session } from './session.js';
import { logScope } from './targets.js';
import { attachReport } from './attach.js';
import { newTotals, renderSummary, tallySink } from './run-summary.js';

export interface RunOptions {
  config?: string | undefined;
  monitors?: string | undefined;
  outputDir?: string | undefined;
  console?: boolean | undefined;
  comm?: string | undefined;
}

export interface RunSignals {
  /** Registers what to do on a signal to ebpfmon while the command runs. */
  on(signal: NodeJS.Signals, cb: () => void): void;
}

export interface RunResult {
  /** The command's status as a shell reports it: its exit code, or 128 + the signal that killed it. */
  exitCode: number;
  summary: string;
  files: string[];
}

/**
 * The held start: `sh -c` reads one byte from fd 3, closes it, then execs the command (its pid stays). EOF on fd 3
 * (ebpfmon gone before the release) ends it with 125 without running the command. A command that cannot be run
 * gives 126/127 as in a shell.
 */
const holdScript = 'read -r _ <&3 || exit 125; exec 3<&-; exec "$@"';

/** Starts the command held. */
function startHeld(command: readonly string[]): ChildProcess {
  return spawn('/bin/sh', ['-c', holdScript, 'ebpfmon-run', ...command], { stdio: ['inherit', 'inherit', 'inherit', 'pipe'] });
}

/** The shell's view of how a process ended: its code, or 128 + the signal. */
export function shellStatus(code: number | null, signal: NodeJS.Signals | null): number {
  if (signal) return 128 + (os.constants.signals[signal] ?? 0);
  return code ?? 1;
}

/** Signals ebpfmon passes to the command (SIGINT from a terminal reaches the command itself: its process group). */
export const forwarded: readonly NodeJS.Signals[] = ['SIGTERM', 'SIGHUP', 'SIGQUIT'];

export async function runCommand(command: readonly string[], opts: RunOptions, deps: { log: Logger; signals: RunSignals }): Promise<RunResult> {
  const { log } = deps;
  const child = startHeld(command);
  const exited = once(child, 'exit') as Promise<[number | null, NodeJS.Signals | null]>;
  // A spawn failure (no /bin/sh) arrives as 'error'; it is reported below as the command's failure.
  const failedToSpawn = once(child, 'error').then(([e]) => e as Error);
  if (child.pid === undefined) throw new RunFailure(`cannot start ${command.join(' ')}: ${String((await failedToSpawn).message)}`);
  const pid = child.pid;
  // Written to after the command may have gone (then EPIPE): that is the command's exit, reported by 'exit'.
  child.stdio[3]?.on('error', (e: Error) => log.debug({ err: e.message }, 'the held command\'s release pipe failed'));
  let released = false;
  let session: Session | null = null;
  try {
    const scope: Scope = { ...hostScope, follow: pid, comm: opts.comm ?? null };
    const runnable = await makeRunnable({ config: opts.config, monitors: opts.monitors, scope }, log);
    const totals = newTotals();
    session = await prepareSession(runnable, { outputDir: opts.outputDir, console: opts.console ?? false }, [tallySink(totals)], { log });
    const supervisor = session.start();
    await supervisor.settled;
    const all = [...session.monitors.values()];
    const ran = attachReport(session, log).attached;
    if (!ran.length) throw new RunFailure(`no monitor could start; ${command.join(' ')} was not run`);
    logScope(scope, session.monitors.values(), log);
    log.info({ monitors: ran, output: session.dir, pid }, 'monitors attached: starting the command');
    for (const sig of forwarded) deps.signals.on(sig, () => child.kill(sig));
    // SIGINT from a terminal goes to the whole foreground process group, the command included: ebpfmon waits for
    // it to exit (as time and perf stat do) and counts until then.
    deps.signals.on('SIGINT', () => log.info('SIGINT: waiting for the command to exit'));
    const started = performance.now();
    released = true;
    (child.stdio[3] as NodeJS.WritableStream).end('\n');
    const [code, signal] = await exited;
    const seconds = (performance.now() - started) / 1000;
    const status = shellStatus(code, signal);
    log.info({ pid, status, ...(signal ? { signal } : {}) }, 'the command exited: waiting for the final interval');
    const s = session;
    session = null;
    await s.close();
    const hostWide = all.filter((m) => !m.scoped && ran.includes(m.monitor.name)).map((m) => m.monitor.name);
    return { exitCode: status, summary: renderSummary(totals, { command, status, signal, seconds, ran, hostWide }), files: s.files };
  } finally {
    // Anything failed before the release: the command never runs (SIGKILL ends the held shell).
    if (!released) child.kill('SIGKILL');
    if (session) await session.close();
  }
}
