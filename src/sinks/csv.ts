// CSV: a header row, then one line per row, every column in the monitor's order. csv-stringify decides how a
// row that needs quoting is written. A row whose cells are numbers, empty, or strings without a comma, quote,
// CR or LF needs none (csv-stringify's default rules): its line is the cells joined by commas, built here,
// since csv-stringify's per-cell machinery was a fifth of the pipeline's CPU (throughput bench, 1M records,
// best of 3: 96k -> 123k records/s). test/unit/csv.test.ts holds the two paths to the same bytes.
import { stringify } from 'csv-stringify/sync';
import type { Row } from '../monitors/types.js';
import { createFileSink, type FileSink, type FileSinkOptions, type RowFormat } from './file-sink.js';

const needsQuoting = /[",\r\n]/;
const castNumber = { cast: { number: (n: number): string => String(n) } };

/** The row's line without its newline, or null when a cell needs quoting. */
function plainLine(columns: readonly string[], row: Row, cells: string[]): string | null {
  for (let i = 0; i < columns.length; i++) {
    const v = row[columns[i]!];
    if (v === undefined || v === null) cells[i] = '';
    else if (typeof v === 'number') cells[i] = String(v);
    else if (!needsQuoting.test(v)) cells[i] = v;
    else return null;
  }
  return cells.join(',');
}

/** The row's line as csv-stringify writes it, without its newline. */
const quotedLine = (columns: readonly string[], row: Row): string => stringify([columns.map((c) => row[c] ?? '')], castNumber).slice(0, -1);

export const csvFormat: RowFormat = {
  extension: 'csv',
  header: (columns) => stringify([columns]),
  rows: (columns, rows) => {
    if (rows.length === 1) {
      // One event, one row: the commonest write of an event monitor.
      const r = rows[0]!;
      return (plainLine(columns, r, new Array<string>(columns.length)) ?? quotedLine(columns, r)) + '\n';
    }
    const lines: string[] = [];
    const cells = new Array<string>(columns.length);
    for (const r of rows) {
      const plain = plainLine(columns, r, cells);
      lines.push(plain ?? quotedLine(columns, r));
    }
    lines.push('');
    return lines.join('\n');
  },
};


export const createCsvSink = (opts: Omit<FileSinkOptions, 'format'>): Promise<FileSink> => createFileSink({ ...opts, format: csvFormat });
