// The logger: built once in cli/main.ts and passed down; each monitor gets a child logger.
// JSON lines to a file (daemon) or stderr; on a terminal, stderr gets short readable lines instead.
import { closeSync, constants, fstatSync, openSync, writeSync } from 'node:fs';
import path from 'node:path';
import { pino, destination, stdTimeFunctions, type Logger, type LevelWithSilent, type DestinationStream } from 'pino';
import { describe, errnoOf, UsageError } from './errors.js';
import { secureDirSync, trustedOwner } from './safe-fs.js';

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

/**
 * Opens the log file as ebpfmon's own fd: O_NOFOLLOW (a symlink planted at the path is refused, not followed),
 * O_APPEND|O_CREAT (0640), O_NONBLOCK (a FIFO planted there cannot hang the open), after checking the directory
 * path (the rule in safe-fs.ts; the directory itself may be group-writable, as /var/log is on Debian).
 * What was opened must be a regular file (or a character device such as /dev/null) owned by root, with one link.
 */
export function openLogFile(file: string): number {
  const abs = path.resolve(file);
  secureDirSync(path.dirname(abs), { what: 'log file directory', create: true, linkAtEnd: true, groupWritableAtEnd: true });
  let fd: number;
  try {
    fd = openSync(abs, constants.O_WRONLY | constants.O_APPEND | constants.O_CREAT | constants.O_NOFOLLOW | constants.O_NONBLOCK, 0o640);
  } catch (e) {
    const code = errnoOf(e);
    if (code === 'ELOOP') throw new UsageError(`log file ${abs} is a symbolic link; refusing to follow it (logging.file must name the real file)`);
    throw new UsageError(`cannot open log file ${abs}: ${code === 'ENXIO' ? 'it is a FIFO' : (e as Error).message}`);
  }
  const st = fstatSync(fd);
  const why = !st.isFile() && !st.isCharacterDevice()
    ? 'it is not a regular file'
    : !trustedOwner(st.uid)
      ? `it is owned by uid ${st.uid}, not root`
      : st.isFile() && st.nlink > 1
        ? `it has ${st.nlink} hard links`
        : null;
  if (why) {
    closeSync(fd);
    throw new UsageError(`log file ${abs}: ${why}; refusing to write to it`);
  }
  return fd;
}

/** Writes whole log lines to an fd that reopen() may swap; a line that cannot be written is dropped, not thrown into the caller. */
function fdStream(initial: number): DestinationStream & { swap(fd: number): void } {
  let fd = initial;
  return {
    write(s: string) {
      const buf = Buffer.from(s);
      try {
        for (let off = 0; off < buf.length; ) off += writeSync(fd, buf, off);
      } catch {
        // a full disk must not stop the monitors; the line is lost
      }
    },
    swap(next) {
      const old = fd;
      fd = next;
      closeSync(old);
    },
  };
}

export function openLog(opts: LoggerOptions): OpenLog {
  const options = { level: opts.level, base: { app: 'ebpfmon' }, timestamp: stdTimeFunctions.isoTime };
  const file = opts.file;
  if (file) {
    const stream = fdStream(openLogFile(file));
    const log = pino(options, stream);
    return {
      log,
      // After logrotate moved the file (SIGHUP): the same checks again; if the path is now unsafe, keep the old fd.
      reopen: () => {
        try {
          stream.swap(openLogFile(file));
        } catch (e) {
          log.error({ file, err: describe(e) }, 'cannot reopen the log file; logging on to the file opened before');
        }
      },
    };
  }
  const pretty = opts.pretty ?? process.stderr.isTTY === true;
  const stream: DestinationStream = pretty
    ? { write: (s: string) => void process.stderr.write(prettyLine(s)) }
    : destination({ fd: 2, sync: true });
  return { log: pino(options, stream), reopen: () => undefined };
}

/** A logger that drops everything, for tests and pure paths. */
export const silentLogger = (): Logger => pino({ level: 'silent' });
