// `ebpfmon run`'s closing report on stderr, in the spirit of `strace -c` and `perf stat`: totals of the rows the run
// wrote, gathered by a sink beside the files (so the summary and the CSV count the same rows).
import type { Row } from '../monitors/types.js';
import type { Sink } from '../sinks/sink.js';
import { noteColumn } from '../sinks/sink.js';

export interface RunTotals {
  syscalls: { count: number; errors: number; byName: Map<string, { count: number; errors: number }> };
  opens: { count: number; errors: number };
  pageFaults: { count: number };
  bio: { count: number; bytes: number };
  switches: { total: number; voluntary: number; involuntary: number };
  execs: number;
  /** Process ids seen in any row. */
  pids: Set<string>;
  /** Marker rows (restarts, lost intervals): the totals may be short by what they say. */
  notes: string[];
}

const num = (v: unknown): number => (typeof v === 'number' ? v : typeof v === 'string' && v !== '' ? Number(v) : 0);

export const newTotals = (): RunTotals => ({
  syscalls: { count: 0, errors: 0, byName: new Map() },
  opens: { count: 0, errors: 0 },
  pageFaults: { count: 0 },
  bio: { count: 0, bytes: 0 },
  switches: { total: 0, voluntary: 0, involuntary: 0 },
  execs: 0,
  pids: new Set(),
  notes: [],
});

/** Adds one monitor's rows to the totals. */
export function addRows(t: RunTotals, monitor: string, rows: readonly Row[]): void {
  for (const r of rows) {
    if (r[noteColumn]) {
      t.notes.push(`${monitor}: ${String(r[noteColumn])}`);
      continue;
    }
    if (r['pid'] !== undefined && r['pid'] !== null) t.pids.add(String(r['pid']));
    switch (monitor) {
      case 'syscall': {
        const name = String(r['syscall'] ?? r['syscall_nr'] ?? '?');
        const s = t.syscalls.byName.get(name) ?? { count: 0, errors: 0 };
        s.count += num(r['count']);
        s.errors += num(r['error_count']);
        t.syscalls.byName.set(name, s);
        t.syscalls.count += num(r['count']);
        t.syscalls.errors += num(r['error_count']);
        break;
      }
      case 'open':
        t.opens.count += num(r['count']);
        t.opens.errors += num(r['error_count']);
        break;
      case 'page_fault':
        t.pageFaults.count += num(r['count']);
        break;
      case 'bio':
        t.bio.count += num(r['count']);
        t.bio.bytes += num(r['total_bytes']);
        break;
      case 'context_switch':
        t.switches.total += num(r['switches']);
        t.switches.voluntary += num(r['voluntary']);
        t.switches.involuntary += num(r['involuntary']);
        break;
      case 'exec':
        t.execs++;
        break;
    }
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

const bytes = (n: number): string => (n >= 1 << 20 ? `${(n / (1 << 20)).toFixed(1)} MiB` : n >= 1024 ? `${(n / 1024).toFixed(1)} KiB` : `${n} B`);
const pct = (part: number, whole: number): string => (whole ? `${((100 * part) / whole).toFixed(2)} %` : '0 %');
const pad = (n: number, w = 12): string => String(n).padStart(w);

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
  if (ran.has('syscall')) {
    lines.push(`${pad(t.syscalls.count)}  syscalls   (${t.syscalls.errors} errors, ${pct(t.syscalls.errors, t.syscalls.count)})`);
    const rows = [...t.syscalls.byName].sort((a, b) => b[1].count - a[1].count || a[0].localeCompare(b[0])).slice(0, top);
    if (rows.length) {
      lines.push(`${''.padStart(14)}  % calls      calls     errors  syscall`);
      for (const [name, s] of rows) lines.push(`${''.padStart(14)}  ${pct(s.count, t.syscalls.count).padStart(7)} ${pad(s.count, 10)} ${pad(s.errors, 10)}  ${name}`);
    }
  }
  if (ran.has('open')) lines.push(`${pad(t.opens.count)}  opens      (${t.opens.errors} failed)`);
  if (ran.has('page_fault')) lines.push(`${pad(t.pageFaults.count)}  page faults`);
  if (ran.has('bio')) lines.push(`${pad(t.bio.count)}  block I/O  (${bytes(t.bio.bytes)})`);
  if (ran.has('context_switch')) lines.push(`${pad(t.switches.total)}  context switches (${t.switches.voluntary} voluntary, ${t.switches.involuntary} involuntary)`);
  if (ran.has('exec')) lines.push(`${pad(t.execs)}  execs`);
  for (const m of h.hostWide) lines.push(`${''.padStart(12)}  ${m}: counts the whole host, not the command (see its CSV)`);
  for (const n of t.notes) lines.push(`  note: ${n}`);
  return lines.join('\n');
}
