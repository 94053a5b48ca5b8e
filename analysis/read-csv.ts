// Streams one CSV file record by record, in bounded memory. Two parsers give the same records:
// 'csv-parse' runs every byte through csv-parse; 'fast' (the default) splits quote-free lines on commas
// itself and hands only lines holding a quote (a comm or path with a comma, a quote or a newline) to csv-parse,
// which is about four times faster on real output, where nearly no line is quoted. A gzipped file (.csv.gz, a
// rotated file) is read through gunzip; progress counts the bytes read from disk. Memory stays bounded whatever
// the file holds: no line longer than maxLineBytes reaches either parser (capLines), nor does a quoted record.
import { isAscii } from 'node:buffer';
import { createReadStream } from 'node:fs';
import { open } from 'node:fs/promises';
import { Transform, Writable, type Readable } from 'node:stream';
import { pipeline } from 'node:stream';
import { pipeline as pipelineAsync } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import { parse } from 'csv-parse';
import { parse as parseSync } from 'csv-parse/sync';
import { errnoOf } from '../src/errors.js';

export type CsvParser = 'fast' | 'csv-parse';

export interface ReadOptions {
  parser: CsvParser;
  /** The file is gzipped. */
  gz?: boolean | undefined;
  /** Called with the number of bytes read since the previous call. */
  onBytes?: (n: number) => void;
  /** A record csv-parse rejected (e.g. an unterminated quote); it is skipped. */
  onMalformed: (line: number) => void;
  /** A line longer than maxLineBytes: its bytes were dropped unread; it is skipped. */
  onOverlong: (line: number) => void;
}

/**
 * The longest line read (1 MiB; ebpfmon's longest rows, a path of PATH_MAX bytes all escaped, are under 20 KiB).
 * A longer line is dropped as it streams by and counted as damage: a 200 MB line costs no more than this.
 */
export const maxLineBytes = 1 << 20;
/** One quoted record longer than this is treated as damage (a stray quote would otherwise swallow the file). */
const maxQuotedRecord = maxLineBytes;
const chunkSize = 1 << 20;

/** What stands in the text for a dropped line: NUL never occurs in ebpfmon's output (bpftrace strings end at one). */
export const overlongMark = '\u0000line too long';
const overlongBytes = Buffer.from(overlongMark, 'latin1');

/**
 * Passes the text on in whole lines, holding an unfinished one (at most maxLineBytes) until its newline arrives; a
 * line that grows past maxLineBytes is dropped, and a line holding overlongMark takes its place, so line numbers
 * stay right. Scans for the first and last newline of each piece only: a line between them is shorter than the
 * piece, and pieces are at most maxLineBytes.
 */
export function capLines(): Transform {
  let held: Buffer[] = [];
  let heldBytes = 0;
  let dropping = false;
  const drop = (t: Transform): void => {
    held = [];
    heldBytes = 0;
    t.push(overlongBytes);
  };
  const piece = (t: Transform, b: Buffer): void => {
    let from = 0;
    if (dropping) {
      const nl = b.indexOf(10);
      if (nl === -1) return;
      dropping = false;
      from = nl;
    }
    const first = b.indexOf(10, from);
    if (first === -1) {
      held.push(b.subarray(from));
      heldBytes += b.length - from;
      if (heldBytes > maxLineBytes) {
        drop(t);
        dropping = true;
      }
      return;
    }
    if (heldBytes + first - from > maxLineBytes) {
      drop(t);
      from = first;
    } else {
      for (const h of held) t.push(h);
      held = [];
      heldBytes = 0;
    }
    const last = b.lastIndexOf(10);
    t.push(b.subarray(from, last + 1));
    if (last + 1 < b.length) {
      held.push(b.subarray(last + 1));
      heldBytes = b.length - last - 1;
    }
  };
  return new Transform({
    transform(chunk: Buffer, _enc, done) {
      for (let i = 0; i < chunk.length; i += maxLineBytes) piece(this, chunk.subarray(i, i + maxLineBytes));
      done();
    },
    flush(done) {
      for (const h of held) this.push(h);
      done();
    },
  });
}

/** The file's text in whole lines of at most maxLineBytes (the file itself, or gunzip's output); `onBytes` counts bytes read from disk. */
function openText(file: string, opts: Pick<ReadOptions, 'gz' | 'onBytes'>): Readable {
  const raw = createReadStream(file, { highWaterMark: chunkSize });
  const onBytes = opts.onBytes;
  if (onBytes) raw.on('data', (chunk: string | Buffer) => onBytes(chunk.length));
  const lines = capLines();
  // An error of any (unreadable file, damaged or truncated gzip) destroys them all; the reader sees it.
  if (opts.gz) pipeline(raw, createGunzip({ chunkSize: 1 << 16 }), lines, () => undefined);
  else pipeline(raw, lines, () => undefined);
  return lines;
}

/**
 * Why a .gz file cannot be read whole, or null when it can (or is empty). Rows are counted as they are read, so a
 * file that breaks halfway would be half counted: a gzipped file is first decompressed to nothing, checking its
 * header, every block, and the length and CRC at its end, and it is read only when all of that holds. Costs one
 * more decompression of gzipped files only (gunzip runs several times faster than the parser). Other errors
 * (permissions) are thrown.
 */
export async function gzipDamage(file: string, onBytes?: (n: number) => void): Promise<string | null> {
  const fh = await open(file, 'r');
  try {
    const { bytesRead, buffer } = await fh.read(Buffer.alloc(2), 0, 2, 0);
    if (bytesRead === 0) return null;
    if (bytesRead < 2 || buffer[0] !== 0x1f || buffer[1] !== 0x8b) return 'not gzip (no gzip header), though named .gz; none of its rows counted';
  } finally {
    await fh.close();
  }
  const raw = createReadStream(file, { highWaterMark: chunkSize });
  if (onBytes) raw.on('data', (chunk: string | Buffer) => onBytes(chunk.length));
  const discard = new Writable({ write: (_chunk, _enc, done) => done() });
  try {
    await pipelineAsync(raw, createGunzip({ chunkSize: 1 << 16 }), discard);
    return null;
  } catch (e) {
    // zlib's errors carry an errno (Z_BUF_ERROR: the data ends early; Z_DATA_ERROR: bad data or trailing garbage).
    if (typeof (e as { errno?: unknown }).errno !== 'number' || (e as NodeJS.ErrnoException).syscall !== undefined) throw e;
    const code = errnoOf(e);
    const why = code === 'Z_BUF_ERROR' ? 'it ends early (truncated: a copy or a compression cut short?)' : (e as Error).message;
    return `damaged gzip: ${why}; none of its rows counted`;
  }
}

export function readCsvRecords(file: string, onRecord: (fields: string[], line: number) => void, opts: ReadOptions): Promise<void> {
  return opts.parser === 'fast' ? readFast(file, onRecord, opts) : readWithCsvParse(file, onRecord, opts);
}

/** A latin1-decoded line back to the UTF-8 text its bytes hold. */
const utf8 = (latin1: string): string => (/[\x80-\xff]/.test(latin1) ? Buffer.from(latin1, 'latin1').toString('utf8') : latin1);

const countQuotes = (s: string): number => {
  let n = 0;
  for (let i = s.indexOf('"'); i !== -1; i = s.indexOf('"', i + 1)) n++;
  return n;
};

async function readFast(file: string, onRecord: (fields: string[], line: number) => void, opts: ReadOptions): Promise<void> {
  let rest = '';
  let line = 0;
  // A quoted record spanning lines: its text so far, its first line number and its quote count.
  let quoted: string | null = null;
  let quotedLine = 0;
  let quotes = 0;

  const quotedRecord = (text: string, at: number): void => {
    let rows: string[][];
    try {
      rows = parseSync(text, { relax_column_count: true }) as string[][];
    } catch {
      opts.onMalformed(at);
      return;
    }
    for (const r of rows) onRecord(r, at);
  };

  const handle = (raw: string): void => {
    line++;
    const text = raw.length && raw.charCodeAt(raw.length - 1) === 13 ? raw.slice(0, -1) : raw;
    if (text.length === overlongMark.length && text === overlongMark) {
      // A quoted record it was part of is cut: damage too.
      if (quoted !== null) opts.onMalformed(quotedLine);
      quoted = null;
      opts.onOverlong(line);
      return;
    }
    if (quoted !== null) {
      quoted += '\n' + text;
      quotes += countQuotes(text);
      if (quotes % 2 === 0) {
        const done = quoted;
        quoted = null;
        quotedRecord(done, quotedLine);
      } else if (quoted.length > maxQuotedRecord) {
        quoted = null;
        opts.onMalformed(quotedLine);
      }
      return;
    }
    if (text.indexOf('"') === -1) {
      if (text.length) onRecord(text.split(','), line);
      return;
    }
    const q = countQuotes(text);
    if (q % 2 === 0) {
      quotedRecord(text, line);
    } else {
      quoted = text;
      quotedLine = line;
      quotes = q;
    }
  };

  // Bytes are decoded as latin1 (one char per byte, about as cheap as a copy); a line of a chunk that is not
  // pure ASCII is decoded again from its bytes as UTF-8, so a multi-byte character cut by a chunk edge is fine.
  let restAscii = true;
  const text = openText(file, opts);
  for await (const chunk of text as AsyncIterable<Buffer>) {
    const ascii = isAscii(chunk);
    const lines = (rest + chunk.toString('latin1')).split('\n');
    rest = lines.pop() ?? '';
    if (ascii && restAscii) {
      for (const l of lines) handle(l);
    } else {
      for (const l of lines) handle(utf8(l));
    }
    // The new rest is this chunk's tail, plus the old rest only when no line ended in this chunk.
    restAscii = rest.length === 0 || (ascii && (restAscii || lines.length > 0));
  }
  // What is left is a last line without its newline: often a write cut short; the caller checks its fields.
  if (rest.length) handle(restAscii ? rest : utf8(rest));
  if (quoted !== null) opts.onMalformed(quotedLine);
}

async function readWithCsvParse(file: string, onRecord: (fields: string[], line: number) => void, opts: ReadOptions): Promise<void> {
  const parser = parse({ relax_column_count: true, skip_records_with_error: true, skip_empty_lines: true, info: true });
  parser.on('skip', () => opts.onMalformed(parser.info.lines));
  const input = openText(file, opts);
  await new Promise<void>((resolve, reject) => {
    parser.on('readable', () => {
      let r: unknown;
      try {
        while ((r = parser.read()) !== null) {
          const { record, info } = r as { record: string[]; info: { lines: number } };
          if (record.length === 1 && record[0] === overlongMark) opts.onOverlong(info.lines);
          else onRecord(record, info.lines);
        }
      } catch (e) {
        // The caller stops reading (e.g. a header without the columns it needs).
        input.destroy();
        parser.destroy();
        reject(e);
      }
    });
    parser.on('end', resolve);
    parser.on('error', reject);
    input.on('error', reject);
    input.pipe(parser);
  });
}
