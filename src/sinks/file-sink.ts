// One file per monitor in the output directory, rows batched and written at most every flush interval.
// The format (CSV, NDJSON) only turns rows into text; output-file.ts owns each file: its own write chain, so a
// file that cannot be written (full disk, deleted directory) holds up nothing but itself.
//
// Rotation (output.rotate) happens here, between two write() calls, never inside one: an interval's rows stay in
// one file. The file that is full (max_file_mb) or of an earlier UTC day (daily) is flushed and closed once it
// holds nothing unwritten (a failing file is not rotated until it writes again: rotation never loses a row), and the
// next rows go to a new file, header first, named by the time of its first row. A closed file is then gzipped
// (compress) and retention runs (also at start). SIGHUP's reopen() rotates a file renamed away (logrotate).
import path from 'node:path';
import { createExclusive, ensureDir } from '../safe-fs.js';
import { noteColumn, type Sink, type SinkLog } from './sink.js';
import { createOutputFile, type HeldTally, type OutputFile, type OutputFileStats, type OutputHandle, type RowFormat } from './output-file.js';
import { compareOutputNames, compressFile, createNext, idleRotationDue, isoDay, outputFileName, outputStamp, parseOutputName, rotateBeforeWrite, stampDay, type RotatePolicy } from './rotation.js';
import { processOutputs, retentionOff, runRetention, type OutputRegistry, type RetentionPolicy } from './retention.js';
import type { Row } from '../monitors/types.js';
import { errnoOf } from '../errors.js';
import { nodeTimers, type TimerApi } from '../timers.js';

export type { OutputFileStats, OutputHandle, RowFormat } from './output-file.js';
export { outputFileName } from './rotation.js';

export interface RotateOptions extends RotatePolicy {
  /** gzip a file once it is rotated (and files closed by a reload, at the next rotation). */
  compress: boolean;
}

export interface FileSinkOptions {
  dir: string;
  format: RowFormat;
  /** Monitor name -> its columns (without the note column). */
  columns: ReadonlyMap<string, readonly string[]>;
  /** Part of every file name, so a user sees the monitor and when the run started. */
  startedAt: Date;
  bufferRows: number;
  flushIntervalMs: number;
  /** A file could not be written or created again: called once each time a file's state changes, naming the file. */
  onError(e: unknown): void;
  /** Notices: a file writes again after a failure, a deleted file was created again, rotation, retention. */
  log?: SinkLog | undefined;
  /** Formatted rows each failing file may hold in memory until it can write again (default 1 MiB). */
  heldMax?: number | undefined;
  /** Opens a new file; tests inject short writes and ENOSPC here. */
  open?: ((file: string) => Promise<OutputHandle>) | undefined;
  now?: (() => Date) | undefined;
  /** output.rotate; none by default. */
  rotate?: RotateOptions | undefined;
  /** output.retention; none by default. */
  retention?: RetentionPolicy | undefined;
  /** Monitors whose files retention may remove (default: those of `columns`). */
  known?: readonly string[] | undefined;
  /** What the process has open, shared by its sinks and sessions (default: the process's). */
  registry?: OutputRegistry | undefined;
  /** Arms the flush timer (every flushIntervalMs): Node's, unref'd, by default; tests fire it themselves. */
  timers?: TimerApi | undefined;
}

export const defaultHeldMax = 2 ** 20;

/** After midnight UTC, an idle file of the day before is closed (and compressed) this long after: late rows of that day still reach it. */
export const idleDailyGraceMs = 60_000;

/** Closed files listed one by one in stats(); older ones without lost rows are summed into one entry. */
export const statsKept = 20;

const mib = 2 ** 20;

/** output.rotate and output.retention of the config, as the file sink takes them (MiB and days to bytes and ms). */
export function fileSinkPolicy(output: {
  rotate: { daily: boolean; max_file_mb: number | null; compress: boolean };
  retention: { max_age_days: number; max_total_mb: number };
}): { rotate: RotateOptions; retention: RetentionPolicy } {
  const { rotate, retention } = output;
  return {
    rotate: { daily: rotate.daily, maxBytes: (rotate.max_file_mb ?? 0) * mib, compress: rotate.compress },
    retention: { maxAgeMs: retention.max_age_days * 86_400_000, maxTotalBytes: retention.max_total_mb * mib },
  };
}

/** A run's first file for `monitor`: a second run (or a reload) within the same second gets a -1, -2 ... suffix. */
const createFor = (dir: string, monitor: string, startedAt: Date, extension: string, open: (file: string) => Promise<OutputHandle>) =>
  createNext(dir, monitor, startedAt, extension, open);

export type FileSink = Sink & {
  /** Monitor -> the path of its file at the start. */
  files: ReadonlyMap<string, string>;
  /** Per file: rows written and rows lost, for the run's summary. */
  stats(): OutputFileStats[];
  /** SIGHUP: a file whose name no longer leads to it (renamed by logrotate) is closed; the next rows start a new one. */
  reopen(): Promise<void>;
  /** Resolves once the work in the background is done: flush timer passes, closing rotated files, compression, retention. */
  settled(): Promise<void>;
};

/** One monitor's files in this sink: the one written, those closing, and the counts of those closed. */
interface Stream {
  monitor: string;
  columns: readonly string[];
  current: OutputFile | null;
  /** The UTC day in the current file's name. */
  day: string;
  retiring: Set<OutputFile>;
  done: OutputFileStats[];
}

const tsOf = (row: Row | undefined): string => {
  const v = row?.['timestamp'];
  return typeof v === 'string' ? v : '';
};

/** Sums the oldest closed files that lost nothing into one entry, so a run of weeks keeps a bounded list. */
export function foldStats(done: OutputFileStats[], keep = statsKept): void {
  const clean = (e: OutputFileStats): boolean => !e.rowsDropped && !e.recreated;
  while (done.length > keep) {
    const i = done.findIndex(clean);
    const j = done.findIndex((e, k) => k > i && clean(e));
    if (i < 0 || j < 0) return;
    const a = done[i]!;
    const b = done[j]!;
    done[i] = { ...a, rowsWritten: a.rowsWritten + b.rowsWritten, files: (a.files ?? 1) + (b.files ?? 1) };
    done.splice(j, 1);
  }
}

// The sink's decisions, pure so that each has a table test; createFileSink below carries them out.

/** Whether a file's buffer of rows is written now: once it holds bufferRows, unless it fails (it retries at the flush interval). */
export const bufferFull = (f: { pendingRows: number; failing: boolean }, bufferRows: number): boolean => f.pendingRows >= bufferRows && !f.failing;

/**
 * What happens to a rotated file on its way out: nothing once the sink closes (close() takes it) or once it is gone
 * from the retiring set; flushed (and looked at again) while it holds rows unwritten; left to the timer's flushes
 * while it fails; closed once everything it holds is in the file.
 */
export type RetireStep = 'leave' | 'flush' | 'wait' | 'close';
export function retireStep(f: { sinkClosed: boolean; retiring: boolean; settled: boolean; failing: boolean }): RetireStep {
  if (f.sinkClosed || !f.retiring) return 'leave';
  if (!f.settled) return f.failing ? 'wait' : 'flush';
  return 'close';
}

/**
 * Whether a closed file is queued for gzip: with compress, unless it was renamed away (logrotate: its old path may
 * name logrotate's new file). Files closed with the sink are queued only if they hold rows; a rotated file always.
 */
export function compressQueued(f: { compress: boolean; renamedAway: boolean; rowsWritten: number; atSinkClose: boolean }): boolean {
  return f.compress && !f.renamedAway && (!f.atSinkClose || f.rowsWritten > 0);
}

/** The time that names a new file: its first row's, if that is one of our timestamps, else now. */
export function fileStart(firstTs: string, now: Date): Date {
  const t = Date.parse(firstTs);
  return isoDay(firstTs) !== null && Number.isFinite(t) ? new Date(t) : now;
}

/** Where a closed file's counts go among those closed before: in the order the files started (-1: at the end). */
export function closedIndex(done: readonly OutputFileStats[], file: string, monitor: string, ext: string): number {
  const key = parseOutputName(path.basename(file), [monitor], [ext]);
  if (!key) return -1;
  return done.findIndex((d) => {
    const k = parseOutputName(path.basename(d.file), [monitor], [ext]);
    return k !== null && compareOutputNames(key, k) < 0;
  });
}

export async function createFileSink(opts: FileSinkOptions): Promise<FileSink> {
  const open = opts.open ?? createExclusive;
  const now = opts.now ?? ((): Date => new Date());
  const registry = opts.registry ?? processOutputs;
  const rotate: RotateOptions = opts.rotate ?? { daily: false, maxBytes: 0, compress: false };
  const retention: RetentionPolicy = opts.retention ?? { maxAgeMs: 0, maxTotalBytes: 0 };
  const known = opts.known ?? [...opts.columns.keys()];
  /** Whether write() looks at sizes and days at all (it runs once per event for event monitors). */
  const rotating = rotate.daily || rotate.maxBytes > 0;
  const ext = opts.format.extension;
  const tally: HeldTally = { held: 0 };
  const streams = new Map<string, Stream>();
  const paths = new Map<string, string>();
  /** Background work (closing rotated files, compression, retention): close() waits for it. */
  const tasks = new Set<Promise<void>>();
  const timers = opts.timers ?? nodeTimers(true);
  const stop = new AbortController();
  let closed = false;
  /** Files rotated out because their path no longer leads to them: never queued for compression by that path. */
  const renamedAway = new WeakSet<OutputFile>();

  const track = (p: Promise<void>): void => {
    const t = p.catch((e: unknown) => opts.onError(e)).finally(() => tasks.delete(t));
    tasks.add(t);
  };

  /** Opens a file as busy: from before it exists until it is closed, retention leaves it alone. */
  const openBusy = async (file: string): Promise<OutputHandle> => {
    registry.busy.add(file);
    try {
      return await open(file);
    } catch (e) {
      registry.busy.delete(file);
      throw e;
    }
  };

  const fileFor = (s: Stream, startedAt: Date, first: { file: string; handle: OutputHandle } | null): OutputFile =>
    createOutputFile({
      monitor: s.monitor,
      file: first?.file ?? path.join(opts.dir, outputFileName(s.monitor, startedAt, ext)),
      handle: first?.handle ?? null,
      format: opts.format,
      columns: s.columns,
      heldMax: opts.heldMax ?? defaultHeldMax,
      // Creates the next file, and the file again after it was deleted. ensureDir refuses a symlink put in the
      // directory's place; createExclusive never follows one.
      recreate: async () => {
        await ensureDir(opts.dir);
        return createFor(opts.dir, s.monitor, startedAt, ext, openBusy);
      },
      released: (file) => registry.busy.delete(file),
      now,
      tally,
      onError: opts.onError,
      log: opts.log,
    });

  const stopped = (): Error => Object.assign(new Error('the output is closing'), { name: 'AbortError' });
  /**
   * `job` (in the process's housekeeping queue), or a rejection once this sink closes: closing never waits behind
   * another sink's compression. A job that has not started by then does nothing.
   */
  const unlessStopped = <T>(job: Promise<T>): Promise<T> => {
    job.catch(() => undefined);
    if (stop.signal.aborted) return Promise.reject(stopped());
    return new Promise<T>((resolve, reject) => {
      const onAbort = (): void => reject(stopped());
      stop.signal.addEventListener('abort', onAbort, { once: true });
      job.then(resolve, reject).finally(() => stop.signal.removeEventListener('abort', onAbort));
    });
  };

  /**
   * Compresses what waits for it (oldest first), with retention: after each rotation, and at start. One pass at a
   * time per sink: a rotation during a pass asks for one more pass, so rotations faster than gzip queue no work.
   */
  let housekeeping = false;
  let again = false;
  const housekeep = (closedFile: string | null): void => {
    if (!rotate.compress && retentionOff(retention)) return;
    if (closedFile && rotate.compress) registry.uncompressed.add(closedFile);
    if (housekeeping) {
      again = true;
      return;
    }
    housekeeping = true;
    track(
      (async () => {
        try {
          // Retention first (no use compressing what it removes), and again after each compression: when gzip lags
          // behind rotation, the directory still stays within its limit.
          do {
            again = false;
            await retain();
            while (rotate.compress && registry.uncompressed.size && !stop.signal.aborted) {
              await compressOne();
              await retain();
            }
          } while (again && !stop.signal.aborted);
        } finally {
          housekeeping = false;
        }
      })(),
    );
  };

  /** This sink's compression under way: close() stops it and waits for its partial .gz to be removed. */
  let compressing: Promise<void> = Promise.resolve();
  const retain = async (): Promise<void> => {
    if (stop.signal.aborted || retentionOff(retention)) return;
    await unlessStopped(runRetention({ dir: opts.dir, policy: retention, monitors: known, now, registry, log: opts.log })).catch(() => undefined);
  };

  /** gzips the oldest file waiting for it (in the process's queue: one compression at a time). */
  const compressOne = async (): Promise<void> => {
    const [file] = registry.uncompressed;
    if (file === undefined || stop.signal.aborted) return;
    registry.uncompressed.delete(file);
    const job = (): Promise<string> => {
      if (stop.signal.aborted) return Promise.reject(stopped());
      const p = compressFile(file, { signal: stop.signal, busy: registry.busy });
      compressing = p.then(() => undefined, () => undefined);
      return p;
    };
    await unlessStopped(registry.serial(job)).then(
      (gz) => opts.log?.info({ file: gz }, 'compressed a rotated output file'),
      (e: unknown) => {
        if (stop.signal.aborted) registry.uncompressed.add(file);
        else if (errnoOf(e) !== 'ENOENT') opts.log?.warn({ file, err: String(e) }, 'cannot compress a rotated output file; it stays as it is');
      },
    );
  };

  /** A closed file's counts join the others in the order the files started (they may close out of it). */
  const closedOff = (s: Stream, st: OutputFileStats): void => {
    const at = closedIndex(s.done, st.file, s.monitor, ext);
    if (at < 0) s.done.push(st);
    else s.done.splice(at, 0, st);
    foldStats(s.done);
  };

  /**
   * Closes a rotated file once everything it holds is written. A write still queued: once more after it. A file
   * that fails: the timer's flushes retry it, as any failing file.
   */
  const retire = (s: Stream, f: OutputFile): void => {
    const step = retireStep({ sinkClosed: closed, retiring: s.retiring.has(f), settled: f.settled, failing: f.failing });
    if (step === 'flush') track(f.flush().then(() => retire(s, f)));
    if (step !== 'close') return;
    s.retiring.delete(f);
    track(
      f.close().then(() => {
        const st = f.stats();
        closedOff(s, st);
        housekeep(compressQueued({ compress: rotate.compress, renamedAway: renamedAway.has(f), rowsWritten: st.rowsWritten, atSinkClose: false }) ? st.file : null);
      }),
    );
  };

  const rotateOut = (s: Stream, reason: string): void => {
    const f = s.current;
    if (!f) return;
    s.current = null;
    if (reason === 'renamed') renamedAway.add(f);
    s.retiring.add(f);
    opts.log?.info({ monitor: s.monitor, file: f.stats().file, reason, bytes: f.bytes }, 'output file rotated: the next rows go to a new file');
    track(f.flush().then(() => retire(s, f)));
  };

  /** The file for rows starting at `firstTs`: named by that second (or now), created by its first write. */
  const startFile = (s: Stream, firstTs: string): OutputFile => {
    const at = fileStart(firstTs, now());
    s.current = fileFor(s, at, null);
    s.day = stampDay(outputStamp(at));
    return s.current;
  };

  for (const [monitor, cols] of opts.columns) {
    const s: Stream = { monitor, columns: [...cols, noteColumn], current: null, day: stampDay(outputStamp(opts.startedAt)), retiring: new Set(), done: [] };
    const first = await createFor(opts.dir, monitor, opts.startedAt, ext, openBusy);
    s.current = fileFor(s, opts.startedAt, first);
    streams.set(monitor, s);
    paths.set(monitor, first.file);
  }
  housekeep(null);

  const all = (): OutputFile[] => [...streams.values()].flatMap((s) => [...(s.current ? [s.current] : []), ...s.retiring]);

  /** Every file writes what it holds; the timer's flush also looks for files deleted under us. */
  const flushAll = (): Promise<void> => Promise.all(all().map((f) => f.flush())).then(() => undefined);

  const tick = (): void => {
    if (closed) return;
    // A quiet monitor's file of yesterday is closed (and compressed) though no row of today came to rotate it.
    const nowMs = now().getTime();
    for (const s of streams.values()) {
      if (s.current && idleRotationDue(rotate, { day: s.day, failing: s.current.failing }, nowMs, idleDailyGraceMs)) rotateOut(s, 'daily');
    }
    track(
      flushAll().then(() => {
        for (const s of streams.values()) for (const f of [...s.retiring]) retire(s, f);
      }),
    );
    timer = timers.set(tick, opts.flushIntervalMs);
  };
  let timer = timers.set(tick, opts.flushIntervalMs);

  return {
    files: paths,
    write(monitor, rows) {
      const s = streams.get(monitor);
      if (!s || closed || !rows.length) return;
      if (rotating && s.current) {
        const why = rotateBeforeWrite(rotate, { bytes: s.current.bytes, day: s.day, failing: s.current.failing }, isoDay(tsOf(rows[0])));
        if (why) rotateOut(s, why);
      }
      const f = s.current ?? startFile(s, tsOf(rows[0]));
      f.add(rows);
      // A full buffer writes this file only: the others wait for their own buffer or the flush interval. A failing
      // file retries at the flush interval only.
      if (bufferFull(f, opts.bufferRows)) void f.flush();
    },
    flush: () => flushAll(),
    backlog: () => tally.held,
    stats: () => [...streams.values()].flatMap((s) => [...s.done, ...[...s.retiring, ...(s.current ? [s.current] : [])].map((f) => f.stats())]),
    async reopen() {
      if (closed) return;
      await Promise.all(
        [...streams.values()].map(async (s) => {
          const f = s.current;
          if (f && (await f.moved()) && s.current === f) rotateOut(s, 'renamed');
        }),
      );
    },
    async settled() {
      while (tasks.size) await Promise.all([...tasks]);
      await compressing;
    },
    async close() {
      if (closed) return;
      closed = true;
      timers.clear(timer);
      // Compression in progress stops (its partial .gz is removed, the file stays); files closed now wait for the
      // next rotation of this process to be compressed.
      stop.abort();
      await Promise.all(
        [...streams.values()].map(async (s) => {
          const files = [...s.retiring, ...(s.current ? [s.current] : [])];
          // Renamed away since the last reopen (logrotate without a signal yet): its path is not the file's any more.
          if (rotate.compress) for (const f of files) if (await f.moved()) renamedAway.add(f);
          await Promise.all(files.map((f) => f.close()));
          s.retiring.clear();
          s.current = null;
          for (const f of files) {
            const st = f.stats();
            closedOff(s, st);
            if (compressQueued({ compress: rotate.compress, renamedAway: renamedAway.has(f), rowsWritten: st.rowsWritten, atSinkClose: true })) registry.uncompressed.add(st.file);
          }
        }),
      );
      while (tasks.size) await Promise.all([...tasks]);
      await compressing;
    },
  };
}

/** The run's last word on its files when rows were lost (null when none were): how many, where, and where to look. */
export function lostRowsLine(stats: readonly OutputFileStats[]): string | null {
  const lost = stats.filter((s) => s.rowsDropped > 0);
  if (!lost.length) return null;
  const total = lost.reduce((n, s) => n + s.rowsDropped, 0);
  const per = lost.map((s) => `${s.file}: ${s.rowsDropped} lost, ${s.rowsWritten} written`).join('; ');
  return `${total} row${total === 1 ? '' : 's'} could not be written to the output files (${per}); marker rows in the files show where, the log says why`;
}
