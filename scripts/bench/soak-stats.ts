// The pure part of the soak benchmark: missing intervals from the timestamps of a monitor's rows, growth of a
// sampled figure after warm-up, CPU % between samples, the table of samples, what one output file holds (header,
// the timestamps of its data rows and of its marker rows) and which log lines are errors.
// No I/O here: unit-tested in test/unit/bench/soak.test.ts.
import { checkHeader, cleanHeader, noteColumn, timestampColumn, type HeaderCheck } from '../../analysis/header.js';
import { median } from './arm-stats.js';

/** Two consecutive interval timestamps further apart than this many intervals: at least one tick is missing. */
export const gapFactor = 1.5;

export interface Gap {
  /** The interval timestamps either side of the gap (ms). */
  fromMs: number;
  toMs: number;
  seconds: number;
  /** Ticks missing in between (one missing tick: two intervals apart). */
  missing: number;
  /** A marker row (restart, stall, lost rows) lies in the gap or within an interval of it: the gap is reported. */
  nearMarker: boolean;
}

export interface GapReport {
  /** Distinct interval timestamps. */
  intervals: number;
  gaps: Gap[];
  /** The longest step between consecutive timestamps (s); 0 with fewer than two. */
  maxStepSeconds: number;
  /** Steps shorter than half an interval, the last one left out (the final interval ends at the stop). */
  short: number;
}

/**
 * Gaps between the distinct timestamps of one aggregate monitor's data rows: a step longer than `gapFactor`
 * intervals means ticks were missing (with a workload busy enough that every interval has rows). Markers are the
 * timestamps of the monitor's marker rows.
 */
export function findGaps(stampsMs: Iterable<number>, markersMs: Iterable<number>, intervalSeconds: number): GapReport {
  const stamps = [...new Set(stampsMs)].sort((a, b) => a - b);
  const markers = [...markersMs];
  const intervalMs = intervalSeconds * 1000;
  const gaps: Gap[] = [];
  let maxStep = 0;
  let short = 0;
  for (let i = 1; i < stamps.length; i++) {
    const from = stamps[i - 1]!;
    const to = stamps[i]!;
    const step = to - from;
    maxStep = Math.max(maxStep, step);
    if (step < intervalMs / 2 && i < stamps.length - 1) short++;
    if (step <= intervalMs * gapFactor) continue;
    gaps.push({
      fromMs: from,
      toMs: to,
      seconds: step / 1000,
      missing: Math.max(1, Math.round(step / intervalMs) - 1),
      nearMarker: markers.some((m) => m >= from - intervalMs && m <= to + intervalMs),
    });
  }
  return { intervals: stamps.length, gaps, maxStepSeconds: maxStep / 1000, short };
}

export interface GapInstant {
  from: string;
  to: string;
  seconds: number;
  missing: number;
  /** The monitors that miss these ticks. */
  monitors: string[];
  nearMarker: boolean;
}

/** Gaps of every monitor grouped by when they happened, oldest first: monitors of one process miss the same ticks. */
export function gapInstants(reports: ReadonlyMap<string, GapReport>): GapInstant[] {
  const by = new Map<string, GapInstant & { fromMs: number }>();
  for (const [monitor, r] of reports) {
    for (const g of r.gaps) {
      const key = `${g.fromMs}-${g.toMs}`;
      const e = by.get(key);
      if (e) {
        e.monitors.push(monitor);
        e.nearMarker ||= g.nearMarker;
      } else {
        const iso = (ms: number): string => new Date(ms).toISOString();
        by.set(key, { fromMs: g.fromMs, from: iso(g.fromMs), to: iso(g.toMs), seconds: g.seconds, missing: g.missing, monitors: [monitor], nearMarker: g.nearMarker });
      }
    }
  }
  return [...by.values()].sort((a, b) => a.fromMs - b.fromMs).map(({ fromMs: _, ...g }) => g);
}

/** When warm-up ends: minute 10, or 1/6 of a shorter run. */
export const warmupMinutes = (runMinutes: number): number => Math.min(10, runMinutes / 6);

export interface Point {
  minute: number;
  value: number;
}

export interface Growth {
  /** Median of the first three points at or after warm-up. */
  start: number;
  /** Median of the last three points. */
  end: number;
  /** (end - start) / start, in percent; null when start is 0. */
  percent: number | null;
  /** Least-squares slope over the points after warm-up, per hour. */
  perHour: number;
}

/**
 * How much a figure grew from warm-up to the end. Each end is the median of three samples, so one sample caught
 * mid garbage collection does not decide; the slope says how much per hour a leak would cost. Null with fewer than
 * two points after warm-up.
 */
export function growth(points: readonly Point[], fromMinute: number): Growth | null {
  const after = points.filter((p) => p.minute >= fromMinute - 1e-9);
  if (after.length < 2) return null;
  const start = median(after.slice(0, 3).map((p) => p.value));
  const end = median(after.slice(-3).map((p) => p.value));
  const mx = after.reduce((s, p) => s + p.minute, 0) / after.length;
  const my = after.reduce((s, p) => s + p.value, 0) / after.length;
  const sxx = after.reduce((s, p) => s + (p.minute - mx) ** 2, 0);
  const sxy = after.reduce((s, p) => s + (p.minute - mx) * (p.value - my), 0);
  return { start, end, percent: start === 0 ? null : ((end - start) / start) * 100, perHour: sxx === 0 ? 0 : (sxy / sxx) * 60 };
}

/** One process at one sample. */
export interface ProcSample {
  /** supervisor, or the bpftrace process's name (main, paths). */
  label: string;
  pid: number;
  rssKb: number;
  anonKb: number;
  fileKb: number;
  fds: number;
  cpuSeconds: number;
}

export interface SoakSample {
  /** Minutes since the monitors attached. */
  minute: number;
  procs: ProcSample[];
  /** Compressed (rotated) output files in the directory, and all of ebpfmon's files there. */
  rotatedFiles: number;
  files: number;
  dirBytes: number;
  /** 'output file rotated' log lines so far. */
  rotations: number;
}

export const supervisorLabel = 'supervisor';

/** CPU % of one CPU between two samples of a process (null when it is not in both, e.g. restarted). */
export function cpuPercent(prev: SoakSample | undefined, cur: SoakSample, label: string): number | null {
  const a = prev?.procs.find((p) => p.label === label);
  const b = cur.procs.find((p) => p.label === label);
  if (!prev || !a || !b || a.pid !== b.pid || cur.minute <= prev.minute) return null;
  return ((b.cpuSeconds - a.cpuSeconds) / ((cur.minute - prev.minute) * 60)) * 100;
}

const mb = (kb: number): number => Math.round((kb / 1024) * 10) / 10;
const one = (x: number | null): number | null => (x === null ? null : Math.round(x * 10) / 10);

/** The labels of the bpftrace processes seen in any sample, in first-seen order. */
export const tracerLabels = (samples: readonly SoakSample[]): string[] => [
  ...new Set(samples.flatMap((s) => s.procs.map((p) => p.label)).filter((l) => l !== supervisorLabel)),
];

/** One table row per sample: minute; supervisor RSS, anon, fds, CPU %; each bpftrace process's RSS, fds, CPU %; files. */
export function sampleRows(samples: readonly SoakSample[]): { columns: string[]; rows: (number | null)[][] } {
  const labels = [supervisorLabel, ...tracerLabels(samples)];
  const columns = ['minute', 'supervisor RSS MB', 'anon MB', 'fds', 'CPU %'];
  for (const l of labels.slice(1)) columns.push(`${l} RSS MB`, `${l} fds`, `${l} CPU %`);
  columns.push('rotations', '.gz files', 'dir MB');
  const rows = samples.map((s, i) => {
    const get = (l: string): ProcSample | undefined => s.procs.find((p) => p.label === l);
    const sup = get(supervisorLabel);
    const row: (number | null)[] = [one(s.minute), sup ? mb(sup.rssKb) : null, sup ? mb(sup.anonKb) : null, sup?.fds ?? null, one(cpuPercent(samples[i - 1], s, supervisorLabel))];
    for (const l of labels.slice(1)) {
      const p = get(l);
      row.push(p ? mb(p.rssKb) : null, p?.fds ?? null, one(cpuPercent(samples[i - 1], s, l)));
    }
    row.push(s.rotations, s.rotatedFiles, Math.round((s.dirBytes / 2 ** 20) * 10) / 10);
    return row;
  });
  return { columns, rows };
}

/** A sampled figure of one process over the run, as points for `growth`. */
export const pointsOf = (samples: readonly SoakSample[], label: string, figure: 'rssKb' | 'anonKb' | 'fds'): Point[] =>
  samples.flatMap((s) => {
    const p = s.procs.find((x) => x.label === label);
    return p ? [{ minute: s.minute, value: p[figure] }] : [];
  });

/** CPU % of one CPU over the whole run for a process label: its CPU seconds over the minutes between the first and last sample of the same pid. */
export function averageCpu(samples: readonly SoakSample[], label: string): number | null {
  const seen = samples.flatMap((s) => s.procs.filter((p) => p.label === label).map((p) => ({ minute: s.minute, p })));
  const first = seen[0];
  const last = seen.filter((x) => x.p.pid === first?.p.pid).pop();
  if (!first || !last || last.minute <= first.minute) return null;
  return ((last.p.cpuSeconds - first.p.cpuSeconds) / ((last.minute - first.minute) * 60)) * 100;
}

/** What one output file holds, for the interval check. */
export interface FileScan {
  header: HeaderCheck;
  /** Timestamps (ms) of data rows, and of marker rows that can say why intervals are missing; each distinct. */
  data: Set<number>;
  markers: Set<number>;
  /** Marker rows about counts, not time (coverage below its threshold, a full map): no excuse for a gap. */
  countMarkers: number;
  /** Rows whose timestamp does not parse. */
  bad: number;
}

/**
 * Whether a marker row's note can account for missing intervals (a restart, a stall, a reload, rows that could not
 * be written). Coverage notes and full maps are about an interval's counts; the interval itself was written.
 */
export const explainsGap = (note: string): boolean => !/^(coverage below|incomplete:)/.test(note);

/** Reads one file's records in order: the first must be the monitor's header; then data and marker rows. */
export function fileScanner(monitor: string): { record(fields: string[]): void; result(): FileScan } {
  let header: HeaderCheck | null = null;
  let note = -1;
  const scan: FileScan = { header: { ok: false, reason: 'the file is empty' }, data: new Set(), markers: new Set(), countMarkers: 0, bad: 0 };
  return {
    record(fields) {
      if (header === null) {
        const cols = cleanHeader(fields);
        header = checkHeader(monitor, cols, [timestampColumn, noteColumn]);
        scan.header = header;
        note = cols.indexOf(noteColumn);
        return;
      }
      if (!header.ok) return;
      const ms = Date.parse(fields[0] ?? '');
      if (!Number.isFinite(ms)) {
        scan.bad++;
        return;
      }
      const text = fields[note] ?? '';
      if (text === '') scan.data.add(ms);
      else if (explainsGap(text)) scan.markers.add(ms);
      else scan.countMarkers++;
    },
    result: () => scan,
  };
}

/** pino's levels: error is 50, fatal 60. */
export const errorLevel = 50;

/** The log records at error level or above. */
export const errorRecords = <T extends Record<string, unknown>>(logs: readonly T[]): T[] =>
  logs.filter((l) => typeof l['level'] === 'number' && l['level'] >= errorLevel);

/** Warnings and worse by message, most frequent first. */
export function countByMessage(logs: readonly Record<string, unknown>[], minLevel = 40): { msg: string; level: number; count: number }[] {
  const by = new Map<string, { msg: string; level: number; count: number }>();
  for (const l of logs) {
    const level = l['level'];
    if (typeof level !== 'number' || level < minLevel) continue;
    // Messages carry figures ("3 records lost on CPU 0"): grouped with the digits blanked.
    const msg = String(l['msg'] ?? '').replace(/\d+(\.\d+)?/g, 'N');
    const key = `${level}\u0000${msg}`;
    const e = by.get(key) ?? { msg, level, count: 0 };
    e.count++;
    by.set(key, e);
  }
  return [...by.values()].sort((a, b) => b.count - a.count || (a.msg < b.msg ? -1 : 1));
}
