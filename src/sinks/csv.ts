// CSV: a header row, then one line per row (csv-stringify quoting), every column in the monitor's order.
import { stringify } from 'csv-stringify/sync';
import { createFileSink, outputFileName, type FileSink, type FileSinkOptions, type RowFormat } from './file-sink.js';

export const csvFormat: RowFormat = {
  extension: 'csv',
  header: (columns) => stringify([columns]),
  rows: (columns, rows) => stringify(rows.map((r) => columns.map((c) => r[c] ?? '')), { cast: { number: (n) => String(n) } }),
};

export const csvFileName = (monitor: string, startedAt: Date, n = 0): string => outputFileName(monitor, startedAt, 'csv', n);

export const createCsvSink = (opts: Omit<FileSinkOptions, 'format'>): Promise<FileSink> => createFileSink({ ...opts, format: csvFormat });
