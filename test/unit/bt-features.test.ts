// One table: what ebpfmon does differently on each bpftrace version Debian and Ubuntu ship (src/bt/features.ts),
// and the pieces that read it: environment names, text keys as bytes, helper_error records, JSON numbers as strings.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { featuresOf, parseVersion, compareVersions, type BpftraceFeatures } from '../../src/bt/features.js';
import { bpftraceEnv, configBlock, contractOf, foldedLinesOf, sectionsOf } from '../../src/script/compose.js';
import { renderProbe } from '../../src/bt/render.js';
import { keyOf, pidPart, probe, resultMap, text, update, int } from '../../src/bt/ir.js';
import { parseLine } from '../../src/records/json-line.js';
import { decodeByteArray, decodeText, unescapeJson } from '../../src/bt/text.js';
import { monitors } from '../../src/monitors/registry.js';
import { open } from '../../src/monitors/open.js';
import { plannedFor } from '../helpers/fixtures.js';

const at = (v: string): BpftraceFeatures => featuresOf(parseVersion(v)!);

test('versions parse from --version output and order', () => {
  assert.deepEqual(parseVersion('bpftrace v0.23.2'), { major: 0, minor: 23, patch: 2 });
  assert.deepEqual(parseVersion('bpftrace v0.27.1-1'), { major: 0, minor: 27, patch: 1 });
  assert.deepEqual(parseVersion('v0.17'), { major: 0, minor: 17, patch: 0 });
  assert.equal(parseVersion('bpftrace'), null);
  assert.ok(compareVersions(parseVersion('0.9.4')!, parseVersion('0.17.0')!) < 0);
});

test('the table: Debian 12 (0.17), Ubuntu 24.04 (0.20), Debian 13 (0.23), sid (0.27)', () => {
  const rows = ['0.17.0', '0.20.2', '0.21.0', '0.22.1', '0.23.2', '0.24.0', '0.27.1'].map((v) => {
    const f = at(v);
    return [v, f.env.mapKeys, f.aheadOfTime.mode, f.textKeys, f.keyEscapes, f.helperErrors, f.dataLocStrings, f.dryRunArgs.join(' '), f.bigIntsAsStrings];
  });
  assert.deepEqual(rows, [
    ['0.17.0', 'BPFTRACE_MAP_KEYS_MAX', 'shim', 'text', 'once', false, true, '-d', false],
    ['0.20.2', 'BPFTRACE_MAX_MAP_KEYS', 'shim', 'text', 'once', false, true, '-d', false],
    ['0.21.0', 'BPFTRACE_MAX_MAP_KEYS', 'none', 'text', 'once', false, true, '-d', false],
    ['0.22.1', 'BPFTRACE_MAX_MAP_KEYS', 'none', 'text', 'once', false, true, '--dry-run', false],
    ['0.23.2', 'BPFTRACE_MAX_MAP_KEYS', 'none', 'text', 'twice', true, false, '--dry-run', false],
    ['0.24.0', 'BPFTRACE_MAX_MAP_KEYS', 'none', 'bytes', 'once', true, true, '--dry-run', true],
    ['0.27.1', 'BPFTRACE_MAX_MAP_KEYS', 'none', 'bytes', 'once', true, true, '--dry-run', true],
  ]);
});

test('bpftrace gets the environment names its version reads (the old ones are ignored from 0.24)', () => {
  const runtime = { map_keys_max: 32768, perf_rb_pages: 256 };
  assert.deepEqual(Object.keys(bpftraceEnv(runtime, 176, at('0.17.0'))).sort(), ['BPFTRACE_MAP_KEYS_MAX', 'BPFTRACE_PERF_RB_PAGES', 'BPFTRACE_STRLEN', 'GLIBC_TUNABLES']);
  const env = bpftraceEnv(runtime, 176, at('0.27.1'));
  assert.equal(env['BPFTRACE_MAX_MAP_KEYS'], '32768');
  assert.equal(env['BPFTRACE_MAX_STRLEN'], '176');
  assert.equal(env['BPFTRACE_MAP_KEYS_MAX'], undefined);
});

test('from 0.24 a text key part is cast to its bytes, a comm to 16 and a str() to the string size', () => {
  const m = resultMap('@x_count', keyOf(pidPart(), int('failed', '$failed'), text('filename', '$f', { fromStr: true })), 'count', 'x');
  const c = resultMap('@x_comm', keyOf(pidPart(), text('comm', 'comm')), 'count', 'x');
  const p = probe('tracepoint:a:b', [update(m), update(c)]);
  const layout = { double: false, shards: 1 };
  const old = renderProbe(p, { monitor: 'x', layout });
  assert.match(old, /@x_count\[pid, \$failed, \$f\] = count\(\);/);
  assert.match(old, /@x_comm\[pid, comm\] = count\(\);/);
  const bytes = renderProbe(p, { monitor: 'x', layout, keys: { text: 'bytes', strlen: 176 } });
  assert.match(bytes, /@x_count\[pid, \$failed, \(uint8\[176\]\)\$f\] = count\(\);/);
  assert.match(bytes, /@x_comm\[pid, \(uint8\[16\]\)comm\] = count\(\);/);
});

test('a byte-array key part decodes to the exact text, spaces and commas included, up to its NUL', () => {
  const enc = (s: string, size: number): string => `[${[...Buffer.from(s), ...new Array<number>(size - Buffer.byteLength(s)).fill(0)].join(',')}]`;
  assert.deepEqual(decodeByteArray(enc('tmux: server', 16)), { text: 'tmux: server', bytes: 12 });
  assert.equal(decodeByteArray(enc('/tmp/a b,c', 176)).text, '/tmp/a b,c');
  // bpftrace leaves bytes after the NUL as they were: they are not part of the string.
  assert.equal(decodeByteArray('[97,32,98,0,255,255]').text, 'a b');
  assert.equal(decodeByteArray(`[${[...Buffer.from('é\\')].join(',')},0]`).text, 'é\\\\');
});

test('0.24+ JSON: big integers as strings, attached_probes with a count', () => {
  const r = parseLine('{"type": "map", "data": {"@e": {"2,3": "18446744073709551615", "1,1": 4}}}');
  assert.ok(r.ok && r.record.type === 'map' && typeof r.record.value === 'object');
  if (r.ok && r.record.type === 'map' && typeof r.record.value === 'object') assert.deepEqual(r.record.value.values, [Number("18446744073709551615"), 4]);
  const a = parseLine('{"type": "attached_probes", "count": 2, "data": {"probes": 2}}');
  assert.deepEqual(a, { ok: true, record: { type: 'attached_probes', probes: 2 } });
});

test('helper_error records (0.23+) carry the helper, its return code and the script line', () => {
  const r = parseLine('{"type": "helper_error", "msg": "Map full; can\'t update element. Try increasing max_map_keys config", "helper": "map_update_elem", "retcode": -7, "line": 31, "col": 29}');
  assert.deepEqual(r, { ok: true, record: { type: 'helper_error', helper: 'map_update_elem', retcode: -7, line: 31 } });
});

test('a script line belongs to the monitor whose section holds it', () => {
  const script = ['BEGIN { }', '// ---- syscall: counts', 'tracepoint:a:b {', '}', '// ---- open: opens', 'tracepoint:c:d {', '  @open_count[pid] = count();', '}'].join('\n');
  const at = sectionsOf(script);
  assert.equal(at(1), undefined);
  assert.equal(at(3), 'syscall');
  assert.equal(at(7), 'open');
});

test('a script line that updates a copy of a folding map (open\'s path map) is told apart from the others', () => {
  const m = open.generate(open.options.parse({}), plannedFor('tracepoint'));
  const copies = contractOf(open, m, { double: true, shards: 2 }).copies;
  const script = [
    'tracepoint:syscalls:sys_exit_openat /@open_fname[tid]/ {',
    '  $f = str(@open_fname[tid]);',
    '  if ($open_gen) {',
    '    if ($open_shard == 0) { @open_count_b_s0[pid, $failed, (uint8[176])$f] = count(); }',
    '    else { @open_count_b_s1[pid, $failed, (uint8[176])$f] = count(); }',
    '  } else {',
    '    @open_comm_s0[pid, $failed, (uint8[16])comm] = count();',
    '  }',
    '  print(@open_count_s0);',
    '}',
  ].join('\n');
  const folded = foldedLinesOf(script, copies);
  assert.deepEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10].filter(folded), [4, 5]);
});

test('bpftrace 0.23 reads __data_loc strings as "": exec and interrupt names come through raw tracepoints there', () => {
  const gen = (name: string, bt: BpftraceFeatures): string => {
    const m = monitors.find((x) => x.name === name)!;
    return m.generate(m.options.parse({}), plannedFor('tracepoint', 2, bt)).probes.map((p) => p.attach.join(',') + ' ' + JSON.stringify(p.body)).join('\n');
  };
  assert.match(gen('exec', at('0.17.0')), /^tracepoint:sched:sched_process_exec .*args->filename/m);
  assert.match(gen('exec', at('0.23.2')), /^rawtracepoint:sched_process_exec .*\(\(struct linux_binprm \*\)arg2\)->filename/m);
  assert.match(gen('exec', at('0.24.0')), /^tracepoint:sched:sched_process_exec /m);
  assert.match(gen('interrupt', at('0.17.0')), /^tracepoint:irq:irq_handler_entry .*str\(args->name\)/m);
  assert.match(gen('interrupt', at('0.23.2')), /^rawtracepoint:irq_handler_entry .*str\(\(\(struct irqaction \*\)arg1\)->name\)/m);
});

test('bpftrace 0.23 escapes a text map key twice: the router removes the second escape', () => {
  // The key of @a[1, "t\tb\"c\\d é"] as 0.23 prints it, after JSON.parse of the line.
  const once = String(JSON.parse('"1,t\\\\tb\\\\\\"c\\\\\\\\d \\\\uffffffc3\\\\uffffffa9"'));
  assert.equal(once, '1,t\\tb\\"c\\\\d \\uffffffc3\\uffffffa9');
  const text = once.slice(2);
  assert.equal(decodeText(unescapeJson(text)).text, 't\tb"c\\\\d é');
  assert.equal(unescapeJson('plain, no escape'), 'plain, no escape');
});

test('from 0.23 a script carries its own sizes in a config block: it runs as written without ebpfmon\'s environment', () => {
  assert.deepEqual(['0.17.0', '0.20.2', '0.23.2', '0.27.1'].map((v) => at(v).configBlock), [false, false, true, true]);
  assert.equal(configBlock({ map_keys_max: 32768, perf_rb_pages: 256 }, 176), 'config = { max_map_keys = 32768; max_strlen = 176; perf_rb_pages = 256 }');
});
