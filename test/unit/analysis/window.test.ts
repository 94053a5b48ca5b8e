// --date, --since and --until: accepted forms, UTC by default, and one-line usage errors for the rest.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseWindow } from '../../../analysis/index.js';
import { UsageError } from '../../../src/errors.js';

test('--date is that UTC day, until exclusive', () => {
  assert.deepEqual(parseWindow({ date: '2026-11-25' }), { since: '2026-11-25T00:00:00.000Z', until: '2026-11-26T00:00:00.000Z' });
  assert.deepEqual(parseWindow({ date: '2024-02-29' }).until, '2024-03-01T00:00:00.000Z');
});

test('--since/--until: a day, a time without zone (UTC), or with a zone', () => {
  assert.deepEqual(parseWindow({}), { since: null, until: null });
  assert.deepEqual(parseWindow({ since: '2026-11-25' }), { since: '2026-11-25T00:00:00.000Z', until: null });
  assert.deepEqual(parseWindow({ since: '2026-11-25T08:00', until: '2026-11-25 09:30:15.5' }), {
    since: '2026-11-25T08:00:00.000Z',
    until: '2026-11-25T09:30:15.500Z',
  });
  assert.equal(parseWindow({ until: '2026-11-25T08:00:00+02:00' }).until, '2026-11-25T06:00:00.000Z');
});

test('bad input is a UsageError with the flag and the value', () => {
  for (const [o, msg] of [
    [{ date: '2026-13-01' }, /--date: expected a date YYYY-MM-DD, got "2026-13-01"/],
    [{ date: '2026-02-30' }, /--date/],
    [{ date: 'yesterday' }, /--date/],
    [{ since: '25/11/2026' }, /--since/],
    [{ since: '2026-11-25T10:00', until: '2026-11-25T09:00' }, /must be before/],
    [{ date: '2026-11-25', since: '2026-11-25' }, /cannot be combined/],
  ] as const) {
    assert.throws(() => parseWindow(o), (e: unknown) => e instanceof UsageError && msg.test(e.message) && !e.message.includes('\n'));
  }
});
