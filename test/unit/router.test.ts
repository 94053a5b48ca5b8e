// The router and the exec/syscall parsers on real captured bpftrace 0.17 output.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fakeClock, fixtureLines, plannedFor, route, tickLine } from '../helpers/fixtures.js';
import { insaneTick } from '../../src/records/router.js';
import { syscall } from '../../src/monitors/syscall.js';
import { exec } from '../../src/monitors/exec.js';
import { cutMarker } from '../../src/bt/text.js';
import { pathStrlen } from '../../src/monitors/types.js';

// Captured with test/fixtures/workloads/syscall-comma.sh, default options: `sl,ow 100 7 0 3` (pid 29855), and
// everything else the machine did; one interval, closed by END's tick.
const syscallLines = fixtureLines('syscall', 'comma-comm');

test('syscall: a comm containing a comma stays whole, counts and errors join into one row', () => {
  const opts = syscall.options.parse({ enabled: true });
  const { rows, rm, unrouted } = route(syscall, opts, plannedFor('tracepoint'), syscallLines);
  assert.equal(unrouted, 0);
  assert.equal(rm.stats.parseErrors, 0);
  const mine = rows.filter((r) => r['comm'] === 'sl,ow');
  assert.ok(mine.length > 0 && mine.every((r) => r['pid'] === 29855));
  // The workload's own calls are exact: 100 getppid, 7 failing close(-1), 3 of the syscall number -1.
  const getppid = mine.find((r) => r['syscall'] === 'getppid');
  assert.deepEqual(
    { count: getppid?.['count'], errors: getppid?.['error_count'], nr: getppid?.['syscall_nr'], category: getppid?.['category'] },
    { count: 100, errors: 0, nr: 110, category: 'process' },
  );
  // close: the loader's 2 successful closes and the workload's 7 failures, in one row.
  const close = mine.find((r) => r['syscall'] === 'close');
  assert.deepEqual([close?.['count'], close?.['error_count'], close?.['error_rate']], [9, 7, 0.7778]);
  // syscall(-1): sys_exit reports id -1.
  const invalid = mine.find((r) => r['syscall_nr'] === -1);
  assert.deepEqual([invalid?.['syscall'], invalid?.['count'], invalid?.['error_count'], invalid?.['category']], ['none', 3, 3, 'other']);
  for (const r of rows) assert.equal(r['timestamp'], '2026-01-01T01:27:09.908Z');
  assert.equal(getppid?.['avg_latency_us'], null);
});

test('syscall: the rows of the bpftrace process that reads the maps are left out (its own printing and clearing)', () => {
  const opts = syscall.options.parse({ enabled: true });
  const all = route(syscall, opts, plannedFor('tracepoint'), syscallLines).rows;
  const node = all.find((r) => r['comm'] === 'node')!['pid'] as number;
  const without = route(syscall, opts, plannedFor('tracepoint'), syscallLines, 'x64', { tracer: node }).rows;
  assert.ok(all.filter((r) => r['pid'] === node).length > 0);
  assert.equal(without.filter((r) => r['pid'] === node).length, 0);
  assert.equal(without.length, all.filter((r) => r['pid'] !== node).length);
});

test('syscall in a pid namespace: the tracer is found by the pid its script prints (the rows\' pid), not the one ebpfmon sees', () => {
  const opts = syscall.options.parse({ enabled: true });
  const all = route(syscall, opts, plannedFor('tracepoint'), syscallLines).rows;
  const host = all.find((r) => r['comm'] === 'node')!['pid'] as number;
  // ebpfmon sees its bpftrace as pid 7 of the namespace; the kernel's rows carry the host pid, which BEGIN prints.
  const attached = JSON.stringify({ type: 'printf', data: `ebpfmon\tattached\t${host}\n` });
  const { rows, rm } = route(syscall, opts, plannedFor('tracepoint'), [attached, ...syscallLines], 'x64', { tracer: 7 });
  assert.equal(rows.filter((r) => r['pid'] === host).length, 0, 'its own rows left out');
  assert.equal(rows.length, all.filter((r) => r['pid'] !== host).length);
  assert.equal(rm.stats.bpftraceRowPid, host);
});

test('syscall: min_count drops small rows', () => {
  const opts = syscall.options.parse({ enabled: true, min_count: 50 });
  const { rows } = route(syscall, opts, plannedFor('tracepoint'), syscallLines);
  assert.deepEqual(rows.map((r) => [r['comm'], r['syscall'], r['count']]), [['node', 'futex', 265], ['sl,ow', 'getppid', 100], ['node', 'epoll_pwait', 75], ['node', 'read', 57]]);
});

test('syscall: maps with no tick yet produce no rows; the tick closes the interval even when empty', () => {
  const opts = syscall.options.parse({ enabled: true });
  const withoutTicks = syscallLines.filter((l) => !l.includes('syscall\\ttick'));
  assert.equal(withoutTicks.length, syscallLines.length - 1);
  assert.equal(route(syscall, opts, plannedFor('tracepoint'), withoutTicks).rows.length, 0);
  const onlyTicks = route(syscall, opts, plannedFor('tracepoint'), [
    tickLine('syscall', 1000000000, 1),
    tickLine('syscall', 3000000000, 2),
  ]);
  assert.equal(onlyTicks.rows.length, 0);
  assert.equal(onlyTicks.unrouted, 0);
});

test('a tick on time but two intervals after the last (the kernel skipped the timer) is marked: its rows cover the span', () => {
  const opts = syscall.options.parse({ enabled: true });
  const tick = (s: number): string => tickLine('syscall', s * 1e9, s / 2);
  // Ticks at 2, 4, 8 (the one at 6 s never fired) and 10 s; fakeClock's monotonic time keeps every one on time.
  const r = route(syscall, opts, plannedFor('tracepoint'), [tick(2), tick(4), tick(8), tick(10)]);
  assert.deepEqual(r.notes, [
    "2026-01-01T00:00:08.000Z the kernel skipped 1 tick of the interval timer: this interval's rows cover 4.0 s from 2026-01-01T00:00:04.000Z, not 2 s; counts are totals for that span",
  ]);
  assert.equal(r.rm.stats.skippedTicks, 1);
  assert.equal(r.rm.stats.stalls, 0);
});

test('router: malformed, truncated and unexpected lines are counted, never thrown', () => {
  const opts = syscall.options.parse({ enabled: true });
  const lines = [
    '',
    '   ',
    '{"type": "map", "data": {"@syscall_count": {"12,3,cat": 4}}}',
    '{"type": "map", "data": {"@syscall_count": {"12,3,c',
    'garbage',
    '{"type": "map", "data": {"@syscall_bogus": {"1": 1}}}',
    '{"type": "map", "data": {"@other_thing": {"1": 1}}}',
    '{"type": "map", "data": {"@syscall_errors": {"12": 1}}}',
    '{"type": "printf", "data": "syscall\\tunknown_tag\\n"}',
    '{"type": "lost_events", "data": {"events": 17}}',
    '{"type": "time", "data": "12:00:00\\n"}',
    tickLine('syscall', 5000000000),
  ];
  const { rows, rm, unrouted } = route(syscall, opts, plannedFor('tracepoint'), lines);
  assert.equal(rows.length, 1);
  assert.deepEqual([rows[0]?.['pid'], rows[0]?.['syscall'], rows[0]?.['count'], rows[0]?.['comm']], [12, 'close', 4, 'cat']);
  assert.equal(rm.stats.lostEvents, 17);
  assert.equal(unrouted, 6);
  assert.equal(rm.stats.parseErrors, 3, 'bogus map, short key and unknown tag belong to syscall');
  assert.equal(rows[0]?.['timestamp'], '2026-01-01T00:00:05.000Z');
});

test('exec: comm is the kernel\'s; paths arrive whole with tabs and commas, UTF-8 decoded, cut ones marked', () => {
  const opts = exec.options.parse({ enabled: true });
  // Captured with test/fixtures/workloads/exec-names.sh, in the process of path monitors (BPFTRACE_STRLEN pathStrlen).
  const { rows, unrouted } = route(exec, opts, plannedFor('tracepoint'), fixtureLines('exec', 'names'), 'x64', { strlen: pathStrlen });
  assert.equal(unrouted, 0);
  const at = (tail: string) => rows.find((r) => String(r['filename']).endsWith(tail));
  assert.deepEqual([at('with\ttab, comma')?.['comm'], at('with\ttab, comma')?.['uid']], ['with\ttab, comma', 0]);
  assert.equal(at('/café-日本')?.['comm'], 'café-日本', 'bytes >= 0x80 recovered from bpftrace\'s \\uffffffXX escape');
  assert.equal(at('/back\\\\slash')?.['comm'], 'back\\\\slash', 'a backslash is doubled: the escape stays lossless');
  assert.equal(at('/bad\\xffbyte')?.['comm'], 'bad\\xffbyte', 'a byte that is not UTF-8 becomes \\xNN');
  const long = rows.find((r) => /\/r{90,}$/.test(String(r['filename'])));
  assert.equal(Buffer.byteLength(String(long?.['filename'])), 120, 'a 120-byte path is complete');
  assert.equal(long?.['comm'], 'rrrrrrrrrrrrrrr', 'TASK_COMM_LEN cuts the kernel\'s comm at 15 bytes');
  const cut = rows.find((r) => String(r['filename']).includes('/xxxx'));
  assert.ok(String(cut?.['filename']).endsWith(cutMarker), 'a path longer than str() reads is marked as cut');
  assert.equal(Buffer.byteLength(String(cut?.['filename']).slice(0, -cutMarker.length)), pathStrlen - 1);
  assert.equal(cut?.['comm'], 'yyyyyyyyyyyyyyy', 'the comm is right even when the path is cut');
  // fexecve: the kernel names the process after the file, the path is the fd's.
  assert.deepEqual([at('/dev/fd/3')?.['comm']], ['true']);
  for (const r of rows) {
    assert.ok(Number(r['pid']) > 0 && Number(r['ppid']) > 0);
    assert.match(String(r['timestamp']), /^2026-01-01T00:\d\d:\d\d\.\d{3}Z$/);
    assert.doesNotMatch(String(r['comm']) + String(r['filename']), /\uffff|\\x00/);
  }
});

test('END: the retired copy is kept when its flip never ticked (bpftrace dropped that interval), skipped when it did (only its clear was dropped)', () => {
  const opts = syscall.options.parse({ enabled: true });
  const map = (name: string, n: number): string => JSON.stringify({ type: 'map', data: { [name]: { '12,39,cat': n } } });
  const printf = (text: string): string => JSON.stringify({ type: 'printf', data: text });
  const sum = (rows: Record<string, unknown>[]): number => rows.reduce((s, r) => s + Number(r['count']), 0);
  // Flip 1 printed @syscall_count (5 calls) and ticked; END prints the copy in use (_b: 2) and the retired copy again
  // (its clear was lost): 5 + 2, not 12.
  const cleared = route(syscall, opts, plannedFor('tracepoint'), [
    map('@syscall_count', 5), printf('syscall\ttick\t1000000000\t1\n'),
    map('@syscall_count_b', 2), printf('syscall\tretired\t1\n'), map('@syscall_count', 5), printf('syscall\ttick\t2000000000\t1\n'),
  ]);
  assert.equal(sum(cleared.rows), 7);
  // Flip 2 happened as bpftrace was finishing and printed nothing: its retired copy (3 calls) is counted in END.
  const dropped = route(syscall, opts, plannedFor('tracepoint'), [
    map('@syscall_count', 5), printf('syscall\ttick\t1000000000\t1\n'),
    map('@syscall_count', 1), printf('syscall\tretired\t2\n'), map('@syscall_count_b', 3), printf('syscall\ttick\t2000000000\t2\n'),
  ]);
  assert.equal(sum(dropped.rows), 9);
  assert.equal(cleared.unrouted + dropped.unrouted, 0);
});

test('ticks that are no kernel time of the run (an edited script): counted, warned, marked; rows keep sane dates', () => {
  const opts = syscall.options.parse({ enabled: true });
  const s = 1_000_000_000;
  // The run began at 100 s (monotonic) and "now" stays there: ticks at 98 and 99 s are on time.
  const clock = { ...fakeClock, monotonicNs: () => BigInt(100 * s) };
  const calls = (n: number): string => `{"type": "map", "data": {"@syscall_count": {"12,3,cat": ${n}}}}`;
  const tick = (ns: string): string => tickLine('syscall', ns);
  const lines = [
    calls(1), tick(String(98 * s)),
    // 2^64 - 1: a negative number printed as %llu (rows dated 2611, "covers 18446742574 s" before)
    calls(2), tick('18446744073709551615'),
    // before the tick before
    calls(3), tick(String(99 * s)),
    // long before the run began (a relative time: nsecs - @start)
    calls(4), tick('5000'),
    calls(5), tick('soon'),
  ];
  const r = route(syscall, opts, plannedFor('tracepoint'), lines, 'x64', { clock });
  assert.deepEqual(r.rows.map((x) => x['count']), [1, 2, 3, 4, 5], 'every interval still closes');
  for (const row of r.rows) assert.match(String(row['timestamp']), /^2026-01-01T00:01:(38|40)\.000Z$/);
  assert.equal(r.rm.stats.parseErrors, 4);
  assert.equal(r.rm.stats.stalls, 0);
  assert.equal(r.notes.length, 4);
  assert.match(r.notes[0]!, /^2026-01-01T00:01:40\.000Z tick "18446744073709551615" is not a kernel time of this run \(18446743973\.7 s ahead of now\)/);
  assert.match(r.notes[1]!, /not after the tick before/);
  assert.match(r.notes[2]!, /s before this run began/);
  assert.match(r.notes[3]!, /"soon" .*\(not a number\)/);
  for (const n of r.notes) assert.doesNotMatch(n, /cover|stalled/);
});

test('a stall is written at a late tick once it holds stallKeysMax keys: every count once, spans marked, memory bounded', () => {
  const opts = syscall.options.parse({ enabled: true });
  const s = 1_000_000_000;
  // "Now" stays at 40 s: the ticks at 28 ... 36 s arrive late (over interval + 1 s), the one at 38 s on time.
  const clock = { ...fakeClock, monotonicNs: () => BigInt(40 * s) };
  // Three distinct keys per interval (pids n, n+1, n+2), one call each.
  const interval = (n: number): string => `{"type": "map", "data": {"@syscall_count": {"${n},3,a": 1, "${n + 1},3,a": 1, "${n + 2},3,a": 1}}}`;
  const lines: string[] = [];
  for (let i = 0; i < 6; i++) lines.push(interval(10 * i), tickLine('syscall', String((28 + 2 * i) * s)));
  const merged = route(syscall, opts, plannedFor('tracepoint'), lines, 'x64', { clock });
  const bounded = route(syscall, opts, plannedFor('tracepoint'), lines, 'x64', { clock, stallKeysMax: 6 });
  const total = (rows: readonly Record<string, unknown>[]): number => rows.reduce((n, r) => n + Number(r['count']), 0);
  assert.equal(total(merged.rows), 18);
  assert.equal(total(bounded.rows), 18, 'no count lost or repeated');
  // Unbounded: the whole stall in one span, at the on-time tick; bounded: written at every second late tick.
  assert.deepEqual([...new Set(merged.rows.map((r) => r['timestamp']))], ['2026-01-01T00:00:38.000Z']);
  assert.equal(merged.rm.stats.stalls, 1);
  const at = (t: number): string => `2026-01-01T00:00:${t}.000Z`;
  assert.deepEqual([...new Set(bounded.rows.map((r) => r['timestamp']))], [at(30), at(34), at(38)]);
  assert.equal(bounded.rm.stats.stalls, 3);
  assert.equal(bounded.notes.length, 3);
  assert.match(bounded.notes[0]!, /^\S+:30\.000Z bpftrace is stalled \(its ticks arrive late\): this interval's rows cover 2\.0 s \(2 intervals\), not 2 s, written at a late tick/);
  assert.match(bounded.notes[1]!, /^\S+:34\.000Z bpftrace is stalled .* cover 4\.0 s from \S+:30\.000Z \(2 intervals\)/);
  assert.match(bounded.notes[2]!, /^\S+:38\.000Z bpftrace stalled: this interval's rows cover 4\.0 s from \S+:34\.000Z \(2 intervals\), not 2 s; counts are totals/);
});

test('insaneTick: ahead of now, before the run, not after the last; a minute of slack either way', () => {
  const s = 1_000_000_000n;
  const at = { nowNs: 1000n * s, startNs: 900n * s, lastNs: 950n * s };
  assert.equal(insaneTick(999n * s, at), null);
  assert.equal(insaneTick(1059n * s, at), null, 'within the slack ahead');
  assert.match(insaneTick(1061n * s, at) ?? '', /61\.0 s ahead of now/);
  assert.equal(insaneTick(960n * s, { ...at, lastNs: null }), null);
  assert.match(insaneTick(839n * s, { ...at, lastNs: null }) ?? '', /61\.0 s before this run began/);
  assert.match(insaneTick(950n * s, at) ?? '', /not after the tick before/);
});

test('exec args: the args record joins the next event of its CPU with the same seq and pid, and no other', () => {
  const opts = exec.options.parse({ enabled: true });
  const hex = (s: string): string => [...Buffer.from(s, 'latin1')].map((b) => `\\x${b.toString(16).padStart(2, '0')}`).join('');
  const args = (cpu: number, seq: number, pid: number, area: string): string =>
    JSON.stringify({ type: 'printf', data: `exec\targs\t${cpu}\t${seq}\t${pid}\t${area.length}\t${hex(area)}\n` });
  const event = (cpu: number, seq: number, pid: number, path: string): string =>
    JSON.stringify({ type: 'printf', data: `exec\tevent\t1000000000\t${cpu}\t${seq}\t0\t${pid}\t1\t${hex('x')}\t${path}\n` });
  const lines = [
    args(0, 1, 10, '/bin/echo\0a b\0'),
    args(1, 1, 20, 'ls\0-l\0'), // another CPU in between: held apart
    event(0, 1, 10, '/bin/echo'),
    event(1, 1, 20, '/bin/ls'),
    args(0, 2, 11, 'old\0'), // its event never came (lost): the next event of CPU 0 must not take it
    event(0, 3, 12, '/bin/three'),
    args(1, 2, 99, 'other\0'), // same cpu and seq, another pid: not this event's
    event(1, 2, 21, '/bin/two'),
  ];
  const { rows } = route(exec, opts, plannedFor('tracepoint'), lines);
  assert.deepEqual(
    rows.map((r) => [r['filename'], r['args']]),
    [
      ['/bin/echo', '/bin/echo a\\ b'],
      ['/bin/ls', 'ls -l'],
      ['/bin/three', null],
      ['/bin/two', null],
    ],
  );
});

test('a tick without its flip (the contract before the double buffer numbered its flips) is refused, not guessed', () => {
  const opts = syscall.options.parse({ enabled: true });
  const r = route(syscall, opts, plannedFor('tracepoint'), [
    '{"type": "map", "data": {"@syscall_count": {"12,3,cat": 4}}}',
    '{"type": "printf", "data": "syscall\\ttick\\t2000000000\\n"}',
  ]);
  assert.equal(r.rows.length, 0);
  assert.equal(r.rm.stats.parseErrors, 1);
  assert.equal(r.rm.stats.lastError, 'syscall: printf "tick" has fewer than 2 fields; ignored');
  // The same interval closed by a tick as the script prints it now.
  const ok = route(syscall, opts, plannedFor('tracepoint'), ['{"type": "map", "data": {"@syscall_count": {"12,3,cat": 4}}}', tickLine('syscall', 2000000000, 1)]);
  assert.deepEqual([ok.rows.length, ok.rm.stats.parseErrors], [1, 0]);
});
