// The block device under a directory, as the bio monitor names it.
import { readFile, realpath, stat } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import path from 'node:path';

/** The whole disk ("major:minor") under a directory, or null when it is not on a block device (tmpfs, btrfs, overlay). */
export async function diskOf(dir: string): Promise<string | null> {
  const dev = (await stat(dir, { bigint: true })).dev;
  const major = ((dev >> 8n) & 0xfffn) | ((dev >> 32n) & ~0xfffn);
  const minor = (dev & 0xffn) | ((dev >> 12n) & ~0xffn);
  const sys = `/sys/dev/block/${major}:${minor}`;
  if (major === 0n || !existsSync(sys)) return null;
  // Requests carry the whole disk's dev_t, not the partition's.
  if (existsSync(path.join(sys, 'partition'))) return (await readFile(path.join(await realpath(sys), '..', 'dev'), 'utf8')).trim();
  return (await readFile(path.join(sys, 'dev'), 'utf8')).trim();
}
