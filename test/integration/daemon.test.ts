// Operations: daemon start/status/stop, pid file rules, SIGHUP reload, operator-edited scripts.
import { aotHere, expectedRuntime } from '../helpers/bpftrace.js';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmod, readFile, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { kernelAvailable } from '../helpers/kernel.js';
import { readCsv, runCli, sleep, startCli, tempDir, writeConfig } from '../helpers/cli.js';
import { isAlive as alive } from '../helpers/process.js';
import { run, workload } from '../helpers/workload.js';

async function daemonSetup(name: string) {
  const dir = await tempDir(name);
  const pidFile = path.join(dir, 'ebpfmon.pid');
  const out = path.join(dir, 'out');
  const yaml = `logging: {file: ${path.join(dir, 'ebpfmon.log')}}\nmonitors:\n  syscall: {enabled: true, interval: 1}\n`;
  const config = await writeConfig(dir, yaml);
  const start = () => runCli(['start', '--daemon', '-c', config, '-o', out, '--pid-file', pidFile]);
  const stop = () => runCli(['stop', '--pid-file', pidFile, '--timeout', '20']);
  const log = async () => readFile(path.join(dir, 'ebpfmon.log'), 'utf8');
  return { dir, pidFile, out, config, yaml, start, stop, log };
}

test('daemon: start returns once attached, status shows it, stop writes the final interval and removes the pid file', async (t) => {
  if (!kernelAvailable(t)) return;
  const d = await daemonSetup('daemon');
  const prog = await workload('syscalls', 'ebpfm_daem');
  const started = await d.start();
  assert.equal(started.exitCode, 0, started.stderr);
  assert.match(started.stdout, /^ebpfmon started as a daemon \(pid (\d+)\): syscall attached/);
  const pid = Number((await readFile(d.pidFile, 'utf8')).trim());
  assert.ok(alive(pid));
  assert.equal((await stat(d.pidFile)).mode & 0o777, 0o644);
  // Attached means attached: calls made right now are counted.
  await run(prog, ['777', '0']);
  await sleep(2500);
  const status = await runCli(['status', '--json', '--pid-file', d.pidFile]);
  assert.equal(status.exitCode, 0, status.stderr);
  const doc = JSON.parse(status.stdout) as { running: boolean; pid: number; status: { monitors: { monitor: string; state: string; bpftracePid: number; runtime: string; rows: number; bpftrace: { rssBytes: number } }[] } };
  assert.equal(doc.running, true);
  assert.equal(doc.pid, pid);
  const sys = doc.status.monitors.find((m) => m.monitor === 'syscall');
  assert.equal(sys?.state, 'running');
  // Compiled ahead of time and run by bpftrace-aotrt where this bpftrace can (0.17-0.20), else run by bpftrace: the
  // stop below must deliver the last interval either way.
  assert.equal(sys?.runtime, expectedRuntime(true));
  assert.ok(sys && sys.bpftracePid > 0 && alive(sys.bpftracePid));
  assert.ok(sys && sys.rows > 0);
  assert.ok(sys && sys.bpftrace.rssBytes > 0);
  assert.equal((await stat(d.pidFile.replace(/\.pid$/, '.status.json'))).mode & 0o777, 0o600);
  const text = await runCli(['status', '--pid-file', d.pidFile]);
  assert.match(text.stdout, /ebpfmon is running \(pid \d+\)/);
  assert.match(text.stdout, new RegExp(`syscall +running +\\d+ +${expectedRuntime(true)} `));
  // A second instance is refused.
  const second = await d.start();
  assert.equal(second.exitCode, 2);
  assert.match(second.stderr, /^ebpfmon: ebpfmon is already running \(pid \d+/);
  // Calls in the last, unfinished interval must survive the stop.
  await run(prog, ['555', '0']);
  const stopped = await d.stop();
  assert.equal(stopped.exitCode, 0, stopped.stderr);
  assert.match(stopped.stdout, /stopped/);
  assert.equal(alive(pid), false);
  assert.equal(alive(sys!.bpftracePid), false);
  await assert.rejects(stat(d.pidFile), 'pid file removed');
  const rows = (await readCsv(d.out, 'syscall')).filter((r) => r['comm'] === 'ebpfm_daem' && r['syscall'] === 'getppid');
  assert.deepEqual(rows.map((r) => Number(r['count'])).reduce((a, b) => a + b, 0), 777 + 555, `daemon log:\n${(await d.log()).split('\n').slice(-25).join('\n')}`);
  const again = await d.stop();
  assert.equal(again.exitCode, 1);
  assert.match(again.stderr, /not running/);
  const down = await runCli(['status', '--pid-file', d.pidFile]);
  assert.equal(down.exitCode, 1);
});

test('daemon: a stale pid file is replaced; SIGHUP with a broken config keeps the old one running', async (t) => {
  if (!kernelAvailable(t)) return;
  const d = await daemonSetup('stale');
  const prog = await workload('syscalls', 'ebpfm_hup');
  await writeFile(d.pidFile, '4194304\n');
  const started = await d.start();
  assert.equal(started.exitCode, 0, started.stderr);
  assert.match(await d.log(), /replaced a stale pid file/);
  const pid = Number((await readFile(d.pidFile, 'utf8')).trim());
  await writeFile(d.config, d.yaml.replace('syscall:', 'sycall:'));
  process.kill(pid, 'SIGHUP');
  await sleep(1500);
  assert.match(await d.log(), /reload refused: config error: monitors\.sycall/);
  assert.match(await d.log(), /monitors\.sycall: unknown key/);
  assert.ok(alive(pid), 'still running');
  await run(prog, ['321', '0']);
  const stopped = await d.stop();
  assert.equal(stopped.exitCode, 0, stopped.stderr);
  const count = (await readCsv(d.out, 'syscall'))
    .filter((r) => r['comm'] === 'ebpfm_hup' && r['syscall'] === 'getppid')
    .reduce((n, r) => n + Number(r['count']), 0);
  // The daemon's log goes with a failure: this lost the 321 calls once in CI (2380ce4), not reproduced since.
  assert.equal(count, 321, `the old configuration kept counting; daemon log:\n${(await d.log()).split('\n').slice(-25).join('\n')}`);
});

test('operator-edited script: an extra filter runs through --scripts; contract breaks are named; unsafe dirs refused', async (t) => {
  if (!kernelAvailable(t)) return;
  const dir = await tempDir('scripts');
  const scripts = path.join(dir, 'scripts');
  const gen = await runCli(['generate', '-m', 'syscall', '--out', scripts]);
  assert.equal(gen.exitCode, 0, gen.stderr);
  const file = path.join(scripts, 'ebpfmon-main.bt');
  const original = await readFile(file, 'utf8');
  assert.match(original, /^tracepoint:raw_syscalls:sys_exit \{$/m);
  await writeFile(file, original.replace('tracepoint:raw_syscalls:sys_exit {', 'tracepoint:raw_syscalls:sys_exit /comm == "ebpfm_keep"/ {'));
  const keep = await workload('syscalls', 'ebpfm_keep');
  const drop = await workload('syscalls', 'ebpfm_drop');
  const out = path.join(dir, 'out');
  const cli = startCli(['start', '--scripts', scripts, '-o', out, '--duration', '3']);
  await cli.waitForLog('monitors attached');
  await run(keep, ['100', '0']);
  await run(drop, ['100', '0']);
  const r = await cli.done;
  assert.equal(r.exitCode, 0, r.stderr);
  const rows = await readCsv(out, 'syscall');
  assert.ok(rows.length > 0);
  assert.ok(rows.every((row) => row['comm'] === 'ebpfm_keep'), 'only the edited filter passes');
  assert.equal(rows.filter((row) => row['syscall'] === 'getppid').reduce((n, row) => n + Number(row['count']), 0), 100);
  assert.match(r.stderr, new RegExp(`"runtime":"${expectedRuntime(true)}","msg":"bpftrace attached its probes"`), 'an edited script runs as a generated one would');

  // An edit bpftrace cannot compile ahead of time (curtask): bpftrace runs it, and the log says why (where this
  // bpftrace compiles ahead of time at all).
  await writeFile(file, original.replace('tracepoint:raw_syscalls:sys_exit {', 'tracepoint:raw_syscalls:sys_exit /curtask->tgid > 0 && comm == "ebpfm_keep"/ {'));
  const outJit = path.join(dir, 'out-jit');
  const jit = startCli(['start', '--scripts', scripts, '-o', outJit, '--duration', '3']);
  await jit.waitForLog('monitors attached');
  await run(keep, ['100', '0']);
  const rj = await jit.done;
  assert.equal(rj.exitCode, 0, rj.stderr);
  if (aotHere()) assert.match(rj.stderr, /AOT does not yet support accessing `curtask`.*bpftrace cannot compile this script ahead of time/);
  assert.match(rj.stderr, /"runtime":"jit","msg":"bpftrace attached its probes"/);
  const jitRows = await readCsv(outJit, 'syscall');
  assert.equal(jitRows.filter((row) => row['syscall'] === 'getppid').reduce((n, row) => n + Number(row['count']), 0), 100);

  // A renamed map breaks the contract: a warning names it, nothing crashes.
  await writeFile(file, original.replaceAll('@syscall_count', '@syscall_calls'));
  const broken = await runCli(['start', '--scripts', scripts, '-o', path.join(dir, 'out2'), '--duration', '2']);
  assert.equal(broken.exitCode, 0, broken.stderr);
  assert.match(broken.stderr, /map @syscall_calls(_b)?(_s\d)? is not in the output contract/);

  // Writable by others: refused before anything runs.
  await chmod(scripts, 0o777);
  const unsafe = await runCli(['start', '--scripts', scripts, '-o', path.join(dir, 'out3'), '--duration', '1']);
  assert.equal(unsafe.exitCode, 2);
  assert.match(unsafe.stderr, /^ebpfmon: --scripts: refusing .*scripts: writable by group or others \(mode 777\)/);
  await chmod(scripts, 0o755);
  await chmod(file, 0o666);
  const unsafeFile = await runCli(['start', '--scripts', scripts, '-o', path.join(dir, 'out4'), '--duration', '1']);
  assert.equal(unsafeFile.exitCode, 2);
  assert.match(unsafeFile.stderr, /ebpfmon-main\.bt: writable by group or others/);
});
