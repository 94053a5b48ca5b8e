import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { errnoOf } from '../../src/errors.js';

test('errnoOf names the errno of a failed system call and nothing else', async () => {
  const failed = await readFile('/nonexistent/ebpfmon').catch((e: unknown) => e);
  assert.equal(errnoOf(failed), 'ENOENT');
  assert.equal(errnoOf(new Error('plain')), undefined);
  assert.equal(errnoOf({ code: 42 }), undefined);
  assert.equal(errnoOf(null), undefined);
  assert.equal(errnoOf('ENOENT'), undefined);
});
