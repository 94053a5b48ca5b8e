// Key presses of `ebpfmon top`: raw terminal input decoded into keys, and what each key does to the view's state.
// Pure: bytes in, keys out; state and key in, state out.
import { sortKeys, type SortKey } from './model.js';

/** Keys that move through the list. */
export type Nav = 'up' | 'down' | 'pgup' | 'pgdn' | 'home' | 'end';

export type Key =
  | { kind: 'char'; char: string }
  | { kind: 'enter' }
  | { kind: 'escape' }
  | { kind: 'backspace' }
  | { kind: 'interrupt' }
  /** Ctrl-U: erase the text being typed. */
  | { kind: 'kill-line' }
  | { kind: 'nav'; nav: Nav }
  /** F1 to F12. */
  | { kind: 'fn'; n: number }
  /** Anything else (other sequences, other controls): ignored. */
  | { kind: 'other' };

/** CSI sequences by their parameters and final byte (xterm, VT220, rxvt, the Linux console). */
const csiKeys: Readonly<Record<string, Key>> = {
  A: { kind: 'nav', nav: 'up' },
  B: { kind: 'nav', nav: 'down' },
  H: { kind: 'nav', nav: 'home' },
  F: { kind: 'nav', nav: 'end' },
  '1~': { kind: 'nav', nav: 'home' },
  '7~': { kind: 'nav', nav: 'home' },
  '4~': { kind: 'nav', nav: 'end' },
  '8~': { kind: 'nav', nav: 'end' },
  '5~': { kind: 'nav', nav: 'pgup' },
  '6~': { kind: 'nav', nav: 'pgdn' },
  '11~': { kind: 'fn', n: 1 },
  '[A': { kind: 'fn', n: 1 },
  '17~': { kind: 'fn', n: 6 },
  '[F': { kind: 'fn', n: 6 },
};
/** SS3 sequences (ESC O x): application cursor keys and F1-F4. */
const ss3Keys: Readonly<Record<string, Key>> = {
  A: { kind: 'nav', nav: 'up' },
  B: { kind: 'nav', nav: 'down' },
  H: { kind: 'nav', nav: 'home' },
  F: { kind: 'nav', nav: 'end' },
  P: { kind: 'fn', n: 1 },
};

/** Keys decoded from raw input, and its tail that may be the start of an escape sequence still being read. */
export interface Decoded {
  keys: Key[];
  /** ESC, ESC [ or ESC O and what followed, with no final byte yet: decode it again with the next read. */
  pending: string;
}

/**
 * Decodes input read from a terminal in raw mode (after what was pending from the read before). ESC followed by
 * `[` or `O` starts a sequence read to its final byte: arrows, PgUp/PgDn, Home/End, F1 and F6 are keys, the rest is
 * ignored, so a sequence never acts as Escape followed by letters. A sequence cut by the end of a read is left
 * pending: the next read completes it, or `pendingKeys` after a short wait (htop's ESCDELAY).
 */
export function decodeKeys(input: string): Decoded {
  const keys: Key[] = [];
  const chars = [...input];
  for (let i = 0; i < chars.length; i++) {
    const c = chars[i]!;
    if (c === '\x1b') {
      const next = chars[i + 1];
      if (next === undefined) return { keys, pending: c };
      if (next === '[' || next === 'O') {
        let j = i + 2;
        // CSI: parameter and intermediate bytes (0x20-0x3f), then one final byte (0x40-0x7e). SS3: one byte. The
        // Linux console's F1-F5 are ESC [ [ A-E.
        if (next === '[' && chars[j] === '[') j++;
        else if (next === '[') while (j < chars.length && chars[j]! >= ' ' && chars[j]! <= '?') j++;
        if (j >= chars.length) return { keys, pending: chars.slice(i).join('') };
        const body = chars.slice(i + 2, j + 1).join('');
        i = j;
        keys.push((next === '[' ? csiKeys[body] : ss3Keys[body]) ?? { kind: 'other' });
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
  return { keys, pending: '' };
}

/** No more input came after a pending tail: a lone ESC is the Escape key, a cut sequence is ignored. */
export const pendingKeys = (pending: string): Key[] => (pending === '' ? [] : pending === '\x1b' ? [{ kind: 'escape' }] : [{ kind: 'other' }]);

export interface UiState {
  sort: SortKey;
  /** Smallest first (htop's I). */
  reverse: boolean;
  /** The filter in force (a comm substring); '' for none. */
  filter: string;
  /** The filter being typed after `/`, applied as it is typed; null when not typing. */
  editing: string | null;
  /** Index of the selected row in the shown list, and of the first row on screen. */
  selected: number;
  first: number;
  /** The help overlay is shown. */
  help: boolean;
  /** Seconds between redraws (and samples of CPU and memory). */
  delay: number;
}

export const initialUi = (over: Partial<UiState> = {}): UiState => ({
  sort: 'syscalls',
  reverse: false,
  filter: '',
  editing: null,
  selected: 0,
  first: 0,
  help: false,
  delay: 2,
  ...over,
});

/** The key that selects each sort (any case), shown in the key bar and the help in this order. */
export const sortKeyOf: Readonly<Record<SortKey, string>> = { cpu: 'P', mem: 'M', time: 'T', syscalls: 's', errors: 'e', opens: 'o', faults: 'f', switches: 'c', bio: 'b' };
const sortByKey = new Map(Object.entries(sortKeyOf).map(([sort, key]) => [key.toLowerCase(), sort as SortKey]));

/** The delays `+` and `-` step through, in seconds. */
export const delaySteps = [0.5, 1, 2, 3, 5, 10] as const;

/** Longer than any comm (15 bytes); the rest of a paste is dropped. */
export const maxFilterLength = 32;

/** The filter the view applies: the one being typed, else the one in force. */
export const activeFilter = (s: UiState): string => s.editing ?? s.filter;

/** What the list looks like as a key is pressed: rows that fit on screen, and rows shown (after the filter). */
export interface ListView {
  page: number;
  count: number;
}

/** The selection kept inside the list, and the first row moved just enough for it to be on screen. */
export function clampScroll(s: UiState, v: ListView): UiState {
  const page = Math.max(1, v.page);
  const selected = Math.max(0, Math.min(s.selected, v.count - 1));
  let first = Math.max(0, Math.min(s.first, v.count - page));
  if (selected < first) first = selected;
  if (selected >= first + page) first = selected - page + 1;
  return selected === s.selected && first === s.first ? s : { ...s, selected, first };
}

function move(s: UiState, nav: Nav, v: ListView): UiState {
  const page = Math.max(1, v.page);
  const last = Math.max(0, v.count - 1);
  switch (nav) {
    case 'up':
      return clampScroll({ ...s, selected: s.selected - 1 }, v);
    case 'down':
      return clampScroll({ ...s, selected: s.selected + 1 }, v);
    case 'pgup':
      return clampScroll({ ...s, selected: s.selected - page, first: s.first - page }, v);
    case 'pgdn':
      return clampScroll({ ...s, selected: s.selected + page, first: s.first + page }, v);
    case 'home':
      return clampScroll({ ...s, selected: 0, first: 0 }, v);
    case 'end':
      return clampScroll({ ...s, selected: last, first: last }, v);
  }
}

const nextDelay = (d: number, dir: 1 | -1): number => {
  if (dir > 0) return delaySteps.find((x) => x > d) ?? delaySteps[delaySteps.length - 1]!;
  return [...delaySteps].reverse().find((x) => x < d) ?? delaySteps[0];
};

/** What a key does: a new state, and whether to quit. `view` bounds the selection (rows on screen, rows shown). */
export function press(s: UiState, key: Key, view: ListView = { page: 1, count: 0 }): { state: UiState; quit: boolean } {
  const same = { state: s, quit: false };
  const to = (state: UiState) => ({ state, quit: false });
  if (key.kind === 'interrupt') return { state: s, quit: true };
  // Any key closes the help, and does only that.
  if (s.help) return to({ ...s, help: false });
  if (s.editing !== null) {
    switch (key.kind) {
      case 'enter':
        return to({ ...s, filter: s.editing, editing: null });
      case 'escape':
        return to({ ...s, filter: '', editing: null });
      case 'backspace':
        return to({ ...s, editing: [...s.editing].slice(0, -1).join('') });
      case 'kill-line':
        return to({ ...s, editing: '' });
      case 'char':
        return [...s.editing].length < maxFilterLength ? to({ ...s, editing: s.editing + key.char, selected: 0, first: 0 }) : same;
      case 'nav':
        return to(move(s, key.nav, view));
      default:
        return same;
    }
  }
  if (key.kind === 'escape') return to({ ...s, filter: '' });
  if (key.kind === 'nav') return to(move(s, key.nav, view));
  if (key.kind === 'fn') {
    if (key.n === 1) return to({ ...s, help: true });
    // F6: htop's sort menu; here the next column, as `>`.
    if (key.n === 6) return to({ ...s, sort: sortKeys[(sortKeys.indexOf(s.sort) + 1) % sortKeys.length]! });
    return same;
  }
  if (key.kind !== 'char') return same;
  switch (key.char) {
    case 'q':
    case 'Q':
      return { state: s, quit: true };
    case '?':
    case 'h':
    case 'H':
      return to({ ...s, help: true });
    case '/':
      return to({ ...s, editing: s.filter });
    case 'I':
    case 'i':
      return to({ ...s, reverse: !s.reverse });
    case '>':
    case '.':
      return to({ ...s, sort: sortKeys[(sortKeys.indexOf(s.sort) + 1) % sortKeys.length]! });
    case '<':
    case ',':
      return to({ ...s, sort: sortKeys[(sortKeys.indexOf(s.sort) + sortKeys.length - 1) % sortKeys.length]! });
    case '+':
    case '=':
      return to({ ...s, delay: nextDelay(s.delay, 1) });
    case '-':
      return to({ ...s, delay: nextDelay(s.delay, -1) });
    default: {
      const sort = sortByKey.get(key.char.toLowerCase());
      return sort ? to({ ...s, sort }) : same;
    }
  }
}
