// The private directory of a run: its scripts and their compiled copies, removed at exit, and at the next start if
// the run died without removing it.
import { lstat, mkdtemp, readdir, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { Logger } from '../log.js';
import { errnoOf } from '../errors.js';

/** The private directory of a run holds its scripts: `ebpfmon-<pid>-XXXXXX` in the temporary directory. */
const workDirPattern = /^ebpfmon-(\d+)-[A-Za-z0-9]{6}$/;

/**
 * Removes the script directories of runs that are gone (killed by SIGKILL, or a crash): their pid no longer exists.
 * A directory whose pid is alive is another run's (or ours), and stays; so does anything not a real directory of
 * ours (the temporary directory is everyone's: another user may have made a look-alike).
 */
async function removeStaleWorkDirs(log: Logger): Promise<void> {
  const tmp = os.tmpdir();
  for (const name of await readdir(tmp).catch(() => [])) {
    const m = workDirPattern.exec(name);
    if (!m) continue;
    const pid = Number(m[1]);
    if (pid === process.pid || alive(pid)) continue;
    const st = await lstat(path.join(tmp, name)).catch(() => null);
    if (!st?.isDirectory() || st.uid !== process.geteuid?.()) continue;
    await rm(path.join(tmp, name), { recursive: true, force: true }).then(
      () => log.info({ dir: path.join(tmp, name), pid }, 'removed the script directory of a run that is gone'),
      () => undefined,
    );
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return errnoOf(e) === 'EPERM';
  }
}

/** A new private directory for this run, after removing those of runs that are gone. */
export async function makeWorkDir(log: Logger): Promise<string> {
  await removeStaleWorkDirs(log);
  return mkdtemp(path.join(os.tmpdir(), `ebpfmon-${process.pid}-`));
}
