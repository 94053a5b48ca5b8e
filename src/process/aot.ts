// How a script is run: by bpftrace itself (it compiles the script with LLVM at every start and keeps LLVM and
// clang mapped for its whole life), or ahead of time: `bpftrace --aot` compiles it once and exits, and
// bpftrace-aotrt (same package) loads the result without LLVM. Measured here with the six tracepoint monitors:
// 13 MB RSS for bpftrace-aotrt against 108 MB for bpftrace, the same start-up (1.0 s compile + 0.2 s attach
// against 1.2 s), and a restart that skips the compile.
// bpftrace 0.17 compiles ahead of time only what it calls portable: no `curtask`, no casts, no kaddr() or
// cgroupid(). A script it refuses runs the old way, and the refusal is logged.
// bpftrace-aotrt 0.17 ignores BPFTRACE_MAP_KEYS_MAX and BPFTRACE_PERF_RB_PAGES: its maps hold 4,096 keys and its
// event buffer is 64 pages per CPU, whatever the environment says (compose shards maps to make up for the first).
// A compiled script is cached (aotCacheDir, keyed by the script, bpftrace's environment, the bpftrace binary and
// version, and the kernel release): a start or reload whose scripts did not change skips the compile (~1 s of CPU
// per process on 0.17, most of start-up).
import { createHash } from 'node:crypto';
import { copyFile, readdir, readFile, realpath, rename, stat, unlink, utimes } from 'node:fs/promises';
import path from 'node:path';
import { runCommand } from './run.js';
import { secureDirSync } from '../safe-fs.js';
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
  /** Cache compiled scripts here (root's directory, 0750), for this bpftrace version and kernel release. */
  cache?: { dir: string; version: string; kernel: string };
}

export const aotCacheDir = '/var/cache/ebpfmon/aot';
/** Compiled scripts kept in the cache, the most recently used first (a few KB to a few hundred KB each). */
export const aotCacheEntries = 16;

/** What a compiled script depends on: a change to any gives another key. */
export function aotCacheKey(k: { script: string; env: Readonly<Record<string, string>>; bpftrace: string; binary: { size: number; mtimeMs: number }; version: string; kernel: string }): string {
  const env = Object.entries(k.env).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return createHash('sha256')
    .update(JSON.stringify([k.script, env, k.bpftrace, k.binary.size, k.binary.mtimeMs, k.version, k.kernel]))
    .digest('hex');
}

/** Keeps the `keep` most recently used entries of the cache. */
async function pruneAotCache(dir: string, keep: number): Promise<void> {
  const files = (await readdir(dir)).filter((f) => f.endsWith('.aot'));
  if (files.length <= keep) return;
  const dated = await Promise.all(files.map(async (f) => ({ f, at: (await stat(path.join(dir, f)).catch(() => null))?.mtimeMs ?? 0 })));
  dated.sort((a, b) => b.at - a.at);
  for (const { f } of dated.slice(keep)) await unlink(path.join(dir, f)).catch(() => undefined);
}

/** The cache file for this compile, or null when there is no cache (none asked for, or the key cannot be made). */
async function cacheFileOf(c: AotCompile): Promise<string | null> {
  if (!c.cache) return null;
  try {
    const bin = await realpath(c.bpftrace);
    const st = await stat(bin);
    const key = aotCacheKey({ script: await readFile(c.script, 'utf8'), env: c.env, bpftrace: bin, binary: { size: st.size, mtimeMs: st.mtimeMs }, version: c.cache.version, kernel: c.cache.kernel });
    return path.join(c.cache.dir, `${key}.aot`);
  } catch {
    return null;
  }
}

/**
 * The compiled script's runner, or why bpftrace would not compile it ahead of time. `cached`: taken from the cache.
 * A cache that cannot be read or written (not root, a directory that is not root's) only means a compile.
 */
export async function compileAot(c: AotCompile): Promise<{ runner: Runner; cached: boolean } | { refused: string }> {
  const runner: Runner = { mode: 'aot', command: c.aotrt, args: ['-f', 'json', c.out], stop: sendStop, mapCapacity: aotMapKeys };
  const cached = await cacheFileOf(c);
  if (cached) {
    try {
      secureDirSync(path.dirname(cached), { what: 'AOT cache', create: false });
      await copyFile(cached, c.out);
      const now = new Date();
      await utimes(cached, now, now).catch(() => undefined);
      return { runner, cached: true };
    } catch {
      // not cached (or not safely): compile
    }
  }
  const r = await runCommand(c.bpftrace, ['--aot', c.out, c.script], { env: spawnEnv(c.env, process.env), timeoutMs: c.timeoutMs });
  if (r.exitCode === 0 && !r.failed) {
    if (cached) {
      try {
        secureDirSync(path.dirname(cached), { what: 'AOT cache', create: true });
        const tmp = `${cached}.${process.pid}.tmp`;
        await copyFile(c.out, tmp);
        await rename(tmp, cached);
        await pruneAotCache(path.dirname(cached), aotCacheEntries);
      } catch {
        // no cache: the next start compiles again
      }
    }
    return { runner, cached: false };
  }
  return { refused: errorSummary(`${r.stderr}\n${r.stdout}`.split('\n'), exitOf(r)) };
}
