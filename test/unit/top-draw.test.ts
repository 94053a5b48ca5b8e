// Drawing `ebpfmon top`: the screen fits the terminal exactly, names cannot act on the terminal, snapshots are plain.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { drawScreen, drawSnapshot, formatBytes, formatMBps, formatRate, formatTime, sortTitle, type Frame } from '../../src/top/draw.js';
import { initialUi } from '../../src/top/keys.js';
import type { ProcessRates } from '../../src/top/model.js';

// Our own attribute sequences (SGR), built from a string: matching an escape is the point.
const sgrPattern = '\\x1b\\[[0-9;]*m';
const sgr = new RegExp(sgrPattern, 'g');
const visible = (line: string): string => line.replace(sgr, '');
// Anything a terminal would act on, once our own attribute sequences are removed.
const unsafe = (line: string): boolean =>
  [...visible(line)].some((ch) => {
    const c = ch.codePointAt(0)!;
    return c <= 0x1f || (c >= 0x7f && c <= 0x9f) || (c >= 0x202a && c <= 0x202e) || (c >= 0x2066 && c <= 0x2069);
  });

const proc = (pid: number, comm: string, syscalls: number, faults = 0): ProcessRates => ({ pid, comm, syscalls, errors: 1, opens: 2, openFailures: 0, faults, switches: 3, bio: 0.25, cpu: null, mem: null, time: null });

function frame(over: Partial<Frame> = {}): Frame {
  return {
    snapshot: {
      processes: [proc(100, 'nginx', 5000, 10), proc(200, 'postgres', 20, 900), proc(300, '\x1b]0;owned\x07', 7), proc(400, 'rtl\u202Eexe', 1)],
      totals: { execs: 0.5, hardirqs: 120, softirqs: 45_000 },
      ready: true,
    },
    ui: initialUi({ sort: 'syscalls', filter: '', editing: null }),
    time: '12:00:00',
    refreshSeconds: 2,
    monitors: [
      { name: 'syscall', state: 'running', coverage: 1, low: false },
      { name: 'bio', state: 'running', coverage: 0.8123, low: true },
      { name: 'open', state: 'restarting', coverage: null, low: false },
    ],
    costs: [{ pid: 4242, runtime: 'aot', monitors: ['syscall', 'bio', 'open'], cpuPercent: 1.5, rssBytes: 14 * 1024 * 1024, bpf: null }],
    bpfStats: false,
    message: null,
    waiting: [],
    starting: null,
    ...over,
  };
}

test('top draw: rates and MB/s fit their columns', () => {
  const rates: [number | null, string][] = [[null, '-'], [0, '0'], [0.5, '0.5'], [9.94, '9.9'], [9.96, '10'], [1234.4, '1234'], [12_345, '12.3k'], [456_700, '457k'], [1_234_567, '1.23M'], [98_765_432, '98.77M']];
  for (const [v, want] of rates) assert.equal(formatRate(v), want, String(v));
  assert.equal(formatMBps(null), '-');
  assert.equal(formatMBps(0), '0');
  assert.equal(formatMBps(1.234), '1.23');
  assert.equal(formatMBps(250.4), '250');
});

test('top draw: the screen has exactly the terminal size, at any size', () => {
  for (const size of [{ columns: 140, rows: 40 }, { columns: 80, rows: 24 }, { columns: 20, rows: 5 }, { columns: 1, rows: 1 }, { columns: 60, rows: 2 }]) {
    const lines = drawScreen(frame(), size);
    assert.equal(lines.length, size.rows, JSON.stringify(size));
    for (const l of lines) assert.equal([...visible(l)].length, size.columns, `${JSON.stringify(size)}: ${JSON.stringify(l)}`);
  }
});

test('top draw: hostile comms and filter text reach the terminal as visible escapes', () => {
  const f = frame({ ui: initialUi({ sort: 'syscalls', filter: '', editing: '\x1b[2J' }), message: 'monitor x: \x1b]0;t\x07' });
  const unfiltered = { ...f, ui: { ...f.ui, editing: null } };
  const lines = [...drawScreen(f, { columns: 140, rows: 40 }), ...drawScreen(unfiltered, { columns: 140, rows: 40 }), ...drawSnapshot(unfiltered, 10)];
  for (const l of lines) assert.equal(unsafe(l), false, JSON.stringify(l));
  const text = lines.map(visible).join('\n');
  assert.match(text, /filter: \\x1b\[2J/);
  assert.match(text, / 300 \\x1b\]0;owned/); // cut to the column, still inert
  assert.match(text, / 400 rtl\\u202eexe/);
  assert.match(text, /monitor x: \\x1b\]0;t\\x07/);
});

test('top draw: the sort, the filter and the footer show in the view', () => {
  const screen = (f: Frame): string[] => drawScreen(f, { columns: 140, rows: 20 }).map(visible);
  const bySyscalls = screen(frame());
  assert.match(bySyscalls[0]!, /ebpfmon top {2}12:00:00 {2}every 2 s {2}4 processes {2}exec\/s 0\.5 {2}hardirq\/s 120 {2}softirq\/s 45\.0k/);
  assert.match(bySyscalls[1]!, /^sort: syscalls\/s ▼ {2}rows 1-4 of 4 {2}filter: -/);
  assert.match(bySyscalls[2]!, /^ +PID COMM +CPU% +RSS +TIME\+ SYSCALLS\/s ERRORS\/s +OPENS\/s FAILED\/s FAULTS\/s SWITCH\/s +IO MB\/s/);
  assert.match(bySyscalls[3]!, /^ +100 nginx +- +- +- +5000 +1\.0 +2\.0 +0 +10 +3\.0 +0\.25 *$/);
  assert.match(bySyscalls[4]!, /^ +200 postgres .* 20 /);
  const byFaults = screen(frame({ ui: initialUi({ sort: 'faults', filter: '', editing: null }) }));
  assert.match(byFaults[1]!, /^sort: faults\/s/);
  assert.match(byFaults[3]!, /^ +200 postgres/);
  const filtered = screen(frame({ ui: initialUi({ sort: 'syscalls', filter: 'GRE', editing: null }) }));
  assert.match(filtered[1]!, /filter: GRE {2}\(1 match\)/);
  assert.match(filtered[3]!, /postgres/);
  assert.doesNotMatch(filtered.join('\n'), /nginx/);
  assert.match(screen(frame({ ui: initialUi({ sort: 'syscalls', filter: 'zzz', editing: null }) }))[3]!, /no process matches "zzz"/);
  assert.match(screen(frame({ ui: initialUi({ sort: 'syscalls', filter: '', editing: 'ng' }) })).at(-1)!, /^filter: ng_ +Enter keep {2}Esc clear/);
  const foot = bySyscalls.slice(-3);
  assert.match(foot[0]!, /^coverage syscall 100\.0% {2}bio 81\.2% {2}open restarting/);
  assert.match(foot[1]!, /^cost {5}bpftrace 4242 \(aot\) {2}CPU 1\.5% {2}RSS 14 MB {2}BPF time off {2}for syscall bio open *$/);
  assert.match(foot[2]!, /^F1\/\? help {2}PMTseofcb sort {2}I invert {2}<> column {2}\/ filter {2}Esc clear {2}\+- delay {2}↑↓ PgUp\/Dn scroll {2}q quit/);
  const withBpf = screen(frame({ bpfStats: true, costs: [{ pid: 1, runtime: 'jit', monitors: ['syscall'], cpuPercent: null, rssBytes: null, bpf: { cpuPercent: 0.42, nsPerEvent: 180 } }] }));
  assert.match(withBpf.at(-2)!, /bpftrace 1 \(jit\) {2}CPU - {2}RSS - {2}BPF 0\.42% \(180 ns\/event\) {2}for syscall/);
  assert.match(screen(frame({ snapshot: { processes: [], totals: { execs: null, hardirqs: null, softirqs: null }, ready: false } }))[3]!, /attaching the probes/);
});

test('top draw: more processes than rows are cut to the screen, the footer stays', () => {
  const many = Array.from({ length: 100 }, (_, i) => proc(i + 1, `p${i + 1}`, 1000 - i));
  const lines = drawScreen(frame({ snapshot: { processes: many, totals: { execs: null, hardirqs: null, softirqs: null }, ready: true } }), { columns: 100, rows: 12 }).map(visible);
  assert.equal(lines.length, 12);
  assert.match(lines[3]!, /^ +1 p1 /);
  assert.match(lines[8]!, /^ +6 p6 /);
  assert.match(lines[9]!, /^coverage/);
});

test('top draw: a snapshot is plain text: the top N, a header and the footer, no escapes', () => {
  const lines = drawSnapshot(frame({ ui: initialUi({ sort: 'faults', filter: '', editing: null }) }), 2);
  assert.equal(lines.some((l) => l.includes('\x1b')), false);
  assert.match(lines[0]!, /^12:00:00 {2}4 processes, sorted by faults\/s {2}exec\/s 0\.5/);
  assert.match(lines[2]!, /^ +200 postgres/);
  assert.match(lines[3]!, /^ +100 nginx/);
  assert.match(lines[4]!, /^coverage/);
  assert.match(lines[5]!, /^cost/);
  assert.equal(lines.at(-1), '');
  assert.equal(lines.length, 7);
  assert.match(drawSnapshot(frame({ ui: initialUi({ sort: 'syscalls', filter: 'nomatch', editing: null }) }), 5)[2]!, /no process matches "nomatch"/);
});

const many = (n: number): ProcessRates[] =>
  Array.from({ length: n }, (_, i) => ({ ...proc(1000 + i, `proc${i}`, 5000 - i * 10, i), cpu: (i * 7) % 100, mem: (i + 1) * 1024 * 1024, time: i * 61.5 }));
const crowd = (ui = initialUi()): Frame => frame({ ui, snapshot: { processes: many(54), totals: { execs: 1, hardirqs: 2, softirqs: 3 }, ready: true } });

test('top draw: at 60x20, 80x24 and 200x50 the header, the sort column, the scroll position and the key hint stay', () => {
  const titles = { cpu: 'CPU%', mem: 'RSS', time: 'TIME+', syscalls: 'SYSCALLS/s', errors: 'ERRORS/s', opens: 'OPENS/s', faults: 'FAULTS/s', switches: 'SWITCH/s', bio: 'IO MB/s' } as const;
  for (const size of [{ columns: 60, rows: 20 }, { columns: 80, rows: 24 }, { columns: 200, rows: 50 }]) {
    for (const sort of Object.keys(titles) as (keyof typeof titles)[]) {
      const raw = drawScreen(crowd(initialUi({ sort })), size);
      const lines = raw.map(visible);
      const what = `${size.columns}x${size.rows} by ${sort}:\n${lines.join('\n')}`;
      assert.equal(lines.length, size.rows, what);
      for (const l of lines) assert.equal([...l].length, size.columns, what);
      assert.match(lines[0]!, /^ebpfmon top {2}12:00:00/, what);
      assert.match(lines[1]!, new RegExp(`^sort: ${sortTitle[sort].replace(/[()/]/g, '\\$&')} ▼ {2}rows 1-\\d+ of 54 {2}filter: -`), what);
      assert.match(lines[2]!, /^ +PID COMM /, what);
      // The sort column is there and marked (the sorted style on its title).
      assert.ok(lines[2]!.includes(titles[sort]), what);
      assert.ok(raw[2]!.includes(`\x1b[1;30;46m${titles[sort].padStart(titles[sort] === 'SYSCALLS/s' ? 11 : titles[sort] === 'TIME+' ? 10 : titles[sort] === 'RSS' ? 7 : titles[sort] === 'CPU%' ? 6 : 9)}`), what);
      assert.match(lines.at(-1)!, /^F1\/\? help .*q quit *$/, what);
    }
  }
  // Columns drop by priority as the width shrinks: at 60 the busiest columns stay, FAILED/s and IO go first.
  const narrow = drawScreen(crowd(), { columns: 60, rows: 20 }).map(visible);
  assert.match(narrow[2]!, /^ +PID COMM +CPU% +RSS SYSCALLS\/s FAULTS\/s *$/);
  const wide = drawScreen(crowd(), { columns: 200, rows: 50 }).map(visible);
  assert.match(wide[2]!, /TIME\+ SYSCALLS\/s ERRORS\/s +OPENS\/s FAILED\/s FAULTS\/s SWITCH\/s +IO MB\/s/);
  assert.match(wide[1]!, /rows 1-44 of 54/);
  assert.match(wide[3]!, /^ +1000 proc0 +0\.0 +1\.00M +0:00\.00 +5000 /);
});

test('top draw: the list scrolls: the selected row is on screen, highlighted, and the range is shown', () => {
  const size = { columns: 80, rows: 24 };
  const end = drawScreen(crowd(initialUi({ selected: 53, first: 53 })), size);
  const lines = end.map(visible);
  assert.match(lines[1]!, /rows 3\d-54 of 54/);
  const last = lines.findIndex((l) => /^ +1053 proc53 /.test(l));
  assert.ok(last > 2, lines.join('\n'));
  assert.ok(end[last]!.startsWith('\x1b[7m'), 'the selected row is in reverse video');
  assert.match(lines[last + 1]!, /^coverage/);
  const top = drawScreen(crowd(), size).map(visible);
  assert.match(top[1]!, /rows 1-\d+ of 54/);
  assert.match(top[3]!, /^ +1000 proc0 /);
  // Inverted: smallest first.
  const inv = drawScreen(crowd(initialUi({ reverse: true })), size).map(visible);
  assert.match(inv[1]!, /^sort: syscalls\/s ▲/);
  assert.match(inv[3]!, /^ +1053 proc53 /);
});

test('top draw: the help overlay lists the keys; the frame before any data says what is being done', () => {
  const help = drawScreen(crowd(initialUi({ help: true })), { columns: 80, rows: 24 }).map(visible).join('\n');
  for (const k of ['F1 ? h', 'I          invert', 'F6 > <', 'PgUp PgDn', '+ -', 'q Ctrl-C']) assert.ok(help.includes(k), `${k}:\n${help}`);
  assert.match(help, /any key closes the help/);
  const empty = { processes: [], totals: { execs: null, hardirqs: null, softirqs: null }, ready: false };
  const first = drawScreen(frame({ snapshot: empty, monitors: [], costs: [], starting: 'checking the config, bpftrace and tracefs' }), { columns: 80, rows: 24 }).map(visible);
  assert.match(first[0]!, /^ebpfmon top/);
  assert.match(first[2]!, /PID COMM/);
  assert.match(first[3]!, /checking the config, bpftrace and tracefs\.\.\./);
  assert.match(first.at(-1)!, /q quit/);
  const attaching = drawScreen(frame({ snapshot: empty, waiting: ['page_fault', 'bio'] }), { columns: 140, rows: 24 }).map(visible);
  assert.match(attaching[0]!, /attaching: page_fault bio/);
  assert.match(attaching[3]!, /attaching the probes/);
});

test('top draw: memory and CPU time as htop shows them', () => {
  const cases: [number | null, string][] = [[null, '-'], [850 * 1024, '850K'], [12.34 * 1024 * 1024, '12.3M'], [1.5 * 1024 ** 3, '1.50G']];
  for (const [v, want] of cases) assert.equal(formatBytes(v), want);
  const times: [number | null, string][] = [[null, '-'], [0, '0:00.00'], [61.5, '1:01.50'], [3725, '1h02:05']];
  for (const [v, want] of times) assert.equal(formatTime(v), want);
});
