// The supervisor with a fake bpftrace: clean stop, crash and restart with a visible gap, isolation, giving up.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { createSupervisor, type ProcessSpec } from '../../src/process/supervisor.js';
import { errorSummary, spawnBpftrace, spawnEnv } from '../../src/process/bpftrace.js';
import { jitRunner, type Runner } from '../../src/process/aot.js';
import { newStats } from '../../src/records/stats.js';
import { createRouter, type RoutedMonitor } from '../../src/records/router.js';
import { syscall } from '../../src/monitors/syscall.js';
import { exec } from '../../src/monitors/exec.js';
import type { BaseOptions, Monitor, Row } from '../../src/monitors/types.js';
import { contractOf } from '../../src/script/compose.js';
import { silentLogger } from '../../src/log.js';
import { fakeClock, fixtureLayout, plannedFor } from '../helpers/fixtures.js';
import { fixturesDir } from '../helpers/paths.js';

const fake = path.join(fixturesDir, 'bin/fake-bpftrace.js');
function routed(m: Monitor<BaseOptions, Row>): RoutedMonitor {
  const opts = m.options.parse({ enabled: true });
  return { monitor: m, opts, contract: contractOf(m, m.generate(opts, plannedFor('tracepoint')), fixtureLayout), interval: 2, stats: newStats() };
}

/** The supervisor wired the way a session wires it: a router per run, states into each monitor's stats. */
async function setup(env: Record<string, string>, names: string[], first?: Runner) {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'ebpfmon-sup-'));
  const count = path.join(dir, 'starts');
  const write = async (id: string, monitors: string[]): Promise<string> => {
    const f = path.join(dir, `${id}.bt`);
    await writeFile(f, `// ebpfmon-contract: 1 monitors=${monitors.join(',')}\n`);
    return f;
  };
  const rms = names.map((n) => routed(n === 'exec' ? exec : syscall));
  const byName = new Map(rms.map((m) => [m.monitor.name, m]));
  const jit = jitRunner(fake, await write('main', names), 16384, false);
  const procEnv = { ...env, FAKE_BPFTRACE_COUNT_FILE: count };
  const spec: ProcessSpec = { id: 'main', runner: first ?? jit, ...(first ? { fallback: jit } : {}), monitors: names, env: procEnv };
  const rows: { monitor: string; rows: Row[] }[] = [];
  const gaps: string[] = [];
  // Waiters on rows: resolved by the router's callback, so no test sleeps for them to arrive.
  const waiters: { monitor: string; resolve: () => void }[] = [];
  let spawns = 0;
  const sup = createSupervisor([spec], {
    log: silentLogger(),
    // Counted here, not by the fake: one killed at the attach timeout before node started it never writes its line.
    spawn: (s) => {
      spawns++;
      return spawnBpftrace(s);
    },
    maxRestarts: 2,
    backoff: { baseMs: 50, maxMs: 100 },
    killAfterMs: 500,
    attachTimeoutMs: Number(env['ATTACH_TIMEOUT_MS'] ?? 30_000),
    onRun: (s, run) => {
      const router = createRouter({
        monitors: s.monitors.flatMap((n) => byName.get(n) ?? []),
        onRows: (monitor, r) => {
          rows.push({ monitor, rows: r });
          for (const w of waiters.filter((x) => x.monitor === monitor)) {
            waiters.splice(waiters.indexOf(w), 1);
            w.resolve();
          }
        },
        onNote: () => undefined,
        onAttached: (p) => run.attached(p),
        log: silentLogger(),
        clock: fakeClock,
        arch: 'x64',
        mapCapacity: run.runner.mapCapacity,
        strlen: 64,
      });
      return router;
    },
    onState: (s, r) => {
      for (const n of s.monitors) {
        const m = byName.get(n)!;
        m.stats.state = r.state;
        m.stats.bpftracePid = r.pid;
        m.stats.runtime = r.runner.mode;
        if (r.reason) m.stats.lastError = r.reason;
        if (r.state === 'restarting') {
          m.stats.restarts++;
          if (r.lostOutput) gaps.push(`${n}: bpftrace restarted: counts since the previous row are lost (${r.reason ?? ''})`);
        }
      }
    },
    isolate: async (s) =>
      Promise.all(s.monitors.map(async (m) => ({ id: m, runner: jitRunner(fake, await write(m, [m]), 16384, false), monitors: [m], env: procEnv }))),
  });
  const starts = async (): Promise<string[]> => (await readFile(count, 'utf8').catch(() => '')).split('\n').filter(Boolean);
  /** Resolves when the next rows of `monitor` arrive. */
  const nextRows = (monitor: string): Promise<void> => new Promise((resolve) => waiters.push({ monitor, resolve }));
  return { sup, rows, gaps, rms, starts, nextRows, spawned: () => spawns };
}

test('clean run: attached, rows routed, SIGTERM gives the final interval and state stopped', async () => {
  const { sup, rows, rms, nextRows } = await setup({}, ['syscall', 'exec']);
  const both = Promise.all([nextRows('syscall'), nextRows('exec')]);
  await sup.settled;
  assert.deepEqual(rms.map((m) => m.stats.state), ['running', 'running']);
  assert.ok(rms[0]!.stats.bpftracePid);
  await both;
  const before = rows.length;
  await sup.stop();
  assert.ok(rows.length > before, 'the final interval printed at SIGTERM arrived');
  assert.deepEqual(rms.map((m) => m.stats.state), ['stopped', 'stopped']);
  const sys = rows.filter((r) => r.monitor === 'syscall').flatMap((r) => r.rows);
  assert.ok(sys.every((r) => r['count'] === 10 && r['syscall'] === 'getppid'));
  assert.equal(rms[0]!.stats.parseErrors, 0);
});

test('a crash restarts with backoff, leaves a gap row per monitor, and gives up after max_restarts', async () => {
  const { sup, gaps, rms, starts } = await setup({ FAKE_BPFTRACE_CRASH_AFTER: '150' }, ['syscall']);
  await sup.done;
  assert.equal(rms[0]!.stats.state, 'failed');
  assert.equal(rms[0]!.stats.restarts, 2);
  assert.equal((await starts()).length, 3, 'first start + 2 restarts');
  assert.equal(gaps.length, 2);
  assert.match(gaps[0] ?? '', /^syscall: bpftrace restarted: counts since the previous row are lost \(fatal: simulated crash \(exit code 1\)\)$/);
  assert.match(rms[0]!.stats.lastError ?? '', /simulated crash/);
});

test('a shared process that cannot start is split: the good monitor runs, the bad one fails alone', async () => {
  const { sup, rms, starts, rows, nextRows } = await setup({ FAKE_BPFTRACE_FAIL: 'syscall' }, ['exec', 'syscall']);
  const execRows = nextRows('exec');
  await sup.settled;
  const [execM, sysM] = rms;
  assert.equal(execM!.stats.state, 'running');
  await execRows;
  assert.ok(rows.some((r) => r.monitor === 'exec'));
  await sup.stop();
  assert.equal(sysM!.stats.state, 'failed');
  assert.match(sysM!.stats.lastError ?? '', /tracepoint not found: fake:syscall/);
  assert.doesNotMatch(sysM!.stats.lastError ?? '', /RLIMIT_MEMLOCK/, 'the harmless warning is not the reason');
  assert.deepEqual((await starts()).slice(0, 3).sort(), ['exec', 'exec,syscall', 'syscall']);
});

test('a compiled script that fails before attaching runs in bpftrace instead, without counting a restart', async () => {
  const { sup, rms, starts } = await setup({}, ['syscall'], { mode: 'aot', command: '/bin/false', args: [], mapCapacity: 4096 });
  await sup.settled;
  assert.equal(rms[0]!.stats.state, 'running');
  assert.equal(rms[0]!.stats.runtime, 'jit');
  assert.equal(rms[0]!.stats.restarts, 0);
  assert.equal((await starts()).length, 1, 'bpftrace started once, after the AOT runner failed');
  await sup.stop();
});

test('a bpftrace that ignores SIGTERM is killed after the delay', async () => {
  const { sup, rms } = await setup({ FAKE_BPFTRACE_IGNORE_TERM: '1' }, ['syscall']);
  await sup.settled;
  const pid = rms[0]!.stats.bpftracePid!;
  const t0 = Date.now();
  await sup.stop();
  assert.ok(Date.now() - t0 >= 400, 'waited for the grace period');
  assert.throws(() => process.kill(pid, 0), 'the process is gone');
});

test('a bpftrace that never attaches is stopped after the attach timeout and counted as a failed start', async () => {
  const { sup, rms, spawned } = await setup({ FAKE_BPFTRACE_NO_ATTACH: '1', ATTACH_TIMEOUT_MS: '300' }, ['syscall']);
  await sup.settled;
  assert.equal(rms[0]!.stats.state, 'failed');
  assert.equal(rms[0]!.stats.lastError, 'bpftrace did not attach its probes within 0.3 s');
  assert.equal(spawned(), 3, 'first start + 2 restarts');
  await sup.stop();
});

test('errorSummary prefers the first real ERROR line', () => {
  assert.equal(
    errorSummary(["ERROR: Unknown error -1: couldn't set RLIMIT_MEMLOCK", 'x.bt:3: ERROR: bad'], { exitCode: 1, signal: null, spawnError: null }),
    'x.bt:3: ERROR: bad (exit code 1)',
  );
  assert.equal(errorSummary([], { exitCode: null, signal: 'SIGKILL', spawnError: null }), 'killed by SIGKILL');
});

test("bpftrace's environment: ours over the inherited one; glibc tunables joined so the operator's win", () => {
  const ours = { BPFTRACE_MAP_KEYS_MAX: '16384', GLIBC_TUNABLES: 'glibc.malloc.arena_max=1' };
  assert.deepEqual(spawnEnv(ours, {}), ours);
  assert.deepEqual(spawnEnv(ours, { GLIBC_TUNABLES: 'glibc.malloc.arena_max=8:glibc.malloc.check=3' }), {
    BPFTRACE_MAP_KEYS_MAX: '16384',
    GLIBC_TUNABLES: 'glibc.malloc.arena_max=1:glibc.malloc.arena_max=8:glibc.malloc.check=3',
  });
  assert.deepEqual(spawnEnv({ A: '1' }, { GLIBC_TUNABLES: 'x=1' }), { A: '1' }, 'without tunables of ours, execa passes theirs through');
});
