// The session's interval pieces: the stall verdict as a table, the watchdog's log lines, the health sampler over
// real processes (this one and a child), and the budget guard stopping a process over its budget.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { pino } from 'pino';
import type { Logger } from '../../src/log.js';
import { newStats } from '../../src/records/stats.js';
import type { RoutedMonitor } from '../../src/records/router.js';
import { syscall } from '../../src/monitors/syscall.js';
import { exec } from '../../src/monitors/exec.js';
import type { BaseOptions, Monitor, Row } from '../../src/monitors/types.js';
import { contractOf } from '../../src/script/compose.js';
import { stallVerdict, watchStalls } from '../../src/session/stall.js';
import { createHealthSampler, refreshSeconds, servingPids } from '../../src/session/health.js';
import { createBudgetGuard } from '../../src/session/budget-guard.js';
import { configSchema } from '../../src/config/schema.js';
import { fixtureLayout, plannedFor } from '../helpers/fixtures.js';

function routed(m: Monitor<BaseOptions, Row>, extra: Record<string, unknown> = {}): RoutedMonitor {
  const opts = m.options.parse({ enabled: true, ...extra });
  return { monitor: m, opts, contract: contractOf(m, m.generate(opts, plannedFor('tracepoint')), fixtureLayout), interval: 2, stats: newStats() };
}

/** A logger whose records are kept. */
function capture(): { log: Logger; records: { level: number; msg: string }[] } {
  const records: { level: number; msg: string }[] = [];
  const log = pino({ level: 'debug' }, { write: (s: string) => void records.push(JSON.parse(s) as { level: number; msg: string }) });
  return { log, records };
}

test('stallVerdict: two intervals and half a second without a tick is a stall; a tick again ends it', () => {
  const cases: [string, { interval: number; lastTickAt: number; stalled: boolean; now: number }, ReturnType<typeof stallVerdict>][] = [
    ['on time', { interval: 2, lastTickAt: 10_000, stalled: false, now: 12_000 }, { late: false, change: null }],
    ['4.5 s late with a 2 s interval: not yet', { interval: 2, lastTickAt: 10_000, stalled: false, now: 14_500 }, { late: false, change: null }],
    ['4.501 s: stalled', { interval: 2, lastTickAt: 10_000, stalled: false, now: 14_501 }, { late: true, change: 'stalled' }],
    ['still late: no new change', { interval: 2, lastTickAt: 10_000, stalled: true, now: 20_000 }, { late: true, change: null }],
    ['a tick after the stall: resumed', { interval: 2, lastTickAt: 19_900, stalled: true, now: 20_000 }, { late: false, change: 'resumed' }],
    ['10 s interval, 15 s without a tick: not late', { interval: 10, lastTickAt: 0, stalled: false, now: 15_000 }, { late: false, change: null }],
  ];
  for (const [name, c, want] of cases) assert.deepEqual(stallVerdict(c, c.now), want, name);
});

test('watchStalls: warns once when an aggregate monitor stalls, says when it ticks again; skips event and idle monitors', () => {
  const { log, records } = capture();
  const agg = routed(syscall);
  const ev = routed(exec);
  const waiting = routed(syscall);
  Object.assign(agg.stats, { state: 'running', lastTickAt: 1000 });
  Object.assign(ev.stats, { state: 'running', lastTickAt: 1000 });
  Object.assign(waiting.stats, { state: 'running', lastTickAt: null });
  const monitors = new Map([['syscall', agg], ['exec', ev], ['other', waiting]]);
  watchStalls(monitors, 10_000, log);
  watchStalls(monitors, 11_000, log);
  assert.equal(agg.stats.stalled, true);
  assert.equal(ev.stats.stalled, false, 'an event monitor has no interval to miss');
  assert.equal(waiting.stats.stalled, false, 'no tick yet: not judged');
  agg.stats.lastTickAt = 11_500;
  watchStalls(monitors, 12_000, log);
  assert.equal(agg.stats.stalled, false);
  assert.deepEqual(records.map((r) => r.msg), ['syscall: no interval closed for two intervals: bpftrace is stalled', 'syscall: intervals close again']);
});

test('refreshSeconds: the shortest interval, between 1 and 2 s', () => {
  assert.equal(refreshSeconds([5, 10]), 2);
  assert.equal(refreshSeconds([1.5, 10]), 1.5);
  assert.equal(refreshSeconds([0.5]), 1);
  assert.equal(refreshSeconds([]), 2);
});

test('health sampler: one sample per serving process, in monitor order; a process no longer serving is forgotten', async (t) => {
  const child = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' });
  t.after(() => child.kill('SIGKILL'));
  await once(child, 'spawn');
  const a = routed(syscall);
  const b = routed(exec);
  const c = routed(syscall);
  a.stats.bpftracePid = child.pid!;
  b.stats.bpftracePid = process.pid;
  c.stats.bpftracePid = child.pid!;
  const monitors = [a, b, c];
  assert.deepEqual(servingPids(monitors), [child.pid, process.pid]);
  const health = createHealthSampler();
  const first = await health.sample(monitors, false);
  assert.deepEqual(first, [{ pid: child.pid, cost: null }, { pid: process.pid, cost: null }], 'no bpf: no cost read');
  assert.ok((health.usage(process.pid).rssBytes ?? 0) > 0, 'RSS from the first sample');
  assert.equal(health.usage(process.pid).cpuPercent, null, 'CPU% needs a second sample');
  await health.sample(monitors, false);
  assert.equal(typeof health.usage(process.pid).cpuPercent, 'number');
  assert.deepEqual(health.usage(null), { cpuPercent: null, rssBytes: null });
  assert.equal(health.cost(process.pid), undefined);
  b.stats.bpftracePid = null;
  await health.sample(monitors, false);
  assert.deepEqual(health.usage(process.pid), { cpuPercent: null, rssBytes: null }, 'forgotten');
  assert.ok((health.usage(child.pid!).rssBytes ?? 0) > 0);
});

test('budget guard: judges whole windows after attach; over for budget_intervals it halts the process and marks its rows', async () => {
  const { log, records } = capture();
  const m = routed(syscall, { max_cpu_percent: 1 });
  m.stats.state = 'running';
  m.stats.bpftracePid = process.pid;
  const runtime = configSchema.parse({}).runtime;
  const rt = { ...runtime, budget_intervals: 1, budget_action: 'stop' as const };
  const halted: string[] = [];
  const notes: string[] = [];
  const act = { halt: (pid: number, reason: string) => (halted.push(`${pid}: ${reason}`), true), note: (monitor: string, _at: string, text: string) => void notes.push(`${monitor}: ${text}`) };
  const guard = createBudgetGuard(20, log);
  const cost = { programs: 1, runTimeNs: 0, runCount: 0, recursionMisses: 0 };
  await guard(process.pid, cost, [m], rt, act);
  assert.deepEqual(halted, [], 'the first reading is the base of the first window');
  // Burn this process's CPU for a window: ~100 % of one CPU against a budget of 1 %.
  const until = performance.now() + 40;
  while (performance.now() < until);
  await guard(process.pid, cost, [m], rt, act);
  assert.equal(halted.length, 1);
  assert.match(halted[0]!, new RegExp(`^${process.pid}: over budget: [\\d.]+% of one CPU \\(BPF 0% \\+ bpftrace [\\d.]+%\\) > 1% for 1 intervals$`));
  assert.equal(notes.length, 1);
  assert.match(notes[0]!, /^syscall: stopped by its budget \(over budget: .*\): nothing is counted after this point$/);
  assert.ok(records.some((r) => r.level === 50 && r.msg.startsWith('stopping syscall: over budget')));
});

test('budget guard: CPU spent before attach (compiling, loading) is never judged', async () => {
  const { log } = capture();
  const m = routed(syscall, { max_cpu_percent: 1 });
  m.stats.state = 'starting';
  m.stats.bpftracePid = process.pid;
  const rt = { ...configSchema.parse({}).runtime, budget_intervals: 1, budget_action: 'stop' as const };
  const halted: number[] = [];
  const act = { halt: (pid: number) => (halted.push(pid), true), note: () => undefined };
  const guard = createBudgetGuard(20, log);
  const cost = { programs: 1, runTimeNs: 0, runCount: 0, recursionMisses: 0 };
  const burn = (): void => {
    const until = performance.now() + 40;
    while (performance.now() < until);
  };
  await guard(process.pid, cost, [m], rt, act);
  burn();
  m.stats.state = 'running';
  await guard(process.pid, cost, [m], rt, act);
  assert.deepEqual(halted, [], 'attached now: this reading starts the first window');
  burn();
  await guard(process.pid, cost, [m], rt, act);
  assert.deepEqual(halted, [process.pid], 'a whole window after attach, over budget');
});
