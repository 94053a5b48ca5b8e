// Benchmark 6, soak (issue 18): `ebpfmon start` with every runnable monitor at its defaults for an hour, under a
// churning workload (workloads/soak-churn.sh: short-lived processes, files created, opened and removed, O_DIRECT
// writes synced to disk), with output rotation at 1 MiB, compression and a retention limit, so files rotate, are
// gzipped and are removed while it runs. Every 30 s: RSS (anonymous and file-backed), open fds and CPU seconds of
// the supervisor and of each bpftrace process, and the output directory. At the end, after a clean stop (SIGINT):
// no interval missing in any aggregate monitor's rows (rotated .csv.gz files included, read by analyze's readers
// as each appears, so retention cannot hide one), rotation happened and every file starts with its header, RSS and
// fds flat after warm-up, no error in the log.
//   node dist/scripts/bench/soak.js [--minutes N] [--quick] [--out DIR]     (60 minutes; --quick: 6)
//   npm run bench -- --only soak [--minutes N]     (a plain `npm run bench` leaves it out: it takes an hour)
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdir, readdir, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { readCsvRecords } from '../../analysis/read-csv.js';
import { processUsage } from '../../src/daemon/status.js';
import { findMonitor } from '../../src/monitors/registry.js';
import { defaultInterval } from '../../src/monitors/types.js';
import { setprivPath } from '../../src/process/bpftrace.js';
import { parseOutputName } from '../../src/sinks/rotation.js';
import {
  benchConfig, bpftracePids, foreignBpftrace, haveBpftrace, isMain, isRoot, loadAvg, mainOf, round, runnableMonitors, rssKb, scratchDir, skipped,
  sleep, startEbpfmon, workloadsDir, type BenchOptions, type BenchResult, type Check, type LogRecord, type Table,
} from './common.js';
import {
  averageCpu, countByMessage, errorRecords, fileScanner, findGaps, gapFactor, gapInstants, growth, pointsOf, sampleRows, supervisorLabel, tracerLabels, warmupMinutes,
  type FileScan, type GapReport, type Growth, type ProcSample, type SoakSample,
} from './soak-stats.js';
import { labelsOf } from './tracers.js';
import { errnoOf } from '../../src/errors.js';

const sampleEveryMs = 30_000;
/** output.rotate.max_file_mb and output.retention.max_total_mb of the soak's config. */
const maxFileMb = 1;
const maxTotalMb = 24;
const churnParts = ['spawn', 'files', 'blockio'] as const;
const churnScript = path.join(workloadsDir, 'soak-churn.sh');

/** The workload's parts, each in its own process group (killed whole at the end) and killed with the bench (setpriv --pdeathsig). */
function startChurn(dir: string): ChildProcess[] {
  return churnParts.map((part) => {
    const argv = ['bash', churnScript, part, dir];
    const [file, args] = setprivPath ? [setprivPath, ['--pdeathsig', 'KILL', '--', ...argv]] : ['bash', argv.slice(1)];
    return spawn(file, args, { detached: true, stdio: 'ignore' });
  });
}

async function stopChurn(parts: readonly ChildProcess[]): Promise<void> {
  await Promise.all(
    parts.map(async (p) => {
      if (p.exitCode !== null || p.signalCode !== null || p.pid === undefined) return;
      const gone = new Promise((resolve) => p.once('exit', resolve));
      try {
        process.kill(-p.pid, 'SIGKILL');
      } catch {
        return;
      }
      await gone;
    }),
  );
}

async function sampleProc(label: string, pid: number): Promise<ProcSample | null> {
  const [usage, rss, fds] = await Promise.all([processUsage(pid), rssKb(pid), readdir(`/proc/${pid}/fd`).then((f) => f.length, () => null)]);
  if (!usage || fds === null) return null;
  return { label, pid, rssKb: rss.rss, anonKb: rss.anon, fileKb: rss.file, fds, cpuSeconds: usage.cpuSeconds };
}

/** Every output file of the run, read once: closed (.gz) files as they appear, the rest after the stop. */
interface OutputScan {
  files: Map<string, FileScan & { monitor: string; name: string }>;
  /** Files gone before they were read (retention removed them within a sample period). */
  vanished: string[];
  malformed: number;
}

async function scanOutput(dir: string, monitors: readonly string[], scan: OutputScan, final: boolean): Promise<{ files: number; gz: number; bytes: number }> {
  let files = 0;
  let gz = 0;
  let bytes = 0;
  for (const name of (await readdir(dir).catch(() => [] as string[])).sort()) {
    const full = path.join(dir, name);
    bytes += await stat(full).then((s) => s.size, () => 0);
    const parsed = parseOutputName(name, monitors, ['csv']);
    if (!parsed) continue;
    files++;
    if (parsed.gz) gz++;
    // A .gz is closed for good once its plain file is gone (rotation writes the .gz beside it, syncs it, and only
    // then removes the file: read earlier, the .gz may be half written); a plain file may still be written (or be
    // compressed a moment later) until the stop.
    if (scan.files.has(parsed.base) || (!final && !parsed.gz)) continue;
    if (!final && (await stat(path.join(dir, parsed.base)).then(() => true, () => false))) continue;
    const scanner = fileScanner(parsed.monitor);
    try {
      await readCsvRecords(full, (fields) => scanner.record(fields), { parser: 'fast', gz: parsed.gz, onMalformed: () => scan.malformed++, onOverlong: () => scan.malformed++ });
    } catch (e) {
      if (errnoOf(e) === 'ENOENT') {
        scan.vanished.push(name);
        continue;
      }
      throw e;
    }
    scan.files.set(parsed.base, { ...scanner.result(), monitor: parsed.monitor, name });
  }
  return { files, gz, bytes };
}

const logCount = (logs: readonly LogRecord[], msg: string): number => logs.filter((l) => l.msg?.startsWith(msg)).length;

/** Which bpftrace process (main, paths) runs each monitor, from the 'bpftrace attached its probes' log lines. */
const processOfMonitor = (logs: readonly LogRecord[]): Map<string, string> =>
  new Map(
    logs
      .filter((l) => l.msg === 'bpftrace attached its probes' && typeof l['monitors'] === 'string')
      .flatMap((l) => String(l['monitors']).split(',').map((m): [string, string] => [m, String(l['process'])])),
  );

/** Names retention removed (each log line lists up to 50 of them). */
const removedNames = (logs: readonly LogRecord[]): string[] =>
  logs.filter((l) => l.msg === 'retention: removed old output files').flatMap((l) => (Array.isArray(l['removed']) ? l['removed'].map(String) : []));

const pct1 = (g: Growth | null): number | null => (g?.percent === null || g === null ? null : round(g.percent, 1));
const mb = (kb: number): number => round(kb / 1024, 1);

export async function runSoak(o: BenchOptions): Promise<BenchResult> {
  const minutes = o.minutes ?? (o.quick ? 6 : 60);
  const title = `Soak: all runnable monitors for ${minutes} min under a churning workload, rotation at ${maxFileMb} MiB with compression and retention`;
  if (!isRoot() || !haveBpftrace()) return skipped('soak', title, 'needs root and bpftrace', o.quick);
  const started = Date.now();
  const { runnable, skipped: notRunnable } = await runnableMonitors();
  const aggregate = runnable.filter((m) => findMonitor(m)?.mode === 'aggregate');
  const intervalOf = (m: string): number => findMonitor(m)?.options.parse({}).interval ?? defaultInterval;
  const foreign = await foreignBpftrace();
  const work = await scratchDir('soak');
  const out = path.join(work, 'out');
  const churnDir = path.join(work, 'churn');
  await mkdir(churnDir);
  const config = await benchConfig(
    work,
    out,
    ['  rotate:', `    max_file_mb: ${maxFileMb}`, '    compress: true', '  retention:', `    max_total_mb: ${maxTotalMb}`].join('\n'),
  );
  const scan: OutputScan = { files: new Map(), vanished: [], malformed: 0 };
  const samples: SoakSample[] = [];
  const churnDied: string[] = [];
  let stopping = false;
  let stop: { code: number | null; signal: string | null; ms: number } | null = null;
  let endedEarly: string | null = null;
  const mon = startEbpfmon(config, ['-m', runnable.join(',')]);
  let churn: ChildProcess[] = [];
  try {
    await mon.attached;
    const t0 = performance.now();
    churn = startChurn(churnDir);
    churn.forEach((c, i) =>
      c.once('exit', (code, signal) => {
        if (!stopping) churnDied.push(`${churnParts[i]} (code ${code}, signal ${signal}) at minute ${round((performance.now() - t0) / 60000, 1)}`);
      }),
    );
    const labels = new Map<number, string>();
    for (let i = 0; ; i++) {
      const dueMs = Math.min(i * sampleEveryMs, minutes * 60_000);
      const wait = dueMs - (performance.now() - t0);
      if (wait > 0) await Promise.race([sleep(wait), mon.exited]);
      if (mon.proc.exitCode !== null || mon.proc.signalCode !== null) {
        endedEarly = `ebpfmon exited at minute ${round((performance.now() - t0) / 60000, 1)} (code ${mon.proc.exitCode}, signal ${mon.proc.signalCode})`;
        break;
      }
      const minute = (performance.now() - t0) / 60000;
      const pids = await bpftracePids(mon.pid);
      const unknown = pids.filter((p) => !labels.has(p));
      for (const [p, l] of await labelsOf(unknown)) labels.set(p, l);
      const procs = (await Promise.all([sampleProc(supervisorLabel, mon.pid), ...pids.map((p) => sampleProc(labels.get(p) ?? `pid ${p}`, p))])).filter(
        (p): p is ProcSample => p !== null,
      );
      const dir = await scanOutput(out, runnable, scan, false);
      samples.push({ minute, procs, rotatedFiles: dir.gz, files: dir.files, dirBytes: dir.bytes, rotations: logCount(mon.logs, 'output file rotated') });
      const line = procs.map((p) => `${p.label} ${mb(p.rssKb)} MiB ${p.fds} fds`).join(', ');
      process.stderr.write(`soak: minute ${minute.toFixed(1)}/${minutes}: ${line}; ${dir.gz} rotated files, ${round(dir.bytes / 2 ** 20, 1)} MiB in the output directory\n`);
      if (dueMs >= minutes * 60_000) break;
    }
  } finally {
    stopping = true;
    await stopChurn(churn);
    stop = await mon.stop(120_000, 'SIGINT');
  }
  let dir: { files: number; gz: number; bytes: number };
  try {
    dir = await scanOutput(out, runnable, scan, true);
  } finally {
    await rm(work, { recursive: true, force: true });
  }

  // (a) intervals: the timestamps of each aggregate monitor's data rows over every file, its marker rows beside.
  const files = [...scan.files.values()];
  const intervals = new Map<string, GapReport>(
    aggregate.map((m) => {
      const mine = files.filter((f) => f.monitor === m);
      return [m, findGaps(mine.flatMap((f) => [...f.data]), mine.flatMap((f) => [...f.markers]), intervalOf(m))];
    }),
  );
  const gapsAll = [...intervals.values()].flatMap((r) => r.gaps);
  const processOf = processOfMonitor(mon.logs);
  const perHour = (n: number): number => round(n / (minutes / 60), 1);
  const missing = gapsAll.filter((g) => !g.nearMarker).reduce((n, g) => n + g.missing, 0);
  const missingNearMarker = gapsAll.filter((g) => g.nearMarker).reduce((n, g) => n + g.missing, 0);
  // (b) rotation, headers.
  const rotations = logCount(mon.logs, 'output file rotated');
  const noHeader = files.filter((f) => !f.header.ok);
  const removed = removedNames(mon.logs);
  const unreadRemoved = removed.filter((n) => !files.some((f) => f.name === n)).length;
  const peakDirMb = round(Math.max(0, ...samples.map((x) => x.dirBytes)) / 2 ** 20, 1);
  const dirLimitMb = maxTotalMb + runnable.length * maxFileMb;
  // (c) flat after warm-up.
  const warm = warmupMinutes(minutes);
  const labels = [supervisorLabel, ...tracerLabels(samples)];
  const growthOf = (label: string, figure: 'rssKb' | 'anonKb' | 'fds'): Growth | null => growth(pointsOf(samples, label, figure), warm);
  // (d) the log.
  const errors = errorRecords(mon.logs);
  const restarts = logCount(mon.logs, 'bpftrace exited unexpectedly; restarting');

  const growthChecks = labels.flatMap((l): Check[] => {
    const rss = pct1(growthOf(l, 'rssKb'));
    const fds = pct1(growthOf(l, 'fds'));
    return [
      { figure: `soak: ${l} RSS growth after warm-up`, value: rss, unit: '%', target: '< 5 %', pass: rss === null ? null : rss < 5 },
      { figure: `soak: ${l} open fds growth after warm-up`, value: fds, unit: '%', target: '< 5 %', pass: fds === null ? null : fds < 5 },
    ];
  });
  const supCpu = averageCpu(samples, supervisorLabel);
  const checks: Check[] = [
    { figure: 'soak: intervals missing (no marker row near)', value: missing, unit: 'intervals', target: '0', pass: missing === 0 },
    { figure: 'soak: intervals missing next to a marker row', value: missingNearMarker, unit: 'intervals', target: '(reported)', pass: null },
    { figure: 'soak: output files rotated', value: rotations, unit: 'files', target: '>= 1', pass: rotations >= 1 },
    { figure: 'soak: files not starting with their header', value: noHeader.length, unit: 'files', target: '0', pass: noHeader.length === 0 },
    {
      figure: 'soak: output directory, largest sample',
      value: peakDirMb,
      unit: 'MiB',
      target: `<= ${dirLimitMb} MiB (retention + the files being written)`,
      pass: peakDirMb <= dirLimitMb,
    },
    ...growthChecks,
    { figure: 'soak: error lines in the log', value: errors.length, unit: 'lines', target: '0', pass: errors.length === 0 },
    { figure: 'soak: bpftrace restarts', value: restarts, unit: '', target: '0', pass: restarts === 0 },
    { figure: 'soak: clean stop (SIGINT), exit code', value: stop.code, unit: '', target: '0', pass: stop.code === 0 && endedEarly === null },
    { figure: 'soak: supervisor CPU, whole run', value: supCpu === null ? null : round(supCpu, 2), unit: '% of a CPU', target: '(reference)', pass: null },
    ...tracerLabels(samples).map((l): Check => {
      const c = averageCpu(samples, l);
      return { figure: `soak: bpftrace ${l} CPU, whole run`, value: c === null ? null : round(c, 2), unit: '% of a CPU', target: '(reference)', pass: null };
    }),
  ];

  const sampleTable = sampleRows(samples);
  const tables: Table[] = [
    { title: `Samples every ${sampleEveryMs / 1000} s (minutes since attached; CPU % of one CPU since the previous sample)`, ...sampleTable },
    {
      title: `Per process, warm-up (minute ${round(warm, 1)}) to the end: medians of the first three and of the last three samples; slope by least squares after warm-up`,
      columns: ['process', 'pids', 'RSS MB at warm-up', 'RSS MB at end', 'RSS %', 'RSS MB/h', 'anon MB at warm-up', 'anon MB at end', 'fds at warm-up', 'fds at end', 'fds %', 'CPU % (run)'],
      rows: labels.map((l) => {
        const r = growthOf(l, 'rssKb');
        const a = growthOf(l, 'anonKb');
        const f = growthOf(l, 'fds');
        const pids = [...new Set(samples.flatMap((s) => s.procs.filter((p) => p.label === l).map((p) => p.pid)))].join(' ');
        const cpu = averageCpu(samples, l);
        return [l, pids, r && mb(r.start), r && mb(r.end), pct1(r), r && round(r.perHour / 1024, 2), a && mb(a.start), a && mb(a.end), f?.start ?? null, f?.end ?? null, pct1(f), cpu === null ? null : round(cpu, 2)];
      }),
    },
    {
      title: `Intervals of each aggregate monitor: distinct timestamps of its data rows over every file; a step over ${gapFactor} intervals is a gap. Marker rows: restarts, stalls, reloads, lost rows (they excuse a gap near them); count notes: coverage and full-map notes (they do not)`,
      columns: ['monitor', 'process', 'interval s', 'intervals', 'gaps', 'missing', 'missing per hour', 'of them near a marker', 'longest step s', 'short steps', 'files', 'marker rows', 'count notes'],
      rows: aggregate.map((m) => {
        const r = intervals.get(m)!;
        const mine = files.filter((f) => f.monitor === m);
        const lost = r.gaps.reduce((n, g) => n + g.missing, 0);
        return [
          m, processOf.get(m) ?? '-', intervalOf(m), r.intervals, r.gaps.length, lost, perHour(lost), r.gaps.filter((g) => g.nearMarker).reduce((n, g) => n + g.missing, 0),
          round(r.maxStepSeconds, 3), r.short, mine.length, mine.reduce((n, f) => n + f.markers.size, 0), mine.reduce((n, f) => n + f.countMarkers, 0),
        ];
      }),
    },
    {
      title: 'Gaps by instant (the monitors of one bpftrace process share their ticks), first 30',
      columns: ['from', 'to', 'seconds', 'missing', 'monitors', 'marker near'],
      rows: gapInstants(intervals).slice(0, 30).map((g) => [g.from, g.to, round(g.seconds, 3), g.missing, g.monitors.join(' '), g.nearMarker ? 'yes' : 'no']),
    },
    {
      title: 'Log lines at warning level and above, by message (figures blanked)',
      columns: ['level', 'count', 'message'],
      rows: countByMessage(mon.logs).slice(0, 15).map((c) => [c.level === 40 ? 'warn' : c.level === 50 ? 'error' : 'fatal', c.count, c.msg.slice(0, 140)]),
    },
  ];
  const last = samples[samples.length - 1];
  return {
    bench: 'soak',
    title,
    startedAt: new Date(started).toISOString(),
    seconds: (Date.now() - started) / 1000,
    quick: o.quick,
    tables,
    checks,
    notes: [
      `monitors: ${runnable.join(', ')}${notRunnable.length ? `; not runnable here: ${notRunnable.map((s) => `${s.monitor} (${s.status})`).join(', ')}` : ''}; intervals checked for ${aggregate.join(', ')}`,
      `config: output.rotate.max_file_mb ${maxFileMb}, compress true; output.retention.max_total_mb ${maxTotalMb}; the rest at defaults`,
      `workload (scripts/bench/workloads/soak-churn.sh): ${churnParts.join(', ')}, one process group each, started once attached and killed before the stop${churnDied.length ? `; ended early: ${churnDied.join('; ')}` : ''}`,
      `${samples.length} samples, warm-up until minute ${round(warm, 1)}; output: ${rotations} rotations, ${dir.gz} .gz files and ${dir.files} files in all at the end (${round(dir.bytes / 2 ** 20, 1)} MiB); retention removed ${removed.length} files (${unreadRemoved} before the bench read them); ${files.length} files read, ${scan.malformed} malformed records`,
      `stop: SIGINT, exit code ${stop.code}, signal ${stop.signal}, ${round(stop.ms / 1000, 1)} s${endedEarly ? `; ${endedEarly}` : ''}`,
      ...(noHeader.length ? [`files without their header: ${noHeader.slice(0, 5).map((f) => `${f.name} (${f.header.ok ? '' : f.header.reason})`).join('; ')}`] : []),
      ...errors.slice(0, 5).map((e) => `error in the log: ${JSON.stringify(e).slice(0, 300)}`),
      `load average at the end: ${loadAvg()}; other bpftrace processes at the start: ${foreign}${last ? `; last sample at minute ${round(last.minute, 1)}` : ''}`,
    ],
    raw: {
      minutes,
      monitors: runnable,
      samples,
      intervals: Object.fromEntries([...intervals].map(([m, r]) => [m, { ...r, gaps: r.gaps.map((g) => ({ ...g, from: new Date(g.fromMs).toISOString(), to: new Date(g.toMs).toISOString() })) }])),
      files: files.map((f) => ({ name: f.name, header: f.header, dataIntervals: f.data.size, markers: f.markers.size, countMarkers: f.countMarkers, bad: f.bad })),
      vanished: scan.vanished,
      retentionRemoved: removed.length,
      errors: errors.slice(0, 50),
      warnings: countByMessage(mon.logs),
      stop,
    },
  };
}

if (isMain(import.meta.url)) await mainOf(runSoak);
