// CPU% and RSS of the listed processes, from /proc: parsing, the arithmetic htop does, and vanished pids.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createProcSampler, nextUsage, parseStat, readProcSample, type ProcSample } from '../../src/top/proc.js';

// A real line's shape, with a comm holding spaces and parentheses.
const stat = (comm: string, utime: number, stime: number, start: number): string =>
  `4242 (${comm}) S 1 4242 4242 0 -1 4194560 1200 0 0 0 ${utime} ${stime} 0 0 20 0 1 0 ${start} 10485760 2560 18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 1 0 0 0 0 0`;

test('top proc: utime+stime and starttime from /proc/PID/stat, whatever the comm holds', () => {
  assert.deepEqual(parseStat(stat('a) (b', 150, 50, 777)), { ticks: 200, startTicks: 777 });
  assert.deepEqual(parseStat(stat('nginx', 0, 0, 1)), { ticks: 0, startTicks: 1 });
  assert.equal(parseStat('garbage'), null);
  assert.equal(parseStat('1 (x) S 1 2'), null);
});

test('top proc: CPU% is the growth of utime+stime over the wall time between samples; a reused pid starts over', () => {
  const s = (ticks: number, at: number, startTicks = 5, rssBytes = 4096): ProcSample => ({ ticks, startTicks, rssBytes, at });
  const cases: [ProcSample | undefined, ProcSample, number | null][] = [
    [undefined, s(100, 1000), null],
    [s(100, 1000), s(300, 3000), 100],
    [s(100, 1000), s(150, 3000), 25],
    [s(100, 1000), s(500, 3000), 200],
    [s(100, 1000), s(100, 3000), 0],
    [s(100, 1000), s(300, 3000, 6), null],
    [s(100, 1000), s(300, 1000), null],
  ];
  for (const [prev, cur, want] of cases) assert.equal(nextUsage(prev, cur).cpuPercent, want, JSON.stringify([prev, cur]));
  assert.deepEqual(nextUsage(undefined, s(250, 0, 5, 8192)), { cpuPercent: null, rssBytes: 8192, cpuSeconds: 2.5 });
});

test('top proc: a process that exits keeps its last usage while listed; pids no longer listed are forgotten', async () => {
  const alive = new Map<number, number>([[1, 0], [2, 0]]);
  const sample = createProcSampler(async (pid, at) => {
    const t = alive.get(pid);
    return t === undefined ? null : { ticks: t, startTicks: 9, rssBytes: pid * 1024, at };
  });
  assert.deepEqual([...(await sample([1, 2, 3], 0)).keys()], [1, 2]);
  alive.set(1, 100);
  alive.set(2, 50);
  const second = await sample([1, 2], 1000);
  assert.equal(second.get(1)?.cpuPercent, 100);
  assert.equal(second.get(2)?.cpuPercent, 50);
  alive.delete(2);
  const third = await sample([1, 2], 2000);
  assert.deepEqual(third.get(2), { cpuPercent: 50, rssBytes: 2048, cpuSeconds: 0.5 }, 'gone: the last usage');
  assert.equal(third.get(1)?.cpuPercent, 0);
  assert.equal((await sample([1], 3000)).has(2), false);
  alive.set(2, 60);
  assert.equal((await sample([1, 2], 4000)).get(2)?.cpuPercent, null, 'listed again: no earlier sample');
});

test('top proc: this process reads as itself; a pid that does not exist reads as gone', async () => {
  const me = await readProcSample(process.pid, 0);
  assert.ok(me && me.rssBytes > 1024 * 1024 && me.ticks >= 0, JSON.stringify(me));
  assert.equal(await readProcSample(2 ** 22 + 1, 0), null);
});
