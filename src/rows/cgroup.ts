// cgroup v2 ids (bpftrace's `cgroup` builtin: the inode number of the cgroup's directory) -> cgroup paths such
// as /system.slice/ssh.service or /kubepods.slice/.../cri-containerd-<id>.scope, with a cache. A miss rescans
// the hierarchy, at most once a second; an id that stays unknown (the cgroup is gone) is shown as cgroup:<id>.
// The cache is bounded: a rescan forgets the cgroups that are gone and were not asked for in the last `retainMs`
// (it grew with every container and session scope a host ever had: weeks of churn on a busy node).
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import type { Row } from '../monitors/types.js';
import { monotonicMs } from '../timers.js';

export interface CgroupResolver {
  resolve(id: string): string;
  /**
   * Replaces numeric `cgroup` cells of rows in place with paths, sets `pod_uid` and `container_id` from each path
   * (containerOf), and returns the rows. Rows without a `cgroup` cell (the option is off) are left alone.
   */
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

export function createCgroupResolver(root = cgroup2Root(), now: () => number = monotonicMs, retainMs = cgroupRetainMs): CgroupResolver & { size(): number } {
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
        if (typeof v !== 'string') continue;
        const p = /^\d+$/.test(v) ? resolve(v) : v;
        const c = containerOf(p);
        const row = r as Row;
        row['cgroup'] = p;
        row['pod_uid'] = c.pod_uid;
        row['container_id'] = c.container_id;
      }
      return rows;
    },
  };
}

/** The container a cgroup path belongs to: the Kubernetes pod's UID and the container runtime's container id. */
export interface ContainerIdentity {
  /** metadata.uid of the pod (dashed form), from a kubepods path; else null. */
  pod_uid: string | null;
  /** The runtime's 64-hex container id (containerd, CRI-O, Docker, Podman); else null. */
  container_id: string | null;
}

const containerIdPattern = '[0-9a-f]{64}';
/** A kubelet pod cgroup: systemd driver `kubepods[-qos]-pod<uid with _>.slice`, cgroupfs driver `pod<uid>`. */
const podSegment = /^(?:kubepods(?:-[a-z]+)?-pod([0-9a-f]{8}_[0-9a-f]{4}_[0-9a-f]{4}_[0-9a-f]{4}_[0-9a-f]{12})\.slice|pod([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}))$/;
/**
 * A container's own cgroup: systemd driver `<runtime>-<id>.scope` (cri-containerd, crio, docker, libpod), cgroupfs
 * driver the bare id (under a pod, or /docker/<id>). Not the runtimes' monitor processes: crio-conmon-<id>.scope and
 * libpod-conmon-<id>.scope are not the container.
 */
const containerSegment = new RegExp(`^(?:(?:cri-containerd|crio|docker|libpod)-(${containerIdPattern})\\.scope|(${containerIdPattern}))$`);

/**
 * Pod UID and container id from a cgroup v2 path, e.g.
 * /kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod<uid>.slice/cri-containerd-<id>.scope (systemd
 * driver), /kubepods/burstable/pod<uid>/<id> (cgroupfs driver), /system.slice/docker-<id>.scope,
 * /machine.slice/libpod-<id>.scope. The outermost container wins: a cgroup a container made inside its own
 * (systemd in a container, Docker in Docker) is still that container's. Anything else gives nulls.
 */
export function containerOf(cgroupPath: string): ContainerIdentity {
  let pod: string | null = null;
  for (const seg of cgroupPath.split('/')) {
    const p = podSegment.exec(seg);
    if (p) {
      pod = p[1] ? p[1].replace(/_/g, '-') : (p[2] ?? null);
      continue;
    }
    const c = containerSegment.exec(seg);
    if (c) return { pod_uid: pod, container_id: c[1] ?? c[2] ?? null };
  }
  return { pod_uid: pod, container_id: null };
}
