// The bpftrace the kernel tests run against, read once: its version's features (src/bt/features.ts) decide how a
// test checks that a script compiles (`-d` until 0.21, `--dry-run` since 0.22) and what it may expect.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { execa } from 'execa';
import { assumedFeatures, featuresOf, parseVersion, type BpftraceFeatures } from '../../src/bt/features.js';

let cached: BpftraceFeatures | undefined;

/** The features of the bpftrace on PATH (0.17's when none answers: the kernel gate reports that). */
export function bpftraceFeatures(): BpftraceFeatures {
  if (cached) return cached;
  try {
    const v = parseVersion(execFileSync('bpftrace', ['--version'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }));
    cached = v ? featuresOf(v) : assumedFeatures;
  } catch {
    cached = assumedFeatures;
  }
  return cached;
}

/** `bpftrace --version` as "0.23.2". */
export const bpftraceVersion = (): string => {
  const v = bpftraceFeatures().version;
  return `${v.major}.${v.minor}.${v.patch}`;
};

/**
 * Compiles and loads `file` without running it: `bpftrace -d` (0.17-0.21, which also prints the typed AST), or
 * `bpftrace --dry-run` (0.22+, which attaches every probe and exits: a probe this kernel lacks fails there).
 */
export function dryRun(file: string, opts: { env?: Record<string, string>; all?: boolean } = {}) {
  return execa('bpftrace', [...bpftraceFeatures().dryRunArgs, file], { reject: false, stdout: 'pipe', ...(opts.env ? { env: opts.env } : {}), ...(opts.all ? { all: true } : {}), timeout: 120_000 });
}

const kprobesHere = (): boolean => existsSync('/sys/kernel/tracing/kprobe_events') || existsSync('/sys/kernel/debug/tracing/kprobe_events');

/**
 * Asserts that `file` compiles with this bpftrace. A script with kprobes on a kernel without them cannot pass a
 * 0.22+ dry run (it attaches): there the assertion is that it fails on the kprobe and nothing else.
 */
export async function assertCompiles(file: string, opts: { env?: Record<string, string>; label?: string } = {}): Promise<string> {
  const d = await dryRun(file, { ...(opts.env ? { env: opts.env } : {}), all: true });
  const out = String(d.all ?? '');
  const errors = out.split('\n').filter((l) => /ERROR|rror:/.test(l) && !/RLIMIT_MEMLOCK/.test(l));
  const label = opts.label ?? path.basename(file);
  const attaches = bpftraceFeatures().dryRunArgs.includes('--dry-run');
  if (attaches && !kprobesHere() && /^k(ret)?probe:/m.test(await readFile(file, 'utf8'))) {
    // A dry run attaches, and this kernel has no kprobes: 0.23 reports the failed attach and exits 0 (a wildcard
    // matching nothing is only a warning), 0.24+ makes it fatal (#4097). Either way only the kprobes may fail.
    assert.ok(errors.every((l) => /k(ret)?probe|no valid attach points/i.test(l)), `${label}: only the kprobes may fail: ${errors.slice(0, 3).join(' | ')}`);
    if (d.exitCode !== 0) assert.ok(errors.length > 0, `${label}: exit ${String(d.exitCode)} without an error about the kprobes: ${out.slice(-1000)}`);
    return out;
  }
  assert.equal(d.exitCode, 0, `${label}: ${errors.slice(0, 3).join(' | ') || out.slice(-2000)}`);
  return out;
}

/** BPFTRACE_STRLEN under the name this bpftrace reads. */
export const bpftraceEnvFor = (strlen: string): Record<string, string> => ({ [bpftraceFeatures().env.strlen]: strlen });

/** Whether this bpftrace's ahead-of-time output runs in bpftrace-aotrt (0.17-0.20): runtime.aot takes effect. */
export const aotHere = (): boolean => bpftraceFeatures().aheadOfTime.mode === 'shim';

/** The runtime a process reports for `runtime.aot: aot` with this bpftrace. */
export const expectedRuntime = (aot: boolean): 'aot' | 'jit' => (aot && aotHere() ? 'aot' : 'jit');
