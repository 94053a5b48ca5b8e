// Text from bpftrace: bytes >= 0x80 recovered from bpftrace 0.17's \uffffffXX escape, UTF-8 out, invalid bytes and
// backslashes escaped losslessly; %r bytes decoded the same way.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cutMarker, decodeHexBytes, decodeText, textOfBytes } from '../../src/bt/text.js';
import { parseLine } from '../../src/records/json-line.js';

/** What bpftrace 0.17 prints for these bytes inside a JSON string (a signed char per byte >= 0x80). */
const bpftraceJson = (bytes: Buffer): string => [...bytes].map((b) => (b >= 0x80 ? `\\uffffff${b.toString(16)}` : b === 0x5c ? '\\\\' : String.fromCharCode(b))).join('');

/** The inverse of the escape, as docs/monitors.md ("Names and text") documents it. */
function unescape(s: string): Buffer {
  const out: Buffer[] = [];
  for (const m of s.matchAll(/\\\\|\\x([0-9a-f]{2})|[^\\]+|\\/g)) {
    if (m[0] === '\\\\') out.push(Buffer.from([0x5c]));
    else if (m[1] !== undefined) out.push(Buffer.from([parseInt(m[1], 16)]));
    else out.push(Buffer.from(m[0], 'utf8'));
  }
  return Buffer.concat(out);
}

test('a real 0.17 line: café and 日本 decode to themselves, through the printf fast path and the full parse', () => {
  const line = '{"type": "printf", "data": "/nonexistent/caf\\uffffffc3\\uffffffa9-\\uffffffe6\\uffffff97\\uffffffa5\\uffffffe6\\uffffff9c\\uffffffac\\n"}';
  const r = parseLine(line);
  assert.ok(r.ok && r.record.type === 'printf');
  assert.equal(decodeText(r.record.text).text, '/nonexistent/café-日本\n');
  const map = parseLine('{"type": "map", "data": {"@m": {"7,caf\\uffffffc3\\uffffffa9": 1}}}');
  assert.ok(map.ok && map.record.type === 'map' && typeof map.record.value === 'object');
  assert.equal(decodeText(map.record.value.keys[0]!).text, '7,café');
});

test('round trip: any bytes -> bpftrace JSON -> text -> the same bytes; valid UTF-8 stays as it is', () => {
  const cases = [
    Buffer.from('plain ascii, with a comma'),
    Buffer.from('Ωmega-日本語-é-🙂'),
    Buffer.from([0x62, 0x61, 0x64, 0xff, 0x62]),
    Buffer.from([0xc3]), // a cut sequence
    Buffer.from([0xed, 0xa0, 0x80]), // a surrogate, not valid UTF-8
    Buffer.from([0xc0, 0xaf]), // an overlong '/'
    Buffer.from('back\\slash and \\x41 literally'),
    Buffer.from([0xf4, 0x90, 0x80, 0x80]), // above U+10FFFF
  ];
  for (const b of cases) {
    const text = JSON.parse(`"${bpftraceJson(b)}"`) as string;
    const d = decodeText(text);
    assert.equal(d.bytes, b.length);
    assert.ok(Buffer.from(d.text, 'utf8').toString('utf8') === d.text, 'valid UTF-8 out');
    assert.deepEqual(unescape(d.text), b, JSON.stringify(d.text));
    assert.doesNotMatch(d.text, /\uffff/);
  }
  assert.equal(decodeText(JSON.parse(`"${bpftraceJson(Buffer.from('Ωmega'))}"`) as string).text, 'Ωmega');
  assert.equal(textOfBytes([0x61, 0xff]), 'a\\xff');
  assert.equal(textOfBytes([0x5c]), '\\\\');
});

test('%r bytes: printable ASCII as is, \\xNN for the rest, trailing NULs of a fixed array dropped', () => {
  assert.equal(decodeHexBytes('bash\\x00\\x00\\x00'), 'bash');
  assert.equal(decodeHexBytes('with\\x09tab, comma\\x00'), 'with\ttab, comma');
  assert.equal(decodeHexBytes('caf\\xc3\\xa9-\\xe6\\x97\\xa5\\x00'), 'café-日');
  assert.equal(decodeHexBytes('bad\\xffbyte\\x00'), 'bad\\xffbyte');
  assert.equal(decodeHexBytes('back\\slash\\x00'), 'back\\\\slash');
  assert.equal(decodeHexBytes('rrrrrrrrrrrrrrr\\x00'), 'rrrrrrrrrrrrrrr');
});

test('the cut marker cannot be mistaken for a name: a real backslash is always doubled', () => {
  assert.ok(cutMarker.startsWith('\\') && !cutMarker.startsWith('\\\\'));
  const real = decodeText('a\\…').text; // a name that really ends in backslash + "…"
  assert.equal(real, 'a\\\\…');
  assert.notEqual(real, `a${cutMarker}`);
});
