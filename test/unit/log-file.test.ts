// The log file is opened by ebpfmon itself (O_NOFOLLOW) and handed to pino as an fd: a symlink planted at
// logging.file is refused at start, and at SIGHUP the old file is kept.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtemp, readFile, rename, stat, symlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { openLog } from '../../src/log.js';
import { UsageError } from '../../src/errors.js';

const tmp = () => mkdtemp(path.join(os.tmpdir(), 'ebpfmon-unit-log-'));

test('log file: created 0640 (directory 0750 if missing), JSON lines appended', async () => {
  const dir = await tmp();
  const file = path.join(dir, 'logs/ebpfmon.log');
  const { log } = openLog({ level: 'info', file });
  log.info({ k: 1 }, 'hello');
  const line = JSON.parse((await readFile(file, 'utf8')).trim()) as Record<string, unknown>;
  assert.equal(line['msg'], 'hello');
  assert.equal((await stat(file)).mode & 0o777, 0o640);
  assert.equal((await stat(path.dirname(file))).mode & 0o777, 0o750);
});

test('log file: a symlink planted at the path is refused with one error (exit 2); its target is untouched', async () => {
  const dir = await tmp();
  const victim = path.join(dir, 'victim');
  await writeFile(victim, 'precious');
  const file = path.join(dir, 'ebpfmon.log');
  await symlink(victim, file);
  assert.throws(() => openLog({ level: 'info', file }), (e: unknown) => e instanceof UsageError && e.exitCode === 2 && e.message === `log file ${file} is a symbolic link; refusing to follow it (logging.file must name the real file)`);
  assert.equal(await readFile(victim, 'utf8'), 'precious');
});

test('log file: a FIFO planted at the path is refused at once (no hang)', async () => {
  const dir = await tmp();
  const file = path.join(dir, 'ebpfmon.log');
  execFileSync('mkfifo', [file]);
  assert.throws(() => openLog({ level: 'info', file }), /it is a FIFO/);
});

test('log file: a directory on the way others can write is refused', async () => {
  const dir = await tmp();
  const { chmod, mkdir } = await import('node:fs/promises');
  await mkdir(path.join(dir, 'open/sub'), { recursive: true });
  await chmod(path.join(dir, 'open'), 0o777);
  assert.throws(() => openLog({ level: 'info', file: path.join(dir, 'open/sub/ebpfmon.log') }), /log file directory .*open is writable by others/);
});

test('reopen (SIGHUP): after logrotate moved the file, a new one; if the path became a symlink, the old fd stays and an error is logged', async () => {
  const dir = await tmp();
  const file = path.join(dir, 'ebpfmon.log');
  const { log, reopen } = openLog({ level: 'info', file });
  log.info('one');
  await rename(file, `${file}.1`);
  reopen();
  log.info('two');
  assert.match(await readFile(`${file}.1`, 'utf8'), /"msg":"one"/);
  assert.match(await readFile(file, 'utf8'), /"msg":"two"/);
  // Rotated again, and a symlink planted before the SIGHUP.
  await rename(file, `${file}.2`);
  const victim = path.join(dir, 'victim');
  await writeFile(victim, 'precious');
  await symlink(victim, file);
  reopen();
  log.info('three');
  assert.equal(await readFile(victim, 'utf8'), 'precious');
  const kept = await readFile(`${file}.2`, 'utf8');
  assert.match(kept, /"level":50,.*"msg":"cannot reopen the log file; logging on to the file opened before"/);
  assert.match(kept, /is a symbolic link; refusing to follow it/);
  assert.match(kept, /"msg":"three"/);
});
