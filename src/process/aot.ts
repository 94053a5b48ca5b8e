// How a script is run: by bpftrace itself (it compiles the script with LLVM at every start and keeps LLVM and
// clang mapped for its whole life), or ahead of time: `bpftrace --aot` compiles it once and exits, and
// bpftrace-aotrt (same package) loads the result without LLVM. Measured here with the six tracepoint monitors:
// 13 MB RSS for bpftrace-aotrt against 108 MB for bpftrace, the same start-up (1.0 s compile + 0.2 s attach
// against 1.2 s), and a restart that skips the compile.
// bpftrace 0.17 compiles ahead of time only what it calls portable: no `curtask`, no casts, no kaddr() or
// cgroupid(). A script it refuses runs the old way, and the refusal is logged.
// bpftrace-aotrt 0.17 ignores BPFTRACE_MAP_KEYS_MAX and BPFTRACE_PERF_RB_PAGES: its maps hold 4,096 keys and its
// event buffer is 64 pages per CPU, whatever the environment says (compose shards maps to make up for the first).
import { execa } from 'execa';
import { errorSummary, exitOf } from './bpftrace.js';
import { spawnEnv } from './bpftrace.js';

export interface Runner {
  /** 'aot': bpftrace-aotrt runs a compiled script; 'jit': bpftrace compiles and runs the script. */
  mode: 'aot' | 'jit';
  command: string;
  args: readonly string[];
  /** Asks the attached process `pid` to run END and exit, where SIGTERM would not (see compose's stop probe). */
  stop?(pid: number): void;
  /** Keys one map holds under this runner. */
  mapCapacity: number;
}

/** Keys per map in bpftrace-aotrt 0.17, which never reads BPFTRACE_MAP_KEYS_MAX. */
export const aotMapKeys = 4096;

/**
 * bpftrace on the script. A script with the stop probe is stopped through it here too: bpftrace 0.17 checks its
 * SIGTERM flag only when epoll_wait() is interrupted, so a SIGTERM that lands while it reads events (printing an
 * interval's maps) goes unnoticed until SIGKILL, and the final interval is lost (seen on the forecast's probes:
 * about one stop in twelve hung).
 */
export const jitRunner = (bpftrace: string, script: string, mapKeysMax: number, stoppable: boolean): Runner => ({
  mode: 'jit',
  command: bpftrace,
  args: ['-f', 'json', script],
  ...(stoppable ? { stop: sendStop } : {}),
  mapCapacity: mapKeysMax,
});

/** Fires the script's stop probe (SIGURG to its pid); ESRCH (the process has just exited) is fine. */
export function sendStop(pid: number): void {
  try {
    process.kill(pid, 'SIGURG');
  } catch {
    // already gone
  }
}

export interface AotCompile {
  bpftrace: string;
  aotrt: string;
  /** A script with compose's stop probe (generated, or an operator's copy that kept it). */
  script: string;
  /** Where the compiled script goes. */
  out: string;
  /** bpftrace's environment: string sizes are fixed at compile time. */
  env: Readonly<Record<string, string>>;
  timeoutMs: number;
}

/** The compiled script's runner, or why bpftrace would not compile it ahead of time. */
export async function compileAot(c: AotCompile): Promise<{ runner: Runner } | { refused: string }> {
  const r = await execa(c.bpftrace, ['--aot', c.out, c.script], {
    reject: false,
    stdin: 'ignore',
    env: spawnEnv(c.env, process.env),
    extendEnv: true,
    timeout: c.timeoutMs,
  });
  if (r.exitCode === 0 && !r.failed) return { runner: { mode: 'aot', command: c.aotrt, args: ['-f', 'json', c.out], stop: sendStop, mapCapacity: aotMapKeys } };
  return { refused: errorSummary(`${r.stderr}\n${r.stdout}`.split('\n'), exitOf(r)) };
}
