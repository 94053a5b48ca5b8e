// The logger: built once in cli/main.ts and passed down; each monitor gets a child logger.
import { pino, destination, stdTimeFunctions, type Logger, type LevelWithSilent } from 'pino';

export type { Logger };
export const logLevels = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

export interface LoggerOptions {
  level: LevelWithSilent;
  /** A file to append to (daemon mode); otherwise stderr, since stdout carries the console view. */
  file?: string | undefined;
}

export function createLogger(opts: LoggerOptions): Logger {
  const dest = opts.file
    ? destination({ dest: opts.file, append: true, mkdir: true, sync: false })
    : destination({ fd: 2, sync: true });
  return pino({ level: opts.level, base: { app: 'ebpfmon' }, timestamp: stdTimeFunctions.isoTime }, dest);
}

/** A logger that drops everything, for tests and pure paths. */
export const silentLogger = (): Logger => pino({ level: 'silent' });
