// One CSV file per monitor: header row, rows batched and written at most every flush interval.
import path from 'node:path';
import { lstat, type FileHandle } from 'node:fs/promises';
import { stringify } from 'csv-stringify/sync';
import { createExclusive } from './safe-fs.js';
import { noteColumn, type Sink } from './sink.js';

export interface CsvSinkOptions {
  dir: string;
  /** Monitor name -> its columns (without the note column). */
  columns: ReadonlyMap<string, readonly string[]>;
  /** Part of every file name, so a user sees the monitor and when the run started. */
  startedAt: Date;
  bufferRows: number;
  flushIntervalMs: number;
  onError(e: unknown): void;
}

export const csvFileName = (monitor: string, startedAt: Date, n = 0): string =>
  `${monitor}_${startedAt.toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z')}${n ? `-${n}` : ''}.csv`;

/** A new file for `monitor`: a second run (or a reload) within the same second gets a -1, -2 ... suffix. */
async function createFor(dir: string, monitor: string, startedAt: Date): Promise<{ file: string; handle: FileHandle }> {
  for (let n = 0; ; n++) {
    const file = path.join(dir, csvFileName(monitor, startedAt, n));
    if (n < 20 && (await lstat(file).then(() => true, () => false))) continue;
    return { file, handle: await createExclusive(file) };
  }
}

interface FileState {
  handle: FileHandle;
  columns: readonly string[];
  buffered: string[];
  rows: number;
}

export async function createCsvSink(opts: CsvSinkOptions): Promise<Sink & { files: ReadonlyMap<string, string> }> {
  const files = new Map<string, FileState>();
  const paths = new Map<string, string>();
  for (const [monitor, cols] of opts.columns) {
    const { file, handle } = await createFor(opts.dir, monitor, opts.startedAt);
    const columns = [...cols, noteColumn];
    const state: FileState = { handle, columns, buffered: [stringify([columns])], rows: 0 };
    files.set(monitor, state);
    paths.set(monitor, file);
  }
  // Writes are chained: one write at a time per sink, so order is kept and close() waits for all of them.
  let chain: Promise<void> = Promise.resolve();
  let closed = false;

  const flush = (): Promise<void> => {
    for (const state of files.values()) {
      if (!state.buffered.length) continue;
      const text = state.buffered.join('');
      state.buffered = [];
      state.rows = 0;
      chain = chain.then(() => state.handle.write(text).then(() => undefined)).catch(opts.onError);
    }
    return chain;
  };

  const timer = setInterval(() => void flush(), opts.flushIntervalMs);
  timer.unref();

  return {
    files: paths,
    write(monitor, rows) {
      const state = files.get(monitor);
      if (!state || closed || !rows.length) return;
      state.buffered.push(
        stringify(
          rows.map((r) => state.columns.map((c) => r[c] ?? '')),
          { cast: { number: (n) => String(n) } },
        ),
      );
      state.rows += rows.length;
      if (state.rows >= opts.bufferRows) void flush();
    },
    flush,
    async close() {
      if (closed) return;
      closed = true;
      clearInterval(timer);
      await flush();
      for (const state of files.values()) {
        await state.handle.sync().catch(opts.onError);
        await state.handle.close().catch(opts.onError);
      }
    },
  };
}
