// Retention: removes ebpfmon's own closed output files by age (modification time: a closed file's is its last
// row's) and keeps their total under a size, oldest first. It only ever considers names it writes,
// `<monitor>_<YYYYMMDDTHHMMSSZ>[-N].<ext>[.gz]` for monitors it knows, regular files only (no symlink, no
// directory), and never a file this process is writing or compressing. A file and its .gz (a compression cut
// short by a crash) are one unit: kept or removed together.
import { lstat, readdir, unlink } from 'node:fs/promises';
import path from 'node:path';
import { compareOutputNames, outputExtensions, parseOutputName, type OutputName } from './rotation.js';
import type { SinkLog } from './sink.js';
import { errnoOf } from '../errors.js';

export interface RetentionPolicy {
  /** Remove closed files last modified longer ago than this (0: keep all). */
  maxAgeMs: number;
  /** Keep ebpfmon's files in the directory under this many bytes, removing the oldest closed ones (0: no limit). */
  maxTotalBytes: number;
}

export const retentionOff = (p: RetentionPolicy): boolean => p.maxAgeMs <= 0 && p.maxTotalBytes <= 0;

/**
 * What this process has open in its output directories, and its housekeeping queue. One per process (files written
 * by one session must be safe from the retention of the next while a reload overlaps them); tests make their own.
 */
export interface OutputRegistry {
  /** Absolute paths being written or compressed: retention never removes them. */
  busy: Set<string>;
  /** Files this process closed at a reload or shutdown while compress was on: gzipped at its next rotation. */
  uncompressed: Set<string>;
  /** Runs housekeeping (retention passes, compressions) one job at a time, in order. */
  serial<T>(job: () => Promise<T>): Promise<T>;
}

export function createOutputRegistry(): OutputRegistry {
  let tail: Promise<unknown> = Promise.resolve();
  return {
    busy: new Set(),
    uncompressed: new Set(),
    serial(job) {
      const p = tail.then(job);
      tail = p.catch(() => undefined);
      return p;
    },
  };
}

/** The process's registry: the default of every file sink. */
export const processOutputs: OutputRegistry = createOutputRegistry();

export interface OwnFile {
  name: string;
  parsed: OutputName;
  bytes: number;
  mtimeMs: number;
  busy: boolean;
}

export interface Removal {
  names: string[];
  bytes: number;
  reason: 'max_age_days' | 'max_total_mb';
}

/**
 * Which of `files` to remove under `policy` at `nowMs` (pure). Units (a file with its .gz) go oldest first: by
 * modification time, then by name. Busy units are never removed, but their bytes count toward the total.
 */
export function planRetention(files: readonly OwnFile[], policy: RetentionPolicy, nowMs: number): Removal[] {
  const units = new Map<string, { files: OwnFile[]; bytes: number; mtimeMs: number; busy: boolean; first: OutputName }>();
  for (const f of files) {
    const u = units.get(f.parsed.base);
    if (u) {
      u.files.push(f);
      u.bytes += f.bytes;
      u.mtimeMs = Math.max(u.mtimeMs, f.mtimeMs);
      u.busy ||= f.busy;
    } else {
      units.set(f.parsed.base, { files: [f], bytes: f.bytes, mtimeMs: f.mtimeMs, busy: f.busy, first: f.parsed });
    }
  }
  const order = [...units.values()].sort((a, b) => a.mtimeMs - b.mtimeMs || compareOutputNames(a.first, b.first));
  let total = order.reduce((n, u) => n + u.bytes, 0);
  const out: Removal[] = [];
  for (const u of order) {
    if (u.busy) continue;
    const old = policy.maxAgeMs > 0 && nowMs - u.mtimeMs > policy.maxAgeMs;
    const over = policy.maxTotalBytes > 0 && total > policy.maxTotalBytes;
    if (!old && !over) continue;
    out.push({ names: u.files.map((f) => f.name).sort(), bytes: u.bytes, reason: old ? 'max_age_days' : 'max_total_mb' });
    total -= u.bytes;
  }
  return out;
}

export interface RetentionRun {
  dir: string;
  policy: RetentionPolicy;
  /** Monitor names whose files are ours (every monitor ebpfmon has, not only those running). */
  monitors: readonly string[];
  now(): Date;
  registry: OutputRegistry;
  log?: SinkLog | undefined;
}

/** Names listed in one log line at most; the count and bytes cover them all. */
const namesLogged = 50;

/** One retention pass over `dir` (in the registry's queue): what it removed, also logged in one line. */
export function runRetention(r: RetentionRun): Promise<Removal[]> {
  if (retentionOff(r.policy)) return Promise.resolve([]);
  return r.registry.serial(async () => {
    const own: OwnFile[] = [];
    for (const name of await readdir(r.dir).catch(() => [])) {
      const parsed = parseOutputName(name, r.monitors, outputExtensions);
      if (!parsed) continue;
      const full = path.join(r.dir, name);
      const st = await lstat(full).catch(() => null);
      if (!st?.isFile()) continue;
      own.push({ name, parsed, bytes: st.size, mtimeMs: st.mtimeMs, busy: r.registry.busy.has(full) });
    }
    const plan = planRetention(own, r.policy, r.now().getTime());
    const done: Removal[] = [];
    for (const rm of plan) {
      const removed: string[] = [];
      for (const name of rm.names) {
        const full = path.join(r.dir, name);
        // Checked again: a file could have become busy (compression started) while this pass listed the directory.
        if (r.registry.busy.has(full)) continue;
        await unlink(full).then(
          () => removed.push(name),
          (e: unknown) => {
            if (errnoOf(e) !== 'ENOENT') r.log?.warn({ file: full, err: String(e) }, 'retention: cannot remove an old output file');
          },
        );
      }
      if (removed.length) done.push({ ...rm, names: removed });
    }
    if (done.length) {
      const names = done.flatMap((d) => d.names);
      r.log?.info(
        {
          dir: r.dir,
          removed: names.slice(0, namesLogged),
          ...(names.length > namesLogged ? { more: names.length - namesLogged } : {}),
          files: names.length,
          bytes: done.reduce((n, d) => n + d.bytes, 0),
          reasons: [...new Set(done.map((d) => d.reason))],
        },
        'retention: removed old output files',
      );
    }
    return done;
  });
}
