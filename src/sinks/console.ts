// The console view: one readable aligned line per row, on stdout.
import type { Row } from '../monitors/types.js';
import type { Sink } from './sink.js';

export function createConsoleSink(lines: ReadonlyMap<string, (row: Row) => string>, out: NodeJS.WritableStream = process.stdout): Sink {
  return {
    write(monitor, rows) {
      const line = lines.get(monitor);
      if (!line) return;
      out.write(rows.map((r) => (typeof r['note'] === 'string' && r['note'] ? `${String(r['timestamp'])}  ${monitor}  ** ${r['note']}` : line(r))).join('\n') + '\n');
    },
    flush: () => Promise.resolve(),
    close: () => Promise.resolve(),
  };
}
