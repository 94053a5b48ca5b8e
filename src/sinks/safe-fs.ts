// Files ebpfmon creates as root: never through a symlink planted in their place, with restrictive modes.
import { constants } from 'node:fs';
import { lstat, mkdir, open, type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import { UsageError } from '../errors.js';

export const dirMode = 0o750;
export const fileMode = 0o640;

/** Creates `dir` (mode 0750) if missing; refuses when it, or what stands in its place, is not a real directory. */
export async function ensureDir(dir: string): Promise<string> {
  const abs = path.resolve(dir);
  try {
    const st = await lstat(abs);
    if (st.isSymbolicLink()) throw new UsageError(`output directory ${abs} is a symbolic link; refusing to follow it (give the real path)`);
    if (!st.isDirectory()) throw new UsageError(`output directory ${abs} exists and is not a directory`);
    return abs;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') {
      if (e instanceof UsageError) throw e;
      throw new UsageError(`cannot use output directory ${abs}: ${(e as Error).message}`);
    }
  }
  try {
    await mkdir(abs, { recursive: true, mode: dirMode });
  } catch (e) {
    throw new UsageError(`cannot create output directory ${abs}: ${(e as Error).message}`);
  }
  return abs;
}

/** Opens a new file for writing: O_EXCL|O_NOFOLLOW, so neither an existing file nor a symlink is ever reused. */
export async function createExclusive(file: string, mode = fileMode): Promise<FileHandle> {
  try {
    return await open(file, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, mode);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const why = code === 'EEXIST' ? 'it already exists' : code === 'ELOOP' ? 'it is a symbolic link' : (e as Error).message;
    throw new UsageError(`cannot create ${file}: ${why}`);
  }
}
