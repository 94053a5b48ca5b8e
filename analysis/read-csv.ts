// Streams one CSV file record by record, in bounded memory. Two parsers give the same records:
// 'csv-parse' runs every byte through csv-parse; 'fast' (the default) splits quote-free lines on commas
// itself and hands only lines holding a quote (a comm or path with a comma, a quote or a newline) to csv-parse,
// which is about four times faster on real output, where nearly no line is quoted. A gzipped file (.csv.gz, a
// rotated file) is read through gunzip; progress counts the bytes read from disk.
import { isAscii } from 'node:buffer';
import { createReadStream } from 'node:fs';
import { open } from 'node:fs/promises';
import { Writable, type Readable } from 'node:stream';
import { pipeline } from 'node:stream';
import { pipeline as pipelineAsync } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import { parse } from 'csv-parse';
import { parse as parseSync } from 'csv-parse/sync';

export type CsvParser = 'fast' | 'csv-parse';

export interface ReadOptions {
  parser: CsvParser;
  /** The file is gzipped. */
  gz?: boolean | undefined;
  /** Called with the number of bytes read since the previous call. */
  onBytes?: (n: number) => void;
  /** A record csv-parse rejected (e.g. an unterminated quote); it is skipped. */
  onMalformed: (line: number) => void;
}

/** One quoted record longer than this is treated as damage (a stray quote would otherwise swallow the file). */
const maxQuotedRecord = 1 << 20;
const chunkSize = 1 << 20;

/** The file's text as a stream of chunks: the file itself, or gunzip's output; `onBytes` counts bytes read from disk. */
function openText(file: string, opts: Pick<ReadOptions, 'gz' | 'onBytes'>): { text: Readable; counted: boolean } {
  const raw = createReadStream(file, { highWaterMark: chunkSize });
  if (!opts.gz) return { text: raw, counted: false };
  const onBytes = opts.onBytes;
  if (onBytes) raw.on('data', (chunk: string | Buffer) => onBytes(chunk.length));
  const gunzip = createGunzip({ chunkSize: 1 << 16 });
  // An error of either (unreadable file, damaged or truncated gzip) destroys both; the reader sees it.
  pipeline(raw, gunzip, () => undefined);
  return { text: gunzip, counted: true };
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
    const code = (e as NodeJS.ErrnoException).code;
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
  const { text, counted } = openText(file, opts);
  for await (const chunk of text as AsyncIterable<Buffer>) {
    if (!counted) opts.onBytes?.(chunk.length);
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
  const { text: input, counted } = openText(file, opts);
  if (!counted) input.on('data', (chunk: Buffer) => opts.onBytes?.(chunk.length));
  await new Promise<void>((resolve, reject) => {
    parser.on('readable', () => {
      let r: unknown;
      try {
        while ((r = parser.read()) !== null) {
          const { record, info } = r as { record: string[]; info: { lines: number } };
          onRecord(record, info.lines);
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
