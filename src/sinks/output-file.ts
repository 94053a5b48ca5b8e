// One output file and its writer: whole rows only, in order, one write at a time, and what happens when the disk
// says no. A full disk (ENOSPC), a quota or an I/O error holds rows in memory up to a budget and retries at the
// next flush; rows beyond the budget are dropped, counted, and reported by a marker row once writing resumes. A
// file deleted under us (a cleanup job removing the directory) is noticed at the next flush interval after rows were
// written to it, or before its next rows are (an idle file is not looked at), and created again, header first, with a
// marker row. A file truncated under us (logrotate's copytruncate) is seen before the next
// write and written again from its start, header first. A file may also start unopened (a rotated file's successor):
// its first write creates it. Nothing here throws to the caller; failures go to onError, once per change.
import { fstatSync } from 'node:fs';
import { lstat } from 'node:fs/promises';
import path from 'node:path';
import type { Row } from '../monitors/types.js';
import { describe, errnoOf } from '../errors.js';
import { noteColumn, type SinkLog } from './sink.js';

export interface RowFormat {
  /** File extension without the dot: csv, ndjson. */
  extension: string;
  /** Text at the top of a new file (CSV header), or ''. */
  header(columns: readonly string[]): string;
  /** Rows as text, every column in order, ending with a newline. */
  rows(columns: readonly string[], rows: readonly Row[]): string;
}

/** What the writer needs of an open file; node's FileHandle fits, and tests can inject short writes and ENOSPC. */
export interface OutputHandle {
  write(buffer: Buffer, offset: number, length: number, position: number): Promise<{ bytesWritten: number }>;
  truncate(len: number): Promise<void>;
  stat(): Promise<{ nlink: number; size: number; ino: number; dev: number }>;
  /** The descriptor of a real file: checked with a synchronous fstat (see check below). */
  readonly fd?: number;
  sync(): Promise<void>;
  close(): Promise<void>;
  /** Sets the times of a closed-off file (its modification time becomes its last row's). */
  utimes?(atime: Date, mtime: Date): Promise<void>;
}

/** An output file that could not be written or recreated; the message names the file. */
export class OutputFileError extends Error {
  constructor(
    readonly file: string,
    readonly code: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'OutputFileError';
  }
}

export interface OutputFileStats {
  monitor: string;
  /** The file's path (the current one, if it was recreated under another name). */
  file: string;
  /** Data rows that reached the file (marker rows not counted). */
  rowsWritten: number;
  /** Data rows that did not: dropped while the file failed, left at exit, or written to a file deleted under us. */
  rowsDropped: number;
  /** Times the file was found deleted and created again. */
  recreated: number;
  /**
   * Set when this entry stands for several files of a long run (their counts summed, none lost rows): how many;
   * `file` is then the first of them. Keeps a run of weeks with many rotations from listing every file.
   */
  files?: number;
}

/** Bytes of formatted rows held in memory, over all files of a sink, for the reader's backpressure. */
export interface HeldTally {
  /** Held by files that are writing normally; a failing file's rows wait for space, not for the disk to catch up. */
  held: number;
}

export interface OutputFileOptions {
  monitor: string;
  /** The file's path; for a file not opened yet, the name it is expected to get. */
  file: string;
  /** The open file, or null: the first write creates it with `recreate`. */
  handle: OutputHandle | null;
  format: RowFormat;
  /** Every column, the note column last. */
  columns: readonly string[];
  /** Rows held (formatted characters) while the file fails; the rest are dropped and counted. */
  heldMax: number;
  /** Creates the file (again, after it was deleted; the directory too); its path may differ (a -1 suffix). */
  recreate(): Promise<{ file: string; handle: OutputHandle }>;
  /** The file is closed (or was found deleted and left): no longer this writer's. */
  released?(file: string): void;
  now(): Date;
  tally: HeldTally;
  onError(e: unknown): void;
  log?: SinkLog | undefined;
}

/**
 * Formatted text waiting for the file, in file order: the rows added between two flushes, joined into one string.
 * Its end is a row boundary, so cutting a failed write back to a chunk boundary leaves only whole rows in the file.
 */
interface Chunk {
  text: string;
  /** Data rows; for a loss marker, the data rows it reports lost. */
  rows: number;
  /** Marker rows (note column set) among them, or lost. */
  notes: number;
  firstTs: string;
  lastTs: string;
  /** Set on a loss marker (its text is rendered when it is written): the error that lost its rows. */
  lost?: string;
  /** The header, or a marker row of our own: written whatever the budget, never dropped. */
  keep?: 'header' | 'note';
}

export interface OutputFile {
  /** Formats and holds rows, or drops and counts them while the file fails and the budget is spent. */
  add(rows: readonly Row[]): void;
  /** Data and marker rows added since the last flush (the buffer_rows trigger). */
  readonly pendingRows: number;
  /** True while writes fail: the sink then waits for its flush interval instead of retrying per buffer. */
  readonly failing: boolean;
  /** Queues one write of everything held (the file is looked at first when needsLook says so). */
  flush(): Promise<void>;
  /** A last write, then fsync and close. Rows still held are lost and counted. */
  close(): Promise<void>;
  stats(): OutputFileStats;
  /** Bytes in the file plus those waiting for it: what rotation by size looks at. */
  readonly bytes: number;
  /** Everything added so far is in the file, and it writes normally: it can be closed without losing a row. */
  readonly settled: boolean;
  /** Whether the file's path no longer names the file being written (renamed away, e.g. by logrotate). */
  moved(): Promise<boolean>;
}

const tsOf = (row: Row | undefined): string => {
  const v = row?.['timestamp'];
  return v === undefined || v === null ? '' : String(v);
};
const codeOf = (e: unknown): string => errnoOf(e) ?? 'error';
const plural = (n: number, what: string): string => `${n} ${what}${n === 1 ? '' : 's'}`;
const mib = (bytes: number): string => `${Math.round((bytes / 2 ** 20) * 10) / 10} MiB`;

/** A chunk of formatted rows is sealed at this many characters: what one write, and its Buffer, holds at most (plus a slice). */
export const chunkChars = 2 ** 20;
/** Rows formatted at once: a large add is formatted in slices of this many, sealed into chunks of about chunkChars. */
const sliceRows = 1024;

// The decisions of a file's writer, pure so that each has a table test; createOutputFile below carries them out.

/** Where lost rows were in time: ' at T' for one stamp (an interval's rows share it), ' between A and B', or '' unknown. */
export const lossSpan = (first: string, last: string): string => (first && last ? (first === last ? ` at ${first}` : ` between ${first} and ${last}`) : '');

/** The note of the marker row that takes the place of rows a failing file could not write. */
export function lostNote(c: { code: string; rows: number; notes: number; firstTs: string; lastTs: string }): string {
  return `output file write failed (${c.code}): ${plural(c.rows, 'row')}${c.notes ? ` and ${plural(c.notes, 'marker row')}` : ''} lost${lossSpan(c.firstTs, c.lastTs)}`;
}

/** The note of the marker row heading a file created again after it was deleted; `renamedTo` when its name changed. */
export function deletedNote(g: { renamedTo: string | null; rows: number; firstTs: string; lastTs: string }): string {
  return (
    `output file was deleted during the run and created again${g.renamedTo === null ? '' : ` as ${g.renamedTo}`}; the rows written to it before are gone` +
    (g.rows ? `, and ${plural(g.rows, 'row')}${lossSpan(g.firstTs, g.lastTs)}, written after it was last seen, are lost` : '')
  );
}

/**
 * Whether a write first looks at the file (fstat: deleted? truncated?). The look exists so that rows written to a
 * deleted file are counted lost and the file is created again; a file that got no rows since the last look loses
 * nothing by being deleted until its next rows, and those are looked before (issue #26: an fstat of every open file
 * at every flush interval was ~15 % of an idle supervisor's CPU). So it looks when there is something to write, when
 * rows were written since the last look, while the file is known deleted (to create it again), and at close.
 */
export function needsLook(f: { toWrite: boolean; uncheckedRows: number; orphaned: boolean; closing: boolean }): boolean {
  return f.toWrite || f.uncheckedRows > 0 || f.orphaned || f.closing;
}

/**
 * What an fstat of the open file says, given the `size` we wrote: still linked; deleted (no links: it or its
 * directory was removed); truncated by another program (then written again from its new end: header first at 0, else
 * an empty line that ends a row the cut may have split); or nothing known (fstat failed: null).
 */
export type LookVerdict = { kind: 'linked' } | { kind: 'deleted' } | { kind: 'truncated'; found: number; restart: 'header' | 'newline' } | { kind: 'unknown' };
export function afterLook(st: { nlink: number; size: number } | null, size: number): LookVerdict {
  if (st === null) return { kind: 'unknown' };
  if (st.nlink === 0) return { kind: 'deleted' };
  if (st.size < size) return { kind: 'truncated', found: st.size, restart: st.size === 0 ? 'header' : 'newline' };
  return { kind: 'linked' };
}

/** A file's state while its writes fail: the error, rows lost since, and whether rows are being dropped. */
export interface Failing {
  code: string;
  lost: number;
  dropping: boolean;
}

/** A write (or create, or truncate) failed with `code`: the new state, and whether to report it (once per code). */
export function failureAfter(prev: Failing | null, code: string): { next: Failing; report: boolean } {
  return { next: { code, lost: prev?.lost ?? 0, dropping: prev?.dropping ?? false }, report: prev?.code !== code };
}

/**
 * Whether rows added are held for the file or dropped: always held while it writes; while it fails, dropped once a
 * gap is open (a gap stays one gap until writing resumes) or when their text (`length`, asked only then) would take
 * the held rows past the budget.
 */
export function rowsFate(s: { failing: boolean; gapOpen: boolean; held: number; heldMax: number }, length: () => number): 'hold' | 'drop' {
  if (!s.failing) return 'hold';
  if (s.gapOpen || s.held + length() > s.heldMax) return 'drop';
  return 'hold';
}

/**
 * A write of chunks of `lengths` bytes stopped after `done` bytes: how many chunks reached the file whole, the bytes
 * they take, and whether a partial chunk must be cut off (the file then holds whole rows only).
 */
export function cutBack(lengths: readonly number[], done: number): { whole: number; end: number; cut: boolean } {
  let end = 0;
  let whole = 0;
  for (; whole < lengths.length; whole++) {
    if (end + lengths[whole]! > done) break;
    end += lengths[whole]!;
  }
  return { whole, end, cut: done > end };
}

/** A closed file's modification time: its last row's (what `analyze` and retention read), unless none or deleted. */
export function closedMtime(lastTs: string, orphaned: boolean): Date | null {
  if (!lastTs || orphaned) return null;
  const t = new Date(lastTs);
  return Number.isFinite(t.getTime()) ? t : null;
}

/** Whether a path no longer names the open file (renamed away, e.g. by logrotate); a deleted file is not moved. */
export function movedAway(open: { nlink: number; ino: number; dev: number } | null, atPath: { ino: number; dev: number } | null): boolean {
  if (!open || open.nlink === 0) return false;
  return atPath === null || atPath.ino !== open.ino || atPath.dev !== open.dev;
}

export function createOutputFile(opts: OutputFileOptions): OutputFile {
  const { format, columns, tally } = opts;
  let file = opts.file;
  let handle = opts.handle;
  const header = format.header(columns);
  const headerChunk = (): Chunk[] => (header ? [{ text: header, rows: 0, notes: 0, firstTs: '', lastTs: '', keep: 'header' }] : []);
  let pending: Chunk[] = headerChunk();
  /**
   * Rows added since the last flush, formatted as they arrive, sealed into a chunk by the next flush or once they
   * reach chunkChars. A row object
   * kept until the flush outlives V8's young generation and is costly to collect; its text is one string (throughput
   * bench, 5 interleaved runs: CPU min 7.05 -> 6.47 s, median 10.3 -> 7.9 s). Likewise a chunk object per add():
   * 1M single-row writes through the sink took 1.46 s of CPU instead of 0.97, mostly in GC.
   */
  let open: string[] = [];
  /** Characters in `open`: at chunkChars it is sealed, so no chunk (nor its Buffer while written) grows past that. */
  let openChars = 0;
  let openRows = 0;
  let openNotes = 0;
  let openFirst = '';
  let openLast = '';
  let pendingRows = 0;
  /** Characters of row chunks held, pending or being written. */
  let held = 0;
  /** Bytes in the file that hold whole rows: every write goes here (pwrite), and a cut write is truncated back to it. */
  let size = 0;
  /** A failed write left bytes past `size` and the truncate failed too: truncate before the next write. */
  let dirtyTail = false;
  /** Set while writes fail: the error code, rows lost since, and whether the budget is spent (rows being dropped). */
  let failing: Failing | null = null;
  /** The file was found deleted and is not created again yet. */
  let orphaned = false;
  /** Rows written since the file was last seen linked: lost with it if it turns out deleted. */
  let unchecked = { rows: 0, firstTs: '', lastTs: '' };
  let chain: Promise<void> = Promise.resolve();
  /** A write is queued behind the one running: later flushes join it (it takes whatever is held when it starts). */
  let queued = false;
  let closed = false;
  const counts = { written: 0, dropped: 0, recreated: 0 };
  /** The latest timestamp written (ISO strings sort as time): the file's modification time once it is closed. */
  let lastTs = '';

  /** The open rows become one chunk. */
  const sealOpen = (): void => {
    if (!open.length) return;
    pending.push({ text: open.length === 1 ? open[0]! : open.join(''), rows: openRows - openNotes, notes: openNotes, firstTs: openFirst, lastTs: openLast });
    open = [];
    openChars = 0;
    openRows = 0;
    openNotes = 0;
    openFirst = '';
    openLast = '';
  };
  /** Before a write (or a drop): the open rows become a chunk, and the buffer_rows count starts again. */
  const seal = (): void => {
    sealOpen();
    pendingRows = 0;
  };

  const account = (delta: number): void => {
    held += delta;
    if (!failing) tally.held += delta;
  };

  const report = (code: string, message: string): void => opts.onError(new OutputFileError(file, code, message));

  /** Once per failure: from here on rows are dropped until the file can be written again. */
  const dropping = (): void => {
    if (!failing || failing.dropping) return;
    failing.dropping = true;
    opts.log?.warn({ monitor: opts.monitor, file, code: failing.code, heldBytes: opts.heldMax }, 'dropping rows: an output file cannot be written and its held rows reached the budget');
  };

  /** Rows that will never reach the file: counted, and reported by a loss marker that follows the rows before them. */
  const drop = (c: Omit<Chunk, 'text'>, code: string): void => {
    counts.dropped += c.rows;
    if (failing) failing.lost += c.rows;
    dropping();
    seal();
    const last = pending.at(-1);
    if (last?.lost !== undefined) {
      last.rows += c.rows;
      last.notes += c.notes;
      last.lastTs = c.lastTs || last.lastTs;
    } else {
      pending.push({ text: '', rows: c.rows, notes: c.notes, firstTs: c.firstTs, lastTs: c.lastTs, lost: code });
    }
  };

  /** Keeps the newest rows beyond the budget out of memory: they become (or join) the loss marker at the end. */
  const trim = (code: string): void => {
    seal();
    const tail = pending.at(-1)?.lost !== undefined ? pending.pop() : undefined;
    let loss = tail;
    while (held > opts.heldMax) {
      const c = pending.at(-1);
      if (!c || c.keep || c.lost !== undefined) break;
      pending.pop();
      account(-c.text.length);
      counts.dropped += c.rows;
      if (failing) failing.lost += c.rows;
      dropping();
      loss = loss
        ? { ...loss, rows: loss.rows + c.rows, notes: loss.notes + c.notes, firstTs: c.firstTs || loss.firstTs }
        : { text: '', rows: c.rows, notes: c.notes, firstTs: c.firstTs, lastTs: c.lastTs, lost: code };
    }
    if (loss) pending.push(loss);
  };

  const fail = (e: unknown, what: string): void => {
    const code = codeOf(e);
    if (!failing) tally.held -= held;
    const { next, report: changed } = failureAfter(failing, code);
    failing = next;
    if (changed) {
      report(code, `${what} ${file}: ${describe(e)}; holding up to ${mib(opts.heldMax)} of rows and retrying at every flush, rows beyond that are dropped and counted`);
    }
    trim(code);
  };

  const recovered = (): void => {
    if (!failing) return;
    const { code, lost } = failing;
    failing = null;
    tally.held += held;
    opts.log?.info({ monitor: opts.monitor, file, code, rowsLost: lost }, 'an output file that failed is written again');
  };

  const lossNote = (c: Chunk): string => lostNote({ code: c.lost ?? '', rows: c.rows, notes: c.notes, firstTs: c.firstTs, lastTs: c.lastTs });
  const markerText = (timestamp: string, note: string): string => format.rows(columns, [{ timestamp, [noteColumn]: note }]);

  /** After the check found the file deleted: a new one (directory first), its header, and a marker row. */
  const recreate = async (): Promise<void> => {
    const was = file;
    let next: { file: string; handle: OutputHandle };
    try {
      next = await opts.recreate();
    } catch (e) {
      fail(e, 'cannot create again the deleted output file');
      return;
    }
    await handle?.close().catch(() => undefined);
    opts.released?.(was);
    ({ file, handle } = next);
    size = 0;
    dirtyTail = false;
    orphaned = false;
    counts.recreated++;
    const gone = unchecked;
    unchecked = { rows: 0, firstTs: '', lastTs: '' };
    const note = deletedNote({ renamedTo: file === was ? null : path.basename(file), ...gone });
    // The new file's header comes first; the old file's, if it never got written, is not wanted twice.
    const at = opts.now().toISOString();
    const marker: Chunk = { text: markerText(at, note), rows: 0, notes: 1, firstTs: at, lastTs: at, keep: 'note' };
    pending = [...headerChunk(), marker, ...pending.filter((c) => c.keep !== 'header')];
    opts.log?.warn({ monitor: opts.monitor, file, was, rowsLost: gone.rows }, 'an output file was deleted during the run; created it again');
  };

  /** A file that starts unopened (the successor of a rotated one) is created by its first write. */
  const firstOpen = async (): Promise<boolean> => {
    try {
      ({ file, handle } = await opts.recreate());
    } catch (e) {
      fail(e, 'cannot create the output file');
      return false;
    }
    size = 0;
    return true;
  };

  /**
   * The file is shorter than what we wrote: another program cut it (logrotate's copytruncate copies the file, then
   * truncates it to 0). Writing on at our offset would leave a hole of zero bytes; it starts again, header first.
   * Cut somewhere else, what is left stays and an empty line ends a row the cut may have split.
   */
  const truncated = (found: number, how: 'header' | 'newline'): void => {
    opts.log?.info({ monitor: opts.monitor, file, bytes: size, found }, 'an output file was truncated by another program (logrotate copytruncate?); writing on from its new end');
    size = found;
    dirtyTail = false;
    const restart: Chunk[] = how === 'header' ? headerChunk() : [{ text: '\n', rows: 0, notes: 0, firstTs: '', lastTs: '', keep: 'note' }];
    pending = [...restart, ...pending.filter((c) => c.keep !== 'header')];
  };

  /**
   * fstat the open file (before a write, see needsLook): a link count of 0 means it (or its directory) was deleted and we write
   * into nothing; a size below ours means it was truncated under us.
   */
  const check = async (): Promise<void> => {
    if (handle === null) return;
    if (!orphaned) {
      let st: { nlink: number; size: number } | null;
      try {
        // Synchronous: an fstat of an open descriptor does not block, and the promise version cost 13 % of the
        // supervisor's stream handling on the build workload (profile: 36 of 280 ms).
        st = handle.fd === undefined ? await handle.stat() : fstatSync(handle.fd);
      } catch {
        st = null;
      }
      const v = afterLook(st, size);
      if (v.kind === 'unknown') return;
      if (v.kind !== 'deleted') {
        unchecked = { rows: 0, firstTs: '', lastTs: '' };
        if (v.kind === 'truncated') truncated(v.found, v.restart);
        return;
      }
      orphaned = true;
      // Rows written since the last look may have gone to the deleted file: no longer counted as written.
      counts.written -= unchecked.rows;
      counts.dropped += unchecked.rows;
    }
    await recreate();
  };

  const written = (c: Chunk): void => {
    for (const t of [c.firstTs, c.lastTs]) if (t > lastTs) lastTs = t;
    if (c.lost !== undefined) return;
    // The header and our marker rows were never counted as held.
    if (!c.keep) account(-c.text.length);
    counts.written += c.rows;
    if (c.rows) {
      unchecked.rows += c.rows;
      unchecked.firstTs ||= c.firstTs;
      unchecked.lastTs = c.lastTs;
    }
  };

  /** One write of everything held, looping on short writes; a failure keeps whole rows only. */
  const writeOut = async (): Promise<void> => {
    queued = false;
    if (handle === null && !(await firstOpen())) return;
    const toWrite = dirtyTail || open.length > 0 || pending.length > 0;
    if (needsLook({ toWrite, uncheckedRows: unchecked.rows, orphaned, closing: closed })) await check();
    const h = handle;
    if (orphaned || h === null) return;
    if (dirtyTail) {
      try {
        await h.truncate(size);
        dirtyTail = false;
      } catch (e) {
        fail(e, 'cannot truncate');
        return;
      }
    }
    seal();
    if (!pending.length) return;
    const batch = pending;
    pending = [];
    for (const c of batch) if (c.lost !== undefined) c.text = markerText(c.lastTs || opts.now().toISOString(), lossNote(c));
    // Chunk by chunk, each as its own Buffer: a batch joined into one string and one Buffer held an interval's rows
    // three times over (13.5 MB each for open under a flood of distinct paths, measured by the memory bench).
    let done = 0;
    let error: unknown = null;
    try {
      for (const c of batch) {
        const buf = Buffer.from(c.text);
        for (let off = 0; off < buf.length; ) {
          const { bytesWritten } = await h.write(buf, off, buf.length - off, size + done);
          if (bytesWritten <= 0) throw Object.assign(new Error('write wrote nothing'), { code: 'EIO' });
          off += bytesWritten;
          done += bytesWritten;
        }
      }
    } catch (e) {
      error = e;
    }
    if (error === null) {
      size += done;
      for (const c of batch) written(c);
      recovered();
      return;
    }
    // Keep the chunks that made it whole; cut a partial one off the file, so it never holds a partial row.
    const { whole: i, end, cut } = cutBack(batch.map((c) => Buffer.byteLength(c.text)), done);
    for (const c of batch.slice(0, i)) written(c);
    size += end;
    if (cut) {
      try {
        await h.truncate(size);
      } catch {
        dirtyTail = true;
      }
    }
    // The rest goes back in front of what arrived meanwhile; two adjacent loss markers become one.
    const back = batch.slice(i);
    const a = back.at(-1);
    const b = pending[0];
    if (a?.lost !== undefined && b?.lost !== undefined) {
      b.rows += a.rows;
      b.notes += a.notes;
      b.firstTs = a.firstTs || b.firstTs;
      back.pop();
    }
    pending = [...back, ...pending];
    fail(error, 'cannot write');
  };

  /** Every write and look at the file runs in order, one at a time; `running` says whether one is under way. */
  let running = 0;
  const enqueue = <T>(job: () => Promise<T>, fallback: T): Promise<T> => {
    const p = chain.then(async () => {
      running++;
      try {
        return await job();
      } finally {
        running--;
      }
    });
    chain = p.then(
      () => undefined,
      (e: unknown) => opts.onError(e),
    );
    return p.catch(() => fallback);
  };

  // `check` does not change what a flush does: whether it looks at the file (deleted? truncated?) is needsLook's. A
  // flush with nothing to write still looks when rows were written since the last look: that is how the timer notices,
  // within a flush interval, a file deleted after its last rows while its monitor is idle.
  const flush = (): Promise<void> => {
    seal();
    if (queued) return chain;
    queued = true;
    return enqueue(writeOut, undefined);
  };

  /** A last write, the file's times, fsync and close; once, however often close() is called. */
  let closing: Promise<void> | null = null;
  const closeOnce = async (): Promise<void> => {
    closed = true;
    await flush();
    seal();
    let left = 0;
    for (const c of pending) if (c.lost === undefined) left += c.rows;
    if (left) {
      counts.dropped += left;
      report(failing?.code ?? 'error', `${file}: ${plural(left, 'row')} could not be written before exit (${failing?.code ?? 'error'})`);
    }
    account(-held);
    pending = [];
    if (handle === null) return;
    // A closed file's modification time is its last row's: what `analyze` and retention read as where its data ends.
    const mtime = closedMtime(lastTs, orphaned);
    if (mtime && handle.utimes) await handle.utimes(mtime, mtime).catch(() => undefined);
    await handle.sync().catch(opts.onError);
    await handle.close().catch(opts.onError);
    opts.released?.(file);
  };

  /** Formatted rows join the open chunk; past chunkChars it is sealed. */
  const hold = (rows: readonly Row[], text: string, notes: number): void => {
    if (!open.length) openFirst = tsOf(rows[0]);
    openLast = tsOf(rows[rows.length - 1]);
    open.push(text);
    openChars += text.length;
    openRows += rows.length;
    openNotes += notes;
    pendingRows += rows.length;
    account(text.length);
    if (openChars >= chunkChars) sealOpen();
  };
  const notesIn = (rows: readonly Row[]): number => {
    let notes = 0;
    for (let i = 0; i < rows.length; i++) if (rows[i]![noteColumn]) notes++;
    return notes;
  };

  return {
    add(rows) {
      if (closed || !rows.length) return;
      if (failing) {
        const notes = notesIn(rows);
        let text: string | undefined;
        const gapOpen = !open.length && pending.at(-1)?.lost !== undefined;
        if (rowsFate({ failing: true, gapOpen, held, heldMax: opts.heldMax }, () => (text = format.rows(columns, rows)).length) === 'drop') {
          drop({ rows: rows.length - notes, notes, firstTs: tsOf(rows[0]), lastTs: tsOf(rows[rows.length - 1]) }, failing.code);
          return;
        }
        hold(rows, text ?? format.rows(columns, rows), notes);
        return;
      }
      // An interval of a monitor with many keys (open under a flood of distinct paths: 30k rows, 13.5 MB of CSV) is
      // formatted a slice at a time, so that its text is chunks of about chunkChars, never one string of all of it.
      if (rows.length <= sliceRows) {
        hold(rows, format.rows(columns, rows), notesIn(rows));
        return;
      }
      for (let i = 0; i < rows.length; i += sliceRows) {
        const slice = rows.slice(i, i + sliceRows);
        hold(slice, format.rows(columns, slice), notesIn(slice));
      }
    },
    get pendingRows() {
      return pendingRows;
    },
    get failing() {
      return failing !== null;
    },
    flush,
    close() {
      closing ??= closeOnce();
      return closing;
    },
    stats: () => ({ monitor: opts.monitor, file, rowsWritten: counts.written, rowsDropped: counts.dropped, recreated: counts.recreated }),
    get bytes() {
      return size + held;
    },
    get settled() {
      return !failing && !orphaned && !queued && running === 0 && pending.length === 0 && open.length === 0;
    },
    moved: () =>
      enqueue(async () => {
        if (handle === null || orphaned || closed) return false;
        const st = await handle.stat().catch(() => null);
        // Deleted (no links): the next flush creates it again, as for any deleted file.
        if (!st || st.nlink === 0) return false;
        return movedAway(st, await lstat(file).catch(() => null));
      }, false),
  };
}
