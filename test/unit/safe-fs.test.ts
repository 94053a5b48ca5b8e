// The path rule for everything ebpfmon writes as root: every directory on the way owned by root and writable
// by no one else (sticky directories excepted), every symlink on the way owned by root.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmod, link, lchown, mkdir, mkdtemp, readFile, stat, symlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { ensureDir, replaceFile, secureDirSync, unsafeDirReason } from '../../src/safe-fs.js';
import { UsageError } from '../../src/errors.js';

const tmp = () => mkdtemp(path.join(os.tmpdir(), 'ebpfmon-unit-safefs-'));
const isRoot = process.geteuid?.() === 0;

test('the rule on one directory: owner, others, group, sticky', () => {
  const me = process.geteuid?.() ?? 0;
  assert.equal(unsafeDirReason({ uid: 0, gid: 0, mode: 0o40755 }), null);
  assert.equal(unsafeDirReason({ uid: me, gid: 0, mode: 0o40700 }), null, 'the user ebpfmon runs as');
  assert.equal(unsafeDirReason({ uid: 0, gid: 0, mode: 0o41777 }), null, 'sticky, as /tmp');
  assert.equal(unsafeDirReason({ uid: 0, gid: 0, mode: 0o40775 }), null, 'group root');
  assert.match(unsafeDirReason({ uid: 0, gid: 0, mode: 0o40777 }) ?? '', /writable by others \(mode 777\)/);
  assert.match(unsafeDirReason({ uid: 0, gid: 104, mode: 0o40775 }) ?? '', /writable by group 104/);
  assert.equal(unsafeDirReason({ uid: 0, gid: 104, mode: 0o40775 }, { groupWritable: true }), null);
  assert.match(unsafeDirReason({ uid: 54321, gid: 0, mode: 0o40755 }) ?? '', /owned by uid 54321, not root/);
});

test('ensureDir creates missing directories 0750 one at a time; /tmp (sticky) on the way is fine', async () => {
  const base = await tmp();
  const dir = await ensureDir(path.join(base, 'a/b/c'));
  assert.equal(dir, path.join(base, 'a/b/c'));
  for (const d of ['a', 'a/b', 'a/b/c']) assert.equal((await stat(path.join(base, d))).mode & 0o777, 0o750);
  assert.equal(await ensureDir(dir), dir, 'an existing one is fine');
});

test('ensureDir refuses a directory on the way that others can write (no sticky bit), and below it', async () => {
  const base = await tmp();
  await mkdir(path.join(base, 'open/inner'), { recursive: true });
  await chmod(path.join(base, 'open'), 0o777);
  await assert.rejects(ensureDir(path.join(base, 'open/inner/out')), (e: unknown) => e instanceof UsageError && e.exitCode === 2 && /open is writable by others \(mode 777\)/.test(e.message));
  await assert.rejects(ensureDir(path.join(base, 'open')), /writable by others/, 'the directory itself too');
  await chmod(path.join(base, 'open'), 0o1777);
  assert.ok(await ensureDir(path.join(base, 'open/inner/out')), 'sticky: allowed');
});

test('ensureDir: a root-owned symlink on the way is followed, and its target is checked too', async () => {
  const base = await tmp();
  await mkdir(path.join(base, 'real/open/deep'), { recursive: true });
  await symlink(path.join(base, 'real'), path.join(base, 'via'));
  assert.equal(await ensureDir(path.join(base, 'via/out')), path.join(base, 'via/out'));
  assert.ok((await stat(path.join(base, 'real/out'))).isDirectory());
  await chmod(path.join(base, 'real/open'), 0o777);
  // The path names no open directory, the symlink's target does.
  await symlink('open/deep', path.join(base, 'real/rel'));
  await assert.rejects(ensureDir(path.join(base, 'via/rel/out')), /real\/open is writable by others/);
  // The output directory itself may not be a symlink (as before).
  await assert.rejects(ensureDir(path.join(base, 'via')), /is a symbolic link; refusing to follow it/);
  // A loop.
  await symlink('loop2', path.join(base, 'loop1'));
  await symlink('loop1', path.join(base, 'loop2'));
  await assert.rejects(ensureDir(path.join(base, 'loop1/out')), /too many levels of symbolic links/);
});

test('ensureDir refuses a symlink on the way owned by a non-root user, and a directory owned by one', { skip: !isRoot && 'needs root (lchown)' }, async () => {
  const base = await tmp();
  await mkdir(path.join(base, 'real'));
  await symlink(path.join(base, 'real'), path.join(base, 'planted'));
  await lchown(path.join(base, 'planted'), 65534, 65534);
  await assert.rejects(ensureDir(path.join(base, 'planted/out')), /planted is a symbolic link owned by uid 65534, not root; refusing to follow it/);
  await mkdir(path.join(base, 'users'));
  await lchown(path.join(base, 'users'), 65534, 65534);
  await assert.rejects(ensureDir(path.join(base, 'users/out')), /users is owned by uid 65534, not root/);
});

test('ensureDir: a file on the way is not a directory; secureDirSync without create wants it to exist', async () => {
  const base = await tmp();
  await writeFile(path.join(base, 'f'), '');
  await assert.rejects(ensureDir(path.join(base, 'f/out')), /f exists and is not a directory/);
  assert.throws(() => secureDirSync(path.join(base, 'nope'), { what: 'pid file directory', create: false }), /pid file directory .*nope does not exist/);
});

test('replaceFile (analyze --out): refuses a planted symlink, leaves its target alone; a hard link is replaced, not written through', async () => {
  const base = await tmp();
  const victim = path.join(base, 'victim');
  await writeFile(victim, 'precious');
  await symlink(victim, path.join(base, 'report.html'));
  await assert.rejects(replaceFile(path.join(base, 'report.html'), 'x'), (e: unknown) => e instanceof UsageError && /is a symbolic link; refusing to write through it/.test(e.message));
  assert.equal(await readFile(victim, 'utf8'), 'precious');
  await link(victim, path.join(base, 'hard.html'));
  await replaceFile(path.join(base, 'hard.html'), '<html>');
  assert.equal(await readFile(victim, 'utf8'), 'precious');
  assert.equal(await readFile(path.join(base, 'hard.html'), 'utf8'), '<html>');
  await replaceFile(path.join(base, 'new.txt'), 'a');
  await replaceFile(path.join(base, 'new.txt'), 'b');
  assert.equal(await readFile(path.join(base, 'new.txt'), 'utf8'), 'b');
  await mkdir(path.join(base, 'd'));
  await assert.rejects(replaceFile(path.join(base, 'd'), 'x'), /not a regular file/);
});
