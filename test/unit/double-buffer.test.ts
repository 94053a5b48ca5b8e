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
