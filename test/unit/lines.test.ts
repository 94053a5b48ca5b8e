// forEachLine: lines cut from chunks exactly as they were written, whatever the chunk boundaries.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { forEachLine } from '../../src/process/lines.js';

async function linesOf(chunks: readonly Buffer[]): Promise<string[]> {
  const stream = new PassThrough();
  const out: string[] = [];
  const done = forEachLine(stream, (l) => out.push(l));
  for (const c of chunks) stream.write(c);
  stream.end();
  await done;
  return out;
}

test('lines split across chunks, empty lines, CRLF and a last line without a newline', async () => {
  const text = '{"type": "printf"}\n\nsecond line\r\nthird\tx, y\nlast without newline';
  const want = ['{"type": "printf"}', '', 'second line', 'third\tx, y', 'last without newline'];
  const bytes = Buffer.from(text);
  for (let size = 1; size <= bytes.length; size++) {
    const chunks: Buffer[] = [];
    for (let i = 0; i < bytes.length; i += size) chunks.push(bytes.subarray(i, i + size));
    assert.deepEqual(await linesOf(chunks), want, `chunks of ${size} bytes`);
  }
});

test('a UTF-8 character split between chunks arrives whole', async () => {
  const bytes = Buffer.from('/tmp/é€😀\n');
  for (let at = 1; at < bytes.length; at++) {
    assert.deepEqual(await linesOf([bytes.subarray(0, at), bytes.subarray(at)]), ['/tmp/é€😀'], `split at byte ${at}`);
  }
});

test('a stream ending right after a newline gives no extra empty line', async () => {
  assert.deepEqual(await linesOf([Buffer.from('a\nb\n')]), ['a', 'b']);
  assert.deepEqual(await linesOf([]), []);
});

test('a throttle promise pauses the stream until it resolves; the chunk already read still arrives', async () => {
  const stream = new PassThrough();
  const out: string[] = [];
  let release: () => void = () => undefined;
  let calls = 0;
  const done = forEachLine(
    stream,
    (l) => out.push(l),
    () => (++calls === 1 ? new Promise<void>((r) => (release = r)) : null),
  );
  stream.write('a\nb\n');
  await new Promise((r) => setImmediate(r));
  assert.deepEqual(out, ['a', 'b']);
  assert.equal(stream.isPaused(), true, 'paused after the first line asked for it');
  assert.equal(calls, 1, 'not asked again while paused');
  stream.write('c\n');
  await new Promise((r) => setImmediate(r));
  assert.deepEqual(out, ['a', 'b'], 'nothing read while paused');
  release();
  stream.end();
  await done;
  assert.deepEqual(out, ['a', 'b', 'c']);
  assert.equal(calls, 2);
});
