import { test } from 'node:test';
import assert from 'node:assert/strict';
import { backoffDelay } from '../../src/process/backoff.js';

test('restart delays double from the base up to the cap', () => {
  const p = { baseMs: 1000, maxMs: 8000 };
  assert.deepEqual([1, 2, 3, 4, 5, 6].map((n) => backoffDelay(n, p)), [1000, 2000, 4000, 8000, 8000, 8000]);
  assert.equal(backoffDelay(0, p), 0);
  assert.equal(backoffDelay(1000, p), 8000);
});
