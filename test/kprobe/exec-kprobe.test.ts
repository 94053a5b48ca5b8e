// The exec monitor's kprobe variant (kprobe/kretprobe on bprm_execve), on a kernel with kprobes
// (scripts/ci/kprobe-kernels.sh runs this in QEMU guests with Debian's kernels). Where kprobes exist it is the variant
// chosen, and a process holding a kprobe monitor runs in bpftrace itself, never ahead of time (src/plan/plan.ts).
// N executions of a uniquely named program give exactly N rows: the kretprobe sees every successful exec once, each
// with its own arguments (read at sched_process_exec and joined to the kretprobe's event).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { kprobesAvailable } from '../helpers/kprobes.js';
import { readCsv, runCli, startCli, tempDir, writeConfig } from '../helpers/cli.js';
import { run, uniqueTrue } from '../helpers/workload.js';

// runtime.aot is on by default; the kprobe variant must still win, and run in bpftrace.
const execConfig = 'monitors:\n  exec:\n    enabled: true\n';

test('check --json: kprobes ok and exec ready with its kprobe variant', async (t) => {
  if (!kprobesAvailable(t)) return;
  const dir = await tempDir('kprobe-exec-check');
  const config = await writeConfig(dir, execConfig);
  const r = await runCli(['check', '--json', '-c', config]);
  assert.equal(r.exitCode, 0, r.stderr);
  const report = JSON.parse(r.stdout) as {
    runnable: boolean;
    kprobes: { ok: boolean; detail: string };
    monitors: { monitor: string; status: string; variant: string | null; detail: string; reasons: string[] }[];
  };
  assert.equal(report.runnable, true);
  assert.equal(report.kprobes.ok, true, report.kprobes.detail);
  assert.equal(report.kprobes.detail, 'kprobe_events present');
  const v = report.monitors.find((m) => m.monitor === 'exec');
  assert.equal(v?.status, 'ready', v?.detail);
  assert.equal(v?.variant, 'kprobe');
  assert.deepEqual(v?.reasons, []);
  // The script start would run (detected, not assumed) probes bprm_execve.
  const g = await runCli(['generate', '-c', config, '-m', 'exec']);
  assert.equal(g.exitCode, 0, g.stderr);
  assert.match(g.stdout, /^kprobe:bprm_execve/m);
  assert.match(g.stdout, /^kretprobe:bprm_execve/m);
  // The arguments (max_args 16 by default) are read at sched_process_exec, the exec's point of no return.
  assert.match(g.stdout, /^tracepoint:sched:sched_process_exec \{\n {2}\$mm = curtask->mm;/m);
  assert.doesNotMatch(g.stdout, /task_newtask/);
});

test('exec kprobe variant: N executions of a uniquely named program give exactly N rows, parent included', async (t) => {
  if (!kprobesAvailable(t)) return;
  const dir = await tempDir('kprobe-exec');
  const name = `ebpfm_xk${process.pid}`;
  const prog = await uniqueTrue(name);
  const late = await uniqueTrue(`${name}_l`);
  // A shell older than ebpfmon that replaces itself with `late`: an exec without a fork, parent read from curtask.
  const old = spawn('sh', ['-c', `read x; exec ${late}`], { stdio: ['pipe', 'ignore', 'ignore'] });
  t.after(() => void (old.exitCode === null && old.kill('SIGKILL')));
  const config = await writeConfig(dir, execConfig);
  const cli = startCli(['start', '-c', config, '-m', 'exec', '-o', dir]);
  t.after(() => void (cli.proc.exitCode === null && cli.proc.kill('SIGKILL')));
  // bpftrace compiles in a guest without KVM: give it time.
  const attached = await cli.waitForLog('bpftrace attached its probes', 300_000);
  assert.equal(attached['runtime'], 'jit', 'a process with a kprobe monitor runs in bpftrace, not ahead of time');
  await cli.waitForLog('monitors attached', 60_000);
  const N = 30;
  for (let i = 0; i < N; i++) await run(prog, ['a b', String(i), 'x\ty']);
  old.stdin.end('go\n');
  await once(old, 'exit');
  cli.proc.kill('SIGTERM');
  const r = await cli.done;
  assert.equal(r.exitCode, 0, r.stderr);
  assert.doesNotMatch(r.stderr, /monitor exec uses its .* fallback/, 'the kprobe variant, not a fallback');
  const all = await readCsv(dir, 'exec');
  const rows = all.filter((row) => row['filename'] === prog);
  assert.equal(rows.length, N, `${N} executions of ${prog}`);
  assert.equal(new Set(rows.map((row) => row['pid'])).size, N, 'each execution is its own process');
  // Each row its own exec's arguments, in the documented encoding (written out by hand).
  assert.deepEqual(rows.map((row) => row['args']).sort(), Array.from({ length: N }, (_, i) => `${prog} a\\ b ${i} x\\x09y`).sort());
  for (const row of rows) {
    assert.equal(row['comm'], name.slice(0, 15));
    assert.equal(row['uid'], '0');
    assert.equal(row['ppid'], String(process.pid), 'the test process spawned them');
    const ts = Date.parse(row['timestamp'] ?? '');
    assert.ok(Math.abs(ts - Date.now()) < 120_000, `timestamp ${row['timestamp']} is near now`);
  }
  const replaced = all.filter((row) => row['filename'] === late);
  assert.equal(replaced.length, 1);
  assert.equal(replaced[0]?.['pid'], String(old.pid));
  assert.equal(replaced[0]?.['comm'], `${name}_l`.slice(0, 15));
  assert.equal(replaced[0]?.['args'], late);
  assert.equal(replaced[0]?.['ppid'], String(process.pid), 'curtask knows the parent of a process older than ebpfmon');
});
