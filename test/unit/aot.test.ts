// The compiled copy's stop probe: BEGIN records the process's own pid, a signal tracepoint (not a syscall one)
// fires exit() on SIGURG sent to exactly that pid.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import os from 'node:os';
import { withSelfPid } from '../../src/process/aot.js';

const script = [
  '// ebpfmon-contract: 1 monitors=page_fault',
  '//  BEGIN printf "ebpfmon\\tattached"  every probe is attached (ebpfmon waits for it)',
  'BEGIN { printf("ebpfmon\\tattached\\n"); }',
  'tracepoint:exceptions:page_fault_user { @n[cpu] = count(); }',
  'END {',
  '  clear(@n);',
  '}',
  '',
].join('\n');

test('withSelfPid: BEGIN records the pid, the stop probe matches SIGURG from kill() to that pid only', () => {
  const out = withSelfPid(script);
  assert.ok(out !== null);
  assert.ok(out.startsWith(script.split('BEGIN {')[0]!), 'the text before BEGIN is untouched');
  assert.match(out, /^BEGIN \{ @ebpfmon_self\[0\] = pid; printf\("ebpfmon\\tattached\\n"\); \}$/m);
  const probe = out.slice(script.length);
  const sigurg = os.constants.signals.SIGURG;
  assert.match(probe, new RegExp(`^tracepoint:signal:signal_generate /args->sig == ${sigurg} && args->code == 0 && args->pid == @ebpfmon_self\\[0\\]/ \\{$`, 'm'));
  assert.match(probe, /delete\(@ebpfmon_self\[0\]\);\n {2}exit\(\);/);
  // No syscall tracepoint: one would send every syscall on the host through the slow path.
  assert.doesNotMatch(out, /syscalls:|raw_syscalls:/);
});

test('withSelfPid: a script without exactly one BEGIN probe is not compiled ahead of time', () => {
  assert.equal(withSelfPid(script.replace('BEGIN {', 'END {')), null);
  assert.equal(withSelfPid(script + 'BEGIN { @x = 1; }\n'), null);
  assert.equal(withSelfPid('// BEGIN { only a comment }\ntracepoint:sched:sched_switch { @n = count(); }\n'), null);
});
