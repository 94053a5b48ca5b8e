// The logger: built once in cli/main.ts and passed down; each monitor gets a child logger.
// JSON lines to a file (daemon) or stderr; on a terminal, stderr gets short readable lines instead.
import { closeSync, constants, openSync } from 'node:fs';
import { pino, destination, stdTimeFunctions, type Logger, type LevelWithSilent, type DestinationStream } from 'pino';

export type { Logger };
export const logLevels = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

export interface LoggerOptions {
  level: LevelWithSilent;
  /** A file to append to (daemon mode); otherwise stderr, since stdout carries the console view. */
  file?: string | undefined;
  /** Readable lines instead of JSON (default: when stderr is a terminal and there is no file). */
  pretty?: boolean;
}

export interface OpenLog {
  log: Logger;
  /** Reopen the log file after logrotate moved it (SIGHUP). */
  reopen(): void;
}

const levelNames: Record<number, string> = { 10: 'TRACE', 20: 'DEBUG', 30: 'INFO ', 40: 'WARN ', 50: 'ERROR', 60: 'FATAL' };
const skipKeys = new Set(['level', 'time', 'msg', 'app']);

/** One JSON log line -> `12:00:01.234 INFO  message key=value ...`. */
export function prettyLine(json: string): string {
  try {
    const rec = JSON.parse(json) as Record<string, unknown>;
    const time = typeof rec['time'] === 'string' ? rec['time'].slice(11, 23) : '';
    const extra = Object.entries(rec)
      .filter(([k]) => !skipKeys.has(k))
      .map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`)
      .join(' ');
    return `${time} ${levelNames[Number(rec['level'])] ?? rec['level']} ${String(rec['msg'] ?? '')}${extra ? `  ${extra}` : ''}\n`;
  } catch {
    return json;
  }
}

export function openLog(opts: LoggerOptions): OpenLog {
  const options = { level: opts.level, base: { app: 'ebpfmon' }, timestamp: stdTimeFunctions.isoTime };
  if (opts.file) {
    // Created root-only readable (0640) if missing; pino then appends.
    try {
      closeSync(openSync(opts.file, constants.O_WRONLY | constants.O_CREAT | constants.O_APPEND | constants.O_NOFOLLOW, 0o640));
    } catch {
      // pino reports a failure to open it
    }
    const dest = destination({ dest: opts.file, append: true, mkdir: true, sync: true });
    return { log: pino(options, dest), reopen: () => dest.reopen() };
  }
  const pretty = opts.pretty ?? process.stderr.isTTY === true;
  const stream: DestinationStream = pretty
    ? { write: (s: string) => void process.stderr.write(prettyLine(s)) }
    : destination({ fd: 2, sync: true });
  return { log: pino(options, stream), reopen: () => undefined };
}

export const createLogger = (opts: LoggerOptions): Logger => openLog(opts).log;

/** A logger that drops everything, for tests and pure paths. */
export const silentLogger = (): Logger => pino({ level: 'silent' });
