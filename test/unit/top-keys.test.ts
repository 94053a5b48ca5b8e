// Key presses of `ebpfmon top`: raw input decoding, and what each key does to the view's state.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { activeFilter, decodeKeys, maxFilterLength, press, type Key, type UiState } from '../../src/top/keys.js';

const kinds = (s: string): string[] => decodeKeys(s).map((k) => (k.kind === 'char' ? k.char : k.kind));

test('top keys: raw input decodes to keys; escape sequences are one ignored key, a lone ESC is Escape', () => {
  const cases: [string, string[]][] = [
    ['q', ['q']],
    ['\x03', ['interrupt']],
    ['\x1b', ['escape']],
    ['\x1b[A', ['other']],
    ['\x1b[1;5C', ['other']],
    ['\x1bOP', ['other']],
    ['\x1b[15~', ['other']],
    ['ab\x1b[Bc', ['a', 'b', 'other', 'c']],
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

const start: UiState = { sort: 'syscalls', filter: '', editing: null };
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
  assert.deepEqual(r.state, { sort: 'syscalls', filter: '', editing: 'ng' });
  assert.equal(activeFilter(r.state), 'ng');
  const kept = typed([{ kind: 'enter' }], r.state).state;
  assert.deepEqual(kept, { sort: 'syscalls', filter: 'ng', editing: null });
  assert.equal(activeFilter(kept), 'ng');
  // While typing, letters are text: q does not quit, s does not sort.
  assert.deepEqual(typed([char('/'), char('q'), char('s')], kept), { state: { sort: 'syscalls', filter: 'ng', editing: 'ngqs' }, quit: false });
  assert.deepEqual(typed([char('/'), char('z'), { kind: 'escape' }], kept).state, { sort: 'syscalls', filter: '', editing: null });
  assert.deepEqual(typed([{ kind: 'escape' }], kept).state, { sort: 'syscalls', filter: '', editing: null });
  assert.deepEqual(typed([char('/'), { kind: 'kill-line' }], kept).state.editing, '');
  assert.equal(typed([char('/'), char('a'), { kind: 'interrupt' }]).quit, true);
});

test('top keys: the filter text stops at its maximum length', () => {
  const r = typed([char('/'), ...Array.from({ length: maxFilterLength + 10 }, () => char('a'))]);
  assert.equal(r.state.editing, 'a'.repeat(maxFilterLength));
});
