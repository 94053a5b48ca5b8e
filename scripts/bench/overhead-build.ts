// Benchmark 1, second scenario, overhead on a build server: the build workload (build-workload.ts: 40 generated C
// files through `gcc -O2 -c` two at a time, `tar | gzip -1` of /usr/share/doc, `grep -r -l` over /usr/include)
// run alone (A), under the floor (F: bpftrace-aotrt on every tracepoint ebpfmon attaches, each only counting),
// under the bare generated scripts (S: what `ebpfmon generate` prints, compiled and run as ebpfmon runs them, output
// into a file nobody reads) and under `ebpfmon start` (B), all runnable monitors at their defaults. The arms are
// interleaved, their order rotated each round; ratios are medians of per-round ratios. Wall time on this VM swings
// by about 5 %, so each arm also reports CPU: the workload's user+sys seconds, bpftrace's and the supervisor's own
// seconds, and, with kernel.bpf_stats_enabled=1 (restored after), the BPF programs' run time and runs per program.
// Then each runnable monitor alone (F and B), fewer rounds: where the total comes from.
//   node dist/scripts/bench/overhead-build.js [--quick] [--out DIR]
import { rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { armMeaning, armNames, median, medianRatio, programTable, roundOrder, uniqueAttach, type ArmName } from './arm-stats.js';
import { prepareArms, runArm, type ArmContext, type ArmRun, type ArmSet } from './arms.js';
import { buildPhases, cpuOf, prepareBuild, sourceCount, type BuildTiming } from './build-workload.js';
import {
  benchConfig, foreignBpftrace, haveBpftrace, isMain, isRoot, loadAvg, mainOf, round, runnableMonitors, scratchDir, skipped, withBpfStats,
  type BenchOptions, type BenchResult, type Check, type Table,
} from './common.js';

type Run = ArmRun<BuildTiming>;
type Arms = Record<ArmName, Run[]>;

const emptyArms = (): Arms => ({ A: [], F: [], S: [], B: [] });

/** (ratio - 1) in percent, or null. */
const pct = (ratio: number | null, digits = 1): number | null => (ratio === null ? null : round((ratio - 1) * 100, digits));
const med = (xs: readonly (number | null)[], digits = 2): number | null => {
  const v = xs.filter((x): x is number => x !== null);
  return v.length ? round(median(v), digits) : null;
};

/** The figures of one run that the tables compare. */
const wallOf = (r: Run): number => r.timing.total.wall;
const workCpuOf = (r: Run): number => cpuOf(r.timing.total);
/** Everything this run's machine spent on it: the workload, the tracers and the supervisor (BPF time is inside the workload's sys). */
const allCpuOf = (r: Run): number => workCpuOf(r) + (r.tracerCpu ?? 0) + (r.supervisorCpu ?? 0);

const ratioPairs: [ArmName, ArmName][] = [
  ['F', 'A'],
  ['S', 'A'],
  ['B', 'A'],
  ['S', 'F'],
  ['B', 'F'],
  ['B', 'S'],
];

function ratioTable(arms: Arms, rounds: number): Table {
  const figures: [string, (r: Run) => number][] = [
    ['wall', wallOf],
    ...buildPhases.map((p): [string, (r: Run) => number] => [`${p} wall`, (r) => r.timing[p].wall]),
    ['workload CPU', workCpuOf],
    ...buildPhases.map((p): [string, (r: Run) => number] => [`${p} CPU`, (r) => cpuOf(r.timing[p])]),
    ['all CPU', allCpuOf],
  ];
  return {
    title: `Ratios, medians of the ${rounds} per-round ratios, as % more (wall and CPU of the whole workload and of each phase; all CPU adds bpftrace's and ebpfmon's own)`,
    columns: ['ratio', ...figures.map(([f]) => `${f} %`)],
    rows: ratioPairs.map(([x, y]) => [`${x}/${y}`, ...figures.map(([, f]) => pct(medianRatio(arms[x].map(f), arms[y].map(f))))]),
  };
}

function armTable(arms: Arms, rounds: number): Table {
  return {
    title: `Per arm, medians over ${rounds} rounds (s): wall, the workload's user+sys CPU, bpftrace's CPU (all its processes) and ebpfmon's supervisor's, during the workload and over their whole run`,
    columns: ['arm', 'wall s', ...buildPhases.map((p) => `${p} s`), 'workload CPU s', 'bpftrace CPU s', 'bpftrace whole s', 'ebpfmon CPU s', 'ebpfmon whole s', 'attach ms', 'what'],
    rows: armNames.map((a) => {
      const rs = arms[a];
      return [
        a,
        med(rs.map(wallOf)),
        ...buildPhases.map((p) => med(rs.map((r) => r.timing[p].wall))),
        med(rs.map(workCpuOf)),
        med(rs.map((r) => r.tracerCpu)),
        med(rs.map((r) => r.tracerCpuTotal)),
        med(rs.map((r) => r.supervisorCpu)),
        med(rs.map((r) => r.supervisorCpuTotal)),
        med(rs.map((r) => r.attachMs), 0),
        armMeaning[a],
      ];
    }),
  };
}

function kernelTable(arms: Arms, rounds: number): Table {
  return {
    title: `In the kernel (bpf_stats run_time_ns / run_cnt over every program of the arm, during the workload), medians over ${rounds} rounds; runs count the events of every process on the host, so other load shows as a wide min-max`,
    columns: ['arm', 'programs', 'runs per round (k)', 'min (k)', 'max (k)', 'BPF ms per round', 'ns per run', 'BPF % of workload CPU'],
    rows: (['F', 'S', 'B'] as const).map((a) => {
      const rs = arms[a].filter((r) => r.kernel);
      return [
        a,
        med(rs.map((r) => r.kernel!.programs), 0),
        med(rs.map((r) => r.kernel!.runCount / 1e3), 0),
        rs.length ? Math.round(Math.min(...rs.map((r) => r.kernel!.runCount)) / 1e3) : null,
        rs.length ? Math.round(Math.max(...rs.map((r) => r.kernel!.runCount)) / 1e3) : null,
        med(rs.map((r) => r.kernel!.runTimeNs / 1e6), 1),
        med(rs.map((r) => r.kernel!.nsPerRun), 1),
        med(rs.map((r) => (r.kernel!.runTimeNs / 1e9 / workCpuOf(r)) * 100), 2),
      ];
    }),
  };
}

function programsTable(arms: Arms, top: number): Table {
  return {
    title: `The busiest BPF programs of each arm (by run time; names as the kernel keeps them, at most 15 bytes), top ${top}`,
    columns: ['arm', 'program', 'ms per round', 'runs per round (k)', 'ns per run', 'share %'],
    rows: (['F', 'S', 'B'] as const).flatMap((a) =>
      programTable(arms[a].map((r) => r.progs))
        .slice(0, top)
        .map((p) => [a, p.program, round(p.msPerRound, 1), round(p.runsPerRound / 1e3, 1), p.nsPerRun === null ? null : round(p.nsPerRun, 0), round(p.share * 100, 1)]),
    ),
  };
}

function soloTables(solo: Record<string, Arms>, rounds: number): Table[] {
  const entries = Object.entries(solo);
  return [
    {
      title: `Each monitor alone, ${rounds} rounds (one A per round, shared by the monitors): medians of per-round ratios, % more`,
      columns: ['monitor', 'F/A wall', 'B/A wall', 'B/F wall', 'F/A CPU', 'B/A CPU', 'B/F CPU', 'B/A all CPU'],
      rows: entries.map(([m, a]) => {
        const r = (x: ArmName, y: ArmName, f: (r: Run) => number): number | null => pct(medianRatio(a[x].map(f), a[y].map(f)));
        return [m, r('F', 'A', wallOf), r('B', 'A', wallOf), r('B', 'F', wallOf), r('F', 'A', workCpuOf), r('B', 'A', workCpuOf), r('B', 'F', workCpuOf), r('B', 'A', allCpuOf)];
      }),
    },
    {
      title: 'Each monitor alone: where the cost lands (medians, during the workload): BPF programs, runs, ns per run and run time; bpftrace and ebpfmon CPU seconds',
      columns: ['monitor', 'programs', 'runs (k)', 'ns/run F', 'ns/run B', 'BPF ms F', 'BPF ms B', 'bpftrace CPU s', 'ebpfmon CPU s', 'busiest program (B)'],
      rows: entries.map(([m, a]) => [
        m,
        med(a.B.map((r) => r.kernel?.programs ?? null), 0),
        med(a.B.map((r) => (r.kernel ? r.kernel.runCount / 1e3 : null)), 0),
        med(a.F.map((r) => r.kernel?.nsPerRun ?? null), 0),
        med(a.B.map((r) => r.kernel?.nsPerRun ?? null), 0),
        med(a.F.map((r) => (r.kernel ? r.kernel.runTimeNs / 1e6 : null)), 1),
        med(a.B.map((r) => (r.kernel ? r.kernel.runTimeNs / 1e6 : null)), 1),
        med(a.B.map((r) => r.tracerCpu)),
        med(a.B.map((r) => r.supervisorCpu)),
        ((p) => (p ? `${p.program} ${p.nsPerRun === null ? '-' : Math.round(p.nsPerRun)} ns/run` : '-'))(programTable(a.B.map((r) => r.progs))[0]),
      ]),
    },
  ];
}

/** The raw record of a run without the per-program list (kept separately, per arm). */
const slim = (r: Run): Omit<Run, 'progs'> & { progs?: never } => ({ ...r, progs: undefined });

export async function runOverheadBuild(o: BenchOptions): Promise<BenchResult> {
  const bench = 'overhead-build';
  const title = 'Overhead, build server (gcc -O2, tar | gzip, grep -r): alone (A), floor (F), bare scripts (S), ebpfmon (B)';
  if (!isRoot() || !haveBpftrace()) return skipped(bench, title, 'needs root and bpftrace', o.quick);
  const started = Date.now();
  const rounds = o.quick ? 3 : 9;
  const soloRounds = o.quick ? 2 : 3;
  const { runnable, skipped: notRunnable } = await runnableMonitors();
  const work = await scratchDir('build');
  const config = await benchConfig(work, path.join(work, 'out'));
  const foreign = await foreignBpftrace();
  const arms = emptyArms();
  const solo: Record<string, Arms> = {};
  let statsOff = 0;
  /** Per round: the 1-minute load average and other bpftrace processes at its start (noise to know about). */
  const context: { load: number; others: number }[] = [];
  let all: ArmSet | undefined;
  const note = (r: Run): Run => {
    if (r.statsOn === false) statsOff++;
    return r;
  };
  try {
    const build = await prepareBuild(path.join(work, 'build'));
    const base: ArmContext = { work, config };
    all = await prepareArms(base, runnable, '');
    const singles: [string, ArmSet][] = [];
    for (const m of runnable) singles.push([m, await prepareArms(base, [m], `-${m}`)]);
    await build.run(); // warm-up: page cache (/usr/share/doc, /usr/include, gcc), the object files' blocks
    const allSet = all;
    await withBpfStats(async (ensureStats) => {
      const ctx: ArmContext = { ...base, ensureStats };
      for (let r = 0; r < rounds; r++) {
        context.push({ load: os.loadavg()[0] ?? 0, others: await foreignBpftrace() });
        for (const arm of roundOrder(armNames, r)) arms[arm][r] = note(await runArm(arm, allSet, ctx, build.run));
        const w = (a: ArmName): string => wallOf(arms[a][r]!).toFixed(2);
        process.stderr.write(`overhead-build: round ${r + 1}/${rounds}: A ${w('A')} s, F ${w('F')} s, S ${w('S')} s, B ${w('B')} s\n`);
      }
      // Each monitor alone: a breakdown, not the verdict. One A per round, then F and B of every monitor (S would
      // add a third to the time and little: its programs are B's, and so is its bpftrace's CPU).
      for (let r = 0; r < soloRounds; r++) {
        const a = await runArm('A', allSet, ctx, build.run);
        for (const [m, set] of singles) {
          const rec = (solo[m] ??= emptyArms());
          rec.A[r] = a;
          for (const arm of roundOrder(['F', 'B'] as const, r)) rec[arm][r] = note(await runArm(arm, set, ctx, build.run));
        }
        process.stderr.write(`overhead-build: monitors alone, round ${r + 1}/${soloRounds} done\n`);
      }
    });
  } finally {
    await rm(work, { recursive: true, force: true });
  }
  const wallRatio = (x: ArmName, y: ArmName): number | null => medianRatio(arms[x].map(wallOf), arms[y].map(wallOf));
  const cpuRatio = (x: ArmName, y: ArmName): number | null => medianRatio(arms[x].map(workCpuOf), arms[y].map(workCpuOf));
  const slowdown = pct(wallRatio('B', 'A'), 2);
  const ref = (figure: string, value: number | null, unit = '%'): Check => ({ figure: `overhead-build: ${figure}`, value, unit, target: '(reference)', pass: null });
  const checks: Check[] = [
    { figure: 'overhead-build: median slowdown (B/A wall)', value: slowdown, unit: '%', target: '< 2 %', pass: slowdown === null ? null : slowdown < 2 },
    { figure: 'overhead-build: median slowdown (ceiling)', value: slowdown, unit: '%', target: '< 5 %', pass: slowdown === null ? null : slowdown < 5 },
    ref('the floor alone (F/A wall)', pct(wallRatio('F', 'A'), 2)),
    ref('the bare scripts (S/A wall)', pct(wallRatio('S', 'A'), 2)),
    ref('the scripts above the floor (S/F wall)', pct(wallRatio('S', 'F'), 2)),
    ref('ebpfmon above the floor (B/F wall)', pct(wallRatio('B', 'F'), 2)),
    ref("the workload's CPU under ebpfmon (B/A)", pct(cpuRatio('B', 'A'), 2)),
    ref('in-kernel ns per program run (B)', med(arms.B.map((r) => r.kernel?.nsPerRun ?? null), 1), 'ns'),
  ];
  const attachList = (set: ArmSet | undefined): string =>
    set ? Object.entries(set.floorAttach).map(([id, a]) => `${id}: ${a.length} probes (${uniqueAttach(a).join(' ')})`).join('; ') : '-';
  return {
    bench,
    title,
    startedAt: new Date(started).toISOString(),
    seconds: (Date.now() - started) / 1000,
    quick: o.quick,
    tables: [
      ratioTable(arms, rounds),
      armTable(arms, rounds),
      kernelTable(arms, rounds),
      programsTable(arms, 8),
      ...soloTables(solo, soloRounds),
      {
        title: 'Per round: wall seconds in the order run (the order rotates each round); BPF runs under B, the load average and other bpftrace processes at the round\'s start',
        columns: ['round', 'order', 'A s', 'F s', 'S s', 'B s', 'B/A', 'B runs (k)', 'load', 'other bpftrace'],
        rows: arms.A.map((a, i) => [
          i + 1,
          roundOrder(armNames, i).join(''),
          round(wallOf(a), 2),
          ...(['F', 'S', 'B'] as const).map((x) => round(wallOf(arms[x][i]!), 2)),
          round(wallOf(arms.B[i]!) / wallOf(a), 4),
          arms.B[i]!.kernel ? Math.round(arms.B[i]!.kernel!.runCount / 1e3) : null,
          round(context[i]?.load ?? 0, 2),
          context[i]?.others ?? null,
        ]),
      },
    ],
    checks,
    notes: [
      `monitors: ${runnable.join(', ')}${notRunnable.length ? `; not runnable here: ${notRunnable.map((s) => `${s.monitor} (${s.status})`).join(', ')}` : ''}`,
      `workload: ${sourceCount} generated C files, gcc -O2 -c two at a time (xargs -P2); tar -cf - /usr/share/doc | gzip -1 > /dev/null; grep -r -l define /usr/include > /dev/null. CPU: bash \`times\` of the children (user+sys)`,
      `${rounds} rounds of A, F, S, B (order rotated each round); F, S and B wait until attached + 1 s, sample, run the workload, sample, stop. The scripts of F and S are compiled once (bpftrace --aot) and run by bpftrace-aotrt each round`,
      `F's probes per process: ${attachList(all)}`,
      'bpftrace CPU: utime+stime of every bpftrace/bpftrace-aotrt process of the arm (/proc/<pid>/stat); "whole" is from its start to just before it stops. The BPF programs run in the kernel on behalf of the traced tasks: their time is inside the workload\'s sys CPU',
      `kernel.bpf_stats_enabled=1 for the whole benchmark (A has no programs; restored after); switched off by someone else during ${statsOff} windows (re-enabled)`,
      `load average at the end: ${loadAvg()}; other bpftrace processes at the start: ${foreign}`,
    ],
    raw: {
      monitors: runnable,
      notRunnable,
      rounds: Object.fromEntries(armNames.map((a) => [a, arms[a].map(slim)])),
      programs: Object.fromEntries((['F', 'S', 'B'] as const).map((a) => [a, programTable(arms[a].map((r) => r.progs))])),
      solo: Object.fromEntries(Object.entries(solo).map(([m, a]) => [m, Object.fromEntries(armNames.map((x) => [x, a[x].map(slim)]))])),
      floorAttach: all?.floorAttach ?? {},
      context,
    },
  };
}

if (isMain(import.meta.url)) await mainOf(runOverheadBuild);
