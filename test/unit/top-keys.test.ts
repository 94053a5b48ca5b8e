// Key presses of `ebpfmon top`: raw input decoding, and what each key does to the view's state.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { activeFilter, clampScroll, decodeKeys, initialUi, maxFilterLength, pendingKeys, press, type Key, type Nav, type UiState } from '../../src/top/keys.js';

const kindsOf = (keys: readonly Key[]): string[] => keys.map((k) => (k.kind === 'char' ? k.char : k.kind));
/** One read, then nothing more: what was pending is decoded after the ESC delay. */
const kinds = (s: string): string[] => {
  const d = decodeKeys(s);
  return kindsOf([...d.keys, ...pendingKeys(d.pending)]);
};

test('top keys: raw input decodes to keys; escape sequences are one ignored key, a lone ESC is Escape', () => {
  const cases: [string, string[]][] = [
    ['q', ['q']],
    ['\x03', ['interrupt']],
    ['\x1b', ['escape']],
    ['\x1b[A', ['nav']],
    ['\x1b[1;5C', ['other']],
    ['\x1bOP', ['fn']],
    ['\x1b[15~', ['other']],
    ['ab\x1b[Bc', ['a', 'b', 'nav', 'c']],
    ['\r', ['enter']],
    ['\n', ['enter']],
    ['\x7f', ['backspace']],
    ['\b', ['backspace']],
    ['\x15', ['kill-line']],
    ['\x01\x9b', ['other', 'other']],
    ['é/', ['é', '/']],
    ['\x1bx', ['escape', 'x']],
    ['\x1b[', ['other']],
  ];
  for (const [input, want] of cases) assert.deepEqual(kinds(input), want, JSON.stringify(input));
});

test('top keys: a sequence cut between two reads is one key, not Escape and letters; a read ending in ESC waits', () => {
  // Each case: the reads, the keys after each read, and what stays pending at the end.
  const cases: [string[], string[][], string][] = [
    [['\x1b', '[A'], [[], ['nav']], ''],
    [['\x1b[', 'B'], [[], ['nav']], ''],
    [['x\x1b[1', '~q'], [['x'], ['nav', 'q']], ''],
    [['\x1b[[', 'A'], [[], ['fn']], ''],
    [['\x1bO', 'P'], [[], ['fn']], ''],
    [['a\x1b'], [['a']], '\x1b'],
    [['\x1b[1;5'], [[]], '\x1b[1;5'],
    [['\x1b', 'x'], [[], ['escape', 'x']], ''],
  ];
  for (const [reads, want, rest] of cases) {
    let pending = '';
    const got = reads.map((r) => {
      const d = decodeKeys(pending + r);
      pending = d.pending;
      return kindsOf(d.keys);
    });
    assert.deepEqual(got, want, JSON.stringify(reads));
    assert.equal(pending, rest, JSON.stringify(reads));
  }
  assert.deepEqual(kindsOf(pendingKeys('\x1b')), ['escape']);
  assert.deepEqual(kindsOf(pendingKeys('\x1b[1;5')), ['other']);
  assert.deepEqual(pendingKeys(''), []);
});

const start: UiState = initialUi();
const char = (c: string): Key => ({ kind: 'char', char: c });
function typed(keys: readonly Key[], from: UiState = start): { state: UiState; quit: boolean } {
  let r = { state: from, quit: false };
  for (const k of keys) {
    r = press(r.state, k);
    if (r.quit) return r;
  }
  return r;
}

test('top keys: s e o f c b select the sort; other letters do nothing; q, Q and Ctrl-C quit', () => {
  const want = { s: 'syscalls', e: 'errors', o: 'opens', f: 'faults', c: 'switches', b: 'bio', F: 'faults' } as const;
  for (const [k, sort] of Object.entries(want)) assert.equal(typed([char(k)], { ...start, sort: 'opens' }).state.sort, k === 'o' ? 'opens' : sort);
  assert.deepEqual(typed([char('x'), { kind: 'enter' }, { kind: 'other' }]), { state: start, quit: false });
  for (const k of [char('q'), char('Q'), { kind: 'interrupt' } as Key]) assert.equal(typed([k]).quit, true);
});

test('top keys: / then text filters as it is typed; Enter keeps it; Esc clears it', () => {
  const r = typed([char('/'), char('n'), char('g'), char('x'), { kind: 'backspace' }]);
  assert.deepEqual(r.state, { ...start, sort: 'syscalls', filter: '', editing: 'ng' });
  assert.equal(activeFilter(r.state), 'ng');
  const kept = typed([{ kind: 'enter' }], r.state).state;
  assert.deepEqual(kept, { ...start, sort: 'syscalls', filter: 'ng', editing: null });
  assert.equal(activeFilter(kept), 'ng');
  // While typing, letters are text: q does not quit, s does not sort.
  assert.deepEqual(typed([char('/'), char('q'), char('s')], kept), { state: { ...start, sort: 'syscalls', filter: 'ng', editing: 'ngqs' }, quit: false });
  assert.deepEqual(typed([char('/'), char('z'), { kind: 'escape' }], kept).state, { ...start, sort: 'syscalls', filter: '', editing: null });
  assert.deepEqual(typed([{ kind: 'escape' }], kept).state, { ...start, sort: 'syscalls', filter: '', editing: null });
  assert.deepEqual(typed([char('/'), { kind: 'kill-line' }], kept).state.editing, '');
  assert.equal(typed([char('/'), char('a'), { kind: 'interrupt' }]).quit, true);
});

test('top keys: the filter text stops at its maximum length', () => {
  const r = typed([char('/'), ...Array.from({ length: maxFilterLength + 10 }, () => char('a'))]);
  assert.equal(r.state.editing, 'a'.repeat(maxFilterLength));
});

test('top keys: arrows, PgUp/PgDn, Home/End and F1/F6 decode in the usual terminals', () => {
  const cases: [string, Key][] = [
    ['\x1b[B', { kind: 'nav', nav: 'down' }],
    ['\x1bOA', { kind: 'nav', nav: 'up' }],
    ['\x1b[5~', { kind: 'nav', nav: 'pgup' }],
    ['\x1b[6~', { kind: 'nav', nav: 'pgdn' }],
    ['\x1b[H', { kind: 'nav', nav: 'home' }],
    ['\x1b[1~', { kind: 'nav', nav: 'home' }],
    ['\x1b[F', { kind: 'nav', nav: 'end' }],
    ['\x1b[4~', { kind: 'nav', nav: 'end' }],
    ['\x1bOP', { kind: 'fn', n: 1 }],
    ['\x1b[11~', { kind: 'fn', n: 1 }],
    ['\x1b[[A', { kind: 'fn', n: 1 }],
    ['\x1b[17~', { kind: 'fn', n: 6 }],
  ];
  for (const [input, want] of cases) assert.deepEqual(decodeKeys(input), { keys: [want], pending: '' }, JSON.stringify(input));
});

test('top keys: the selection moves through 54 rows, 20 on screen, and the first row follows it', () => {
  const view = { page: 20, count: 54 };
  const nav = (n: Nav): Key => ({ kind: 'nav', nav: n });
  const at = (keys: Key[], from = start): [number, number] => {
    let s = from;
    for (const k of keys) s = press(s, k, view).state;
    return [s.selected, s.first];
  };
  const cases: [Key[], [number, number]][] = [
    [[nav('down')], [1, 0]],
    [[nav('up')], [0, 0]],
    [Array.from({ length: 25 }, () => nav('down')), [25, 6]],
    [[nav('pgdn')], [20, 20]],
    [[nav('pgdn'), nav('pgdn')], [40, 34]],
    [[nav('pgdn'), nav('pgdn'), nav('pgdn')], [53, 34]],
    [[nav('end')], [53, 34]],
    [[nav('end'), nav('pgup')], [33, 14]],
    [[nav('end'), nav('home')], [0, 0]],
  ];
  for (const [keys, want] of cases) assert.deepEqual(at(keys), want, keys.map((k) => (k.kind === 'nav' ? k.nav : k.kind)).join(' '));
  // Fewer rows than a page: nothing scrolls.
  assert.deepEqual(clampScroll({ ...start, selected: 9, first: 5 }, { page: 20, count: 4 }), { ...start, selected: 3, first: 0 });
});

test('top keys: help on ? h F1, closed by any key; I inverts; < > F6 and P M T choose the sort; + - the delay', () => {
  for (const k of [char('?'), char('h'), { kind: 'fn', n: 1 } as Key]) assert.equal(typed([k]).state.help, true);
  const help = typed([char('?')]).state;
  assert.deepEqual(typed([char('q')], help), { state: start, quit: false }, 'q closes the help, does not quit');
  assert.deepEqual(typed([{ kind: 'nav', nav: 'down' }], help).state, start);
  assert.equal(typed([{ kind: 'interrupt' }], help).quit, true);
  assert.equal(typed([char('I')]).state.reverse, true);
  assert.equal(typed([char('I'), char('I')]).state.reverse, false);
  const sorts: [Key[], string][] = [
    [[char('P')], 'cpu'],
    [[char('M')], 'mem'],
    [[char('T')], 'time'],
    [[char('>')], 'errors'],
    [[{ kind: 'fn', n: 6 }], 'errors'],
    [[char('<')], 'time'],
    [[char('<'), char('<'), char('<'), char('<')], 'bio'],
    [[char('b'), char('>')], 'cpu'],
  ];
  for (const [keys, want] of sorts) assert.equal(typed(keys).state.sort, want, JSON.stringify(keys));
  const delays: [Key[], number][] = [
    [[char('+')], 3],
    [[char('-')], 1],
    [[char('-'), char('-'), char('-')], 0.5],
    [Array.from({ length: 9 }, () => char('+')), 10],
  ];
  for (const [keys, want] of delays) assert.equal(typed(keys).state.delay, want, JSON.stringify(keys));
});
