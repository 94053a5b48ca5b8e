// Benchmark 1, overhead on a mixed workload: workloads/mixed.c (process creation, opens and reads, syscalls,
// O_DIRECT block I/O, page faults, pipe ping-pong) timed without monitoring (A) and under `ebpfmon start` with
// every monitor this machine can run (B), interleaved A F S B (the order rotated each round), the median of the
// per-round ratios reported.
// F is the floor: bpftrace-aotrt attached to the same tracepoints as B, each only counting into one map. S runs the
// bare generated scripts as ebpfmon runs them, without ebpfmon. F/A is what the tracepoints cost before any script
// reads a field; S/F what the scripts add; B/S what ebpfmon's user space adds. The second scenario, a build
// server with CPU accounting and in-kernel figures, is overhead-build.ts.
//   node dist/scripts/bench/overhead.js [--quick] [--out DIR]
// Target: median slowdown < 2 %; the design's ceiling 5 %.
import { rm } from 'node:fs/promises';
import path from 'node:path';
import { armNames, roundOrder, uniqueAttach, type ArmName } from './arm-stats.js';
import { prepareArms, runArm, type ArmContext, type ArmSet } from './arms.js';
import {
  benchConfig, compile, foreignBpftrace, isMain, isRoot, loadAvg, mainOf, median, round, runnableMonitors, runText,
  scratchDir, skipped, type BenchOptions, type BenchResult,
} from './common.js';

const phases = ['spawn', 'open', 'syscall', 'dio', 'fault', 'pingpong', 'total'] as const;
type Timing = Record<(typeof phases)[number], number>;

const pct = (ratio: number): number => round((ratio - 1) * 100, 2);

export async function runOverhead(o: BenchOptions): Promise<BenchResult> {
  const title = 'Overhead: mixed workload, unmonitored (A) vs all runnable monitors (B), with the floor (F) and the bare scripts (S)';
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
  const ctx: ArmContext = { work, config };
  const all = await prepareArms(ctx, runnable, '').catch(async (e: unknown) => {
    await rm(work, { recursive: true, force: true });
    throw e;
  });
  /** The workload under each arm of `arms`, in that order. */
  const measureRound = async (set: ArmSet, arms: readonly ArmName[]): Promise<{ timing: Partial<Record<ArmName, Timing>>; attachMs: number }> => {
    const timing: Partial<Record<ArmName, Timing>> = {};
    let attachMs = 0;
    for (const arm of arms) {
      const r = await runArm(arm, set, ctx, runMixed);
      timing[arm] = r.timing;
      if (arm === 'B') attachMs = r.attachMs ?? 0;
    }
    return { timing, attachMs };
  };

  await runMixed(); // warm-up: page cache, the file system's allocation of the O_DIRECT file
  const a: Timing[] = [];
  const b: Timing[] = [];
  const f: Timing[] = [];
  const sb: Timing[] = [];
  const attachMs: number[] = [];
  const soloPairs = o.quick ? 3 : 5;
  /** Monitor -> per pair, the B/A ratio of every phase (in `phases` order) with only that monitor running. */
  const solo: Record<string, number[][]> = {};
  try {
    for (let i = 0; i < pairs; i++) {
      // The order rotates each round, so that no arm always runs first or right after another.
      const r = await measureRound(all, roundOrder(armNames, i));
      a.push(r.timing.A!);
      f.push(r.timing.F!);
      sb.push(r.timing.S!);
      b.push(r.timing.B!);
      attachMs.push(r.attachMs);
      process.stderr.write(
        `overhead: round ${i + 1}/${pairs}: A ${(a[i]!.total / 1e9).toFixed(3)} s, F ${(f[i]!.total / 1e9).toFixed(3)} s, S ${(sb[i]!.total / 1e9).toFixed(3)} s, B ${(b[i]!.total / 1e9).toFixed(3)} s\n`,
      );
    }
    // Then each monitor alone, so the total can be traced to its parts (fewer pairs: a breakdown, not the verdict).
    for (const m of runnable) {
      const set: ArmSet = { monitors: [m], floor: [], bare: [], floorAttach: {} };
      for (let i = 0; i < soloPairs; i++) {
        const r = await measureRound(set, ['A', 'B']);
        (solo[m] ??= []).push(phases.map((p) => r.timing.B![p] / r.timing.A![p]));
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
  const scriptsRatio = median(ratiosOf(sb, a, 'total'));
  const scriptsAboveFloor = median(ratiosOf(sb, f, 'total'));
  const aboveScripts = median(ratiosOf(b, sb, 'total'));
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
    round(median(sb.map((x) => x[p])) / 1e6, 1),
    pct(median(ratiosOf(sb, a, p))),
    pct(median(ratiosOf(sb, f, p))),
    pct(median(ratiosOf(b, f, p))),
    pct(median(ratiosOf(b, sb, p))),
  ]);
  const notes = [
    `monitors: ${runnable.join(', ')}${notRunnable.length ? `; not runnable here: ${notRunnable.map((s) => `${s.monitor} (${s.status})`).join(', ')}` : ''}`,
    `${pairs} rounds of A, F, S, B (the order rotated each round); B starts ebpfmon, waits for 'monitors attached' + 1 s, runs the workload, stops ebpfmon`,
    `F (the floor): bpftrace-aotrt on B's probes, per process, no filters, each \`@n = count();\` only, attached + 1 s: ${Object.entries(all.floorAttach).map(([id, at]) => `${id}: ${uniqueAttach(at).join(' ')}`).join('; ')}`,
    'S (the bare scripts): what `ebpfmon generate` prints, compiled once with bpftrace --aot and run by bpftrace-aotrt with its environment, output into a file nobody reads, attached + 1 s',
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
        title: 'Per phase: medians of A and B (ms), median of the per-round ratios B/A, slowdown % (median, min, max over rounds); the floor F and the bare scripts S (ms), and the medians of per-round ratios (%)',
        columns: ['phase', 'A ms', 'B ms', 'B/A', 'slowdown %', 'min %', 'max %', 'F ms', 'F/A %', 'S ms', 'S/A %', 'S/F %', 'B/F %', 'B/S %'],
        rows,
      },
      {
        title: `Each monitor alone: median slowdown % per phase over ${soloPairs} pairs (where the total above comes from)`,
        columns: ['monitor', ...phases],
        rows: Object.entries(solo).map(([m, rs]) => [m, ...phases.map((_, j) => pct(median(rs.map((r) => r[j]!))))]),
      },
      {
        title: 'Per round (total)',
        columns: ['round', 'A ms', 'F ms', 'S ms', 'B ms', 'B/A', 'F/A', 'S/A'],
        rows: a.map((x, i) => [
          i + 1,
          round(x.total / 1e6, 1),
          round(f[i]!.total / 1e6, 1),
          round(sb[i]!.total / 1e6, 1),
          round(b[i]!.total / 1e6, 1),
          round(b[i]!.total / x.total, 4),
          round(f[i]!.total / x.total, 4),
          round(sb[i]!.total / x.total, 4),
        ]),
      },
    ],
    checks: [
      { figure: 'overhead: median slowdown', value: pct(medRatio), unit: '%', target: '< 2 %', pass: pct(medRatio) < 2 },
      { figure: 'overhead: median slowdown (ceiling)', value: pct(medRatio), unit: '%', target: '< 5 %', pass: pct(medRatio) < 5 },
      // Reference figures, no verdict: the floor is what the probes cost any bpftrace program; above it is ebpfmon's.
      { figure: 'overhead: the floor alone (F/A)', value: pct(floorRatio), unit: '%', target: '(reference)', pass: null },
      { figure: 'overhead: ebpfmon above the floor (B/F)', value: pct(aboveFloor), unit: '%', target: '(reference)', pass: null },
      { figure: 'overhead: the bare scripts (S/A)', value: pct(scriptsRatio), unit: '%', target: '(reference)', pass: null },
      { figure: 'overhead: the scripts above the floor (S/F)', value: pct(scriptsAboveFloor), unit: '%', target: '(reference)', pass: null },
      { figure: "overhead: ebpfmon's user space (B/S)", value: pct(aboveScripts), unit: '%', target: '(reference)', pass: null },
    ],
    notes,
    raw: { monitors: runnable, notRunnable, a, b, floor: f, bare: sb, floorAttach: all.floorAttach, attachMs, solo },
  };
}

if (isMain(import.meta.url)) await mainOf(runOverhead);
