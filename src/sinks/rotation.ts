// Output file names and rotation: `<monitor>_<YYYYMMDDTHHMMSSZ>[_NNN].<ext>[.gz]`, where the time is when the file
// started (the run's start, or the first row of a rotated file's successor), so a file's name tells when its rows
// begin and, with daily rotation, which UTC day holds all of them. Names sort in the order the files started by plain
// byte order (`ls`, a shell glob under LC_ALL=C): `_001` sorts after `.csv`, where the `-1` of earlier versions
// sorted before it (those names are still read). The decisions are pure; compression is the one
// piece of I/O here: `<name>.gz` is written beside the file, synced, and only then is the file removed.
import { constants } from 'node:fs';
import { lstat, open, unlink } from 'node:fs/promises';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { createGzip } from 'node:zlib';
import { createExclusive } from '../safe-fs.js';

/** The extensions ebpfmon writes (one per output format). */
export const outputExtensions = ['csv', 'ndjson'] as const;

/** `2026-11-25T02:44:13.123Z` -> `20261125T024413Z`: the second a file started. */
export const outputStamp = (at: Date): string => at.toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z');

/** Files one second can start: the suffix has three digits, so that byte order is creation order. */
export const maxPerSecond = 1000;

export const outputFileName = (monitor: string, startedAt: Date, extension: string, n = 0): string =>
  `${monitor}_${outputStamp(startedAt)}${n ? `_${String(n).padStart(3, '0')}` : ''}.${extension}`;

export interface OutputName {
  monitor: string;
  /** YYYYMMDDTHHMMSSZ */
  stamp: string;
  /** The _NNN suffix (a second file started in the same second; -N before), 0 without one. */
  n: number;
  extension: string;
  gz: boolean;
  /** The name without `.gz`: a file and its compressed copy share it. */
  base: string;
}

const restPattern = /^_(\d{8}T\d{6}Z)(?:_((?!000)\d{3})|-([1-9]\d{0,8}))?\.([a-z]+)(\.gz)?$/;

/**
 * An ebpfmon output file name of one of `monitors` with one of `extensions`, or null. The monitor is matched by
 * name, not by a pattern: `page_fault_...` is page_fault's, and a name of a monitor we do not know is not ours.
 */
export function parseOutputName(name: string, monitors: readonly string[], extensions: readonly string[] = outputExtensions): OutputName | null {
  for (const monitor of monitors) {
    if (!name.startsWith(`${monitor}_`)) continue;
    const m = restPattern.exec(name.slice(monitor.length));
    if (!m || !extensions.includes(m[4]!)) continue;
    const gz = m[5] !== undefined;
    return { monitor, stamp: m[1]!, n: Number(m[2] ?? m[3] ?? 0), extension: m[4]!, gz, base: gz ? name.slice(0, -3) : name };
  }
  return null;
}

/** Older first: by start time, then by suffix (none, then 1, 2 ...; an old `-N` name sorts wrong by bytes). */
export const compareOutputNames = (a: OutputName, b: OutputName): number =>
  a.stamp < b.stamp ? -1 : a.stamp > b.stamp ? 1 : a.n - b.n || (a.base < b.base ? -1 : a.base > b.base ? 1 : Number(a.gz) - Number(b.gz));

/** The UTC day of a stamp, YYYY-MM-DD. */
export const stampDay = (stamp: string): string => `${stamp.slice(0, 4)}-${stamp.slice(4, 6)}-${stamp.slice(6, 8)}`;

/** The instant a stamp names, in ms. */
export const stampMs = (stamp: string): number =>
  Date.parse(`${stampDay(stamp)}T${stamp.slice(9, 11)}:${stamp.slice(11, 13)}:${stamp.slice(13, 15)}.000Z`);

/** The UTC day of an ISO timestamp as ebpfmon writes them, or null when it is not one. */
export const isoDay = (ts: string): string | null => (/^\d{4}-\d{2}-\d{2}T/.test(ts) ? ts.slice(0, 10) : null);

export interface RotatePolicy {
  /** Start new files at 00:00 UTC. */
  daily: boolean;
  /** Start a new file once one holds this many bytes (0: no limit). */
  maxBytes: number;
}

export type RotateReason = 'size' | 'daily';

/**
 * Whether the next batch of rows goes to a new file: the file holds `bytes` and started on `fileDay`; the batch's
 * first row is of `batchDay`. Only a later day starts a file: an event of the day before that arrives a moment late
 * stays in today's file rather than open yesterday's again.
 */
export function rotationDue(p: RotatePolicy, file: { bytes: number; day: string }, batchDay: string | null): RotateReason | null {
  if (p.daily && batchDay !== null && batchDay > file.day) return 'daily';
  if (p.maxBytes > 0 && file.bytes >= p.maxBytes) return 'size';
  return null;
}

/**
 * Whether a file about to get rows is rotated first: never while it fails (rotation waits until it writes again, so it
 * never loses a row), else as rotationDue says.
 */
export function rotateBeforeWrite(p: RotatePolicy, file: { bytes: number; day: string; failing: boolean }, batchDay: string | null): RotateReason | null {
  return file.failing ? null : rotationDue(p, file, batchDay);
}

/**
 * Whether the flush timer closes a file that gets no rows: with daily rotation, once the UTC day `graceMs` ago is
 * later than the file's day (late rows of its day still reach it until then), unless it fails.
 */
export function idleRotationDue(p: RotatePolicy, file: { day: string; failing: boolean }, nowMs: number, graceMs: number): 'daily' | null {
  if (!p.daily || file.failing) return null;
  const dayAgo = isoDay(new Date(nowMs - graceMs).toISOString());
  return dayAgo !== null && dayAgo > file.day ? 'daily' : null;
}

/**
 * A new file `<monitor>_<stamp>[_NNN].<ext>` that does not exist, nor its `.gz`: a second file in the same second
 * (a reload, fast rotation by size) gets _001, _002 ... up to _999. Created by `create` (O_EXCL|O_NOFOLLOW, never over
 * anything: past _999 the create fails).
 */
export async function createNext<H>(
  dir: string,
  monitor: string,
  startedAt: Date,
  extension: string,
  create: (file: string) => Promise<H>,
): Promise<{ file: string; handle: H }> {
  const exists = (f: string): Promise<boolean> => lstat(f).then(() => true, () => false);
  for (let n = 0; ; n++) {
    const file = path.join(dir, outputFileName(monitor, startedAt, extension, n));
    if (n < maxPerSecond - 1 && ((await exists(file)) || (await exists(`${file}.gz`)))) continue;
    return { file, handle: await create(file) };
  }
}

/** fsync a directory, so a new name in it (and a removed one) survives a crash in that order. */
async function syncDir(dir: string): Promise<void> {
  const fh = await open(dir, constants.O_RDONLY | constants.O_DIRECTORY);
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/**
 * gzips a closed output file to `<file>.gz` (O_EXCL|O_NOFOLLOW, the file's times kept), fsyncs it and its directory,
 * and only then removes the file: at any moment one complete copy exists. On failure (or `signal`) the partial .gz is
 * removed and the file stays. `busy` marks each path while it is being written or read, for retention.
 */
export async function compressFile(file: string, opts: { signal?: AbortSignal | undefined; busy?: Set<string> | undefined } = {}): Promise<string> {
  const gz = `${file}.gz`;
  opts.busy?.add(file);
  opts.busy?.add(gz);
  try {
    const src = await open(file, constants.O_RDONLY | constants.O_NOFOLLOW);
    try {
      const st = await src.stat();
      if (!st.isFile()) throw new Error(`${file} is not a regular file`);
      const out = await createExclusive(gz);
      try {
        // The handles stay ours (closed below): a stream that does not close its handle must not wait for its close.
        await pipeline(
          src.createReadStream({ autoClose: false, emitClose: false, highWaterMark: 1 << 20 }),
          createGzip(),
          async (gzipped: AsyncIterable<Buffer>) => {
            for await (const chunk of gzipped) {
              for (let done = 0; done < chunk.length; ) done += (await out.write(chunk, done, chunk.length - done)).bytesWritten;
            }
          },
          opts.signal ? { signal: opts.signal } : {},
        );
        await out.utimes(st.atime, st.mtime);
        await out.sync();
      } catch (e) {
        await out.close().catch(() => undefined);
        await unlink(gz).catch(() => undefined);
        throw e;
      }
      await out.close();
    } finally {
      await src.close();
    }
    await syncDir(path.dirname(file));
    await unlink(file);
    return gz;
  } finally {
    opts.busy?.delete(file);
    opts.busy?.delete(gz);
  }
}
