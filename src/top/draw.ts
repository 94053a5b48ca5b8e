// Drawing `ebpfmon top`: pure functions from the model and the terminal size to lines. The full screen gets plain
// SGR attributes (reverse, bold, colours) and each line fits the width; the snapshot for a pipe has no escapes at all.
// Process names come from whoever runs on the machine: every one passes through the console's terminalSafe.
import { terminalSafe } from '../sinks/console.js';
import { activeFilter, sortKeyOf, type UiState } from './keys.js';
import { filterProcesses, sortKeys, sortProcesses, type ProcessRates, type Snapshot, type SortKey } from './model.js';

/** A monitor as the footer shows it. */
export interface MonitorLine {
  name: string;
  state: string;
  /** stats.coverage.ratio: the share of what happened that the numbers hold; null until known. */
  coverage: number | null;
  /** Coverage below the monitor's threshold. */
  low: boolean;
}

/** One bpftrace process and what it costs. */
export interface CostLine {
  pid: number;
  runtime: string | null;
  monitors: readonly string[];
  /** The bpftrace process's own CPU, percent of one CPU; null before the second sample. */
  cpuPercent: number | null;
  rssBytes: number | null;
  /** Its BPF programs' run time (kernel.bpf_stats_enabled on), percent of one CPU, and ns per run; null when off. */
  bpf: { cpuPercent: number | null; nsPerEvent: number | null } | null;
}

export interface Frame {
  snapshot: Snapshot;
  ui: UiState;
  /** Wall-clock time of the frame, HH:MM:SS. */
  time: string;
  refreshSeconds: number;
  monitors: readonly MonitorLine[];
  costs: readonly CostLine[];
  /** kernel.bpf_stats_enabled is on: BPF run time is measured. */
  bpfStats: boolean;
  /** The last warning or error logged, shown above the footer; null for none. */
  message: string | null;
}

export interface Size {
  columns: number;
  rows: number;
}

type Style = 'plain' | 'bar' | 'sorted' | 'key' | 'warn' | 'bad' | 'dim';
interface Segment {
  text: string;
  style?: Style;
}

const sgr: Readonly<Record<Style, string>> = {
  plain: '',
  bar: '\x1b[7m',
  sorted: '\x1b[1;30;46m',
  key: '\x1b[1m',
  warn: '\x1b[33m',
  bad: '\x1b[1;31m',
  dim: '\x1b[2m',
};
const reset = '\x1b[0m';

export const sortTitle: Readonly<Record<SortKey, string>> = {
  syscalls: 'syscalls/s',
  errors: 'errors/s',
  opens: 'opens/s',
  faults: 'faults/s',
  switches: 'switches/s',
  bio: 'block I/O MB/s',
};

interface Column {
  title: string;
  width: number;
  cell(p: ProcessRates): string;
  sort?: SortKey;
}

/** A rate per second in at most 6 characters: 0.5, 37, 1234, 12.3k, 456k, 1.23M. */
export function formatRate(v: number | null): string {
  if (v === null) return '-';
  if (v === 0) return '0';
  if (v < 9.95) return v.toFixed(1);
  if (v < 9999.5) return String(Math.round(v));
  if (v < 99_950) return `${(v / 1e3).toFixed(1)}k`;
  if (v < 999_500) return `${Math.round(v / 1e3)}k`;
  return `${(v / 1e6).toFixed(2)}M`;
}

/** MB/s with two decimals below 100. */
export function formatMBps(v: number | null): string {
  if (v === null) return '-';
  if (v === 0) return '0';
  return v < 99.995 ? v.toFixed(2) : String(Math.round(v));
}

const columns: readonly Column[] = [
  { title: 'PID', width: 8, cell: (p) => String(p.pid) },
  { title: 'COMM', width: 17, cell: (p) => terminalSafe(p.comm) },
  { title: 'SYSCALLS/s', width: 11, cell: (p) => formatRate(p.syscalls), sort: 'syscalls' },
  { title: 'ERRORS/s', width: 9, cell: (p) => formatRate(p.errors), sort: 'errors' },
  { title: 'OPENS/s', width: 9, cell: (p) => formatRate(p.opens), sort: 'opens' },
  { title: 'FAILED/s', width: 9, cell: (p) => formatRate(p.openFailures) },
  { title: 'FAULTS/s', width: 9, cell: (p) => formatRate(p.faults), sort: 'faults' },
  { title: 'SWITCH/s', width: 9, cell: (p) => formatRate(p.switches), sort: 'switches' },
  { title: 'IO MB/s', width: 9, cell: (p) => formatMBps(p.bio), sort: 'bio' },
];

/** Characters as the terminal counts them (code points: comms are short, mostly ASCII). */
const width = (s: string): number => [...s].length;
const cut = (s: string, n: number): string => ([...s].length <= n ? s : [...s].slice(0, Math.max(0, n)).join(''));

function cellText(c: Column, text: string, i: number): string {
  // PID and the numbers are right-aligned, COMM left-aligned; a comm too long for its column is cut.
  if (i === 1) return ` ${cut(text, c.width - 2).padEnd(c.width - 1)}`;
  return cut(text, c.width).padStart(c.width);
}

function tableHeader(sort: SortKey): Segment[] {
  return columns.map((c, i) => ({ text: cellText(c, c.title, i), style: c.sort === sort ? 'sorted' : 'bar' }));
}

const tableRow = (p: ProcessRates): string => columns.map((c, i) => cellText(c, c.cell(p), i)).join('');

const percent = (r: number): string => `${(Math.floor(r * 1000) / 10).toFixed(1)}%`;

function monitorSegments(monitors: readonly MonitorLine[]): Segment[] {
  const out: Segment[] = [{ text: 'coverage ' }];
  for (const m of monitors) {
    const value = m.state !== 'running' ? m.state : m.coverage === null ? '-' : percent(m.coverage);
    out.push({ text: `${m.name} ` }, { text: value, style: m.state !== 'running' ? 'warn' : m.low ? 'bad' : 'plain' }, { text: '  ' });
  }
  return out;
}

const mb = (b: number | null): string => (b === null ? "-" : `${Math.round(b / 1024 / 1024)} MB`);
const pct = (v: number | null): string => (v === null ? '-' : `${v.toFixed(1)}%`);

function costText(c: CostLine, bpfStats: boolean): string {
  const bpf = c.bpf
    ? `BPF ${c.bpf.cpuPercent === null ? '-' : `${c.bpf.cpuPercent.toFixed(2)}%`}${c.bpf.nsPerEvent === null ? '' : ` (${c.bpf.nsPerEvent} ns/event)`}`
    : bpfStats
      ? 'BPF -'
      : 'BPF time off';
  return `cost     bpftrace ${c.pid}${c.runtime ? ` (${c.runtime})` : ''}  CPU ${pct(c.cpuPercent)}  RSS ${mb(c.rssBytes)}  ${bpf}  for ${c.monitors.join(' ')}`;
}

function totalsText(s: Snapshot): string {
  const parts: string[] = [];
  if (s.totals.execs !== null) parts.push(`exec/s ${formatRate(s.totals.execs)}`);
  if (s.totals.hardirqs !== null) parts.push(`hardirq/s ${formatRate(s.totals.hardirqs)}`);
  if (s.totals.softirqs !== null) parts.push(`softirq/s ${formatRate(s.totals.softirqs)}`);
  return parts.join('  ');
}

/** The processes the view shows, in order. */
export function visibleProcesses(frame: Frame): ProcessRates[] {
  return sortProcesses(filterProcesses(frame.snapshot.processes, activeFilter(frame.ui)), frame.ui.sort);
}

/** `segments` as one line of exactly `cols` visible characters; a line with a bar style keeps it to the edge. */
function fit(segments: readonly Segment[], cols: number, fill: Style = 'plain'): string {
  let left = cols;
  let out = '';
  for (const s of segments) {
    if (left <= 0) break;
    const t = cut(s.text, left);
    left -= width(t);
    const style = sgr[s.style ?? 'plain'];
    out += style ? `${style}${t}${reset}` : t;
  }
  if (left > 0) out += fill === 'plain' ? ' '.repeat(left) : `${sgr[fill]}${' '.repeat(left)}${reset}`;
  return out;
}

function keyBar(ui: UiState): Segment[] {
  if (ui.editing !== null) {
    return [{ text: 'filter: ', style: 'key' }, { text: `${terminalSafe(ui.editing)}_` }, { text: '   Enter keep  Esc clear', style: 'dim' }];
  }
  const out: Segment[] = [];
  for (const k of sortKeys) out.push({ text: sortKeyOf[k], style: 'key' }, { text: ` ${sortTitle[k].replace('/s', '').replace(' MB', '')}  ` });
  out.push({ text: '/', style: 'key' }, { text: ' filter  ' }, { text: 'Esc', style: 'key' }, { text: ' clear  ' }, { text: 'q', style: 'key' }, { text: ' quit' });
  return out;
}

/** The full screen: exactly `size.rows` lines, each exactly `size.columns` characters wide (escapes not counted). */
export function drawScreen(frame: Frame, size: Size): string[] {
  const cols = Math.max(1, size.columns);
  const procs = visibleProcesses(frame);
  const filter = activeFilter(frame.ui);
  const head: string[] = [
    fit([{ text: `ebpfmon top  ${frame.time}  every ${frame.refreshSeconds} s  ${frame.snapshot.processes.length} processes  ${totalsText(frame.snapshot)}` }], cols),
    fit([{ text: `sort: ${sortTitle[frame.ui.sort]}` }, { text: `  filter: ${filter ? terminalSafe(filter) : '-'}${filter ? `  (${procs.length} match)` : ''}` }], cols),
    fit(tableHeader(frame.ui.sort), cols, 'bar'),
  ];
  const foot: string[] = [];
  if (frame.message) foot.push(fit([{ text: terminalSafe(frame.message), style: 'warn' }], cols));
  foot.push(fit(monitorSegments(frame.monitors), cols));
  for (const c of frame.costs) foot.push(fit([{ text: costText(c, frame.bpfStats) }], cols));
  if (!frame.costs.length) foot.push(fit([{ text: 'cost     no bpftrace running yet' }], cols));
  foot.push(fit(keyBar(frame.ui), cols));
  const room = Math.max(0, size.rows - head.length - foot.length);
  const body: string[] = [];
  if (!frame.snapshot.ready) body.push('  waiting for the first interval (compiling the script and attaching the probes)');
  else if (!procs.length) body.push(filter ? `  no process matches "${terminalSafe(filter)}"` : '  no process was active in the last interval');
  else for (const p of procs.slice(0, room)) body.push(tableRow(p));
  const lines = [...head, ...body.slice(0, room).map((l) => fit([{ text: l }], cols))];
  while (lines.length < size.rows - foot.length) lines.push(' '.repeat(cols));
  return [...lines, ...foot].slice(0, Math.max(0, size.rows));
}

/** A snapshot for a pipe or a file: the top `count` processes, a header, coverage and cost; no escapes. */
export function drawSnapshot(frame: Frame, count: number): string[] {
  const procs = visibleProcesses(frame);
  const filter = activeFilter(frame.ui);
  const shown = procs.slice(0, count);
  const lines = [
    `${frame.time}  ${frame.snapshot.processes.length} processes, sorted by ${sortTitle[frame.ui.sort]}${filter ? `, ${procs.length} matching "${terminalSafe(filter)}"` : ''}  ${totalsText(frame.snapshot)}`.trimEnd(),
    columns.map((c, i) => cellText(c, c.title, i)).join('').trimEnd(),
    ...shown.map((p) => tableRow(p).trimEnd()),
  ];
  if (!shown.length) lines.push(filter ? `  no process matches "${terminalSafe(filter)}"` : '  no process was active in the last interval');
  lines.push(monitorSegments(frame.monitors).map((s) => s.text).join('').trimEnd());
  for (const c of frame.costs) lines.push(costText(c, frame.bpfStats));
  if (frame.message) lines.push(terminalSafe(frame.message));
  return [...lines, ''];
}
