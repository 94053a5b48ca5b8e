// The terminal of `ebpfmon top`: the alternate screen, raw keys, and the way back. Whatever ends the view (q,
// Ctrl-C, a signal, an error, process.exit), the terminal gets its screen, cursor and line discipline back.
import { writeSync } from 'node:fs';
import { StringDecoder } from 'node:string_decoder';
import { decodeKeys, pendingKeys, type Key } from './keys.js';

/** How long a read ending in ESC or a cut escape sequence waits for the rest (htop sets ncurses' ESCDELAY to 25). */
const escDelayMs = 50;

/** Enter the alternate screen, hide the cursor, and disable line wrap (a full-width line must not scroll). */
export const enterScreen = '\x1b[?1049h\x1b[?25l\x1b[?7l\x1b[H\x1b[2J';
/** Undo enterScreen: line wrap on, cursor shown, the primary screen back as it was. */
export const leaveScreen = '\x1b[0m\x1b[?7h\x1b[?25h\x1b[?1049l';

/** One frame: home, each line cleared to its end, nothing below. */
export const frameText = (lines: readonly string[]): string => `\x1b[H${lines.join('\r\n')}\x1b[J`;

export interface Screen {
  /** Draws a frame; writes nothing once the screen was restored. */
  draw(lines: readonly string[]): void;
  size(): { columns: number; rows: number };
  /** Puts the terminal back; safe to call more than once. */
  restore(): void;
}

/**
 * Takes over the terminal: alternate screen, raw mode on stdin when it is a terminal, keys to `onKeys`, resizes to
 * `onResize`. restore() undoes it; an exit handler does it synchronously if the process leaves without it. A key's
 * bytes may arrive in two reads (a UTF-8 character, an escape sequence): it is delivered once whole.
 */
export function openScreen(opts: {
  stdin: NodeJS.ReadStream;
  /** process.stdout: the restore is written to its fd synchronously. */
  stdout: NodeJS.WriteStream & { fd: number };
  onKeys(keys: Key[]): void;
  onResize(): void;
}): Screen {
  const { stdin, stdout } = opts;
  let restored = false;
  const raw = stdin.isTTY === true;
  const utf8 = new StringDecoder('utf8');
  let pending = '';
  let escTimer: NodeJS.Timeout | undefined;
  const deliver = (keys: Key[]): void => {
    if (keys.length) opts.onKeys(keys);
  };
  const onData = (b: Buffer): void => {
    clearTimeout(escTimer);
    const d = decodeKeys(pending + utf8.write(b));
    pending = d.pending;
    deliver(d.keys);
    if (pending) {
      escTimer = setTimeout(() => {
        const keys = pendingKeys(pending);
        pending = '';
        deliver(keys);
      }, escDelayMs);
    }
  };
  // Writes after the terminal went away (the tmux pane or ssh session closed) fail with EIO: nothing to do then.
  const onError = (): void => undefined;
  stdout.on('error', onError);
  const restore = (): void => {
    if (restored) return;
    restored = true;
    process.removeListener('exit', restore);
    stdout.removeListener('resize', opts.onResize);
    stdout.removeListener('error', onError);
    stdin.removeListener('data', onData);
    clearTimeout(escTimer);
    if (raw) {
      try {
        stdin.setRawMode(false);
      } catch {
        // the terminal is gone
      }
      stdin.pause();
    }
    try {
      // Synchronously: this also runs from the exit handler, where asynchronous writes are lost.
      writeSync(stdout.fd, leaveScreen);
    } catch {
      // the terminal is gone
    }
  };
  process.once('exit', restore);
  writeSync(stdout.fd, enterScreen);
  if (raw) {
    stdin.setRawMode(true);
    stdin.on('data', onData);
    stdin.resume();
  }
  stdout.on('resize', opts.onResize);
  return {
    draw(lines) {
      if (restored) return;
      stdout.write(frameText(lines));
    },
    size: () => ({ columns: stdout.columns || 80, rows: stdout.rows || 24 }),
    restore,
  };
}
