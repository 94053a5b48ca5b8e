// The console view never passes control characters or bidi overrides from process and file names to the terminal.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { createConsoleSink, terminalSafe } from '../../src/sinks/console.js';
import { findMonitor } from '../../src/monitors/registry.js';
import type { Row } from '../../src/monitors/types.js';

const hostile = ['\x1b]0;owned\x07', '\x1b[2J', '\nfake line', 'txt\u202Eexe.sh', 'tab\there', 'c1\x9b31m', 'del\x7f', 'iso\u2066x\u2069'];
// Anything a terminal would act on rather than print: C0 controls, DEL, C1 controls, bidi embeddings/overrides/isolates.
// Written as code points, apart from the implementation's pattern.
const unsafeAt = (line: string): number =>
  [...line].findIndex((ch) => {
    const c = ch.codePointAt(0)!;
    return c <= 0x1f || (c >= 0x7f && c <= 0x9f) || (c >= 0x202a && c <= 0x202e) || (c >= 0x2066 && c <= 0x2069);
  });

function capture(): { out: Writable; text: () => string } {
  let text = '';
  const out = new Writable({
    write(chunk: Buffer, _enc, cb) {
      text += chunk.toString();
      cb();
    },
  });
  return { out, text: () => text };
}

test('console: hostile comm, filename and note reach the terminal as visible escapes, one line per row', () => {
  const exec = findMonitor('exec')!;
  const { out, text } = capture();
  const sink = createConsoleSink(new Map([['exec', (r: Row) => exec.consoleLine(r)]]), out);
  const rows: Row[] = hostile.map((name, i) => ({ timestamp: `2026-11-29T18:26:4${i}.000Z`, uid: 0, pid: 100 + i, ppid: 1, comm: name, filename: `/tmp/${name}`, cgroup: null }));
  sink.write('exec', rows);
  sink.write('exec', [{ timestamp: '2026-11-29T18:26:50.000Z', note: 'bpftrace restarted: \x1b[31mred\x1b[0m\r\nfake' }]);
  const lines = text().split('\n');
  assert.equal(lines.pop(), '', 'ends with a newline');
  assert.equal(lines.length, hostile.length + 1, 'no row adds a line of its own');
  for (const l of lines) assert.equal(unsafeAt(l), -1, JSON.stringify(l));
  assert.match(lines[0]!, /\\x1b\]0;owned\\x07/);
  assert.match(lines[1]!, /\\x1b\[2J/);
  assert.match(lines[2]!, /\\nfake line/);
  assert.match(lines[3]!, /txt\\u202eexe\.sh/);
  assert.equal(lines.at(-1), '2026-11-29T18:26:50.000Z  exec  ** bpftrace restarted: \\x1b[31mred\\x1b[0m\\r\\nfake');
});

test('terminalSafe: clean strings pass as they are (same string), every unsafe character gets a readable escape', () => {
  const clean = 'node /usr/bin/café 日本語 a,b "q" \\x1b';
  assert.equal(terminalSafe(clean), clean);
  assert.equal(terminalSafe('\x00\x07\x08\t\n\r\x1b\x7f\x80\x9f\u202a\u202e\u2066\u2069'), '\\x00\\x07\\x08\\t\\n\\r\\x1b\\x7f\\x80\\x9f\\u202a\\u202e\\u2066\\u2069');
  assert.equal(terminalSafe('\u00a0\u200f\u2028'), '\u00a0\u200f\u2028', 'outside the escaped set');
});
