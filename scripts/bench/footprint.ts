// Benchmark 5, footprint and start-up: `ebpfmon start` with every monitor this machine can run. Start-up: from
// spawning it to its 'monitors attached' log line. Footprint: VmRSS of the supervisor plus its bpftrace
// processes (from /proc), sampled every 250 ms over a few intervals while workloads/mixed.c runs; the peak.
// Twice: as configured by default (scripts compiled ahead of time and run by bpftrace-aotrt where it is installed),
// and with runtime.aot: false (bpftrace compiles and runs them), for comparison.
//   node dist/scripts/bench/footprint.js [--quick] [--out DIR]
// Before the workload, an idle window: the CPU the supervisor and its bpftrace processes use while the host does
// (almost) nothing, from /proc/<pid>/stat over the window (the "at most 1 % of one CPU on an idle host").
// Targets: <= 150 MB total RSS, <= 3 s to attached, <= 1 % of one CPU idle.
import { rm } from 'node:fs/promises';
import path from 'node:path';
import {
  benchConfig, bpftracePids, commOf, cpuSecondsOf, compile, foreignBpftrace, haveBpftrace, isMain, isRoot, loadAvg, mainOf, median, round, runnableMonitors,
  runText, rssKb, scratchDir, skipped, sleep, startEbpfmon, type BenchOptions, type BenchResult,
} from './common.js';

interface Run {
  attachMs: number;
  /** The runtime processes' names: bpftrace, or bpftrace-aotrt for a script compiled ahead of time. */
  runtimes: string;
  stopMs: number;
  bpftraceProcesses: number;
  peakSupervisorMb: number;
  peakBpftraceMb: number;
  peakTotalMb: number;
  /** At the sample of the peak total: anonymous and file-backed parts of it (MiB). */
  peakAnonMb: number;
  peakFileMb: number;
  /** % of one CPU of the supervisor and of its bpftrace processes over the idle window. */
  idleSupervisorPct: number;
  idleBpftracePct: number;
}

const mb = (kb: number): number => round(kb / 1024, 1);

export async function runFootprint(o: BenchOptions): Promise<BenchResult> {
  const title = 'Footprint and start-up: all runnable monitors, ahead of time (default) and in bpftrace';
  if (!isRoot() || !haveBpftrace()) return skipped('footprint', title, 'needs root and bpftrace', o.quick);
  const started = Date.now();
  const runsWanted = o.quick ? 2 : 4;
  const { runnable } = await runnableMonitors();
  const mixed = await compile('mixed');
  const work = await scratchDir('footprint');
  const foreign = await foreignBpftrace();
  const idleSeconds = o.quick ? 15 : 30;
  /** `runsWanted` starts of ebpfmon with these monitors, sampled under the mixed workload. */
  const measure = async (label: string, aot: boolean): Promise<Run[]> => {
    const runs: Run[] = [];
    for (let i = 0; i < runsWanted; i++) {
      const config = await benchConfig(work, path.join(work, `out-${label}-${i}`), `runtime:\n  aot: ${aot}`);
      const mon = startEbpfmon(config, ['-m', runnable.join(',')]);
      let stopMs = 0;
      try {
        const { ms } = await mon.attached;
        const pids = await bpftracePids(mon.pid);
        const runtimes = [...new Set(await Promise.all(pids.map((p) => commOf(p))))].join('+');
        let sup = 0;
        let bt = 0;
        let total = 0;
        let parts = { anon: 0, file: 0 };
        // Idle: two intervals to settle after attaching (the start-up's garbage is collected in the first seconds:
        // a 10-s window right after attaching read 0.8-1.1 % where 60 s read 0.37 %), then the window.
        await sleep(5000);
        const idle0 = { sup: await cpuSecondsOf([mon.pid]), bt: await cpuSecondsOf(pids), at: performance.now() };
        await sleep(idleSeconds * 1000);
        const idleS = (performance.now() - idle0.at) / 1000;
        const idleSupervisorPct = round((((await cpuSecondsOf([mon.pid])) - idle0.sup) / idleS) * 100, 2);
        const idleBpftracePct = round((((await cpuSecondsOf(pids)) - idle0.bt) / idleS) * 100, 2);
        let sampling = true;
        const sampler = (async () => {
          while (sampling) {
            const s = await rssKb(mon.pid);
            const b = { rss: 0, anon: 0, file: 0 };
            for (const p of pids) {
              const r = await rssKb(p);
              b.rss += r.rss;
              b.anon += r.anon;
              b.file += r.file;
            }
            sup = Math.max(sup, s.rss);
            bt = Math.max(bt, b.rss);
            if (s.rss + b.rss > total) {
              total = s.rss + b.rss;
              parts = { anon: s.anon + b.anon, file: s.file + b.file };
            }
            await sleep(250);
          }
        })();
        // Load for the monitors to report on, then two more intervals (2 s each) of the rows it caused.
        await runText(mixed, [work]);
        await sleep(4500);
        sampling = false;
        await sampler;
        runs.push({ attachMs: ms, stopMs: 0, runtimes, bpftraceProcesses: pids.length, peakSupervisorMb: mb(sup), peakBpftraceMb: mb(bt), peakTotalMb: mb(total), peakAnonMb: mb(parts.anon), peakFileMb: mb(parts.file), idleSupervisorPct, idleBpftracePct });
      } finally {
        stopMs = (await mon.stop()).ms;
      }
      runs[runs.length - 1]!.stopMs = stopMs;
      process.stderr.write(`footprint (${label}): run ${i + 1}/${runsWanted}: attached in ${Math.round(runs[i]!.attachMs)} ms, peak RSS ${runs[i]!.peakTotalMb} MiB, idle CPU ${runs[i]!.idleSupervisorPct} + ${runs[i]!.idleBpftracePct} %\n`);
    }
    return runs;
  };
  let aot: Run[];
  let jit: Run[];
  try {
    aot = await measure('aot', true);
    jit = await measure('jit', false);
  } finally {
    await rm(work, { recursive: true, force: true });
  }
  const table = (t: string, runs: Run[]): BenchResult['tables'][number] => ({
    title: t,
    columns: ['run', 'runs in', 'to attached s', 'stop s', 'bpftrace procs', 'supervisor MiB', 'bpftrace MiB', 'total MiB', 'of it anon', 'of it file', 'idle CPU % supervisor', 'idle CPU % bpftrace'],
    rows: runs.map((r, i) => [
      i + 1, r.runtimes, round(r.attachMs / 1000, 2), round(r.stopMs / 1000, 2), r.bpftraceProcesses, r.peakSupervisorMb, r.peakBpftraceMb, r.peakTotalMb, r.peakAnonMb, r.peakFileMb,
      r.idleSupervisorPct, r.idleBpftracePct,
    ]),
  });
  // The targets are in MB; /proc counts KiB. 150 MB = 143 MiB.
  const peakMB = (runs: Run[]): number => round((Math.max(...runs.map((r) => r.peakTotalMb)) * 2 ** 20) / 1e6, 1);
  const medAttach = (runs: Run[]): number => round(median(runs.map((r) => r.attachMs)) / 1000, 2);
  const medIdle = (runs: Run[]): number => round(median(runs.map((r) => r.idleSupervisorPct + r.idleBpftracePct)), 2);
  return {
    bench: 'footprint',
    title,
    startedAt: new Date(started).toISOString(),
    seconds: (Date.now() - started) / 1000,
    quick: o.quick,
    tables: [
      table(`ebpfmon start -m ${runnable.join(',')} (shared process; default runtime.aot: true)`, aot),
      table('the same with runtime.aot: false (bpftrace compiles and runs the script, as before ahead-of-time runs)', jit),
    ],
    checks: [
      { figure: 'footprint: peak total RSS', value: peakMB(aot), unit: 'MB', target: '<= 150 MB', pass: peakMB(aot) <= 150 },
      { figure: 'footprint: median start to attached', value: medAttach(aot), unit: 's', target: '<= 3 s', pass: medAttach(aot) <= 3 },
      { figure: 'own CPU on an idle host (supervisor + bpftrace), median', value: medIdle(aot), unit: '% of one CPU', target: '<= 1 %', pass: medIdle(aot) <= 1 },
      { figure: 'footprint: peak total RSS, runtime.aot: false', value: peakMB(jit), unit: 'MB', target: '(comparison)', pass: null },
      { figure: 'footprint: median start to attached, runtime.aot: false', value: medAttach(jit), unit: 's', target: '(comparison)', pass: null },
    ],
    notes: [
      'RSS: VmRSS peaks over 250 ms samples, the supervisor (node) and its bpftrace process(es) summed; shared pages count in each',
      '"of it anon / file": the peak total split into anonymous memory and file-backed pages (the node binary, and the LLVM and clang libraries bpftrace compiled with: clean pages the kernel can reclaim, but VmRSS counts them)',
      `idle CPU: utime+stime (/proc/<pid>/stat) over ${idleSeconds} s with no workload, 5 s after attaching; % of one CPU. The host is idle but for the benchmark itself and whatever else the machine runs`,
      'start to attached: spawn of `node dist/src/cli/main.js start` to its log line, including Node start-up, config, capability checks and bpftrace compile/attach',
      `load average at the end: ${loadAvg()}; other bpftrace processes at the start: ${foreign} (they compete for the CPU bpftrace compiles on)`,
    ],
    raw: { aot, jit, monitors: runnable },
  };
}

if (isMain(import.meta.url)) await mainOf(runFootprint);
