// Drawing `ebpfmon top`: pure functions from the model and the terminal size to lines. The full screen gets plain
// SGR attributes (reverse, bold, colours) and each line fits the width; the snapshot for a pipe has no escapes at all.
// Process names come from whoever runs on the machine: every one passes through the console's terminalSafe.
import { terminalSafe } from '../sinks/console.js';
import { activeFilter, clampScroll, sortKeyOf, type UiState } from './keys.js';
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
  /** Monitors not yet counting (compiling, attaching, or no interval closed yet); [] once all are. */
  waiting: readonly string[];
  /** Before the session exists: what is being done ('checking the config and bpftrace'); null after. */
  starting: string | null;
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
  cpu: 'CPU%',
  mem: 'memory (RSS)',
  time: 'CPU time',
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
  /** Dropped in this order (1 first) as the width shrinks; PID, COMM and the sort column are never dropped. */
  drop?: number;
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

/** Bytes as htop shows memory: 850K, 12.3M, 1.24G (1024-based). */
export function formatBytes(v: number | null): string {
  if (v === null) return '-';
  const units = ['K', 'M', 'G', 'T'];
  let x = v / 1024;
  let i = 0;
  while (x >= 999.5 && i < units.length - 1) {
    x /= 1024;
    i++;
  }
  return `${x < 9.95 && i > 0 ? x.toFixed(2) : x < 99.95 && i > 0 ? x.toFixed(1) : Math.round(x)}${units[i]}`;
}

/** CPU seconds as htop's TIME+: m:ss.cc below an hour, then h:mm:ss. */
export function formatTime(v: number | null): string {
  if (v === null) return '-';
  const cs = Math.round(v * 100);
  const h = Math.floor(cs / 360_000);
  const m = Math.floor((cs % 360_000) / 6000);
  const sec = Math.floor((cs % 6000) / 100);
  if (h > 0) return `${h}h${String(m).padStart(2, '0')}:${String(sec).padStart(2, '0')}`;
  return `${m}:${String(sec).padStart(2, '0')}.${String(cs % 100).padStart(2, '0')}`;
}

const formatPercent = (v: number | null): string => (v === null ? '-' : v.toFixed(1));

const columns: readonly Column[] = [
  { title: 'PID', width: 8, cell: (p) => String(p.pid) },
  { title: 'COMM', width: 17, cell: (p) => terminalSafe(p.comm) },
  { title: 'CPU%', width: 6, cell: (p) => formatPercent(p.cpu), sort: 'cpu', drop: 9 },
  { title: 'RSS', width: 7, cell: (p) => formatBytes(p.mem), sort: 'mem', drop: 7 },
  { title: 'TIME+', width: 10, cell: (p) => formatTime(p.time), sort: 'time', drop: 3 },
  { title: 'SYSCALLS/s', width: 11, cell: (p) => formatRate(p.syscalls), sort: 'syscalls', drop: 10 },
  { title: 'ERRORS/s', width: 9, cell: (p) => formatRate(p.errors), sort: 'errors', drop: 5 },
  { title: 'OPENS/s', width: 9, cell: (p) => formatRate(p.opens), sort: 'opens', drop: 6 },
  { title: 'FAILED/s', width: 9, cell: (p) => formatRate(p.openFailures), drop: 1 },
  { title: 'FAULTS/s', width: 9, cell: (p) => formatRate(p.faults), sort: 'faults', drop: 8 },
  { title: 'SWITCH/s', width: 9, cell: (p) => formatRate(p.switches), sort: 'switches', drop: 4 },
  { title: 'IO MB/s', width: 9, cell: (p) => formatMBps(p.bio), sort: 'bio', drop: 2 },
];

/** The columns that fit `cols`: the least useful dropped first, never PID, COMM or the one sorted by. */
export function fitColumns(cols: number, sort: SortKey): Column[] {
  let shown = [...columns];
  const total = (): number => shown.reduce((n, c) => n + c.width, 0);
  const droppable = columns.filter((c) => c.drop !== undefined && c.sort !== sort).sort((a, b) => a.drop! - b.drop!);
  for (const c of droppable) {
    if (total() <= cols) break;
    shown = shown.filter((x) => x !== c);
  }
  return shown;
}

/** Characters as the terminal counts them (code points: comms are short, mostly ASCII). */
const width = (s: string): number => [...s].length;
const cut = (s: string, n: number): string => ([...s].length <= n ? s : [...s].slice(0, Math.max(0, n)).join(''));

function cellText(c: Column, text: string): string {
  // PID and the numbers are right-aligned, COMM left-aligned; a comm too long for its column is cut.
  if (c.title === 'COMM') return ` ${cut(text, c.width - 2).padEnd(c.width - 1)}`;
  return cut(text, c.width).padStart(c.width);
}

function tableHeader(shown: readonly Column[], sort: SortKey): Segment[] {
  return shown.map((c) => ({ text: cellText(c, c.title), style: c.sort === sort ? 'sorted' : 'bar' }));
}

const tableRow = (shown: readonly Column[], p: ProcessRates): string => shown.map((c) => cellText(c, c.cell(p))).join('');

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
  return sortProcesses(filterProcesses(frame.snapshot.processes, activeFilter(frame.ui)), frame.ui.sort, frame.ui.reverse);
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

interface Hint {
  keys: string;
  does: string;
  /** Left out in this order (1 first) when the line is too narrow; help and quit always stay. */
  drop?: number;
}
const hints: readonly Hint[] = [
  { keys: 'F1/?', does: 'help' },
  { keys: sortKeys.map((k) => sortKeyOf[k]).join(''), does: 'sort', drop: 4 },
  { keys: 'I', does: 'invert', drop: 3 },
  { keys: '<>', does: 'column', drop: 1 },
  { keys: '/', does: 'filter', drop: 5 },
  { keys: 'Esc', does: 'clear', drop: 2 },
  { keys: '+-', does: 'delay', drop: 1 },
  { keys: '↑↓ PgUp/Dn', does: 'scroll', drop: 2 },
  { keys: 'q', does: 'quit' },
];

function keyBar(ui: UiState, cols: number): Segment[] {
  if (ui.editing !== null) {
    return [{ text: 'filter: ', style: 'key' }, { text: `${terminalSafe(ui.editing)}_` }, { text: '   Enter keep  Esc clear', style: 'dim' }];
  }
  if (ui.help) return [{ text: 'any key', style: 'key' }, { text: ' closes the help' }];
  const segs = (hs: readonly Hint[]): Segment[] => hs.flatMap((h, i) => [{ text: h.keys, style: 'key' as const }, { text: ` ${h.does}${i < hs.length - 1 ? '  ' : ''}` }]);
  let shown = [...hints];
  const len = (): number => segs(shown).reduce((n, x) => n + width(x.text), 0);
  for (let d = 1; d <= 5 && len() > cols; d++) shown = shown.filter((h) => h.drop === undefined || h.drop > d);
  return segs(shown);
}

/** The help overlay's text: every key, one a line. */
export const helpLines: readonly string[] = [
  'ebpfmon top: keys',
  '',
  '  P M T      sort by CPU%, memory (RSS), CPU time',
  '  s e o f    sort by syscalls/s, errors/s, opens/s, faults/s,',
  '  c b          switches/s, block I/O MB/s',
  '  F6 > <     sort by the next / previous column',
  '  I          invert the sort: ▼ busiest first, ▲ smallest first',
  '  / text     show only processes whose comm contains the text; Enter keeps it',
  '  Esc        clear the filter',
  '  ↑ ↓        move the selection; PgUp PgDn a page; Home End the first / last',
  '  + -        refresh less / more often (0.5 to 10 s)',
  '  F1 ? h     this help (any key closes it)',
  '  q Ctrl-C   quit (bpftrace stops; nothing stays attached)',
  '',
  'CPU% and RSS are read from /proc per refresh; the rates are the monitors\' last interval.',
];

/** Rows of the screen the table body gets (what PgUp/PgDn move by). */
export function bodyRows(frame: Frame, size: Size): number {
  return layout(frame, size).room;
}

function layout(frame: Frame, size: Size): { foot: Segment[][]; room: number } {
  const cols = Math.max(1, size.columns);
  const head = 3;
  // By priority: the key hint, coverage, the cost lines, the last warning; each only while a body row is left.
  const wanted: { line: Segment[]; at: number }[] = [{ line: keyBar(frame.ui, cols), at: 3 }, { line: monitorSegments(frame.monitors), at: 1 }];
  const costs = frame.costs.length ? frame.costs.map((c) => [{ text: costText(c, frame.bpfStats) }]) : [[{ text: 'cost     no bpftrace running yet' }]];
  costs.forEach((line, i) => wanted.push({ line, at: 2 + i / 100 }));
  if (frame.message) wanted.push({ line: [{ text: terminalSafe(frame.message), style: 'warn' }], at: 0 });
  const kept: typeof wanted = [];
  for (const w of wanted) if (size.rows - head - kept.length - 1 >= 1 || !kept.length) kept.push(w);
  kept.sort((a, b) => a.at - b.at);
  return { foot: kept.map((k) => k.line), room: Math.max(0, size.rows - head - kept.length) };
}

/** The full screen: exactly `size.rows` lines, each exactly `size.columns` characters wide (escapes not counted). */
export function drawScreen(frame: Frame, size: Size): string[] {
  const cols = Math.max(1, size.columns);
  const procs = visibleProcesses(frame);
  const filter = activeFilter(frame.ui);
  const { foot, room } = layout(frame, size);
  const ui = clampScroll(frame.ui, { page: room, count: procs.length });
  const shown = fitColumns(cols, ui.sort);
  const range = procs.length ? `  rows ${ui.first + 1}-${Math.min(procs.length, ui.first + room)} of ${procs.length}` : '';
  const waiting = frame.waiting.length ? `  attaching: ${frame.waiting.join(' ')}` : '';
  const head: string[] = [
    fit([{ text: `ebpfmon top  ${frame.time}  every ${frame.refreshSeconds} s  ${frame.snapshot.processes.length} processes  ${totalsText(frame.snapshot)}${waiting}` }], cols),
    fit([{ text: `sort: ${sortTitle[ui.sort]} ${ui.reverse ? '▲' : '▼'}${range}` }, { text: `  filter: ${filter ? terminalSafe(filter) : '-'}${filter ? `  (${procs.length} match)` : ''}` }], cols),
    fit(tableHeader(shown, ui.sort), cols, 'bar'),
  ];
  if (ui.help) {
    // The whole screen: the keys, and how to close it on the last line.
    const help = helpLines.slice(0, Math.max(0, size.rows - 1)).map((l) => fit([{ text: l }], cols));
    while (help.length < size.rows - 1) help.push(' '.repeat(cols));
    return [...help, fit(keyBar(ui, cols), cols)].slice(-Math.max(0, size.rows));
  }
  const body: string[] = [];
  if (frame.starting !== null) body.push(fit([{ text: `  ${frame.starting}...` }], cols));
  else if (!procs.length && !frame.snapshot.ready) body.push(fit([{ text: '  attaching the probes (compiling the scripts); the rows come with the first interval...' }], cols));
  else if (!procs.length) body.push(fit([{ text: filter ? `  no process matches "${terminalSafe(filter)}"` : '  no process was active in the last interval' }], cols));
  else procs.slice(ui.first, ui.first + room).forEach((p, i) => body.push(fit([{ text: tableRow(shown, p), style: ui.first + i === ui.selected ? 'bar' : 'plain' }], cols, ui.first + i === ui.selected ? 'bar' : 'plain')));
  const lines = [...head, ...body.slice(0, room)];
  while (lines.length < size.rows - foot.length) lines.push(' '.repeat(cols));
  return [...lines, ...foot.map((f) => fit(f, cols))].slice(0, Math.max(0, size.rows));
}

/** A snapshot for a pipe or a file: the top `count` processes, a header, coverage and cost; no escapes. */
export function drawSnapshot(frame: Frame, count: number): string[] {
  const procs = visibleProcesses(frame);
  const filter = activeFilter(frame.ui);
  const shown = procs.slice(0, count);
  const lines = [
    `${frame.time}  ${frame.snapshot.processes.length} processes, sorted by ${sortTitle[frame.ui.sort]}${filter ? `, ${procs.length} matching "${terminalSafe(filter)}"` : ''}  ${totalsText(frame.snapshot)}`.trimEnd(),
    columns.map((c) => cellText(c, c.title)).join('').trimEnd(),
    ...shown.map((p) => tableRow(columns, p).trimEnd()),
  ];
  if (!shown.length) lines.push(filter ? `  no process matches "${terminalSafe(filter)}"` : '  no process was active in the last interval');
  lines.push(monitorSegments(frame.monitors).map((s) => s.text).join('').trimEnd());
  for (const c of frame.costs) lines.push(costText(c, frame.bpfStats));
  if (frame.message) lines.push(terminalSafe(frame.message));
  return [...lines, ''];
}
