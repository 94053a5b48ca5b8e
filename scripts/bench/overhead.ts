// Benchmark 1, overhead on a mixed workload: workloads/mixed.c (process creation, opens and reads, syscalls,
// O_DIRECT block I/O, page faults, pipe ping-pong) timed without monitoring (A) and under `ebpfmon start` with
// every monitor this machine can run (B), interleaved A F B A F B ..., the median of the per-round ratios reported.
// F is the floor: bpftrace attached to the same probes as B, each only counting into one map. F/A is what the tracepoints cost before any script reads a field; B/F is what ebpfmon adds on top.
//   node dist/scripts/bench/overhead.js [--quick] [--out DIR]
// Target: median slowdown < 2 %; the design's ceiling 5 %.
import { rm } from 'node:fs/promises';
import path from 'node:path';
import {
  benchConfig, compile, floorScript, foreignBpftrace, isMain, isRoot, loadAvg, mainOf, median, round, runnableMonitors, runText,
  scratchDir, skipped, sleep, startBpftrace, startEbpfmon, type BenchOptions, type BenchResult,
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
  const floor = await floorScript(config, runnable);
  /** The workload under the floor script: bpftrace on the same probes, each only counting. */
  const underFloor = async (): Promise<Timing> => {
    const tracer = await startBpftrace(['-e', floor.text]);
    try {
      await sleep(1000);
      return await runMixed();
    } finally {
      await tracer.stop();
    }
  };
  /** One round: the workload alone, under the floor if asked, then under `ebpfmon start -m <monitors>`. */
  const measureRound = async (monitors: readonly string[], withFloor: boolean): Promise<{ a: Timing; f: Timing | null; b: Timing; attachMs: number }> => {
    const alone = await runMixed();
    const underF = withFloor ? await underFloor() : null;
    const mon = startEbpfmon(config, ['-m', monitors.join(',')]);
    try {
      const { ms } = await mon.attached;
      await sleep(1000); // bpftrace settles after attaching; the workload then sees steady-state monitoring
      return { a: alone, f: underF, b: await runMixed(), attachMs: ms };
    } finally {
      await mon.stop();
    }
  };

  await runMixed(); // warm-up: page cache, the file system's allocation of the O_DIRECT file
  const a: Timing[] = [];
  const b: Timing[] = [];
  const f: Timing[] = [];
  const attachMs: number[] = [];
  const soloPairs = o.quick ? 3 : 5;
  /** Monitor -> per pair, the B/A ratio of every phase (in `phases` order) with only that monitor running. */
  const solo: Record<string, number[][]> = {};
  try {
    for (let i = 0; i < pairs; i++) {
      const r = await measureRound(runnable, true);
      a.push(r.a);
      f.push(r.f!);
      b.push(r.b);
      attachMs.push(r.attachMs);
      process.stderr.write(`overhead: round ${i + 1}/${pairs}: A ${(a[i]!.total / 1e9).toFixed(3)} s, floor ${(f[i]!.total / 1e9).toFixed(3)} s, B ${(b[i]!.total / 1e9).toFixed(3)} s\n`);
    }
    // Then each monitor alone, so the total can be traced to its parts (fewer pairs: a breakdown, not the verdict).
    for (const m of runnable) {
      for (let i = 0; i < soloPairs; i++) {
        const r = await measureRound([m], false);
        (solo[m] ??= []).push(phases.map((p) => r.b[p] / r.a[p]));
      }
      process.stderr.write(`overhead: ${m} alone: ${pct(median(solo[m]!.map((r) => r[phases.length - 1]!)))} %\n`);
    }
  } finally {
    await rm(work, { recursive: true, force: true });
  }
  type Phase = (typeof phases)[number];
  /** Per round, phase p of `over` divided by phase p of `under`. */
  const ratiosOf = (over: Timing[], under: Timing[], p: Phase): number[] => under.map((x, i) => over[i]![p] / x[p]);
  const ratios = (p: Phase): number[] => ratiosOf(b, a, p);
  const medRatio = median(ratios('total'));
  const floorRatio = median(ratiosOf(f, a, 'total'));
  const aboveFloor = median(ratiosOf(b, f, 'total'));
  const rows = phases.map((p) => [
    p,
    round(median(a.map((x) => x[p])) / 1e6, 1),
    round(median(b.map((x) => x[p])) / 1e6, 1),
    round(median(ratios(p)), 4),
    pct(median(ratios(p))),
    pct(Math.min(...ratios(p))),
    pct(Math.max(...ratios(p))),
    round(median(f.map((x) => x[p])) / 1e6, 1),
    pct(median(ratiosOf(f, a, p))),
    pct(median(ratiosOf(b, f, p))),
  ]);
  const notes = [
    `monitors: ${runnable.join(', ')}${notRunnable.length ? `; not runnable here: ${notRunnable.map((s) => `${s.monitor} (${s.status})`).join(', ')}` : ''}`,
    `${pairs} rounds of A, F, B; B starts ebpfmon, waits for 'monitors attached' + 1 s, runs the workload, stops ebpfmon`,
    `F (the floor): bpftrace on B's ${floor.probes.length} probes, no filters, each \`@n = count();\` only, attached + 1 s: ${floor.probes.join(' ')}`,
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
        title: 'Per phase: medians of A and B (ms), median of the per-round ratios B/A, slowdown % (median, min, max over rounds); the floor F (ms), F over A and B over F (median %)',
        columns: ['phase', 'A ms', 'B ms', 'B/A', 'slowdown %', 'min %', 'max %', 'F ms', 'F/A %', 'B/F %'],
        rows,
      },
      {
        title: `Each monitor alone: median slowdown % per phase over ${soloPairs} pairs (where the total above comes from)`,
        columns: ['monitor', ...phases],
        rows: Object.entries(solo).map(([m, rs]) => [m, ...phases.map((_, j) => pct(median(rs.map((r) => r[j]!))))]),
      },
      {
        title: 'Per round (total)',
        columns: ['round', 'A ms', 'F ms', 'B ms', 'B/A', 'F/A'],
        rows: a.map((x, i) => [i + 1, round(x.total / 1e6, 1), round(f[i]!.total / 1e6, 1), round(b[i]!.total / 1e6, 1), round(b[i]!.total / x.total, 4), round(f[i]!.total / x.total, 4)]),
      },
    ],
    checks: [
      { figure: 'overhead: median slowdown', value: pct(medRatio), unit: '%', target: '< 2 %', pass: pct(medRatio) < 2 },
      { figure: 'overhead: median slowdown (ceiling)', value: pct(medRatio), unit: '%', target: '< 5 %', pass: pct(medRatio) < 5 },
      // Reference figures, no verdict: the floor is what the probes cost any bpftrace program; above it is ebpfmon's.
      { figure: 'overhead: the floor alone (F/A)', value: pct(floorRatio), unit: '%', target: '(reference)', pass: null },
      { figure: 'overhead: ebpfmon above the floor (B/F)', value: pct(aboveFloor), unit: '%', target: '(reference)', pass: null },
    ],
    notes,
    raw: { monitors: runnable, notRunnable, a, b, floor: f, floorScript: floor.text, attachMs, solo },
  };
}

if (isMain(import.meta.url)) await mainOf(runOverhead);
