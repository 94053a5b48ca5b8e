// Block devices MAJ:MIN (as the kernel's block tracepoints give them) -> the kernel's names (254:0 -> vda,
// 259:1 -> nvme0n1p1), the `device` label node_exporter uses. /sys/dev/block/MAJ:MIN is a symlink into
// /sys/devices/.../block/vda[/vda1]: its last component is the name. Names are cached (a bounded number); a
// device not found (hot-plugged since its last lookup, or gone) is looked up again at most once a second, and a
// name found is looked up again after a minute, since a number freed by a removed disk can be given to another.
import { readlinkSync } from 'node:fs';
import path from 'node:path';
import type { Row } from '../monitors/types.js';
import { monotonicMs } from '../timers.js';

export const sysDevBlock = '/sys/dev/block';

/** MAJ:MIN as the bio monitor writes it. */
const devNumber = /^\d{1,7}:\d{1,7}$/;
/** A name the kernel would give: no path, no control or space characters. */
export const plausibleName = /^[A-Za-z0-9][A-Za-z0-9._+:!-]{0,63}$/;

export const diskCache = {
  /** Devices remembered; past this, the cache starts over (a host has far fewer). */
  maxEntries: 4096,
  /** A device not found is looked up again after this long. */
  missRetryMs: 1_000,
  /** A device found is looked up again after this long. */
  hitTtlMs: 60_000,
} as const;

export interface DiskResolver {
  /** The kernel's name of MAJ:MIN, or null when /sys has none. */
  resolve(devno: string): string | null;
  /** Sets the `disk` cell of rows that have one from their `device` (MAJ:MIN), in place; the number when unknown. */
  enrich<R extends Row>(rows: R[]): R[];
}

export function createDiskResolver(root: string = sysDevBlock, now: () => number = monotonicMs): DiskResolver {
  const cache = new Map<string, { name: string | null; at: number }>();
  const lookup = (devno: string): string | null => {
    try {
      const name = path.basename(readlinkSync(path.join(root, devno)));
      return plausibleName.test(name) ? name : null;
    } catch {
      return null;
    }
  };
  const resolve = (devno: string): string | null => {
    if (!devNumber.test(devno)) return null;
    const t = now();
    const hit = cache.get(devno);
    if (hit && t - hit.at < (hit.name === null ? diskCache.missRetryMs : diskCache.hitTtlMs)) return hit.name;
    const name = lookup(devno);
    if (cache.size >= diskCache.maxEntries && !hit) cache.clear();
    cache.set(devno, { name, at: t });
    return name;
  };
  return {
    resolve,
    enrich(rows) {
      for (const r of rows) {
        if (!('disk' in r) || r['disk'] !== null) continue;
        const devno = r['device'];
        if (typeof devno === 'string') (r as Row)['disk'] = resolve(devno) ?? devno;
      }
      return rows;
    },
  };
}
