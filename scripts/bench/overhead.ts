// Benchmark 1, overhead on a mixed workload: workloads/mixed.c (process creation, opens and reads, syscalls,
// O_DIRECT block I/O, page faults, pipe ping-pong) timed without monitoring (A) and under `ebpfmon start` with
// every monitor this machine can run (B), interleaved A B A B ..., the median of the per-pair ratios reported.
//   node dist/scripts/bench/overhead.js [--quick] [--out DIR]
// Target: median slowdown < 2 %; the design's ceiling 5 %.
import { rm } from 'node:fs/promises';
import path from 'node:path';
import {
  benchConfig, compile, foreignBpftrace, isMain, isRoot, loadAvg, mainOf, median, round, runnableMonitors, runText,
  scratchDir, skipped, sleep, startEbpfmon, type BenchOptions, type BenchResult,
} from './common.js';

const phases = ['spawn', 'open', 'syscall', 'dio', 'fault', 'pingpong', 'total'] as const;
type Timing = Record<(typeof phases)[number], number>;

const pct = (ratio: number): number => round((ratio - 1) * 100, 2);

export async function runOverhead(o: BenchOptions): Promise<BenchResult> {
  const title = 'Overhead: mixed workload, unmonitored (A) vs all runnable monitors (B)';
  if (!isRoot()) return skipped('overhead', title, 'needs root', o.quick);
  const started = Date.now();
  const pairs = o.quick ? 5 : 9;
  const { runnable, skipped: notRunnable } = await runnableMonitors();
  const mixed = await compile('mixed');
  const work = await scratchDir('overhead');
  const outDir = path.join(work, 'out');
  const config = await benchConfig(work, outDir);
  const foreign = await foreignBpftrace();
  const runMixed = async (): Promise<Timing> => JSON.parse(await runText(mixed, [work])) as Timing;
  /** One A/B pair: the workload alone, then under `ebpfmon start -m <monitors>`; with the attach time. */
  const pair = async (monitors: readonly string[]): Promise<{ a: Timing; b: Timing; attachMs: number }> => {
    const alone = await runMixed();
    const mon = startEbpfmon(config, ['-m', monitors.join(',')]);
    try {
      const { ms } = await mon.attached;
      await sleep(1000); // bpftrace settles after attaching; the workload then sees steady-state monitoring
      return { a: alone, b: await runMixed(), attachMs: ms };
    } finally {
      await mon.stop();
    }
  };

  await runMixed(); // warm-up: page cache, the file system's allocation of the O_DIRECT file
  const a: Timing[] = [];
  const b: Timing[] = [];
  const attachMs: number[] = [];
  const soloPairs = o.quick ? 3 : 5;
  /** Monitor -> per pair, the B/A ratio of every phase (in `phases` order) with only that monitor running. */
  const solo: Record<string, number[][]> = {};
  try {
    for (let i = 0; i < pairs; i++) {
      const r = await pair(runnable);
      a.push(r.a);
      b.push(r.b);
      attachMs.push(r.attachMs);
      process.stderr.write(`overhead: pair ${i + 1}/${pairs}: A ${(a[i]!.total / 1e9).toFixed(3)} s, B ${(b[i]!.total / 1e9).toFixed(3)} s\n`);
    }
    // Then each monitor alone, so the total can be traced to its parts (fewer pairs: a breakdown, not the verdict).
    for (const m of runnable) {
      for (let i = 0; i < soloPairs; i++) {
        const r = await pair([m]);
        (solo[m] ??= []).push(phases.map((p) => r.b[p] / r.a[p]));
      }
      process.stderr.write(`overhead: ${m} alone: ${pct(median(solo[m]!.map((r) => r[phases.length - 1]!)))} %\n`);
    }
  } finally {
    await rm(work, { recursive: true, force: true });
  }
  const ratios = (p: (typeof phases)[number]): number[] => a.map((x, i) => b[i]![p] / x[p]);
  const medRatio = median(ratios('total'));
  const rows = phases.map((p) => [
    p,
    round(median(a.map((x) => x[p])) / 1e6, 1),
    round(median(b.map((x) => x[p])) / 1e6, 1),
    round(median(ratios(p)), 4),
    pct(median(ratios(p))),
    pct(Math.min(...ratios(p))),
    pct(Math.max(...ratios(p))),
  ]);
  const notes = [
    `monitors: ${runnable.join(', ')}${notRunnable.length ? `; not runnable here: ${notRunnable.map((s) => `${s.monitor} (${s.status})`).join(', ')}` : ''}`,
    `${pairs} pairs, A then B in each; B starts ebpfmon, waits for 'monitors attached' + 1 s, runs the workload, stops ebpfmon`,
    `load average at the end: ${loadAvg()}; other bpftrace processes at the start: ${foreign} (concurrent tests add noise to A and B alike)`,
  ];
  return {
    bench: 'overhead',
    title,
    startedAt: new Date(started).toISOString(),
    seconds: (Date.now() - started) / 1000,
    quick: o.quick,
    tables: [
      {
        title: 'Per phase: medians of A and B (ms), median of the per-pair ratios B/A, slowdown % (median, min, max over pairs)',
        columns: ['phase', 'A ms', 'B ms', 'B/A', 'slowdown %', 'min %', 'max %'],
        rows,
      },
      {
        title: `Each monitor alone: median slowdown % per phase over ${soloPairs} pairs (where the total above comes from)`,
        columns: ['monitor', ...phases],
        rows: Object.entries(solo).map(([m, rs]) => [m, ...phases.map((_, j) => pct(median(rs.map((r) => r[j]!))))]),
      },
      {
        title: 'Per pair (total)',
        columns: ['pair', 'A ms', 'B ms', 'B/A'],
        rows: a.map((x, i) => [i + 1, round(x.total / 1e6, 1), round(b[i]!.total / 1e6, 1), round(b[i]!.total / x.total, 4)]),
      },
    ],
    checks: [
      { figure: 'overhead: median slowdown', value: pct(medRatio), unit: '%', target: '< 2 %', pass: pct(medRatio) < 2 },
      { figure: 'overhead: median slowdown (ceiling)', value: pct(medRatio), unit: '%', target: '< 5 %', pass: pct(medRatio) < 5 },
    ],
    notes,
    raw: { monitors: runnable, notRunnable, a, b, attachMs, solo },
  };
}

if (isMain(import.meta.url)) await mainOf(runOverhead);
