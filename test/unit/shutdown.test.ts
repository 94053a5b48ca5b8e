import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runSteps } from '../../src/daemon/shutdown.js';
import { silentLogger } from '../../src/log.js';

test('shutdown steps: every step runs although earlier ones fail; the first failure is thrown', async () => {
  const ran: string[] = [];
  await assert.rejects(
    runSteps(silentLogger(), [
      ['restore', () => void ran.push('restore')],
      ['session', () => Promise.reject(new Error('bpftrace would not stop'))],
      ['sync throw', () => {
        throw new Error('second');
      }],
      ['exporter', async () => void ran.push('exporter')],
    ]),
    /bpftrace would not stop/,
  );
  assert.deepEqual(ran, ['restore', 'exporter']);
  await runSteps(silentLogger(), [['nothing', () => undefined]]);
});
