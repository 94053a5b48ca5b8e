// Cost forecast against measurement, on the build workload of overhead-build: per round, one pass with the
// forecast's own rate measurement (kernel counters and the count probe over the whole build, as `check --cost`
// does over N seconds) gives each monitor's forecast share of one CPU; then each runnable monitor alone under
// `ebpfmon start -m <monitor>`, with kernel.bpf_stats_enabled=1, gives its measured in-kernel BPF time over the
// build's wall time. Target: forecast within 30 % of the measured share, or 0.5 percentage points, whichever is larger.
//   node dist/scripts/bench/forecast.js [--quick] [--out DIR]
import os from 'node:os';
import path from 'node:path';
import { rm } from 'node:fs/promises';
import {
  benchConfig, bpftracePids, foreignBpftrace, isMain, isRoot, haveBpftrace, loadAvg, mainOf, median, round, runnableMonitors,
  scratchDir, skipped, startEbpfmon, withBpfStats, type BenchOptions, type BenchResult,
} from './common.js';
import { kernelTotals, progDeltas } from './arm-stats.js';
import { sampleProgs } from './tracers.js';
import { prepareBuild } from './build-workload.js';
import { loadConfig } from '../../src/config/load.js';
import { detectCapabilities } from '../../src/plan/capabilities.js';
import { buildPlan } from '../../src/plan/plan.js';
import { monitorNames } from '../../src/monitors/registry.js';
import { calibrate, scaleOf } from '../../src/forecast/calibration.js';
import { calibrationKey, forecastDuring, tracerOf } from '../../src/forecast/run.js';

/** The target: |forecast - measured| <= max(30 % of measured, 0.5 points). */
export const withinTarget = (forecast: number, measured: number): boolean => Math.abs(forecast - measured) <= Math.max(0.3 * measured, 0.5);

export async function runForecastBench(o: BenchOptions): Promise<BenchResult> {
  const title = 'Cost forecast (check --cost) against measured in-kernel BPF time, each monitor alone on the build workload';
  if (!isRoot() || !haveBpftrace()) return skipped('forecast', title, 'needs root and bpftrace', o.quick);
  const started = Date.now();
  const rounds = o.quick ? 1 : 3;
  const work = await scratchDir('forecast');
  const foreign = await foreignBpftrace();
  try {
    const config = await benchConfig(work, path.join(work, 'out'));
    const { runnable, skipped: notHere } = await runnableMonitors();
    const cfg = await loadConfig(config);
    const caps = await detectCapabilities({ bpftrace: cfg.runtime.bpftrace, mount: true });
    const key = calibrationKey(caps);
    if (!key || !caps.bpftrace.path) return skipped('forecast', title, 'bpftrace has no version', o.quick);
    // Measured again: the cached calibration may come from another hour of a VM whose speed changes by a third.
    const calibration = await calibrate(key, { tracer: tracerOf(caps, caps.bpftrace.path), recalibrate: true });
    const host = { scale: scaleOf(calibration), cpus: os.availableParallelism() };
    const plan = buildPlan(cfg, monitorNames(), caps);
    const build = await prepareBuild(path.join(work, 'build'));
    await build.run(); // warm-up: page cache, object files
    const forecast: Record<string, number[]> = {};
    const rates: Record<string, number[]> = {};
    const measured: Record<string, number[]> = {};
    /** Runs of the monitor's busiest program per second and ns per run of all its programs per such run, measured. */
    const runsPerSecond: Record<string, number[]> = {};
    const nsPerRun: Record<string, number[]> = {};
    await withBpfStats(async (ensure) => {
      for (let r = 0; r < rounds; r++) {
        const fs = await forecastDuring({ config: cfg, caps, verdicts: plan.verdicts, selected: runnable, host, during: () => build.run() });
        for (const f of fs) {
          (forecast[f.monitor] ??= []).push(f.cpuPercent ?? 0);
          (rates[f.monitor] ??= []).push(f.eventsPerSecond ?? 0);
        }
        for (const m of runnable) {
          const mon = startEbpfmon(config, ['-m', m]);
          try {
            await mon.attached;
            const pids = await bpftracePids(mon.pid);
            await ensure();
            const before = await sampleProgs(pids, new Map());
            const t0 = performance.now();
            await build.run();
            const wallNs = (performance.now() - t0) * 1e6;
            const deltas = progDeltas(before, await sampleProgs(pids, new Map()));
            const ns = kernelTotals(deltas).runTimeNs;
            const share = (ns / wallNs) * 100;
            (measured[m] ??= []).push(share);
            // The event the forecast counts runs the busiest program (one run per event); other programs of the
            // monitor (the interval timer, a sys_enter) add their time to each such event.
            const busiest = Math.max(0, ...deltas.map((d) => d.runCount));
            (runsPerSecond[m] ??= []).push(busiest / (wallNs / 1e9));
            (nsPerRun[m] ??= []).push(busiest > 0 ? ns / busiest : 0);
            process.stderr.write(`forecast: round ${r + 1}/${rounds} ${m}: forecast ${fs.find((f) => f.monitor === m)?.cpuPercent ?? '-'} %, measured ${share.toFixed(3)} %\n`);
          } finally {
            await mon.stop();
          }
        }
      }
    });
    const rows = runnable.map((m) => {
      const f = median(forecast[m] ?? []);
      const x = median(measured[m] ?? []);
      return { m, rate: median(rates[m] ?? []), runs: median(runsPerSecond[m] ?? []), nsRun: median(nsPerRun[m] ?? []), f, x, ok: withinTarget(f, x) };
    });
    return {
      bench: 'forecast',
      title,
      startedAt: new Date(started).toISOString(),
      seconds: (Date.now() - started) / 1000,
      quick: o.quick,
      tables: [
        {
          title: `share of one CPU in the kernel during the build, medians over ${rounds} round(s); calibration ${calibration.floorNs} ns here vs ${calibration.referenceNs} ns reference (x${host.scale.toFixed(2)})`,
          columns: ['monitor', 'events/s', 'forecast ns/event', 'measured events/s', 'measured ns/event', 'forecast %', 'measured %', 'diff (points)', 'forecast / measured', 'within target'],
          rows: rows.map((r) => [r.m, Math.round(r.rate), r.rate > 0 ? Math.round((r.f / 100) * 1e9 / r.rate) : null, Math.round(r.runs), Math.round(r.nsRun), round(r.f, 2), round(r.x, 2), round(r.f - r.x, 2), r.x > 0 ? round(r.f / r.x, 2) : null, r.ok ? 'yes' : 'no']),
        },
      ],
      checks: rows.map((r) => ({ figure: `forecast vs measured: ${r.m}`, value: round(r.f - r.x, 2), unit: 'points', target: 'within 30 % or 0.5 points', pass: r.ok })),
      notes: [
        'forecast: rates measured over one build run (kernel counters; syscall, open and exec by the count probe), x the monitor\'s declared ns per event x the calibration',
        'measured: sum of run_time_ns of the bpftrace programs of `ebpfmon start -m <monitor>` over another build run, / its wall time (the build runs slower under ebpfmon, so its rates differ a little)',
        ...(notHere.length ? [`not runnable here: ${notHere.map((s) => s.monitor).join(', ')}`] : []),
        `load average at the end: ${loadAvg()}; other bpftrace processes at the start: ${foreign}`,
      ],
      raw: { forecast, measured, rates, runsPerSecond, nsPerRun, calibration },
    };
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

if (isMain(import.meta.url)) await mainOf(runForecastBench);
