// How a script is run: by bpftrace itself (it compiles the script with LLVM at every start and keeps LLVM and
// clang mapped for its whole life), or ahead of time: `bpftrace --aot` compiles it once and exits, and
// bpftrace-aotrt (same package) loads the result without LLVM. Measured here with the six tracepoint monitors:
// 13 MB RSS for bpftrace-aotrt against 108 MB for bpftrace, the same start-up (1.0 s compile + 0.2 s attach
// against 1.2 s), and a restart that skips the compile.
// bpftrace 0.17 compiles ahead of time only what it calls portable: no `curtask`, no casts, no kaddr() or
// cgroupid(). A script it refuses runs the old way, and the refusal is logged.
import { readFile, writeFile } from 'node:fs/promises';
import os from 'node:os';
import { execa } from 'execa';
import { exitOf, spawnEnv } from './bpftrace.js';
import { errorSummary } from './supervisor.js';

export interface Runner {
  /** 'aot': bpftrace-aotrt runs a compiled script; 'jit': bpftrace compiles and runs the script. */
  mode: 'aot' | 'jit';
  command: string;
  args: readonly string[];
  /** Asks the attached process `pid` to run END and exit, where SIGTERM would not (see `stopProbe`). */
  stop?(pid: number): void;
}

export const jitRunner = (bpftrace: string, script: string): Runner => ({ mode: 'jit', command: bpftrace, args: ['-f', 'json', script] });

/** A signal whose default action is to ignore it: delivered to bpftrace-aotrt it does nothing by itself. */
const stopSignal = 'SIGURG';

/**
 * bpftrace-aotrt 0.17 installs no signal handler: SIGTERM kills it before END prints the last interval. The
 * compiled copy of a script therefore records its own pid in BEGIN and gets one more probe, through which ebpfmon
 * stops it: SIGURG sent to that pid by kill() (si_code SI_USER: not the kernel's out-of-band socket SIGURG).
 * exit() ends the run the way SIGTERM ends bpftrace: END runs, then it exits. Only a process allowed to signal
 * bpftrace-aotrt (root) can fire the probe, and it stops only the process it was sent to (a budget's stop leaves
 * the others running). Both pids are the kernel's own, so this holds inside a pid namespace too.
 * A signal tracepoint, not a syscall one: enabling any syscall tracepoint sends every syscall on the host through
 * the slow path (measured: +100 ns per getppid here for a page_fault-only process with the kill() probe it
 * replaced).
 */
function stopProbe(signal: number): string {
  return [
    '',
    '// ebpfmon: stops this compiled copy (SIGTERM would kill bpftrace-aotrt before END): END runs, then it exits.',
    `tracepoint:signal:signal_generate /args->sig == ${signal} && args->code == 0 && args->pid == @ebpfmon_self[0]/ {`,
    '  delete(@ebpfmon_self[0]);',
    '  exit();',
    '}',
    '',
  ].join('\n');
}

/** The script with BEGIN recording the process's pid for the stop probe, or null unless it has one BEGIN. */
export function withSelfPid(text: string): string | null {
  const begin = /^BEGIN\s*\{/gm;
  if (text.match(begin)?.length !== 1) return null;
  return text.replace(begin, (b) => `${b} @ebpfmon_self[0] = pid;`) + stopProbe(os.constants.signals[stopSignal]);
}

/** Fires the stop probe; ESRCH (the process has just exited) is fine. */
function sendStop(pid: number): void {
  try {
    process.kill(pid, stopSignal);
  } catch {
    // already gone
  }
}

export interface AotCompile {
  bpftrace: string;
  aotrt: string;
  script: string;
  /** Where the compiled script goes; its source copy (script + stop probe) goes beside it as .bt. */
  out: string;
  /** bpftrace's environment: map sizes are fixed at compile time. */
  env: Readonly<Record<string, string>>;
  timeoutMs: number;
}

/** The compiled script's runner, or why bpftrace would not compile it ahead of time. */
export async function compileAot(c: AotCompile): Promise<{ runner: Runner } | { refused: string }> {
  const source = `${c.out}.bt`;
  const text = withSelfPid(await readFile(c.script, 'utf8'));
  if (text === null) return { refused: 'the script needs exactly one BEGIN probe (ebpfmon records the pid to stop in it)' };
  await writeFile(source, text, { mode: 0o600 });
  const r = await execa(c.bpftrace, ['--aot', c.out, source], {
    reject: false,
    stdin: 'ignore',
    env: spawnEnv(c.env, process.env),
    extendEnv: true,
    timeout: c.timeoutMs,
  });
  if (r.exitCode === 0 && !r.failed) return { runner: { mode: 'aot', command: c.aotrt, args: ['-f', 'json', c.out], stop: sendStop } };
  return { refused: errorSummary(`${r.stderr}\n${r.stdout}`.split('\n'), exitOf(r)) };
}
