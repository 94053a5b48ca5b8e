// Double-buffered result maps: updates alternate between two copies; the router reads the second as the first.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { doubleBuffer } from '../../src/script/double-buffer.js';
import { syscall } from '../../src/monitors/syscall.js';
import { interrupt } from '../../src/monitors/interrupt.js';
import { erase } from '../../src/monitors/registry.js';
import { plannedFor, route } from '../helpers/fixtures.js';

test('every update of a printed map goes to one of two copies; the flush flips, then prints the retired copy', () => {
  const f = doubleBuffer('syscall', syscall.generate(syscall.options.parse({ enabled: true }), plannedFor('tracepoint')));
  assert.match(f.probes, /tracepoint:raw_syscalls:sys_exit \{\n {2}\$syscall_gen = @syscall_gen\[0\];\n/, 'the flag is read once per probe');
  assert.match(f.probes, /if \(\$syscall_gen\) \{ @syscall_count_b\[pid, args->id, comm\] = count\(\); \} else \{ @syscall_count\[pid, args->id, comm\] = count\(\); \}/);
  assert.doesNotMatch(f.probes.replace(/if \(\$syscall_gen\) \{[^}]*\} else \{[^}]*\}/g, ''), /@syscall_count/, 'no update left single');
  assert.match(f.flush, /^ {2}if \(@syscall_gen\[0\]\) \{\n {4}@syscall_gen\[0\] = 0;\n {4}print\(@syscall_count_b\);\n {4}clear\(@syscall_count_b\);/);
  assert.match(f.flush, /\} else \{\n {4}@syscall_gen\[0\] = 1;\n {4}print\(@syscall_count\);/);
  assert.match(f.flush, /printf\("syscall\\ttick\\t%llu\\n", nsecs\);$/);
  assert.match(f.cleanup, /clear\(@syscall_gen\);/);
  // Keys with a nested map lookup (interrupt's handler name) are rewritten too; helper maps are not.
  const i = doubleBuffer('interrupt', interrupt.generate(interrupt.options.parse({ enabled: true }), plannedFor('tracepoint')));
  assert.match(i.probes, /@interrupt_hard_ns_b\[cpu, args->irq \+ 0, @interrupt_hard_name\[cpu\]\] = sum\(\$ns\);/);
  assert.doesNotMatch(i.probes, /@interrupt_start_b|@interrupt_hard_name_b/);
});

test('the router takes @x_b records as @x', () => {
  const opts = syscall.options.parse({ enabled: true });
  const { rows, unrouted } = route(erase(syscall), opts, plannedFor('tracepoint'), [
    '{"type": "map", "data": {"@syscall_count_b": {"12,3,cat": 4}}}',
    '{"type": "map", "data": {"@syscall_errors_b": {"12,3,cat": 1}}}',
    '{"type": "printf", "data": "syscall\\ttick\\t5000000000\\n"}',
  ]);
  assert.equal(unrouted, 0);
  assert.deepEqual([rows[0]?.['count'], rows[0]?.['error_count']], [4, 1]);
});

test('END prints both copies: bpftrace drops the output of an interval that fires while it finishes', () => {
  const f = doubleBuffer('syscall', syscall.generate(syscall.options.parse({ enabled: true }), plannedFor('tracepoint')));
  assert.equal(
    f.finalFlush,
    [
      '  print(@syscall_count);',
      '  clear(@syscall_count);',
      '  print(@syscall_errors);',
      '  clear(@syscall_errors);',
      '  print(@syscall_count_b);',
      '  clear(@syscall_count_b);',
      '  print(@syscall_errors_b);',
      '  clear(@syscall_errors_b);',
      '  printf("syscall\\ttick\\t%llu\\n", nsecs);',
    ].join('\n'),
  );
});

test('a key printed from both copies before one tick is combined by its aggregate: counts and sums add, min and max keep theirs', () => {
  const opts = syscall.options.parse({ enabled: true });
  const { rows } = route(erase(syscall), opts, plannedFor('tracepoint'), [
    '{"type": "map", "data": {"@syscall_count": {"12,39,cat": 4, "13,39,dog": 1}}}',
    '{"type": "map", "data": {"@syscall_count_b": {"12,39,cat": 3}}}',
    '{"type": "map", "data": {"@syscall_count_b": {}}}',
    '{"type": "printf", "data": "syscall\\ttick\\t5000000000\\n"}',
  ]);
  assert.deepEqual(rows.map((r) => [r['pid'], r['comm'], r['count']]), [[12, 'cat', 7], [13, 'dog', 1]]);
  const i = interrupt.options.parse({ enabled: true });
  const ir = route(erase(interrupt), i, plannedFor('tracepoint'), [
    '{"type": "map", "data": {"@interrupt_soft_count": {"0,1": 2}}}',
    '{"type": "map", "data": {"@interrupt_soft_ns": {"0,1": 100}}}',
    '{"type": "map", "data": {"@interrupt_soft_max": {"0,1": 70}}}',
    '{"type": "map", "data": {"@interrupt_soft_count_b": {"0,1": 1}}}',
    '{"type": "map", "data": {"@interrupt_soft_ns_b": {"0,1": 90}}}',
    '{"type": "map", "data": {"@interrupt_soft_max_b": {"0,1": 90}}}',
    '{"type": "printf", "data": "interrupt\\ttick\\t5000000000\\n"}',
  ]).rows;
  assert.equal(ir.length, 1);
  assert.equal(ir[0]?.['count'], 3);
  assert.equal(ir[0]?.['total_time_us'], 0.19, 'sums add');
  assert.equal(ir[0]?.['max_time_us'], 0.09, 'max keeps the larger');
});
