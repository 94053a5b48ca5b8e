// The decoder of exec's args column (src/bt/args.ts encodes it): the round-trip the tests check, and the rule a
// consumer of the CSV follows to get the arguments' bytes back.
import { argsCut } from '../../src/bt/args.js';

export interface DecodedArgs {
  args: Buffer[];
  lastCut: boolean;
  more: boolean;
}

/** The text of encodeArgs -> the arguments' bytes (the column's documented rule); null when it is not such text. */
export function decodeArgs(text: string): DecodedArgs | null {
  const args: Buffer[] = [];
  let lastCut = false;
  let more = false;
  if (text === '') return { args, lastCut, more };
  for (const token of text.split(/(?<!(?:^|[^\\])(?:\\\\)*\\) /u)) {
    if (more) return null;
    if (token === argsCut) {
      more = true;
      continue;
    }
    if (lastCut) return null;
    if (token === '""') {
      args.push(Buffer.alloc(0));
      continue;
    }
    const bytes: number[] = [];
    for (let i = 0; i < token.length; ) {
      const ch = token[i]!;
      if (ch !== '\\') {
        const cp = token.codePointAt(i)!;
        const s = String.fromCodePoint(cp);
        if (s === '"' || s === ' ') return null;
        bytes.push(...Buffer.from(s, 'utf8'));
        i += s.length;
        continue;
      }
      const next = token[i + 1];
      if (next === '\\' || next === ' ' || next === '"') {
        bytes.push(next.charCodeAt(0));
        i += 2;
      } else if (next === 'x' && /^[0-9a-f]{2}$/.test(token.slice(i + 2, i + 4))) {
        bytes.push(parseInt(token.slice(i + 2, i + 4), 16));
        i += 4;
      } else if (next === '…' && i + 2 === token.length) {
        lastCut = true;
        i += 2;
      } else return null;
    }
    if (bytes.length === 0) return null;
    args.push(Buffer.from(bytes));
  }
  return { args, lastCut, more };
}
