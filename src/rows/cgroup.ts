// cgroup v2 ids (bpftrace's `cgroup` builtin: the inode number of the cgroup's directory) -> cgroup paths such
// as /system.slice/ssh.service or /kubepods.slice/.../cri-containerd-<id>.scope, with a cache. A miss rescans
// the hierarchy, at most once a second; an id that stays unknown (the cgroup is gone) is shown as cgroup:<id>.
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

export function createCgroupResolver(root = cgroup2Root(), now: () => number = Date.now): CgroupResolver {
  const cache = new Map<string, string>();
  let lastScan = -Infinity;

  const scan = (): void => {
    lastScan = now();
    const walk = (dir: string, depth: number): void => {
      let st;
      try {
        st = statSync(dir, { bigint: true });
      } catch {
        return;
      }
      const rel = path.relative(root, dir);
      cache.set(String(st.ino), rel ? `/${rel}` : '/');
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
  };

  const resolve = (id: string): string => {
    const hit = cache.get(id);
    if (hit) return hit;
    if (now() - lastScan >= 1000) scan();
    return cache.get(id) ?? `cgroup:${id}`;
  };

  return {
    resolve,
    enrich(rows) {
      for (const r of rows) {
        const v = r['cgroup'];
        if (typeof v === 'string' && /^\d+$/.test(v)) (r as Row)['cgroup'] = resolve(v);
      }
      return rows;
    },
  };
}
