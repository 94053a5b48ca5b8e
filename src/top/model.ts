// The model of `ebpfmon top`: rows of the running monitors in, per-process rates out. Pure: the caller passes the
// arrival time of each batch and the clock of each monitor; nothing here reads a clock, a file or a terminal.
import type { Cell, Row, TopCount, TopHostCount, TopProcessCount } from '../monitors/types.js';
import { topHostCounts } from '../monitors/types.js';
import { findMonitor, monitors as allMonitors } from '../monitors/registry.js';
import { noteColumn } from '../sinks/sink.js';

import { sortKeys, type SortKey } from './sort-keys.js';

export { sortKeys, type SortKey };

const num = (c: Cell | undefined): number => (typeof c === 'number' && Number.isFinite(c) ? c : 0);
const pidOf = (c: Cell | undefined): number | null => (typeof c === 'number' && Number.isInteger(c) ? c : null);
const str = (c: Cell | undefined): string => (typeof c === 'string' ? c : '');
const isHost = (k: TopCount): k is TopHostCount => (topHostCounts as readonly string[]).includes(k);

/** Which monitor supplies each count (its `top`): a count whose monitor is not running shows as absent, not as zero. */
const supplier: ReadonlyMap<TopCount, string> = new Map(allMonitors.flatMap((m) => (m.top?.counts ?? []).map((c): [TopCount, string] => [c, m.name])));

interface ProcessCounts {
  /** Each comm seen for the pid (threads may differ), weighted by what it did: the heaviest names the process. */
  comms: Map<string, number>;
  values: Partial<Record<TopProcessCount, number>>;
}

/** The rows of one monitor's latest interval (they share a timestamp), summed per process. */
interface IntervalBatch {
  timestamp: string;
  /** Seconds the rows cover when not the monitor's interval (a stall merged several); null for one interval. */
  seconds: number | null;
  /** The monitor's stall count when the rows arrived. */
  stalls: number;
  /** When the rows arrived (ms since the epoch, the caller's clock). */
  at: number;
  perPid: Map<number, ProcessCounts>;
  totals: Partial<Record<TopHostCount, number>>;
}

/** The rows of an event monitor that arrived at `at`, summed. */
interface EventArrival {
  at: number;
  counts: Partial<Record<TopHostCount, number>>;
}

export interface TopState {
  batches: Map<string, IntervalBatch>;
  /** When the first interval's rows arrived; null before. */
  firstAt: number | null;
  /** Arrivals of event rows per monitor, newest last, kept for `eventWindowMs`. */
  events: Map<string, EventArrival[]>;
}

/** How long event arrivals are kept: longer than any refresh. */
export const eventWindowMs = 10_000;

export const createTopState = (): TopState => ({ batches: new Map(), firstAt: null, events: new Map() });

/**
 * Adds rows a monitor emitted at `at`; rows with a new timestamp start its next interval. Marker rows are skipped.
 * `stalls` is the monitor's stall count (stats.stalls): when it grew since the last interval, bpftrace was stalled
 * and the rows cover the time since that interval (the router merges the late ones), not one interval.
 */
export function ingest(state: TopState, monitor: string, rows: readonly Row[], at: number, stalls = 0): void {
  const m = findMonitor(monitor);
  const top = m?.top;
  if (!m || !top) return;
  if (m.mode === 'event') {
    const times = state.events.get(monitor) ?? [];
    for (const row of rows) {
      if (str(row[noteColumn])) continue;
      const counts: Partial<Record<TopHostCount, number>> = {};
      for (const [k, v] of Object.entries(top.of(row)) as [TopCount, number][]) if (isHost(k)) counts[k] = num(v);
      times.push({ at, counts });
    }
    while (times.length && times[0]!.at < at - eventWindowMs) times.shift();
    state.events.set(monitor, times);
    return;
  }
  for (const row of rows) {
    if (str(row[noteColumn])) continue;
    const timestamp = str(row['timestamp']);
    let batch = state.batches.get(monitor);
    state.firstAt ??= at;
    if (!batch || batch.timestamp !== timestamp) {
      const span = batch && stalls > batch.stalls ? (Date.parse(timestamp) - Date.parse(batch.timestamp)) / 1000 : NaN;
      batch = { timestamp, seconds: Number.isFinite(span) && span > 0 ? span : null, stalls, at, perPid: new Map(), totals: {} };
      state.batches.set(monitor, batch);
    }
    batch.at = at;
    const pid = pidOf(row['pid']);
    let p: ProcessCounts | undefined;
    let weight = 0;
    for (const [k, raw] of Object.entries(top.of(row)) as [TopCount, number][]) {
      const v = num(raw);
      if (isHost(k)) {
        batch.totals[k] = (batch.totals[k] ?? 0) + v;
        continue;
      }
      if (pid === null) continue;
      p ??= batch.perPid.get(pid);
      if (!p) batch.perPid.set(pid, (p = { comms: new Map(), values: {} }));
      p.values[k] = (p.values[k] ?? 0) + v;
      weight += v;
    }
    if (p) {
      const comm = str(row['comm']);
      p.comms.set(comm, (p.comms.get(comm) ?? 0) + weight);
    }
  }
}

/** What the model needs to know of a running monitor. */
export interface MonitorClock {
  name: string;
  mode: 'event' | 'aggregate';
  /** Seconds per interval (aggregate monitors). */
  interval: number;
  /** When its last interval closed (the router's stats.lastTickAt), rows or not; null before the first. */
  lastTickAt: number | null;
}

/** One process of the table: rates per second; null where the monitor that counts it is not running. */
export interface ProcessRates {
  pid: number;
  comm: string;
  syscalls: number | null;
  errors: number | null;
  opens: number | null;
  openFailures: number | null;
  faults: number | null;
  switches: number | null;
  /** Block I/O in MB/s (10^6 bytes). */
  bio: number | null;
  /** From /proc/PID/stat and status (withUsage): CPU % of one CPU over the last refresh, RSS bytes, CPU seconds. */
  cpu: number | null;
  mem: number | null;
  time: number | null;
}

/** What /proc said of a process at the last refresh (src/top/proc.ts). */
export interface Usage {
  /** null before a second sample. */
  cpuPercent: number | null;
  rssBytes: number;
  cpuSeconds: number;
}

/** The processes with their CPU and memory where /proc had them; null where it did not (yet). */
export function withUsage(list: readonly ProcessRates[], usage: ReadonlyMap<number, Usage>): ProcessRates[] {
  return list.map((p) => {
    const u = usage.get(p.pid);
    return { ...p, cpu: u?.cpuPercent ?? null, mem: u?.rssBytes ?? null, time: u?.cpuSeconds ?? null };
  });
}

export interface Snapshot {
  processes: ProcessRates[];
  /** Per second, host-wide; null where the monitor is not running. */
  totals: Record<TopHostCount, number | null>;
  /**
   * Every running aggregate monitor closed an interval, so no column is empty for want of time; or the first rows
   * arrived two intervals ago (a monitor that never ticks must not hide the others).
   */
  ready: boolean;
}

/**
 * The latest interval of each monitor as rates. A batch counts while it is the monitor's latest interval: once an
 * interval closed with no rows (lastTickAt later than the batch), or two intervals passed without one, it is zero.
 */
export function snapshot(state: TopState, monitors: readonly MonitorClock[], now: number, windowMs: number): Snapshot {
  // A monitor counts once it closed an interval: before that its column is unknown, not zero.
  const running = new Set(monitors.filter((m) => m.mode === 'event' || m.lastTickAt !== null || state.batches.has(m.name)).map((m) => m.name));
  const byPid = new Map<number, { comms: Map<string, number>; rates: Partial<Record<TopProcessCount, number>> }>();
  const totals: Partial<Record<TopHostCount, number>> = {};
  const aggregate = monitors.filter((m) => m.mode === 'aggregate');
  const longest = Math.max(0, ...aggregate.map((m) => m.interval));
  const ready = aggregate.every((m) => m.lastTickAt !== null) || (state.firstAt !== null && now - state.firstAt >= 2 * longest * 1000);
  for (const m of aggregate) {
    const b = state.batches.get(m.name);
    if (!b) continue;
    const current = (m.lastTickAt === null || b.at >= m.lastTickAt) && now - b.at <= 2 * m.interval * 1000 + 1000;
    if (!current) continue;
    const per = 1 / (b.seconds ?? m.interval);
    for (const [k, v] of Object.entries(b.totals) as [TopHostCount, number][]) totals[k] = (totals[k] ?? 0) + v * per;
    for (const [pid, c] of b.perPid) {
      let p = byPid.get(pid);
      if (!p) byPid.set(pid, (p = { comms: new Map(), rates: {} }));
      for (const [comm, w] of c.comms) p.comms.set(comm, (p.comms.get(comm) ?? 0) + w);
      for (const [k, v] of Object.entries(c.values) as [TopProcessCount, number][]) p.rates[k] = (p.rates[k] ?? 0) + v * per;
    }
  }
  const counted = (k: TopCount): boolean => running.has(supplier.get(k) ?? '');
  const rate = (p: Partial<Record<TopProcessCount, number>>, k: TopProcessCount, scale = 1): number | null => (counted(k) ? (p[k] ?? 0) * scale : null);
  // Event monitors' host counts: what arrived in the window, per second.
  const arrived: Partial<Record<TopHostCount, number>> = {};
  for (const m of monitors) {
    if (m.mode !== 'event') continue;
    for (const e of state.events.get(m.name) ?? []) {
      if (e.at <= now - windowMs || e.at > now) continue;
      for (const [k, v] of Object.entries(e.counts) as [TopHostCount, number][]) arrived[k] = (arrived[k] ?? 0) + v;
    }
  }
  for (const [k, v] of Object.entries(arrived) as [TopHostCount, number][]) totals[k] = (totals[k] ?? 0) + v / (windowMs / 1000);
  const processes = [...byPid].map(([pid, p]): ProcessRates => ({
    pid,
    comm: heaviest(p.comms),
    syscalls: rate(p.rates, 'syscalls'),
    errors: rate(p.rates, 'errors'),
    opens: rate(p.rates, 'opens'),
    openFailures: rate(p.rates, 'openFailures'),
    faults: rate(p.rates, 'faults'),
    switches: rate(p.rates, 'switches'),
    bio: rate(p.rates, 'bioBytes', 1e-6),
    cpu: null,
    mem: null,
    time: null,
  }));
  const host = Object.fromEntries(topHostCounts.map((k) => [k, counted(k) ? (totals[k] ?? 0) : null])) as Record<TopHostCount, number | null>;
  return { processes, totals: host, ready };
}

/** The comm with the largest weight; ties go to the first seen. */
function heaviest(comms: ReadonlyMap<string, number>): string {
  let best = '';
  let w = -1;
  for (const [comm, weight] of comms) {
    if (weight > w) {
      best = comm;
      w = weight;
    }
  }
  return best;
}

/**
 * Busiest first by `key` (smallest first when `reverse`, htop's I); ties by syscalls, then by pid. Unknown values
 * sort as 0. A copy: the input is left as it was.
 */
export function sortProcesses(list: readonly ProcessRates[], key: SortKey, reverse = false): ProcessRates[] {
  const dir = reverse ? -1 : 1;
  return [...list].sort((a, b) => dir * ((b[key] ?? 0) - (a[key] ?? 0) || (b.syscalls ?? 0) - (a.syscalls ?? 0)) || a.pid - b.pid);
}

/** The processes whose comm contains `text` (any case); all of them for an empty text. */
export function filterProcesses(list: readonly ProcessRates[], text: string): ProcessRates[] {
  const t = text.toLowerCase();
  return t ? list.filter((p) => p.comm.toLowerCase().includes(t)) : [...list];
}
