// The args encoding (src/bt/args.ts): each decision, and that decoding gives back the bytes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { bytesOfHex, encodeArg, encodeArgs, splitArgs } from '../../src/bt/args.js';
import { decodeArgs } from '../helpers/args.js';

const b = (s: string): number[] => [...Buffer.from(s, 'latin1')];
const area = (...args: string[]): number[] => args.flatMap((a) => [...b(a), 0]);

test('encodeArg: escapes backslash, space, quote, controls and invalid UTF-8; keeps valid UTF-8', () => {
  assert.equal(encodeArg(b('plain-arg,x=1')), 'plain-arg,x=1');
  assert.equal(encodeArg(b('a b')), 'a\\ b');
  assert.equal(encodeArg(b('q"x\'')), 'q\\"x\'');
  assert.equal(encodeArg(b('b\\x41')), 'b\\\\x41');
  assert.equal(encodeArg(b('l1\nl2\t\x7f')), 'l1\\x0al2\\x09\\x7f');
  assert.equal(encodeArg([0xff, 0xfe, 0xc3]), '\\xff\\xfe\\xc3');
  assert.equal(encodeArg([...Buffer.from('é€', 'utf8')]), 'é€');
  assert.equal(encodeArg([...Buffer.from('\u202e\u0085', 'utf8')]), '\\xe2\\x80\\xae\\xc2\\x85');
  assert.equal(encodeArg([]), '""');
  assert.equal(encodeArg(b('""')), '\\"\\"');
});

test('splitArgs: NUL-separated area, count bound, byte bound inside or between arguments', () => {
  assert.deepEqual(splitArgs(area('echo', 'hi'), 8, 16), { args: [b('echo'), b('hi')], lastCut: false, more: false });
  assert.deepEqual(splitArgs(area('a', 'b', 'c'), 6, 2), { args: [b('a'), b('b')], lastCut: false, more: true });
  assert.deepEqual(splitArgs(area('a', 'b'), 4, 2), { args: [b('a'), b('b')], lastCut: false, more: false });
  // 5 of 9 bytes read: "a\0bcd" -> bcd was cut.
  assert.deepEqual(splitArgs(area('a', 'bcdefg').slice(0, 5), 9, 16), { args: [b('a'), b('bcd')], lastCut: true, more: false });
  // The bound fell right after a NUL: the list is cut, not the argument.
  assert.deepEqual(splitArgs(area('a', 'b').slice(0, 2), 4, 16), { args: [b('a')], lastCut: false, more: true });
  assert.deepEqual(splitArgs(area('', 'x'), 3, 16), { args: [[], b('x')], lastCut: false, more: false });
  assert.deepEqual(splitArgs([], 0, 16), { args: [], lastCut: false, more: false });
});

test('encodeArgs: joined by spaces, a cut argument ends with \\…, a cut list ends with the token \\…', () => {
  assert.equal(encodeArgs({ args: [b('/bin/echo'), b('hello'), b('world'), b('--flag')], lastCut: false, more: false }), '/bin/echo hello world --flag');
  assert.equal(encodeArgs({ args: [b('a'), b('bcd')], lastCut: true, more: false }), 'a bcd\\…');
  assert.equal(encodeArgs({ args: [b('a')], lastCut: false, more: true }), 'a \\…');
  assert.equal(encodeArgs({ args: [b('a\\'), [...Buffer.from('…', 'utf8')]], lastCut: false, more: false }), 'a\\\\ …');
});

test('decodeArgs gives back the bytes of hostile arguments, cut marks apart; refuses what encodeArgs never writes', () => {
  const hostile = [b('a b'), b('x,y'), b('q"u\'o'), b('l1\nl2'), b('b\\s\\x41'), [], [0xff, 0xfe], [...Buffer.from('é', 'utf8')], b('\\'), b('\\ '), [...Buffer.from('…', 'utf8')]];
  for (const [lastCut, more] of [[false, false], [true, false], [false, true]] as const) {
    const d = decodeArgs(encodeArgs({ args: hostile, lastCut, more }));
    assert.deepEqual(
      d?.args.map((x) => [...x]),
      hostile,
    );
    assert.equal(d?.lastCut, lastCut);
    assert.equal(d?.more, more);
  }
  assert.equal(decodeArgs('a "b'), null);
  assert.equal(decodeArgs('a\\q'), null);
  assert.equal(decodeArgs('a\\… b'), null);
  assert.deepEqual(decodeArgs(''), { args: [], lastCut: false, more: false });
});

test('bytesOfHex reads %rx output and stops at anything else', () => {
  assert.deepEqual(bytesOfHex('\\x61\\x00\\x5c\\xff'), [0x61, 0, 0x5c, 0xff]);
  assert.deepEqual(bytesOfHex('\\x61\\xzz\\x62'), [0x61]);
  assert.deepEqual(bytesOfHex(''), []);
});
