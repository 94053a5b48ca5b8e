// Key presses of `ebpfmon top`: raw terminal input decoded into keys, and what each key does to the view's state.
// Pure: bytes in, keys out; state and key in, state out.
import type { SortKey } from './model.js';

export type Key =
  | { kind: 'char'; char: string }
  | { kind: 'enter' }
  | { kind: 'escape' }
  | { kind: 'backspace' }
  | { kind: 'interrupt' }
  /** Ctrl-U: erase the text being typed. */
  | { kind: 'kill-line' }
  /** Anything else (arrows, function keys, other controls): ignored. */
  | { kind: 'other' };

/**
 * Decodes one chunk read from a terminal in raw mode. A lone ESC is the Escape key; ESC followed by `[` or `O`
 * starts a sequence (arrows, function keys) that is read to its final byte and ignored, so an arrow never acts as
 * Escape followed by letters.
 */
export function decodeKeys(chunk: string): Key[] {
  const keys: Key[] = [];
  const chars = [...chunk];
  for (let i = 0; i < chars.length; i++) {
    const c = chars[i]!;
    if (c === '\x1b') {
      const next = chars[i + 1];
      if (next === '[' || next === 'O') {
        let j = i + 2;
        // CSI: parameter and intermediate bytes (0x20-0x3f), then one final byte (0x40-0x7e). SS3: one byte.
        if (next === '[') while (j < chars.length && chars[j]! >= ' ' && chars[j]! <= '?') j++;
        i = Math.min(j, chars.length - 1);
        keys.push({ kind: 'other' });
      } else keys.push({ kind: 'escape' });
      continue;
    }
    const code = c.codePointAt(0)!;
    if (c === '\r' || c === '\n') keys.push({ kind: 'enter' });
    else if (c === '\x7f' || c === '\b') keys.push({ kind: 'backspace' });
    else if (c === '\x03') keys.push({ kind: 'interrupt' });
    else if (c === '\x15') keys.push({ kind: 'kill-line' });
    else if (code < 0x20 || (code >= 0x7f && code <= 0x9f)) keys.push({ kind: 'other' });
    else keys.push({ kind: 'char', char: c });
  }
  return keys;
}

export interface UiState {
  sort: SortKey;
  /** The filter in force (a comm substring); '' for none. */
  filter: string;
  /** The filter being typed after `/`, applied as it is typed; null when not typing. */
  editing: string | null;
}

/** The key that selects each sort, shown in the key bar in this order. */
export const sortKeyOf: Readonly<Record<SortKey, string>> = { syscalls: 's', errors: 'e', opens: 'o', faults: 'f', switches: 'c', bio: 'b' };
const sortByKey = new Map(Object.entries(sortKeyOf).map(([sort, key]) => [key, sort as SortKey]));

/** Longer than any comm (15 bytes); the rest of a paste is dropped. */
export const maxFilterLength = 32;

/** The filter the view applies: the one being typed, else the one in force. */
export const activeFilter = (s: UiState): string => s.editing ?? s.filter;

/** What a key does: a new state, and whether to quit. */
export function press(s: UiState, key: Key): { state: UiState; quit: boolean } {
  const same = { state: s, quit: false };
  if (key.kind === 'interrupt') return { state: s, quit: true };
  if (s.editing !== null) {
    switch (key.kind) {
      case 'enter':
        return { state: { ...s, filter: s.editing, editing: null }, quit: false };
      case 'escape':
        return { state: { ...s, filter: '', editing: null }, quit: false };
      case 'backspace':
        return { state: { ...s, editing: [...s.editing].slice(0, -1).join('') }, quit: false };
      case 'kill-line':
        return { state: { ...s, editing: '' }, quit: false };
      case 'char':
        return [...s.editing].length < maxFilterLength ? { state: { ...s, editing: s.editing + key.char }, quit: false } : same;
      default:
        return same;
    }
  }
  if (key.kind === 'escape') return { state: { ...s, filter: '' }, quit: false };
  if (key.kind !== 'char') return same;
  if (key.char === 'q' || key.char === 'Q') return { state: s, quit: true };
  if (key.char === '/') return { state: { ...s, editing: s.filter }, quit: false };
  const sort = sortByKey.get(key.char.toLowerCase());
  return sort ? { state: { ...s, sort }, quit: false } : same;
}
