// What the supervisor does after a bpftrace exit, and the budget verdicts: pure decisions, table-driven.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { afterExit, attachOverdue, stopStep, type ExitFacts, type StopStep } from '../../src/process/after-exit.js';
import { budgetOf, budgetWindow, judgeBudget } from '../../src/session/budget.js';

const base: ExitFacts = {
  stopping: false,
  halted: false,
  attached: true,
  spawnFailed: false,
  ranMs: 5_000,
  attempts: 0,
  hasFallback: false,
  canIsolate: false,
  maxRestarts: 3,
  backoff: { baseMs: 1000, maxMs: 60_000 },
};

test('afterExit: stop, halt, fallback, isolation, restart with backoff, give up', () => {
  const table: [string, Partial<ExitFacts>, ReturnType<typeof afterExit>][] = [
    ['asked to stop', { stopping: true }, { action: 'stopped' }],
    ['over budget wins over stopping', { stopping: true, halted: true }, { action: 'halted' }],
    ['aotrt failed before attaching: bpftrace runs it', { attached: false, hasFallback: true, canIsolate: true }, { action: 'fallback' }],
    ['a shared process never attached: split it', { attached: false, canIsolate: true }, { action: 'isolate' }],
    ['a crash after attaching: restart 1 after 1 s', {}, { action: 'restart', attempts: 1, delayMs: 1000 }],
    ['third crash in a row: 4 s', { attempts: 2 }, { action: 'restart', attempts: 3, delayMs: 4000 }],
    ['too many: give up', { attempts: 3 }, { action: 'fail', attempts: 3 }],
    ['ran a minute: the streak starts over', { attempts: 3, ranMs: 60_000 }, { action: 'restart', attempts: 1, delayMs: 1000 }],
    ['never attached, alone, no fallback: counts as a restart', { attached: false, ranMs: 0 }, { action: 'restart', attempts: 1, delayMs: 1000 }],
    ['fallback only before attaching', { hasFallback: true }, { action: 'restart', attempts: 1, delayMs: 1000 }],
    ['no restarts allowed', { maxRestarts: 0 }, { action: 'fail', attempts: 0 }],
    ['could not spawn (EMFILE): retried as it is, not split', { attached: false, spawnFailed: true, hasFallback: true, canIsolate: true }, { action: 'restart', attempts: 1, delayMs: 1000 }],
  ];
  for (const [what, facts, expected] of table) assert.deepEqual(afterExit({ ...base, ...facts }), expected, what);
});

test('judgeBudget: within, over for a while, warn once, stop; nothing to judge without figures', () => {
  const s = { kernelPercent: 3, userPercent: 1, budget: 5, overFor: 0, intervals: 3, action: 'warn' as const };
  assert.deepEqual(judgeBudget(s), { verdict: 'within', overFor: 0 });
  assert.deepEqual(judgeBudget({ ...s, budget: undefined }), { verdict: 'none' });
  assert.deepEqual(judgeBudget({ ...s, kernelPercent: null }), { verdict: 'none' });
  assert.deepEqual(judgeBudget({ ...s, kernelPercent: 5 }), { verdict: 'over', overFor: 1, cost: 6 });
  assert.deepEqual(judgeBudget({ ...s, kernelPercent: 5, overFor: 2 }), { verdict: 'warn', overFor: 3, cost: 6 });
  assert.deepEqual(judgeBudget({ ...s, kernelPercent: 5, overFor: 3 }), { verdict: 'over', overFor: 4, cost: 6 }, 'warned once');
  assert.deepEqual(judgeBudget({ ...s, kernelPercent: 5, overFor: 2, action: 'stop' }), { verdict: 'stop', overFor: 3, cost: 6 });
  assert.equal(budgetOf([undefined, 4, 2.5]), 2.5);
  assert.equal(budgetOf([undefined]), undefined);
});

test('budgetWindow: CPU from a reading after attach, judged only over whole intervals', () => {
  // Attached at 10 s of the monotonic clock, after a second of start-up CPU: that second is in the base, never judged.
  const attached = { atMs: 10_000, userSeconds: 1.1, bpfNs: 0 };
  assert.equal(budgetWindow(attached, { atMs: 10_300, userSeconds: 1.2, bpfNs: 5e6 }, 1000), null, 'a sliver of an interval is not judged');
  assert.deepEqual(budgetWindow(attached, { atMs: 11_000, userSeconds: 1.15, bpfNs: 20e6 }, 1000), { kernelPercent: 2, userPercent: 5 });
  assert.deepEqual(budgetWindow(attached, { atMs: 10_950, userSeconds: 1.1, bpfNs: 0 }, 1000), { kernelPercent: 0, userPercent: 0 }, 'timer jitter: 95 % of an interval is one');
  assert.deepEqual(budgetWindow(attached, { atMs: 12_000, userSeconds: 1.3, bpfNs: 0 }, 1000), { kernelPercent: 0, userPercent: 10 }, 'a late tick: the share over the span');
});

test('attachOverdue: only a run neither attached nor being stopped failed to start', () => {
  const cases: [string, { attached: boolean; stopping: boolean }, { reason: string } | null][] = [
    ['not attached: stopped, and why', { attached: false, stopping: false }, { reason: 'bpftrace did not attach its probes within 1.5 s' }],
    ['attached in time', { attached: true, stopping: false }, null],
    ['being stopped before it attached: the stop ends it', { attached: false, stopping: true }, null],
    ['attached, being stopped', { attached: true, stopping: true }, null],
  ];
  for (const [name, s, want] of cases) assert.deepEqual(attachOverdue({ ...s, timeoutMs: 1500 }), want, name);
});

test('stopStep: its own stop once attached, asked once; SIGTERM before attaching or without one', () => {
  const cases: [string, Parameters<typeof stopStep>[0], StopStep][] = [
    ['attached, own stop, not asked yet: ask', { attached: true, ownStop: true, hasPid: true, asked: false }, 'ask'],
    ['asked already: let it finish (SIGTERM follows on its timer)', { attached: true, ownStop: true, hasPid: true, asked: true }, 'wait'],
    ['not attached: nothing to lose', { attached: false, ownStop: true, hasPid: true, asked: false }, 'terminate'],
    ['no stop of its own (bpftrace handles SIGTERM)', { attached: true, ownStop: false, hasPid: true, asked: false }, 'terminate'],
    ['no pid (it never started)', { attached: true, ownStop: true, hasPid: false, asked: false }, 'terminate'],
  ];
  for (const [name, s, want] of cases) assert.equal(stopStep(s), want, name);
});
