// Idle CPU of two builds of ebpfmon, interleaved (issue #26): `ebpfmon start` with the default config
// (config/monitor_config.yaml) from build A, then from build B, alternating (ABBA per pair of rounds, so neither arm
// always runs first), each for an idle window of `--seconds`, 5 s after attaching. Per run: the supervisor's and its
// bpftrace processes' CPU (% of one CPU, /proc/PID/stat) and wakeups (context switches per second of every thread).
// One arm at a time: both attached at once would each see the other's work.
//   node dist/scripts/bench/footprint-ab.js --a OLD/dist --b dist [--rounds 4] [--seconds 60] [--scoped] [--out DIR]
// A build is a dist/ tree (dist/src/cli/main.js inside it) with node_modules reachable from it (a symlink next to a
// copied dist/ will do). `--scoped`: every monitor counts only one sleeping process (`--pid`), so that what is left
// is the fixed cost (timers, coverage readers, intervals) without the host's rows.
import { spawn, type ChildProcess } from 'node:child_process';
import { readdir, readFile, rm } from 'node:fs/promises';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { bpftracePids, cliNodeFlags, cpuSecondsOf, isMain, isRoot, haveBpftrace, loadAvg, median, printResult, repoRoot, round, scratchDir, sleep, writeResult, type BenchResult } from './common.js';
import { switchesOf } from './footprint.js';

export interface IdleRun {
  arm: 'A' | 'B';
  round: number;
  supervisorPct: number;
  bpftracePct: number;
  supervisorWakeups: number;
  bpftraceWakeups: number;
  /** Rows written per second over the window (lines of the output files): the host's activity, which the CPU follows. */
  rowsPerSecond: number;
}

/** Lines in the files of `dir` (the CSV output: a row a line). */
async function linesIn(dir: string): Promise<number> {
  let n = 0;
  for (const f of await readdir(dir).catch(() => [] as string[])) {
    const text = await readFile(path.join(dir, f), 'utf8').catch(() => '');
    for (let i = text.indexOf('\n'); i >= 0; i = text.indexOf('\n', i + 1)) n++;
  }
  return n;
}

/** Arm order per round: ABBA ABBA ..., so each arm runs first in half the pairs. */
export function armOrder(rounds: number): ('A' | 'B')[][] {
  return Array.from({ length: rounds }, (_, r) => (r % 2 === 0 ? ['A', 'B'] : ['B', 'A']));
}

/** Starts `ebpfmon start` of the build at `dist`; resolves once its log says the monitors are attached. */
function startBuild(dist: string, args: readonly string[]): { proc: ChildProcess; attached: Promise<void> } {
  const proc = spawn(process.execPath, [...cliNodeFlags, path.join(dist, 'src/cli/main.js'), 'start', ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
  let partial = '';
  let err = '';
  const attached = new Promise<void>((resolve, reject) => {
    proc.stderr?.on('data', (chunk: Buffer) => {
      err += chunk.toString();
      partial += chunk.toString();
      const lines = partial.split('\n');
      partial = lines.pop() ?? '';
      if (lines.some((l) => l.includes('"msg":"monitors attached"'))) resolve();
    });
    proc.on('exit', (code) => reject(new Error(`ebpfmon (${dist}) exited (${code}) before attaching: ${err.slice(-500)}`)));
  });
  return { proc, attached };
}

async function stop(proc: ChildProcess): Promise<void> {
  if (proc.exitCode !== null || proc.signalCode !== null) return;
  const exited = new Promise((r) => proc.once('exit', r));
  proc.kill('SIGTERM');
  const killer = setTimeout(() => proc.kill('SIGKILL'), 20_000);
  await exited;
  clearTimeout(killer);
}

export async function runFootprintAb(o: { a: string; b: string; rounds: number; seconds: number; scoped: boolean }): Promise<BenchResult> {
  const started = Date.now();
  const title = `Idle CPU, build A (${o.a}) against build B (${o.b}), default config${o.scoped ? ', scoped to one sleeping process' : ''}`;
  const work = await scratchDir('footprint-ab');
  const sleeper = o.scoped ? spawn('sleep', ['100000'], { stdio: 'ignore' }) : null;
  const runs: IdleRun[] = [];
  try {
    for (const [r, order] of armOrder(o.rounds).entries()) {
      for (const arm of order) {
        const dist = arm === 'A' ? o.a : o.b;
        const out = path.join(work, `out-${arm}-${r}`);
        const args = ['-c', path.join(repoRoot, 'config/monitor_config.yaml'), '-o', out, ...(sleeper?.pid ? ['-p', String(sleeper.pid)] : [])];
        const mon = startBuild(dist, args);
        try {
          await mon.attached;
          const pids = await bpftracePids(mon.proc.pid!);
          await sleep(5000);
          const at = performance.now();
          const before = { sup: await cpuSecondsOf([mon.proc.pid!]), bt: await cpuSecondsOf(pids), supSw: await switchesOf([mon.proc.pid!]), btSw: await switchesOf(pids), rows: await linesIn(out) };
          await sleep(o.seconds * 1000);
          const s = (performance.now() - at) / 1000;
          const run: IdleRun = {
            arm,
            round: r + 1,
            supervisorPct: round((((await cpuSecondsOf([mon.proc.pid!])) - before.sup) / s) * 100, 3),
            bpftracePct: round((((await cpuSecondsOf(pids)) - before.bt) / s) * 100, 3),
            supervisorWakeups: round(((await switchesOf([mon.proc.pid!])) - before.supSw) / s, 1),
            bpftraceWakeups: round(((await switchesOf(pids)) - before.btSw) / s, 1),
            rowsPerSecond: round(((await linesIn(out)) - before.rows) / s, 1),
          };
          runs.push(run);
          process.stderr.write(`footprint-ab: round ${r + 1}/${o.rounds} ${arm}: supervisor ${run.supervisorPct} %, bpftrace ${run.bpftracePct} %, ${run.supervisorWakeups} + ${run.bpftraceWakeups} switches/s, ${run.rowsPerSecond} rows/s (load ${loadAvg()})\n`);
        } finally {
          await stop(mon.proc);
        }
      }
    }
  } finally {
    sleeper?.kill();
    await rm(work, { recursive: true, force: true });
  }
  const of = (arm: 'A' | 'B', k: keyof Omit<IdleRun, 'arm' | 'round'>): number => round(median(runs.filter((x) => x.arm === arm).map((x) => x[k])), 3);
  const cols = ['supervisorPct', 'bpftracePct', 'supervisorWakeups', 'bpftraceWakeups', 'rowsPerSecond'] as const;
  return {
    bench: o.scoped ? 'footprint-ab-scoped' : 'footprint-ab',
    title,
    startedAt: new Date(started).toISOString(),
    seconds: (Date.now() - started) / 1000,
    quick: false,
    tables: [
      {
        title: `Runs in the order they ran (idle window ${o.seconds} s)`,
        columns: ['round', 'arm', 'supervisor % of one CPU', 'bpftrace % of one CPU', 'supervisor switches/s', 'bpftrace switches/s', 'rows/s'],
        rows: runs.map((x) => [x.round, x.arm, x.supervisorPct, x.bpftracePct, x.supervisorWakeups, x.bpftraceWakeups, x.rowsPerSecond]),
      },
      {
        title: 'Medians per arm',
        columns: ['arm', 'supervisor % of one CPU', 'bpftrace % of one CPU', 'supervisor switches/s', 'bpftrace switches/s', 'rows/s'],
        rows: (['A', 'B'] as const).map((arm) => [arm, ...cols.map((k) => of(arm, k))]),
      },
    ],
    checks: [
      { figure: 'idle CPU, supervisor, median, B', value: of('B', 'supervisorPct'), unit: '% of one CPU', target: '(comparison)', pass: null },
      { figure: 'idle CPU, bpftrace, median, B', value: of('B', 'bpftracePct'), unit: '% of one CPU', target: '(comparison)', pass: null },
      { figure: 'idle CPU, supervisor + bpftrace, median, B', value: round(of('B', 'supervisorPct') + of('B', 'bpftracePct'), 3), unit: '% of one CPU', target: '<= 0.5 %', pass: of('B', 'supervisorPct') + of('B', 'bpftracePct') <= 0.5 },
    ],
    notes: [
      'arms alternate ABBA; each run starts ebpfmon afresh (compiled scripts from the cache), waits 5 s after attaching, then measures',
      'CPU: utime+stime of /proc/PID/stat; switches: voluntary + involuntary of every thread (/proc/PID/task/*/status)',
      `load average at the end: ${loadAvg()} (a shared VM: other jobs' load moves both arms)`,
    ],
    raw: { runs },
  };
}

if (isMain(import.meta.url)) {
  const { values } = parseArgs({
    options: { a: { type: 'string' }, b: { type: 'string', default: path.join(repoRoot, 'dist') }, rounds: { type: 'string', default: '4' }, seconds: { type: 'string', default: '60' }, scoped: { type: 'boolean', default: false }, out: { type: 'string', default: 'bench-results' } },
    strict: true,
  });
  if (!values.a) throw new Error('--a DIR: the dist/ tree of the build to compare against');
  if (!isRoot() || !haveBpftrace()) throw new Error('needs root and bpftrace');
  const r = await runFootprintAb({ a: path.resolve(values.a), b: path.resolve(values.b), rounds: Number(values.rounds), seconds: Number(values.seconds), scoped: values.scoped });
  printResult(r);
  console.log(`\nwritten: ${await writeResult(path.resolve(values.out), r)}`);
}
