// Files ebpfmon creates as root: never through a symlink planted in their place, never below a directory
// another user could change, with restrictive modes.
//
// The path rule (as sudo checks sudoers, OpenSSH's StrictModes checks ~/.ssh and logrotate checks log
// directories): every directory on the way, from / down and through the targets of symlinks, must be owned by
// root (or by the user ebpfmon runs as, or the one who ran it with sudo) and writable by no one else: not by
// others, not by a group other than root, unless the sticky bit is set (on /tmp others can add entries but cannot
// rename or remove ours). Every symlink on the way must be owned by root (or those users). Whoever can write a directory on the path can swap
// what follows for a symlink at any time, even after the check, and send root's files anywhere.
import { randomBytes } from 'node:crypto';
import { constants, lstatSync, mkdirSync, readlinkSync, type Stats } from 'node:fs';
import { lstat, open, rename, unlink, type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import { errnoOf, UsageError } from './errors.js';

export const dirMode = 0o750;
export const fileMode = 0o640;

/**
 * The user who ran `sudo ebpfmon ...`: sudo already lets them do anything as root, so a directory of theirs (the
 * clone in their home that `sudo ./scripts/setup.sh start` writes `./ebpfmon-output` into) gives nobody more power
 * than they have. Only sudo's own variable is read, and only when ebpfmon really runs as root.
 */
const sudoUid = ((): number | null => {
  const v = process.env['SUDO_UID'];
  return process.geteuid?.() === 0 && v !== undefined && /^\d+$/.test(v) ? Number(v) : null;
})();

/** Whether ebpfmon trusts what this user owns: root, the user it runs as, and the user who ran it through sudo. */
export const trustedOwner = (uid: number): boolean => uid === 0 || uid === process.geteuid?.() || uid === sudoUid;

const octal = (mode: number): string => (mode & 0o7777).toString(8);

/** Why a directory on a path is unsafe under the rule above, or null. */
export function unsafeDirReason(st: Pick<Stats, 'uid' | 'gid' | 'mode'>, opts: { groupWritable?: boolean } = {}): string | null {
  if (!trustedOwner(st.uid)) return `owned by uid ${st.uid}, not root`;
  if (st.mode & 0o1000) return null;
  if (st.mode & 0o002) return `writable by others (mode ${octal(st.mode)})`;
  if (st.mode & 0o020 && st.gid !== 0 && !opts.groupWritable) return `writable by group ${st.gid} (mode ${octal(st.mode)})`;
  return null;
}

export interface SecureDirOptions {
  /** What the path is, for messages: "output directory", "log file directory". */
  what: string;
  /** Create missing directories (mode 0750), one at a time, each checked after it exists. */
  create: boolean;
  /** The directory itself may be a (root-owned) symlink; output directories may not, as before. */
  linkAtEnd?: boolean;
  /** The directory itself may be writable by a non-root group (Debian's /var/log is root:syslog 0775). */
  groupWritableAtEnd?: boolean;
}

/**
 * Walks `dir` from / one component at a time, following symlinks by hand, and checks every directory and
 * symlink met on the way (see the rule at the top). Returns the real path. Synchronous: it runs at start and
 * when the log is reopened, a few system calls per component.
 */
export function secureDirSync(dir: string, opts: SecureDirOptions): string {
  const abs = path.resolve(dir);
  const refuse = (why: string): never => {
    throw new UsageError(`${opts.what} ${abs}: ${why}`);
  };
  const rootWhy = unsafeDirReason(lstatSync('/'));
  if (rootWhy) refuse(`/ is ${rootWhy}`);
  const todo = abs.split('/').filter(Boolean);
  let cur = '/';
  let links = 0;
  while (todo.length) {
    const name = todo.shift()!;
    if (name === '.') continue;
    if (name === '..') {
      cur = path.dirname(cur);
      continue;
    }
    const next = path.join(cur, name);
    const last = todo.length === 0;
    let st = lstatOrNull(next, refuse);
    if (!st) {
      if (!opts.create) return refuse(`${next} does not exist`);
      try {
        mkdirSync(next, { mode: dirMode });
      } catch (e) {
        if (errnoOf(e) !== 'EEXIST') refuse(`cannot create ${next}: ${(e as Error).message}`);
      }
      // Whatever stands there now (ours, or something raced in) is checked like the rest.
      st = lstatOrNull(next, refuse) ?? refuse(`${next} vanished while it was being created`);
    }
    if (st.isSymbolicLink()) {
      if (last && !opts.linkAtEnd) refuse('it is a symbolic link; refusing to follow it (give the real path)');
      if (!trustedOwner(st.uid)) refuse(`${next} is a symbolic link owned by uid ${st.uid}, not root; refusing to follow it`);
      if (++links > 40) refuse('too many levels of symbolic links');
      const target = readlinkSync(next);
      if (path.isAbsolute(target)) cur = '/';
      todo.unshift(...target.split('/').filter(Boolean));
      continue;
    }
    if (!st.isDirectory()) refuse(`${next} exists and is not a directory`);
    const why = unsafeDirReason(st, { groupWritable: last && opts.groupWritableAtEnd === true });
    if (why) refuse(`${next} is ${why}; another user could redirect ebpfmon's files (use a directory owned by root and writable only by root, e.g. /var/lib/ebpfmon)`);
    cur = next;
  }
  return cur;
}

function lstatOrNull(p: string, refuse: (why: string) => never): Stats | null {
  try {
    return lstatSync(p);
  } catch (e) {
    if (errnoOf(e) === 'ENOENT') return null;
    return refuse(`cannot inspect ${p}: ${(e as Error).message}`);
  }
}

/** Creates the output directory `dir` (mode 0750) if missing, after checking its path (see the rule at the top); returns it absolute. */
export async function ensureDir(dir: string, what = 'output directory'): Promise<string> {
  await Promise.resolve().then(() => secureDirSync(dir, { what, create: true }));
  return path.resolve(dir);
}

/** Opens a new file for writing: O_EXCL|O_NOFOLLOW, so neither an existing file nor a symlink is ever reused. */
export async function createExclusive(file: string, mode = fileMode): Promise<FileHandle> {
  try {
    return await open(file, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, mode);
  } catch (e) {
    const code = errnoOf(e);
    const why = code === 'EEXIST' ? 'it already exists' : code === 'ELOOP' ? 'it is a symbolic link' : (e as Error).message;
    throw new UsageError(`cannot create ${file}: ${why}`);
  }
}

/**
 * Writes a file atomically: a fresh temp file beside it (random name, O_EXCL|O_NOFOLLOW), then rename over
 * the target. rename() replaces a symlink or hard link planted at `file` instead of writing through it.
 */
export async function writeFileAtomic(file: string, text: string, mode: number): Promise<void> {
  const tmp = path.join(path.dirname(file), `.${path.basename(file)}.${randomBytes(6).toString('hex')}.tmp`);
  let fh;
  try {
    fh = await open(tmp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, mode);
  } catch (e) {
    throw new UsageError(`cannot write ${file}: ${(e as Error).message}`);
  }
  try {
    await fh.writeFile(text);
    await fh.chmod(mode);
    await fh.sync();
  } catch (e) {
    await fh.close().catch(() => undefined);
    await unlink(tmp).catch(() => undefined);
    throw new UsageError(`cannot write ${file}: ${(e as Error).message}`);
  }
  await fh.close();
  await rename(tmp, file).catch(async (e: unknown) => {
    await unlink(tmp).catch(() => undefined);
    throw new UsageError(`cannot write ${file}: ${(e as Error).message}`);
  });
}

/** Replaces a file a user names (analyze --out): refused when a symlink or anything but a regular file is there. */
export async function replaceFile(file: string, text: string, mode = 0o644): Promise<void> {
  const st = await lstat(file).catch((e: unknown) => {
    if (errnoOf(e) === 'ENOENT') return null;
    throw new UsageError(`cannot write ${file}: ${(e as Error).message}`);
  });
  if (st?.isSymbolicLink()) throw new UsageError(`cannot write ${file}: it is a symbolic link; refusing to write through it`);
  if (st && !st.isFile()) throw new UsageError(`cannot write ${file}: it exists and is not a regular file`);
  await writeFileAtomic(file, text, mode);
}
