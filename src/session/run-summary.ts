// `ebpfmon run`'s closing report on stderr, in the spirit of `strace -c` and `perf stat`: totals of the rows the run
// wrote, gathered by a sink beside the files (so the summary and the CSV count the same rows).
import { monitors } from '../monitors/registry.js';
import type { Row, RunTally } from '../monitors/types.js';
import type { Sink } from '../sinks/sink.js';
import { noteColumn } from '../sinks/sink.js';

export interface RunTotals {
  /** Each monitor's own tally (Monitor.runSummary), by name. */
  tallies: Map<string, RunTally<Row>>;
  /** Process ids seen in any row. */
  pids: Set<string>;
  /** Marker rows (restarts, lost intervals): the totals may be short by what they say. */
  notes: string[];
}

export const newTotals = (): RunTotals => ({
  tallies: new Map(monitors.flatMap((m) => (m.runSummary ? [[m.name, m.runSummary.tally()] as const] : []))),
  pids: new Set(),
  notes: [],
});

/** Adds one monitor's rows to the totals. */
export function addRows(t: RunTotals, monitor: string, rows: readonly Row[]): void {
  const tally = t.tallies.get(monitor);
  for (const r of rows) {
    if (r[noteColumn]) {
      t.notes.push(`${monitor}: ${String(r[noteColumn])}`);
      continue;
    }
    if (r['pid'] !== undefined && r['pid'] !== null) t.pids.add(String(r['pid']));
    tally?.add(r);
  }
}

/** A sink that only adds up (it owns no file). */
export function tallySink(t: RunTotals): Sink {
  return {
    write: (monitor, rows) => addRows(t, monitor, rows),
    flush: () => Promise.resolve(),
    close: () => Promise.resolve(),
  };
}

const pad = (n: number): string => String(n).padStart(12);

export interface SummaryHead {
  command: readonly string[];
  /** Exit status as the shell reports it (128 + signal when killed). */
  status: number;
  signal: string | null;
  seconds: number;
  /** Monitors that ran, in order; the others are "not monitored". */
  ran: readonly string[];
  /** Monitors that count the whole host whatever the scope (interrupt). */
  hostWide: readonly string[];
}

/**
 * An argument as a shell would need it typed: bare when it holds only safe characters, else in single quotes, with a
 * quote as '\'' and control bytes as $'\xNN' (a terminal never sees them raw).
 */
export function shellQuote(arg: string): string {
  if (/^[\w@%+=:,./-]+$/.test(arg)) return arg;
  if (arg === '') return "''";
  const control = (c: string): boolean => c.charCodeAt(0) < 0x20 || c === '\x7f';
  let out = '';
  let quoted = '';
  const close = (): void => {
    if (quoted) out += `'${quoted.replace(/'/g, "'\\''")}'`;
    quoted = '';
  };
  for (const c of arg) {
    if (!control(c)) quoted += c;
    else {
      close();
      out += `$'\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}'`;
    }
  }
  close();
  return out;
}

/** The report, one line each, for stderr. */
export function renderSummary(t: RunTotals, h: SummaryHead, top = 10): string {
  const ran = new Set(h.ran);
  const lines = [
    `ebpfmon run: ${h.command.map(shellQuote).join(' ')}: ${h.signal ? `killed by ${h.signal} (status ${h.status})` : `exit status ${h.status}`}, ${h.seconds.toFixed(2)} s, ${t.pids.size} process${t.pids.size === 1 ? '' : 'es'} seen`,
  ];
  // In the monitors' own order (Monitor.runSummary.order); one that did not run prints nothing, not a zero.
  const parts = monitors.flatMap((m) => (m.runSummary && ran.has(m.name) ? [{ name: m.name, order: m.runSummary.order }] : []));
  for (const m of parts.sort((a, b) => a.order - b.order)) {
    const l = t.tallies.get(m.name)?.line(top);
    if (!l) continue;
    lines.push(`${pad(l.count)}  ${l.what}`);
    for (const row of l.table ?? []) lines.push(`${''.padStart(14)}  ${row}`);
  }
  for (const m of h.hostWide) lines.push(`${''.padStart(12)}  ${m}: counts the whole host, not the command (see its CSV)`);
  for (const n of t.notes) lines.push(`  note: ${n}`);
  return lines.join('\n');
}
