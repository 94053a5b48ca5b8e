// The pid file of a daemonised ebpfmon: written atomically (temp file + rename, never through a symlink),
// mode 0644; a stale one (process gone, or not ebpfmon) is replaced, a live one refuses a second instance.
import { constants } from 'node:fs';
import { open, readFile, rename, unlink } from 'node:fs/promises';
import path from 'node:path';
import { UsageError } from '../errors.js';

export const defaultPidFile = '/run/ebpfmon.pid';

/** The status file that sits next to a pid file: /run/ebpfmon.pid -> /run/ebpfmon.status.json. */
export const statusFileFor = (pidFile: string): string => pidFile.replace(/\.pid$/, '') + '.status.json';

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Whether `pid` is an ebpfmon process (its command line names our entry point), not a recycled pid. */
export async function isEbpfmon(pid: number): Promise<boolean> {
  try {
    const cmdline = (await readFile(`/proc/${pid}/cmdline`, 'utf8')).split('\0');
    return cmdline.some((a) => /ebpfmon|cli\/main\.js$/.test(a));
  } catch {
    return false;
  }
}

/** The pid in the file, or null when there is no file or it holds no pid. */
export async function readPidFile(file: string): Promise<number | null> {
  try {
    const text = (await readFile(file, 'utf8')).trim();
    return /^\d+$/.test(text) ? Number(text) : null;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw new UsageError(`cannot read pid file ${file}: ${(e as Error).message}`);
  }
}

/** The running ebpfmon recorded in `file`, or null (no file, or a stale one). */
export async function runningPid(file: string): Promise<number | null> {
  const pid = await readPidFile(file);
  if (pid === null || pid === process.pid) return null;
  return isAlive(pid) && (await isEbpfmon(pid)) ? pid : null;
}

/** Claims the pid file for this process. Throws when another ebpfmon holds it; returns whether a stale one was replaced. */
export async function claimPidFile(file: string, pid: number = process.pid): Promise<{ replacedStale: number | null }> {
  const other = await readPidFile(file);
  if (other !== null && other !== pid && isAlive(other) && (await isEbpfmon(other))) {
    throw new UsageError(`ebpfmon is already running (pid ${other}, pid file ${file}); stop it first: ebpfmon stop --pid-file ${file}`);
  }
  await writeAtomic(file, `${pid}\n`, 0o644);
  return { replacedStale: other !== null && other !== pid ? other : null };
}

/** Removes the pid file if it still names `pid`. */
export async function releasePidFile(file: string, pid: number = process.pid): Promise<void> {
  if ((await readPidFile(file).catch(() => null)) === pid) await unlink(file).catch(() => undefined);
}

/** Writes a file atomically: a fresh temp file in the same directory (O_EXCL|O_NOFOLLOW), then rename over the target. */
export async function writeAtomic(file: string, text: string, mode: number): Promise<void> {
  const tmp = path.join(path.dirname(file), `.${path.basename(file)}.${process.pid}.${Date.now()}.tmp`);
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
  } finally {
    await fh.close();
  }
  // rename() replaces a symlink planted at `file` instead of following it.
  await rename(tmp, file).catch(async (e: unknown) => {
    await unlink(tmp).catch(() => undefined);
    throw new UsageError(`cannot write ${file}: ${(e as Error).message}`);
  });
}
