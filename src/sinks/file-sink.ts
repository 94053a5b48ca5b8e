// One file per monitor in the output directory, rows batched and written at most every flush interval.
// The format (CSV, NDJSON) only turns rows into text; output-file.ts owns each file: its own write chain, so a
// file that cannot be written (full disk, deleted directory) holds up nothing but itself.
import path from 'node:path';
import { lstat } from 'node:fs/promises';
import { createExclusive, ensureDir } from './safe-fs.js';
import { noteColumn, type Sink, type SinkLog } from './sink.js';
import { createOutputFile, type HeldTally, type OutputFile, type OutputFileStats, type OutputHandle, type RowFormat } from './output-file.js';

export type { OutputFileStats, OutputHandle, RowFormat } from './output-file.js';

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
  /** Notices: a file writes again after a failure, a deleted file was created again. */
  log?: SinkLog | undefined;
  /** Formatted rows each failing file may hold in memory until it can write again (default 1 MiB). */
  heldMax?: number | undefined;
  /** Opens a new file; tests inject short writes and ENOSPC here. */
  open?: ((file: string) => Promise<OutputHandle>) | undefined;
  now?: (() => Date) | undefined;
}

export const defaultHeldMax = 2 ** 20;

export const outputFileName = (monitor: string, startedAt: Date, extension: string, n = 0): string =>
  `${monitor}_${startedAt.toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z')}${n ? `-${n}` : ''}.${extension}`;

/** A new file for `monitor`: a second run (or a reload) within the same second gets a -1, -2 ... suffix. */
async function createFor(
  dir: string,
  monitor: string,
  startedAt: Date,
  extension: string,
  open: (file: string) => Promise<OutputHandle>,
): Promise<{ file: string; handle: OutputHandle }> {
  for (let n = 0; ; n++) {
    const file = path.join(dir, outputFileName(monitor, startedAt, extension, n));
    if (n < 20 && (await lstat(file).then(() => true, () => false))) continue;
    return { file, handle: await open(file) };
  }
}

export type FileSink = Sink & {
  /** Monitor -> the path of its file at the start. */
  files: ReadonlyMap<string, string>;
  /** Per file: rows written and rows lost, for the run's summary. */
  stats(): OutputFileStats[];
};

export async function createFileSink(opts: FileSinkOptions): Promise<FileSink> {
  const open = opts.open ?? createExclusive;
  const now = opts.now ?? ((): Date => new Date());
  const tally: HeldTally = { held: 0 };
  const files = new Map<string, OutputFile>();
  const paths = new Map<string, string>();
  for (const [monitor, cols] of opts.columns) {
    const ext = opts.format.extension;
    const { file, handle } = await createFor(opts.dir, monitor, opts.startedAt, ext, open);
    files.set(
      monitor,
      createOutputFile({
        monitor,
        file,
        handle,
        format: opts.format,
        columns: [...cols, noteColumn],
        heldMax: opts.heldMax ?? defaultHeldMax,
        // ensureDir refuses a symlink put in the directory's place; createExclusive never follows one.
        recreate: async () => {
          await ensureDir(opts.dir);
          return createFor(opts.dir, monitor, opts.startedAt, ext, open);
        },
        now,
        tally,
        onError: opts.onError,
        log: opts.log,
      }),
    );
    paths.set(monitor, file);
  }
  let closed = false;

  /** Every file writes what it holds; the timer's flush also looks for files deleted under us. */
  const flushAll = (check: boolean): Promise<void> => Promise.all([...files.values()].map((f) => f.flush(check))).then(() => undefined);

  const timer = setInterval(() => void flushAll(true), opts.flushIntervalMs);
  timer.unref();

  return {
    files: paths,
    write(monitor, rows) {
      const f = files.get(monitor);
      if (!f || closed || !rows.length) return;
      f.add(rows);
      // A full buffer writes this file only: the others wait for their own buffer or the flush interval. A failing
      // file retries at the flush interval only.
      if (f.pendingRows >= opts.bufferRows && !f.failing) void f.flush(false);
    },
    flush: () => flushAll(false),
    backlog: () => tally.held,
    stats: () => [...files.values()].map((f) => f.stats()),
    async close() {
      if (closed) return;
      closed = true;
      clearInterval(timer);
      await Promise.all([...files.values()].map((f) => f.close()));
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
