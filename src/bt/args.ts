// An exec's arguments: the bytes of the new program's argument area (argv strings, each ended by a NUL, as the
// kernel laid them out) -> one line of text where no argument can split in two or pass for a cut one.
//
// Encoding (docs/monitors.md, exec), shell-like so `echo hello world --flag` reads as execsnoop prints it:
// - arguments are joined by one space;
// - inside an argument, a backslash is `\\`, a space `\ `, a double quote `\"`, a control byte (C0, DEL) or a
//   byte that is not part of valid UTF-8 is `\xNN`; valid UTF-8 stays as it is;
// - an empty argument is `""` (a real `"` is always escaped, so `""` is never two quote characters);
// - an argument cut by the byte bound ends with `\…`, and a list with more arguments than were kept ends with the
//   token `\…`: a backslash is otherwise always followed by `\`, space, `"` or `x`, so neither passes for real text.
import { utf8SequenceAt } from './text.js';

/** What marks a cut argument (its end) or a cut list (a token of its own): the same marker as a cut path. */
export const argsCut = '\\…';

/** The argument area as the kernel had it, read from a `%rx` field (every byte as \xNN). */
export function bytesOfHex(s: string): number[] {
  const out: number[] = [];
  for (let i = 0; i + 4 <= s.length; i += 4) {
    if (s[i] !== '\\' || s[i + 1] !== 'x' || !/^[0-9a-f]{2}$/i.test(s.slice(i + 2, i + 4))) break;
    out.push(parseInt(s.slice(i + 2, i + 4), 16));
  }
  return out;
}

export interface SplitArgs {
  args: number[][];
  /** The last argument is cut: the byte bound ended inside it. */
  lastCut: boolean;
  /** More arguments followed than are in `args` (the byte or count bound). */
  more: boolean;
}

/**
 * The argument area -> its arguments. `read` is what the kernel copied (at most the byte bound), `total` the
 * area's real size (arg_end - arg_start); at most `maxArgs` are kept.
 */
export function splitArgs(read: readonly number[], total: number, maxArgs: number): SplitArgs {
  const args: number[][] = [];
  let cur: number[] = [];
  let i = 0;
  for (; i < read.length && args.length < maxArgs; i++) {
    if (read[i] === 0) {
      args.push(cur);
      cur = [];
    } else cur.push(read[i]!);
  }
  if (args.length === maxArgs) return { args, lastCut: false, more: i < total };
  // The bytes ran out inside an argument: cut when the area goes on, else an argument without its NUL (a program
  // that rewrote its own area); kept as it is.
  if (cur.length > 0) {
    args.push(cur);
    return { args, lastCut: read.length < total, more: false };
  }
  return { args, lastCut: false, more: read.length < total };
}

const hex = (b: number): string => `\\x${b.toString(16).padStart(2, '0')}`;

/** One argument's bytes -> its text (see the encoding above). */
export function encodeArg(b: readonly number[]): string {
  if (b.length === 0) return '""';
  let out = '';
  for (let i = 0; i < b.length; ) {
    const c = b[i]!;
    if (c < 0x80) {
      if (c === 0x5c) out += '\\\\';
      else if (c === 0x20) out += '\\ ';
      else if (c === 0x22) out += '\\"';
      else if (c < 0x20 || c === 0x7f) out += hex(c);
      else out += String.fromCharCode(c);
      i++;
      continue;
    }
    const n = utf8SequenceAt(b, i);
    if (n === 0) {
      out += hex(c);
      i++;
    } else {
      const s = Buffer.from(b.slice(i, i + n)).toString('utf8');
      // C1 controls (U+0080-U+009F) and bidi overrides/isolates are bytes a terminal would act on: escaped too.
      if (/^[\u0080-\u009f\u202a-\u202e\u2066-\u2069]$/u.test(s)) for (let k = 0; k < n; k++) out += hex(b[i + k]!);
      else out += s;
      i += n;
    }
  }
  return out;
}

/** The arguments as one line of text. */
export function encodeArgs(s: SplitArgs): string {
  const parts = s.args.map(encodeArg);
  if (s.lastCut && parts.length > 0) parts[parts.length - 1] += argsCut;
  if (s.more) parts.push(argsCut);
  return parts.join(' ');
}
