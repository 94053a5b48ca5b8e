// open: real bpftrace 0.17 output -> rows (per pid and path, comm from @open_comm), options, the generated script.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { open, openOptions } from '../../../src/monitors/open.js';
import type { MonitorPlan, ParseCtx } from '../../../src/monitors/types.js';
import { planMonitor } from '../../../src/plan/plan.js';
import { assumedFeatures } from '../../../src/bt/features.js';
import type { Capabilities } from '../../../src/plan/capabilities.js';
import { fakeClock, fixtureLines, intervalOf, plannedFor, rendered, route } from '../../helpers/fixtures.js';

const monitor = open;

/** Rows in a fixed order: the parser orders by count and pid only, and rows tied on both keep the map's order. */
const byPath = <R extends Record<string, unknown>>(rows: readonly R[]): R[] =>
  [...rows].sort((a, b) => Number(b['count']) - Number(a['count']) || Number(a['pid']) - Number(b['pid']) || String(a['filename']).localeCompare(String(b['filename']), 'en'));
const opts = openOptions.parse({ enabled: true, interval: 1 });

/** A plan whose kernel offers the given open syscalls (both entry and exit tracepoints). */
function planWith(syscalls: readonly string[]): MonitorPlan {
  const fields: Record<string, readonly string[]> = {};
  for (const s of syscalls) {
    fields[`syscalls:sys_enter_${s}`] = ['dfd', 'filename', 'flags', 'mode'];
    fields[`syscalls:sys_exit_${s}`] = ['ret'];
  }
  return { variant: 'tracepoint', interval: 2, symbols: {}, tracepointFields: fields, bt: assumedFeatures };
}

test('a captured run: comma in the comm and in the path, successes and failures join into one row per pid and path', () => {
  // Captured with test/fixtures/workloads/open-comma.sh, comm: "eb,op": `eb,op x,y 2 1 2` (pid 17710), then
  // `eb,op $dir/nonexistent-dir 0 1 1` (pid 17711). The workload's own opens are exact; the loader adds two each.
  const { rows, rm, unrouted } = route(monitor, opts, plannedFor('tracepoint', 1), fixtureLines('open', 'comma-path'));
  assert.equal(unrouted, 0);
  assert.equal(rm.stats.parseErrors, 0);
  const ts = '2026-01-01T03:23:29.115Z';
  const row = (pid: number, filename: string, count: number, errors: number) => ({
    timestamp: ts,
    pid,
    comm: 'eb,op',
    filename,
    count,
    error_count: errors,
    error_rate: count ? Math.round((errors / count) * 10000) / 10000 : 0,
    cgroup: null,
    folded: 0,
  });
  // Every path fitted: no folded row.
  assert.deepEqual(byPath(rows), [
    row(17710, 'x,y/e0', 2, 0),
    row(17710, 'x,y/e1', 2, 0),
    row(17710, 'x,y/m0', 2, 2),
    row(17710, '/etc/ld.so.cache', 1, 0),
    row(17710, '/lib/x86_64-linux-gnu/libc.so.6', 1, 0),
    row(17711, '/etc/ld.so.cache', 1, 0),
    row(17711, '/lib/x86_64-linux-gnu/libc.so.6', 1, 0),
    row(17711, '/tmp/ebpfmon-open-3kH0sA/nonexistent-dir/m0', 1, 1),
  ]);
  assert.equal(byPath(rows)[2]?.['error_rate'], 1);
});

test('a captured run: path bytes >= 0x80 arrive as bpftrace\'s \\uffffffXX escapes and leave as UTF-8; a byte that is not UTF-8 as \\xNN', () => {
  // Captured with test/fixtures/workloads/open-non-ascii.sh, comm: "op-utf8": `op-utf8 café-日本 1 1 3` (pid 17854),
  // then `op-utf8 bad<0xff> 0 1 1` (pid 17857).
  const lines = fixtureLines('open', 'non-ascii-path');
  assert.ok(lines.some((l) => l.includes('caf\\uffffffc3\\uffffffa9-\\uffffffe6')), 'the raw escape is in the capture');
  const { rows, rm, unrouted } = route(monitor, opts, plannedFor('tracepoint', 1), lines);
  assert.equal(unrouted, 0);
  assert.equal(rm.stats.parseErrors, 0);
  assert.deepEqual(byPath(rows).map((r) => [r['pid'], r['comm'], r['filename'], r['count'], r['error_count']]), [
    [17854, 'op-utf8', 'café-日本/e0', 3, 0],
    [17854, 'op-utf8', 'café-日本/m0', 3, 3],
    [17854, 'op-utf8', '/etc/ld.so.cache', 1, 0],
    [17854, 'op-utf8', '/lib/x86_64-linux-gnu/libc.so.6', 1, 0],
    [17857, 'op-utf8', '/etc/ld.so.cache', 1, 0],
    [17857, 'op-utf8', '/lib/x86_64-linux-gnu/libc.so.6', 1, 0],
    [17857, 'op-utf8', 'bad\\xff/m0', 1, 1],
  ]);
  assert.equal(Buffer.byteLength(String(byPath(rows)[0]?.['filename'])), 'caf'.length + 2 + 1 + 6 + '/e0'.length);
  for (const r of rows) assert.equal(r['timestamp'], '2026-01-01T03:23:35.135Z');
});

test('min_count folds rows with fewer opens into the process\'s [other paths] row; ticks alone give no rows', () => {
  const { rows } = route(monitor, openOptions.parse({ enabled: true, min_count: 2 }), plannedFor('tracepoint'), fixtureLines('open', 'comma-path'));
  assert.deepEqual(byPath(rows).map((r) => [r['pid'], r['filename'], r['count'], r['error_count'], r['folded']]), [
    [17711, '[other paths]', 3, 1, 1],
    [17710, '[other paths]', 2, 0, 1],
    [17710, 'x,y/e0', 2, 0, 0],
    [17710, 'x,y/e1', 2, 0, 0],
    [17710, 'x,y/m0', 2, 2, 0],
  ]);
  const ticks = fixtureLines('open', 'comma-path').filter((l) => !l.includes('"map"'));
  assert.equal(ticks.filter((l) => l.includes('open\\ttick')).length, 3);
  const r = route(monitor, opts, plannedFor('tracepoint'), ticks);
  assert.equal(r.rows.length, 0);
  assert.equal(r.unrouted, 0);
});

test('comm: the name with most opens for the pid wins, ties go to the smaller name, no name gives ""', () => {
  // Constructed (not captured): a pid that exec'd mid-interval, and one whose @open_comm entry is missing.
  const opens = (list: [string, string, string, number][]) => list.map(([pid, failed, filename, value]) => ({ key: { pid, failed, filename }, value }));
  const comms = (list: [string, string, number][]) => list.map(([pid, comm, value]) => ({ key: { pid, failed: '0', comm }, value }));
  const ctx: ParseCtx = { timestamp: 'T', intervalSeconds: 2, wallTime: fakeClock.wallTime, arch: 'x64' };
  const rec = intervalOf({
    // pid 10 opened /a three times and failed twice more: one row of 5 opens, 2 errors.
    '@open_count': opens([['10', '0', '/a', 3], ['10', '1', '/a', 2], ['11', '0', '/b', 1], ['12', '1', '/c', 1]]),
    '@open_comm': comms([['10', 'bash', 1], ['10', 'cat', 2], ['11', 'zz', 1], ['11', 'aa', 1]]),
  });
  const rows = open.parse(rec, ctx, opts);
  // Pid 10's per-process count (3) is below its path rows' (5): the path rows count, nothing is folded. Pid 11 made
  // 2 opens, one on a path kept: the other is folded.
  assert.deepEqual(rows.map((r) => [r.pid, r.comm, r.filename, r.count, r.error_count, r.error_rate, r.folded]), [
    [10, 'cat', '/a', 5, 2, 0.4, 0],
    [11, 'aa', '/b', 1, 0, 0, 0],
    [11, 'aa', '[other paths]', 1, 0, 0, 1],
    [12, '', '/c', 1, 1, 1, 0],
  ]);
  assert.deepEqual(open.parse({ kind: 'event', tag: 'tick', fields: () => null, joined: () => null }, ctx, opts), []);
});

test('one process with more distinct paths than the path map holds: exact totals, the rest in one folded row, not marked', () => {
  // The path map printed as full as it can be (capacity 4): 4 paths of pid 100 kept; @open_comm counted all 10 opens
  // of pid 100 (7 failed) and 1 of pid 200, whose path did not fit at all.
  const lines = [
    '{"type": "map", "data": {"@open_count": {"100,1,/x/m0": 1, "100,1,/x/m1": 1, "100,0,/x/e0": 2, "100,1,/x/m,2": 1}}}',
    '{"type": "map", "data": {"@open_comm": {"100,0,gr,ep": 3, "100,1,gr,ep": 7, "200,1,cc1": 1}}}',
    '{"type": "printf", "data": "open\\ttick\\t2000000000\\t1\\n"}',
  ];
  const { rows, rm, notes } = route(monitor, opts, plannedFor('tracepoint', 1), lines, 'x64', { mapCapacity: 4 });
  assert.deepEqual(byPath(rows).map((r) => [r['pid'], r['comm'], r['filename'], r['count'], r['error_count'], r['folded']]), [
    [100, 'gr,ep', '[other paths]', 5, 4, 1],
    [100, 'gr,ep', '/x/e0', 2, 0, 0],
    [100, 'gr,ep', '/x/m,2', 1, 1, 0],
    [100, 'gr,ep', '/x/m0', 1, 1, 0],
    [100, 'gr,ep', '/x/m1', 1, 1, 0],
    [200, 'cc1', '[other paths]', 1, 1, 1],
  ]);
  // Per process: path rows + folded row = the exact totals.
  for (const [pid, count, errors] of [[100, 10, 7], [200, 1, 1]] as const) {
    const mine = rows.filter((r) => r['pid'] === pid);
    assert.equal(mine.reduce((n, r) => n + Number(r['count']), 0), count);
    assert.equal(mine.reduce((n, r) => n + Number(r['error_count']), 0), errors);
  }
  assert.deepEqual(notes, [], 'a full path map is folded, not an incomplete interval');
  const foldedRow = rows.find((r) => r['folded'] === 1 && r['pid'] === 100)!;
  assert.match(open.consoleLine(foldedRow as Parameters<typeof open.consoleLine>[0]), /count= {5}5 errors= {5}4 \(80\.0%\) \[other paths\] \(folded: paths not kept\)$/);
  assert.equal(rm.stats.saturatedIntervals, 0);

  // bpftrace 0.23+ reports each dropped update with its line: one of the path map's is folded detail; one of the
  // per-process map's is a lost count, and marked.
  const drop = (line: number) => `{"type": "helper_error", "msg": "Map full", "helper": "map_update_elem", "retcode": -7, "line": ${line}, "col": 3}`;
  const lines23 = { monitorAt: () => 'open', foldedAt: (line: number) => line === 31 };
  const folded = route(monitor, opts, plannedFor('tracepoint', 1), [drop(31), ...lines], 'x64', { mapCapacity: 4, lines: lines23 });
  assert.deepEqual(folded.notes, []);
  const lost = route(monitor, opts, plannedFor('tracepoint', 1), [drop(36), ...lines], 'x64', { mapCapacity: 4, lines: lines23 });
  assert.match(lost.notes.join('\n'), /incomplete: 1 update was dropped/);

  // The per-process map itself full (capacity 3 here): that interval is marked, as before.
  const full = route(monitor, opts, plannedFor('tracepoint', 1), lines, 'x64', { mapCapacity: 3 });
  assert.match(full.notes.join('\n'), /incomplete: @open_comm held 3 keys/);
});

test('options: defaults, and bad values are refused with a message', () => {
  assert.deepEqual(openOptions.parse({}), { enabled: false, interval: 2, min_count: 1, cgroup: false });
  const issue = (o: unknown): string => {
    const r = openOptions.safeParse(o);
    assert.equal(r.success, false, `accepted ${JSON.stringify(o)}`);
    return r.error?.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ') ?? '';
  };
  assert.equal(issue({ min_count: 0 }), 'min_count: expected a whole number >= 1');
  assert.equal(issue({ min_count: 1.5 }), 'min_count: expected a whole number >= 1');
  assert.equal(issue({ min_count: 'many' }), 'min_count: expected a whole number >= 1');
  assert.equal(issue({ interval: -1 }), 'interval: expected a positive number of seconds');
  assert.match(issue({ comm: 'a-very-long-command-name' }), /^comm: expected a process name/);
  assert.match(issue({ path_prefix: 'etc/' }), /^path_prefix: expected an absolute path prefix/);
  assert.match(issue({ path_prefix: `/${'a'.repeat(63)}` }), /^path_prefix: expected at most 63 characters/);
  assert.match(issue({ pathprefix: '/etc' }), /pathprefix/);
});

test('options: injection attempts in comm and path_prefix are refused by the schema', () => {
  const attempts = [
    'x"/ { system("id"); } /"',
    'a"b',
    'a\\b',
    'a\nb',
    'a\tb',
    'a\u0000b',
    'é',
    'x) || (1',
    'x}',
  ];
  for (const bad of attempts) {
    assert.equal(openOptions.safeParse({ comm: bad }).success, false, `comm ${JSON.stringify(bad)}`);
    assert.equal(openOptions.safeParse({ path_prefix: `/${bad}` }).success, false, `path_prefix ${JSON.stringify(bad)}`);
  }
});

test('generate: entry saves the pointer, exit reads it; only syscalls whose tracepoints the plan has get probes', () => {
  const all = rendered(monitor, opts, planWith(['open', 'openat', 'openat2']));
  for (const s of ['open', 'openat', 'openat2']) {
    assert.ok(all.probes.includes(`tracepoint:syscalls:sys_enter_${s} {\n  @open_fname[tid] = args->filename;\n}`), s);
    assert.ok(all.probes.includes(`tracepoint:syscalls:sys_exit_${s} /@open_fname[tid]/ {\n  $f = str(@open_fname[tid]);`), s);
  }
  // One update per open, failed or not: the outcome is a key part.
  assert.ok(all.probes.includes('  $failed = args->ret < 0 ? 1 : 0;\n  @open_count[pid, $failed, $f] = count();\n  @open_comm[pid, $failed, comm] = count();\n}'));
  assert.ok(!all.probes.includes('@open_errors'));
  assert.ok(!all.probes.includes('strncmp'));
  assert.deepEqual(all.helpers, ['@open_fname']);
  const decl = open.generate(opts, planWith(['openat']));
  assert.deepEqual(decl.results.map((m) => `${m.name}[${m.key.parts.map((p) => p.name).join(', ')}]`), [
    '@open_count[pid, failed, filename]',
    '@open_comm[pid, failed, comm]',
  ]);
  // The path map may fill (its overflow is folded); the per-process one holds the totals and is marked when full.
  assert.deepEqual(decl.results.map((m) => m.folds ?? false), [true, false]);
  assert.ok(all.flush.endsWith('printf("open\\ttick\\t%llu\\t%llu\\n", nsecs, 0);'));
  assert.ok(!all.flush.includes('@open_fname'), 'the helper map is never printed');

  // aarch64 has no open; kernels before 5.6 no openat2.
  const arm = rendered(monitor, opts, planWith(['openat']));
  assert.equal((arm.probes.match(/^tracepoint:/gm) ?? []).length, 2);
  assert.ok(!/sys_(enter|exit)_open\b/.test(arm.probes) && !arm.probes.includes('openat2'));
});

test('generate: comm filters at entry, path_prefix compares the string read at entry', () => {
  const f = rendered(monitor, openOptions.parse({ comm: 'nginx', path_prefix: '/etc/ssl' }), planWith(['openat']));
  assert.ok(f.probes.includes('tracepoint:syscalls:sys_enter_openat /comm == "nginx"/ {'));
  assert.ok(f.probes.includes('tracepoint:syscalls:sys_exit_openat /@open_fname[tid]/ {'));
  // The prefix is compared at entry; only matching opens are remembered for the exit probe.
  assert.ok(f.probes.includes('  $ptr = args->filename;\n  if (strncmp(str($ptr), "/etc/ssl", 8) == 0) {\n    @open_fname[tid] = $ptr;\n  }'));
});

test('plan: open and openat2 are optional, openat is not', () => {
  const caps = (present: readonly string[]): Capabilities => ({
    root: { ok: true, detail: '' },
    kernel: '6.18',
    arch: 'arm64',
    bpftrace: { path: '/usr/bin/bpftrace', version: '0.17.0', detail: '', features: assumedFeatures },
    tracefs: { path: '/sys/kernel/tracing', detail: '' },
    debugfs: { ok: true, detail: '' },
    kprobes: { ok: false, detail: '' },
    btf: { ok: true, detail: '' },
    tracepoint: (c, e) => (c === 'syscalls' && present.includes(e.replace(/^sys_(enter|exit)_/, '')) ? (e.startsWith('sys_enter') ? ['filename'] : ['ret']) : null),
    symbols: () => [],
  });
  const arm = planMonitor(monitor, opts, caps(['openat']), false);
  assert.equal(arm.verdict.status, 'ready');
  assert.deepEqual(Object.keys(arm.plan?.tracepointFields ?? {}), ['syscalls:sys_enter_openat', 'syscalls:sys_exit_openat']);
  const none = planMonitor(monitor, opts, caps(['open', 'openat2']), false);
  assert.equal(none.verdict.status, 'unavailable');
  assert.match(none.verdict.detail, /syscalls:sys_enter_openat does not exist/);
});
