// The pid file names one process for sure: pid, start time, boot, executable and command line. A pid
// reused by an unrelated process (whatever its command line says) is stale: never signalled, replaced.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, readFile, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import {
  claimPidFile,
  formatIdentity,
  identityFileFor,
  inspectPidFile,
  looksLikeEbpfmon,
  parseIdentity,
  parsePid,
  parseStat,
  procIdentity,
  releasePidFile,
  staleReason,
  type ProcIdentity,
} from '../../src/daemon/pid-file.js';
import { isAlive } from '../helpers/process.js';
import { runStop } from '../../src/cli/commands/stop.js';

const tmp = () => mkdtemp(path.join(os.tmpdir(), 'ebpfmon-unit-pid-'));

/** A live process whose command line mentions ebpfmon, as `tail -f /var/log/ebpfmon.log` does. */
async function decoy(t: { after(fn: () => void): void }, dir: string): Promise<ChildProcess & { pid: number }> {
  const log = path.join(dir, 'ebpfmon.log');
  await writeFile(log, '');
  const child = spawn('tail', ['-f', log], { stdio: 'ignore' });
  t.after(() => child.kill('SIGKILL'));
  await new Promise((r) => child.once('spawn', r));
  // Wait until tail runs (not the forked node any more).
  for (let i = 0; i < 50 && !(await readFile(`/proc/${child.pid}/cmdline`, 'utf8')).startsWith('tail'); i++) await new Promise((r) => setTimeout(r, 20));
  return child as ChildProcess & { pid: number };
}

const id = (over: Partial<ProcIdentity> = {}): ProcIdentity => ({
  startTime: 1234,
  bootId: 'b-1',
  exe: '/usr/bin/node',
  argv: ['node', '/usr/lib/ebpfmon/dist/src/cli/main.js', 'start', '--daemon'],
  ...over,
});

test('pid file: the pid alone (first line); identity file: JSON naming the process; anything else reads as absent', () => {
  assert.equal(parsePid('42\n'), 42);
  assert.equal(parsePid('42'), 42);
  assert.equal(parsePid('x\n'), null);
  assert.equal(parsePid(''), null);
  const text = formatIdentity({ pid: 42, identity: id() });
  assert.deepEqual(parseIdentity(text), { pid: 42, identity: id() });
  assert.equal(parseIdentity('not json'), null);
  assert.equal(parseIdentity('{"pid": 42}'), null);
  assert.equal(identityFileFor('/run/ebpfmon.pid'), '/run/ebpfmon.identity.json');
});

test('/proc/<pid>/stat: start time is field 22 even when comm holds ") " and spaces', () => {
  const fields = ['S', ...Array.from({ length: 18 }, (_, i) => String(i + 4)), '987654', '23', '24'];
  assert.deepEqual(parseStat(`77 (a) b (c) ${fields.join(' ')}`), { state: 'S', startTime: 987654 });
});

test('identity of this process: the start time of /proc/self, our node binary and argv', async () => {
  const me = await procIdentity(process.pid);
  assert.ok(me);
  assert.ok(me.startTime > 0);
  assert.match(me.bootId, /^[0-9a-f-]{36}$/);
  assert.equal(me.argv[0], process.argv0);
  assert.ok(me.argv.includes(process.argv[1]!) || me.argv.some((a) => process.argv[1]!.endsWith(a.replace(/^\.\//, ''))));
  assert.equal(await procIdentity(4194304), null, 'no such pid');
});

test('staleReason: a different start time, boot, executable or command line is another process', () => {
  const rec = { pid: 9, identity: id() };
  const file = { mtimeMs: 0, bootTimeMs: 0 };
  assert.equal(staleReason(rec, id(), file), null);
  assert.equal(staleReason(rec, id({ exe: null }), file), null, 'exe unreadable (not root): the rest decides');
  assert.match(staleReason(rec, id({ startTime: 1235 }), file) ?? '', /another process .*started at another time/);
  assert.match(staleReason(rec, id({ bootId: 'b-2' }), file) ?? '', /before the last reboot/);
  assert.match(staleReason(rec, id({ exe: '/usr/bin/tail' }), file) ?? '', /running \/usr\/bin\/tail/);
  assert.match(staleReason(rec, id({ argv: ['tail', '-f', '/var/log/ebpfmon.log'] }), file) ?? '', /another command line/);
  assert.equal(staleReason(rec, null, file), 'no such process');
});

test('staleReason without an identity file: node running our entry point, started before the file was written', () => {
  const rec = { pid: 9, identity: null };
  const bootTimeMs = 1_000_000_000_000;
  const written = { bootTimeMs, mtimeMs: bootTimeMs + 20_000 };
  // Started 12.34 s after boot, the file written at 20 s.
  assert.equal(staleReason(rec, id(), written), null);
  assert.equal(staleReason(rec, id({ argv: ['node', '/usr/local/bin/ebpfmon', 'start'] }), written), null);
  assert.match(staleReason(rec, id({ startTime: 3000 }), written) ?? '', /started after the pid file was written/);
  for (const argv of [['tail', '-f', '/var/log/ebpfmon.log'], ['sleep', '1000', 'ebpfmon'], ['ebpfmon'], ['node', 'other.js', 'ebpfmon']]) {
    assert.match(staleReason(rec, id({ exe: null, argv }), written) ?? '', /another process/, argv.join(' '));
  }
  assert.equal(looksLikeEbpfmon({ exe: '/usr/bin/tail', argv: ['node', 'dist/src/cli/main.js'] }), false, 'the executable decides, not argv[0]');
});

test('stop: a pid file (no identity file) naming a live unrelated process signals nothing', async (t) => {
  const dir = await tmp();
  const pidFile = path.join(dir, 'ebpfmon.pid');
  const tail = await decoy(t, dir);
  await writeFile(pidFile, `${tail.pid}\n`);
  const r = await runStop({ pidFile, timeout: 2 });
  assert.equal(r.outcome, 'not-running');
  assert.match(r.message, new RegExp(`stale pid file .* names pid ${tail.pid}: that pid is now another process \\("tail -f .*ebpfmon\\.log"\\); nothing was signalled`));
  assert.ok(isAlive(tail.pid), 'tail survives');
  assert.equal(tail.exitCode, null);
  assert.equal(tail.signalCode, null);
  // No waiting to see whether it dies: any fatal signal runStop sent is queued already (kill() returned before it
  // did), and the first fatal signal decides how a process ends. One of our own, which tail does not handle, must be it.
  const ended = new Promise((r) => tail.once('exit', (_code, signal) => r(signal)));
  tail.kill('SIGUSR2');
  assert.equal(await ended, 'SIGUSR2', 'the first fatal signal tail got was ours: runStop sent none');
});

test('stop: an identity file whose start time is not that of the process signals nothing, even if the command line matches', async (t) => {
  const dir = await tmp();
  const pidFile = path.join(dir, 'ebpfmon.pid');
  const tail = await decoy(t, dir);
  const seen = await procIdentity(tail.pid);
  assert.ok(seen);
  await writeFile(pidFile, `${tail.pid}\n`);
  await writeFile(identityFileFor(pidFile), formatIdentity({ pid: tail.pid, identity: { ...seen, startTime: seen.startTime - 1 } }));
  const r = await runStop({ pidFile, timeout: 2 });
  assert.equal(r.outcome, 'not-running');
  assert.match(r.message, /started at another time; nothing was signalled/);
  assert.ok(isAlive(tail.pid));
});

test('claim: a stale pid file is replaced with ours; a live one refuses; release removes only ours', async (t) => {
  const dir = await tmp();
  const pidFile = path.join(dir, 'ebpfmon.pid');
  const tail = await decoy(t, dir);
  await writeFile(pidFile, `${tail.pid}\n`);
  const { replacedStale } = await claimPidFile(pidFile);
  assert.equal(replacedStale?.pid, tail.pid);
  assert.match(replacedStale.reason, /another process/);
  assert.equal(await readFile(pidFile, 'utf8'), `${process.pid}\n`, 'the pid alone, as before');
  const identity = await procIdentity(process.pid);
  assert.ok(identity);
  assert.deepEqual(parseIdentity(await readFile(identityFileFor(pidFile), 'utf8')), { pid: process.pid, identity });
  for (const f of [pidFile, identityFileFor(pidFile)]) assert.equal((await stat(f)).mode & 0o777, 0o644);
  assert.deepEqual(await inspectPidFile(pidFile), { state: 'running', pid: process.pid, record: { pid: process.pid, identity } });
  // Another process (the tail) may not claim what names us while we run.
  await assert.rejects(claimPidFile(pidFile, tail.pid), /ebpfmon is already running \(pid \d+/);
  await releasePidFile(pidFile, tail.pid);
  assert.ok((await stat(pidFile)).isFile(), 'not removed: it names another pid');
  await releasePidFile(pidFile);
  await assert.rejects(stat(pidFile));
  await assert.rejects(stat(identityFileFor(pidFile)));
  assert.deepEqual(await inspectPidFile(pidFile), { state: 'none' });
  assert.ok(isAlive(tail.pid));
});

test('claim: refused when the pid file directory is writable by others', async () => {
  const dir = await tmp();
  const { chmod } = await import('node:fs/promises');
  await chmod(dir, 0o777);
  await assert.rejects(claimPidFile(path.join(dir, 'ebpfmon.pid')), /pid file directory .*writable by others \(mode 777\)/);
});

test('isAlive: a zombie (exited, not yet reaped) is not alive', async () => {
  const child = spawn('true', { stdio: 'ignore' });
  // Not reaped while the event loop is busy here: node reaps in its SIGCHLD handler.
  const until = Date.now() + 2000;
  let zombie = false;
  while (Date.now() < until && !zombie) {
    try {
      zombie = parseStat(readFileSync(`/proc/${child.pid}/stat`, 'utf8'))?.state === 'Z';
    } catch {
      break;
    }
  }
  if (zombie) assert.equal(isAlive(child.pid!), false);
  await new Promise((r) => child.once('exit', r));
  assert.equal(isAlive(child.pid!), false);
  assert.equal(isAlive(process.pid), true);
});
