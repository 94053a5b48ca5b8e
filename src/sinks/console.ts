// The console view: one readable aligned line per row, on stdout. Process and file names come from whoever runs
// on the machine, so every cell is made inert before it reaches the terminal: a comm of "\x1b]0;owned\x07" would
// set the window title, "\x1b[2J" clear the screen, a newline fake a line, U+202E reverse what follows.
import type { Row } from '../monitors/types.js';
import { noteColumn, type Sink } from './sink.js';

// C0 controls, DEL, C1 controls (some terminals act on them as 8-bit escapes), and the bidi embeddings, overrides
// and isolates that reorder the rest of the line. Built from a string: matching controls is the point here.
const unsafeClass = '[\\u0000-\\u001f\\u007f-\\u009f\\u202a-\\u202e\\u2066-\\u2069]';
const unsafe = new RegExp(unsafeClass);
const unsafeAll = new RegExp(unsafeClass, 'g');
const named: Readonly<Record<string, string>> = { '\t': '\\t', '\n': '\\n', '\r': '\\r' };
const hex = (c: string, width: number): string => c.charCodeAt(0).toString(16).padStart(width, '0');

/** `s` with every control and bidi override shown as a visible escape (`\x1b`, `\n`, `\u202e`); as is when clean. */
export function terminalSafe(s: string): string {
  if (!unsafe.test(s)) return s;
  return s.replace(unsafeAll, (c) => named[c] ?? (c.charCodeAt(0) <= 0xff ? `\\x${hex(c, 2)}` : `\\u${hex(c, 4)}`));
}

/** The row itself when no string cell needs escaping (the common case: no copy), else a copy with escaped cells. */
export function terminalSafeRow(row: Row): Row {
  for (const k in row) {
    const v = row[k];
    if (typeof v === 'string' && unsafe.test(v)) {
      const out: Row = {};
      for (const [key, cell] of Object.entries(row)) out[key] = typeof cell === 'string' ? terminalSafe(cell) : cell;
      return out;
    }
  }
  return row;
}

export function createConsoleSink(lines: ReadonlyMap<string, (row: Row) => string>, out: NodeJS.WritableStream = process.stdout): Sink {
  // A reader that went away (`| head`): nothing more is written to it; start stops on the same error.
  let closed = false;
  const onError = (): void => {
    closed = true;
  };
  out.on('error', onError);
  return {
    write(monitor, rows) {
      const line = lines.get(monitor);
      if (!line || closed) return;
      const text = rows.map((row) => {
        const r = terminalSafeRow(row);
        const note = r[noteColumn];
        return typeof note === 'string' && note ? `${String(r['timestamp'])}  ${monitor}  ** ${note}` : line(r);
      });
      out.write(text.join('\n') + '\n');
    },
    flush: () => Promise.resolve(),
    close: () => {
      out.removeListener('error', onError);
      return Promise.resolve();
    },
  };
}
