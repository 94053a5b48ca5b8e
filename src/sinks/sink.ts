// A sink receives rows of one or more monitors. Each file has exactly one owner: the sink that opened it.
import type { Row } from '../monitors/types.js';

export interface Sink {
  write(monitor: string, rows: readonly Row[]): void;
  /** Flush buffered rows; resolves when they reached the OS. */
  flush(): Promise<void>;
  /** Flush and release everything. Called once, after the last rows were routed. */
  close(): Promise<void>;
  /** Bytes accepted but not yet written; a reader can pause its source while this is high. */
  backlog?(): number;
}

/** The extra last column of every output: empty on data rows, a message on marker rows (restarts, gaps). */
export const noteColumn = 'note';

/** The part of a logger a sink uses (pino's Logger fits): notices about its files that are not failures. */
export interface SinkLog {
  warn(fields: object, msg: string): void;
  info(fields: object, msg: string): void;
}
