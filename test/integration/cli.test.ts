// The CLI as an operator meets it: help, version, exit codes, one-line errors, generate, check, list.
import { aotHere, assertCompiles, bpftraceEnvFor, bpftraceVersion } from '../helpers/bpftrace.js';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execa } from 'execa';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { kernelAvailable } from '../helpers/kernel.js';
import { runCli, tempDir, writeConfig } from '../helpers/cli.js';
import { cliPath } from '../helpers/paths.js';

const oneLine = (s: string): void => {
  assert.equal(s.trim().split('\n').length, 1, `expected one line, got:\n${s}`);
  assert.doesNotMatch(s, /\n\s+at /, 'no stack trace');
};

test('--version, --help and help of every command, with examples', async () => {
  const v = await runCli(['--version']);
  assert.equal(v.exitCode, 0);
  assert.match(v.stdout, /^\d+\.\d+\.\d+$/);
  const h = await runCli(['--help']);
  assert.equal(h.exitCode, 0);
  for (const c of ['start', 'stop', 'status', 'generate', 'check', 'list']) {
    assert.match(h.stdout, new RegExp(`\\b${c}\\b`));
    const ch = await runCli([c, '--help']);
    assert.equal(ch.exitCode, 0, c);
    assert.match(ch.stdout, /Examples?:/, `${c} --help has an example`);
  }
});

test('bad usage and bad config: exit 2 and one clear line, never a stack trace', async () => {
  const dir = await tempDir('cli');
  const unknownCmd = await runCli(['frobnicate']);
  assert.equal(unknownCmd.exitCode, 2);
  const badMon = await runCli(['generate', '-m', 'sycall']);
  assert.equal(badMon.exitCode, 2);
  oneLine(badMon.stderr);
  assert.match(badMon.stderr, /^ebpfmon: --monitors: unknown monitor "sycall"/);
  const cfg = await writeConfig(dir, 'monitors:\n  syscall:\n    interval: fast\n');
  const bad = await runCli(['generate', '-c', cfg]);
  assert.equal(bad.exitCode, 2);
  assert.match(bad.stderr, /^ebpfmon: config error: monitors\.syscall\.interval: expected a positive number of seconds, got "fast"\n/);
  assert.doesNotMatch(bad.stderr, /\n\s+at /);
  const missing = await runCli(['start', '-c', path.join(dir, 'nope.yaml')]);
  assert.equal(missing.exitCode, 2);
  oneLine(missing.stderr);
  assert.match(missing.stderr, /cannot read config file .*nope\.yaml: no such file/);
  const dur = await runCli(['start', '--duration', 'soon']);
  assert.equal(dur.exitCode, 2);
  assert.match(dur.stderr, /expected a positive number of seconds/);
});

test('not root: start exits 3 with the reason', async (t) => {
  if (!kernelAvailable(t)) return;
  const dir = await tempDir('noroot');
  await execa('chmod', ['755', dir]);
  const r = await execa('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', '--inh-caps=-all', 'node', path.resolve('dist/src/cli/main.js'), 'start', '-m', 'syscall', '-o', path.join(dir, 'out')], { reject: false, cwd: process.cwd() });
  assert.equal(r.exitCode, 3, r.stderr);
  oneLine(r.stderr);
  assert.match(r.stderr, /needs root \(or CAP_BPF \+ CAP_PERFMON\)/);
});

test('output into a pipe closed early (| head -1): one line, no EPIPE stack trace', async () => {
  for (const args of ['status --help', 'list', 'generate --no-detect']) {
    const r = await execa('sh', ['-c', `node ${cliPath} ${args} | head -1`], { reject: false, shell: false });
    assert.equal(r.stdout.split('\n').length, 1, args);
    assert.doesNotMatch(r.stderr, /EPIPE|at .*\.js:\d+/, `${args}: ${r.stderr}`);
  }
});

test('list shows every monitor with its mode and probes', async () => {
  const r = await runCli(['list']);
  assert.equal(r.exitCode, 0);
  assert.match(r.stdout, /^exec\s+event\s+/m);
  assert.match(r.stdout, /^syscall\s+aggregate\s+/m);
  assert.match(r.stdout, /tracepoint:raw_syscalls:sys_exit/);
  assert.match(r.stdout, /kprobe:bprm_execve/);
});

test('check reports this machine: kprobes missing, exec on its tracepoint fallback, how this bpftrace runs scripts', async (t) => {
  if (!kernelAvailable(t)) return;
  const r = await runCli(['check', '--json']);
  assert.equal(r.exitCode, 0, r.stderr);
  const report = JSON.parse(r.stdout) as {
    runnable: boolean;
    kprobes: { ok: boolean };
    bpftrace: { aotrt: string | null; version: string; aheadOfTime: { mode: string; why: string } };
    monitors: { monitor: string; status: string; variant: string }[];
  };
  assert.equal(report.runnable, true);
  const execV = report.monitors.find((m) => m.monitor === 'exec');
  const hasKprobes = report.kprobes.ok;
  assert.equal(report.bpftrace.version, bpftraceVersion());
  // Debian's bpftrace 0.17 ships bpftrace-aotrt: scripts run ahead of time. From 0.21 its output is a standalone
  // binary (0.23's crashes on print()): bpftrace runs the scripts, and check says why.
  assert.equal(report.bpftrace.aotrt, aotHere() ? '/usr/bin/bpftrace-aotrt' : null);
  assert.equal(report.bpftrace.aheadOfTime.mode, aotHere() ? 'shim' : 'none');
  assert.equal(execV?.status, hasKprobes ? 'ready' : 'fallback');
  // The packaged config keeps exec's arguments (max_args 16), read from curtask: no tracepoint-forks, even ahead of time.
  assert.equal(execV?.variant, hasKprobes ? 'kprobe' : 'tracepoint');
  assert.equal(report.monitors.find((m) => m.monitor === 'syscall')?.status, 'ready');
  const text = await runCli(['check']);
  assert.match(text.stdout, /verdict: this machine can run ebpfmon/);
  // The packaged config's seven monitors: 2048 MiB of retention + 7 open files of up to 256 MiB.
  assert.match(text.stdout, /\ndisk use of ebpfmon-output: at most 3,840 MiB \(retention\.max_total_mb 2,048 \+ 7 open files/);
  if (aotHere()) assert.match(text.stdout, /aot runtime ok {2}\/usr\/bin\/bpftrace-aotrt/);
  else assert.match(text.stdout, new RegExp(`aot runtime - +bpftrace ${bpftraceVersion().replaceAll('.', '\\.')} writes ahead-of-time output as a standalone executable`));
});

test('generated scripts, kprobe variants included, compile with bpftrace -d', async (t) => {
  if (!kernelAvailable(t)) return;
  const dir = await tempDir('gen');
  const cfg = await writeConfig(dir, 'monitors:\n  syscall: {enabled: true, latency: true, comm: "a,b"}\n  exec: {enabled: true, comm: bash}\n');
  for (const [variant, args] of [['detected', []], ['preferred', ['--no-detect']]] as const) {
    const out = path.join(dir, variant);
    const r = await runCli(['generate', '-c', cfg, '--out', out, ...args]);
    assert.equal(r.exitCode, 0, r.stderr);
    const files = (await readdir(out)).sort();
    // exec carries paths: it runs in a process of its own with long strings.
    assert.deepEqual(files, ['ebpfmon-main.bt', 'ebpfmon-paths.bt']);
    const text = await readFile(path.join(out, 'ebpfmon-paths.bt'), 'utf8');
    if (variant === 'preferred') assert.match(text, /kretprobe:bprm_execve/);
    for (const [f, strlen] of [['ebpfmon-main.bt', '64'], ['ebpfmon-paths.bt', '200']] as const) {
      await assertCompiles(path.join(out, f), { env: bpftraceEnvFor(strlen), label: `${variant}: ${f}` });
    }
  }
  // generate refuses to overwrite unless --force.
  const again = await runCli(['generate', '-c', cfg, '--out', path.join(dir, 'detected')]);
  assert.equal(again.exitCode, 2);
  assert.match(again.stderr, /already exists/);
  const stdout = await runCli(['dry-run', '-c', cfg]);
  assert.equal(stdout.exitCode, 0);
  assert.match(stdout.stdout, /^#!\/usr\/bin\/env bpftrace/);
  await writeFile(path.join(dir, 'x'), '');
});
