// Hostile local users: a stale pid file naming someone else's process, symlinks planted where ebpfmon writes
// as root, and idle connections to the exporter. Each case failed before the hardening (see docs/operations.md's
// Security section).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import net from 'node:net';
import { chmod, lchown, mkdir, readFile, rename, stat, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { kernelAvailable } from '../helpers/kernel.js';
import { runCli, sleep, startCli, tempDir, writeConfig } from '../helpers/cli.js';
import { formatIdentity, identityFileFor, procIdentity } from '../../src/daemon/pid-file.js';
import { isAlive } from '../helpers/process.js';
import { writeFixtureDir } from '../unit/analysis/fixtures.js';

const sysctl = '/proc/sys/kernel/bpf_stats_enabled';

/** `tail -f <dir>/ebpfmon.log`: a live process with "ebpfmon" in its command line, as in the incident. */
async function tailOfLog(t: { after(fn: () => void): void }, dir: string): Promise<ChildProcess & { pid: number }> {
  const log = path.join(dir, 'ebpfmon.log');
  await writeFile(log, '', { flag: 'a' });
  const child = spawn('tail', ['-f', log], { stdio: 'ignore' });
  t.after(() => child.kill('SIGKILL'));
  await new Promise((r) => child.once('spawn', r));
  for (let i = 0; i < 50 && !(await readFile(`/proc/${child.pid}/cmdline`, 'utf8')).startsWith('tail'); i++) await sleep(20);
  return child as ChildProcess & { pid: number };
}

test('stale pid file naming a live unrelated process: stop leaves it alone, start --daemon replaces the file', async (t) => {
  if (!kernelAvailable(t)) return;
  const dir = await tempDir('harden-pid');
  const pidFile = path.join(dir, 'ebpfmon.pid');
  const logFile = path.join(dir, 'ebpfmon.log');
  const config = await writeConfig(dir, `logging: {file: ${logFile}}\nmonitors:\n  syscall: {enabled: true, interval: 1}\n`);
  const tail = await tailOfLog(t, dir);
  const stop = () => runCli(['stop', '--pid-file', pidFile, '--timeout', '20']);

  // A pid file without an identity file (as an earlier version left it at a crash); the pid now belongs to tail.
  await writeFile(pidFile, `${tail.pid}\n`);
  let r = await stop();
  assert.equal(r.exitCode, 1, r.stderr);
  assert.match(r.stderr, new RegExp(`^ebpfmon: ebpfmon is not running: stale pid file .* names pid ${tail.pid}: that pid is now another process \\("tail -f .*"\\); nothing was signalled`));
  // With an identity file whose start time is not tail's: stale whatever the command line says.
  const seen = await procIdentity(tail.pid);
  assert.ok(seen);
  await writeFile(identityFileFor(pidFile), formatIdentity({ pid: tail.pid, identity: { ...seen, startTime: seen.startTime - 1 } }));
  r = await stop();
  assert.equal(r.exitCode, 1, r.stderr);
  assert.match(r.stderr, /started at another time; nothing was signalled/);
  await sleep(300);
  assert.ok(isAlive(tail.pid), 'tail survived stop');
  assert.equal(tail.exitCode, null);

  const started = await runCli(['start', '--daemon', '-c', config, '-o', path.join(dir, 'out'), '--pid-file', pidFile]);
  assert.equal(started.exitCode, 0, started.stderr);
  const pid = Number(/pid (\d+)/.exec(started.stdout)?.[1]);
  assert.equal(await readFile(pidFile, 'utf8'), `${pid}\n`);
  assert.equal((JSON.parse(await readFile(identityFileFor(pidFile), 'utf8')) as { pid: number }).pid, pid);
  assert.match(await readFile(logFile, 'utf8'), new RegExp(`"stalePid":${tail.pid},"reason":"that pid is now another process.*"msg":"replaced a stale pid file`));
  const st = await runCli(['status', '--pid-file', pidFile]);
  assert.equal(st.exitCode, 0, st.stdout);
  r = await stop();
  assert.equal(r.exitCode, 0, r.stderr);
  assert.match(r.stdout, new RegExp(`ebpfmon \\(pid ${pid}\\) stopped`));
  assert.equal(isAlive(pid), false);
  await assert.rejects(stat(identityFileFor(pidFile)), 'identity file removed with the pid file');
  assert.ok(isAlive(tail.pid), 'tail survived the whole cycle');
});

test('logging.file: a planted symlink is refused at start (exit 2) and at SIGHUP (old file kept, error logged)', async (t) => {
  if (!kernelAvailable(t)) return;
  const dir = await tempDir('harden-log');
  const pidFile = path.join(dir, 'ebpfmon.pid');
  const logFile = path.join(dir, 'ebpfmon.log');
  const victim = path.join(dir, 'victim');
  await writeFile(victim, 'precious\n');
  const config = await writeConfig(dir, `logging: {file: ${logFile}}\nmonitors:\n  syscall: {enabled: true, interval: 1}\n`);
  const start = () => runCli(['start', '--daemon', '-c', config, '-o', path.join(dir, 'out'), '--pid-file', pidFile]);

  await symlink(victim, logFile);
  const refused = await start();
  assert.equal(refused.exitCode, 2, refused.stderr);
  assert.equal(refused.stderr, `ebpfmon: log file ${logFile} is a symbolic link; refusing to follow it (logging.file must name the real file)`);
  assert.equal(await readFile(victim, 'utf8'), 'precious\n');
  await assert.rejects(stat(pidFile), 'no pid file left');

  await rename(logFile, path.join(dir, 'unused-link'));
  const started = await start();
  assert.equal(started.exitCode, 0, started.stderr);
  const pid = Number(/pid (\d+)/.exec(started.stdout)?.[1]);
  // logrotate moves the file; a user plants a symlink before the SIGHUP.
  await rename(logFile, `${logFile}.1`);
  await symlink(victim, logFile);
  process.kill(pid, 'SIGHUP');
  await sleep(1500);
  const stopped = await runCli(['stop', '--pid-file', pidFile, '--timeout', '20']);
  assert.equal(stopped.exitCode, 0, stopped.stderr);
  assert.equal(await readFile(victim, 'utf8'), 'precious\n', 'nothing written through the symlink');
  const kept = await readFile(`${logFile}.1`, 'utf8');
  assert.match(kept, /"msg":"cannot reopen the log file; logging on to the file opened before"/);
  assert.match(kept, /"msg":"stopped"/, 'logging went on to the old file until the end');
});

test('output paths: a symlink owned by a user, or a directory others can write, on the way is refused (exit 2)', async (t) => {
  if (!kernelAvailable(t)) return;
  const dir = await tempDir('harden-out');
  const target = path.join(dir, 'elsewhere');
  await mkdir(target);
  await symlink(target, path.join(dir, 'planted'));
  await lchown(path.join(dir, 'planted'), 65534, 65534);
  let r = await runCli(['start', '-m', 'syscall', '-o', path.join(dir, 'planted/out'), '--duration', '1']);
  assert.equal(r.exitCode, 2, r.stderr);
  assert.match(r.stderr, /^ebpfmon: output directory .*planted\/out: .*planted is a symbolic link owned by uid 65534, not root; refusing to follow it$/);
  await assert.rejects(stat(path.join(target, 'out')), 'nothing created through it');
  await mkdir(path.join(dir, 'open'), { mode: 0o777 });
  await chmod(path.join(dir, 'open'), 0o777);
  r = await runCli(['start', '-m', 'syscall', '-o', path.join(dir, 'open/out'), '--duration', '1']);
  assert.equal(r.exitCode, 2, r.stderr);
  assert.match(r.stderr, /open is writable by others \(mode 777\)/);
  r = await runCli(['generate', '-m', 'syscall', '--out', path.join(dir, 'planted/scripts')]);
  assert.equal(r.exitCode, 2, r.stderr);
});

test('analyze --out: a symlink planted at the report path is refused (exit 2), its target untouched', async () => {
  const dir = await writeFixtureDir();
  const victim = path.join(dir, 'victim');
  await writeFile(victim, 'precious');
  const out = path.join(dir, 'report.html');
  await symlink(victim, out);
  const r = await runCli(['analyze', dir, '--format', 'html', '--out', out]);
  assert.equal(r.exitCode, 2, r.stderr);
  assert.equal(r.stderr, `ebpfmon: cannot write ${out}: it is a symbolic link; refusing to write through it`);
  assert.equal(await readFile(victim, 'utf8'), 'precious');
});

/** A TCP connection to the exporter that has sent `text` (maybe nothing) and then waits. */
function connect(t: { after(fn: () => void): void }, address: string, text: string): Promise<net.Socket> {
  const i = address.lastIndexOf(':');
  return new Promise((resolve, reject) => {
    const s = net.connect(Number(address.slice(i + 1)), address.slice(0, i), () => {
      if (text) s.write(text);
      resolve(s);
    });
    s.on('error', () => undefined);
    s.once('error', reject);
    s.resume();
    t.after(() => s.destroy());
  });
}

test('exporter: an idle and a half-open connection do not delay shutdown; exit 0, files removed, bpf_stats_enabled restored', async (t) => {
  if (!kernelAvailable(t)) return;
  const before = (await readFile(sysctl, 'utf8')).trim();
  const dir = await tempDir('harden-prom');
  const pidFile = path.join(dir, 'ebpfmon.pid');
  const config = await writeConfig(dir, 'runtime: {self_stats: true}\nmonitors:\n  syscall: {enabled: true, interval: 1}\n');
  const cli = startCli(['start', '-c', config, '-o', path.join(dir, 'out'), '--pid-file', pidFile, '--prometheus', '127.0.0.1:0']);
  const address = String((await cli.waitForLog('prometheus exporter listening'))['address']);
  await cli.waitForLog('monitors attached');
  assert.equal((await readFile(sysctl, 'utf8')).trim(), '1');
  await sleep(2500); // the status file is written each interval
  assert.ok((await stat(pidFile.replace(/\.pid$/, '.status.json'))).isFile());
  await connect(t, address, '');
  await connect(t, address, 'GET /metrics HTTP/1.1\r\nHost: x\r\n');
  await sleep(300);
  const t0 = Date.now();
  // Not cli.proc.kill(): execa would follow with SIGKILL after 5 s and hide a hang.
  process.kill(cli.proc.pid!, 'SIGTERM');
  const r = await cli.done;
  const seconds = (Date.now() - t0) / 1000;
  assert.equal(r.exitCode, 0, r.stderr.split('\n').slice(-10).join('\n'));
  assert.ok(seconds < 8, `shutdown took ${seconds} s`);
  await assert.rejects(stat(pidFile), 'pid file removed');
  await assert.rejects(stat(identityFileFor(pidFile)), 'identity file removed');
  await assert.rejects(stat(pidFile.replace(/\.pid$/, '.status.json')), 'status file removed');
  assert.equal((await readFile(sysctl, 'utf8')).trim(), before, 'kernel.bpf_stats_enabled restored');
});
