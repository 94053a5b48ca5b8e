// NDJSON: one JSON object per row with the CSV's field names, for log shippers (Vector, Fluent Bit, Loki).
// Numbers stay numbers; an empty cell is null; the note is left out of data rows.
import { createFileSink, type FileSink, type FileSinkOptions, type RowFormat } from './file-sink.js';
import { noteColumn } from './sink.js';

export const ndjsonFormat: RowFormat = {
  extension: 'ndjson',
  header: () => '',
  rows: (columns, rows) =>
    rows
      .map((r) => {
        const o: Record<string, unknown> = {};
        for (const c of columns) {
          const v = r[c] ?? null;
          if (c === noteColumn && (v === null || v === '')) continue;
          o[c] = v;
        }
        return JSON.stringify(o) + '\n';
      })
      .join(''),
};

export const createNdjsonSink = (opts: Omit<FileSinkOptions, 'format'>): Promise<FileSink> => createFileSink({ ...opts, format: ndjsonFormat });
