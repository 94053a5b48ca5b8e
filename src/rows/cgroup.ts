// cgroup v2 ids (bpftrace's `cgroup` builtin: the inode number of the cgroup's directory) -> cgroup paths such
// as /system.slice/ssh.service or /kubepods.slice/.../cri-containerd-<id>.scope, with a cache. A miss rescans
// the hierarchy, at most once a second; an id that stays unknown (the cgroup is gone) is shown as cgroup:<id>.
// The cache is bounded: a rescan forgets the cgroups that are gone and were not asked for in the last `retainMs`
// (it grew with every container and session scope a host ever had: weeks of churn on a busy node).
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import type { Row } from '../monitors/types.js';

export interface CgroupResolver {
  resolve(id: string): string;
  /** Replaces numeric `cgroup` cells of rows in place, and returns the rows. */
  enrich<R extends Row>(rows: R[]): R[];
}

/** Where cgroup v2 is mounted: /sys/fs/cgroup on unified hosts, /sys/fs/cgroup/unified on hybrid ones. */
export function cgroup2Root(): string {
  try {
    const line = readFileSync('/proc/self/mounts', 'utf8')
      .split('\n')
      .find((l) => l.split(' ')[2] === 'cgroup2');
    return line?.split(' ')[1] ?? '/sys/fs/cgroup';
  } catch {
    return '/sys/fs/cgroup';
  }
}

/** How long a cgroup that is gone stays resolvable after it was last asked for: rows arrive an interval late. */
export const cgroupRetainMs = 10 * 60_000;

export function createCgroupResolver(root = cgroup2Root(), now: () => number = Date.now, retainMs = cgroupRetainMs): CgroupResolver & { size(): number } {
  /** id -> path, and when it was last found by a scan or asked for. */
  const cache = new Map<string, { path: string; at: number }>();
  let lastScan = -Infinity;

  const scan = (): void => {
    lastScan = now();
    const at = lastScan;
    const walk = (dir: string, depth: number): void => {
      let st;
      try {
        st = statSync(dir, { bigint: true });
      } catch {
        return;
      }
      const rel = path.relative(root, dir);
      cache.set(String(st.ino), { path: rel ? `/${rel}` : '/', at });
      if (depth > 32) return;
      let entries;
      try {
        entries = readdirSync(dir, { withFileTypes: true });
      } catch {
        return;
      }
      for (const e of entries) if (e.isDirectory()) walk(path.join(dir, e.name), depth + 1);
    };
    walk(root, 0);
    for (const [id, e] of cache) if (at - e.at > retainMs) cache.delete(id);
  };

  const resolve = (id: string): string => {
    let hit = cache.get(id);
    if (!hit && now() - lastScan >= 1000) {
      scan();
      hit = cache.get(id);
    }
    if (!hit) return `cgroup:${id}`;
    hit.at = now();
    return hit.path;
  };

  return {
    resolve,
    size: () => cache.size,
    enrich(rows) {
      for (const r of rows) {
        const v = r['cgroup'];
        if (typeof v === 'string' && /^\d+$/.test(v)) (r as Row)['cgroup'] = resolve(v);
      }
      return rows;
    },
  };
}
