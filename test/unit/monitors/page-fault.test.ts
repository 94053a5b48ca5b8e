// page_fault: real bpftrace 0.17 output -> rows, error_code decoding, options, the generated script.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeErrorCode, pageFault, pageFaultOptions } from '../../../src/monitors/page-fault.js';
import { fixtureLines, plannedFor, rendered, route } from '../../helpers/fixtures.js';

const monitor = pageFault;
const opts = pageFaultOptions.parse({ enabled: true, interval: 1 });

test('a captured run: 300 written pages of a comm with a comma, split by mode, access and cause', () => {
  // Captured with test/fixtures/workloads/faults-comma.sh, comm: "eb,pf", interval: 1: `eb,pf 300` (pid 30645), 300
  // anonymous pages with one written byte each, so at least 300 user write faults on not-present pages (the loader's
  // own faults join the same row).
  const { rows, rm, unrouted } = route(monitor, opts, plannedFor('tracepoint', 1), fixtureLines('page_fault', 'comma-comm'));
  assert.equal(unrouted, 0);
  assert.equal(rm.stats.parseErrors, 0);
  const row = (fault_type: string, access: string, cause: string, count: number) => ({
    timestamp: '2026-01-01T01:27:55.104Z',
    pid: 30645,
    comm: 'eb,pf',
    fault_type,
    cpu: 0,
    numa_node: 0,
    count,
    access,
    cause,
    cgroup: null,
  });
  assert.deepEqual(rows, [
    row('user', 'write', 'not_present', 313),
    row('user', 'exec', 'not_present', 17),
    row('user', 'read', 'not_present', 13),
    row('user', 'write', 'protection', 7),
    row('kernel', 'write', 'not_present', 3),
  ]);
});

test('min_count drops small rows', () => {
  const { rows } = route(monitor, pageFaultOptions.parse({ min_count: 15 }), plannedFor('tracepoint'), fixtureLines('page_fault', 'comma-comm'));
  assert.deepEqual(rows.map((r) => r['count']), [313, 17]);
});

test('error_code: bit 0 protection, bit 1 write, bit 4 instruction fetch; other bits ignored', () => {
  const table: [number, string, string][] = [
    [0x0, 'read', 'not_present'],
    [0x1, 'read', 'protection'],
    [0x2, 'write', 'not_present'],
    [0x3, 'write', 'protection'],
    [0x10, 'exec', 'not_present'],
    [0x11, 'exec', 'protection'],
    [0x4 | 0x2, 'write', 'not_present'],
    [0x20 | 0x8 | 0x1, 'read', 'protection'],
  ];
  for (const [code, access, cause] of table) assert.deepEqual(decodeErrorCode(code), { access, cause }, `0x${code.toString(16)}`);
});

test('options: defaults, bad values and injection attempts are refused with a message', () => {
  assert.deepEqual(pageFaultOptions.parse({}), { enabled: false, interval: 2, min_count: 1, cgroup: false });
  const issue = (o: unknown): string => {
    const r = pageFaultOptions.safeParse(o);
    assert.equal(r.success, false, `accepted ${JSON.stringify(o)}`);
    return r.error?.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ') ?? '';
  };
  assert.equal(issue({ min_count: 0 }), 'min_count: expected a whole number >= 1');
  assert.equal(issue({ min_count: 2.5 }), 'min_count: expected a whole number >= 1');
  assert.equal(issue({ interval: 0 }), 'interval: expected a positive number of seconds');
  assert.match(issue({ cpu: 1 }), /cpu/);
  for (const bad of ['x"/ { system("id"); } /"', 'a"b', 'a\\b', 'a\nb', '', 'x}', 'sixteen-chars-xx']) {
    assert.match(issue({ comm: bad }), /^comm: expected a process name/, JSON.stringify(bad));
  }
});

test('generate: both tracepoints count into one map keyed by integers first and comm last', () => {
  const f = rendered(pageFault, opts, plannedFor('tracepoint'));
  assert.equal(
    f.probes,
    [
      'tracepoint:exceptions:page_fault_user {',
      '  $kernel = 0;',
      '  @page_fault_count[pid, cpu, numaid, $kernel, args->error_code & 0x13, comm] = count();',
      '}',
      'tracepoint:exceptions:page_fault_kernel {',
      '  $kernel = 1;',
      '  @page_fault_count[pid, cpu, numaid, $kernel, args->error_code & 0x13, comm] = count();',
      '}',
    ].join('\n'),
  );
  assert.equal(f.flush, '  print(@page_fault_count);\n  clear(@page_fault_count);\n  printf("page_fault\\ttick\\t%llu\\t%llu\\n", nsecs, 0);');
  assert.deepEqual(f.helpers, []);
  assert.deepEqual(pageFault.generate(opts, plannedFor('tracepoint')).results[0]?.key.parts.map((p) => p.name), ['pid', 'cpu', 'numa_node', 'kernel', 'error_bits', 'comm']);
  const filtered = rendered(pageFault, pageFaultOptions.parse({ comm: 'postgres' }), plannedFor('tracepoint'));
  assert.ok(filtered.probes.includes('tracepoint:exceptions:page_fault_user /comm == "postgres"/ {'));
  assert.ok(filtered.probes.includes('tracepoint:exceptions:page_fault_kernel /comm == "postgres"/ {'));
});

test('variants: both exceptions tracepoints with their error_code field', () => {
  assert.deepEqual(
    pageFault.variants(opts).flatMap((v) => v.needs.map((n) => (n.kind === 'tracepoint' ? `${n.category}:${n.event}:${n.fields.join(',')}` : n.kind))),
    ['exceptions:page_fault_user:error_code', 'exceptions:page_fault_kernel:error_code'],
  );
});
