import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { containerOf, createCgroupResolver } from '../../src/rows/cgroup.js';

test('cgroup ids resolve to paths by directory inode; unknown ids stay visible; rescans are rate-limited', async () => {
  const root = await mkdtemp(path.join(os.tmpdir(), 'ebpfmon-cg-'));
  await mkdir(path.join(root, 'system.slice/ssh.service'), { recursive: true });
  const ino = String((await stat(path.join(root, 'system.slice/ssh.service'), { bigint: true })).ino);
  let t = 0;
  const r = createCgroupResolver(root, () => t);
  assert.equal(r.resolve(ino), '/system.slice/ssh.service');
  assert.equal(r.resolve(String((await stat(root, { bigint: true })).ino)), '/');
  await mkdir(path.join(root, 'late.scope'));
  const late = String((await stat(path.join(root, 'late.scope'), { bigint: true })).ino);
  assert.equal(r.resolve(late), `cgroup:${late}`, 'no rescan within a second');
  t = 1500;
  assert.equal(r.resolve(late), '/late.scope');
  const rows = r.enrich([{ cgroup: ino, pid: 1 }, { cgroup: null, pid: 2 }]);
  assert.deepEqual(rows, [{ cgroup: '/system.slice/ssh.service', pod_uid: null, container_id: null, pid: 1 }, { cgroup: null, pid: 2 }]);
});

test('containerOf: pod UID and container id from the cgroup paths kubelet, containerd, CRI-O, Docker and Podman make', () => {
  const id = 'a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f90';
  const other = 'ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff';
  const uid = '7f1e2d3c-4b5a-6978-8a9b-0c1d2e3f4a5b';
  const uidSd = uid.replace(/-/g, '_');
  const cases: [string, string | null, string | null][] = [
    // systemd cgroup driver: QoS slices, the pod's slice with underscores, the runtime's scope
    [`/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod${uidSd}.slice/cri-containerd-${id}.scope`, uid, id],
    [`/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod${uidSd}.slice/crio-${id}.scope`, uid, id],
    [`/kubepods.slice/kubepods-pod${uidSd}.slice/cri-containerd-${id}.scope`, uid, id], // Guaranteed: no QoS slice
    [`/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod${uidSd}.slice/docker-${id}.scope`, uid, id], // cri-dockerd
    // cgroupfs driver
    [`/kubepods/burstable/pod${uid}/${id}`, uid, id],
    [`/kubepods/pod${uid}/${id}`, uid, id],
    // a process in the pod's cgroup but no container's, and CRI-O's conmon beside the container
    [`/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod${uidSd}.slice`, uid, null],
    [`/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod${uidSd}.slice/crio-conmon-${id}.scope`, uid, null],
    // Docker and Podman without Kubernetes
    [`/system.slice/docker-${id}.scope`, null, id],
    [`/docker/${id}`, null, id],
    [`/machine.slice/libpod-${id}.scope`, null, id],
    [`/user.slice/user-1000.slice/user@1000.service/user.slice/libpod-${id}.scope`, null, id],
    [`/machine.slice/libpod-conmon-${id}.scope`, null, null],
    // the outermost container: a cgroup made inside a container (its own systemd, Docker in Docker) stays its
    [`/machine.slice/libpod-${id}.scope/container/init.scope`, null, id],
    [`/system.slice/docker-${id}.scope/docker/${other}`, null, id],
    // not containers
    ['/system.slice/ssh.service', null, null],
    ['/', null, null],
    ['cgroup:12345', null, null],
    [`/system.slice/docker-${id.slice(1)}.scope`, null, null], // 63 hex digits
    [`/system.slice/docker-${id.toUpperCase()}.scope`, null, null],
    [`/kubepods/burstable/pod${uid}x/${id}`, null, id],
  ];
  for (const [p, pod, container] of cases) assert.deepEqual(containerOf(p), { pod_uid: pod, container_id: container }, p);
});

test('enrich fills pod_uid and container_id where there is a cgroup cell, and leaves rows without one alone', async () => {
  const root = await mkdtemp(path.join(os.tmpdir(), 'ebpfmon-cg-'));
  const id = 'a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f90';
  const dir = `kubepods/burstable/pod7f1e2d3c-4b5a-6978-8a9b-0c1d2e3f4a5b/${id}`;
  await mkdir(path.join(root, dir), { recursive: true });
  const ino = String((await stat(path.join(root, dir), { bigint: true })).ino);
  const r = createCgroupResolver(root, () => 0);
  assert.deepEqual(r.enrich([{ cgroup: ino, pid: 1 }, { cgroup: null, pid: 2 }, { pid: 3 }]), [
    { cgroup: `/${dir}`, pod_uid: '7f1e2d3c-4b5a-6978-8a9b-0c1d2e3f4a5b', container_id: id, pid: 1 },
    { cgroup: null, pid: 2 },
    { pid: 3 },
  ]);
});

test('the cgroup cache is bounded: a rescan forgets cgroups that are gone and were not asked for within retainMs', async () => {
  const root = await mkdtemp(path.join(os.tmpdir(), 'ebpfmon-cg-'));
  const inoOf = async (d: string): Promise<string> => String((await stat(path.join(root, d), { bigint: true })).ino);
  const scopes = Array.from({ length: 50 }, (_, i) => `session-${i}.scope`);
  for (const d of [...scopes, 'kept.scope', 'trigger']) await mkdir(path.join(root, d));
  let t = 0;
  const r = createCgroupResolver(root, () => t, 60_000);
  const ids = await Promise.all(scopes.map(inoOf));
  const kept = await inoOf('kept.scope');
  assert.equal(r.resolve(ids[0]!), '/session-0.scope');
  assert.equal(r.size(), 53, 'root, 50 scopes, kept and trigger');
  // The sessions end; kept.scope ends too but is still asked for (its rows arrive an interval late).
  for (const d of [...scopes, 'kept.scope']) await rm(path.join(root, d), { recursive: true });
  t = 30_000;
  assert.equal(r.resolve(kept), '/kept.scope', 'gone, but within retainMs: still named');
  t = 61_000;
  assert.equal(r.resolve('999999999'), 'cgroup:999999999', 'a miss: rescan');
  assert.equal(r.resolve(kept), '/kept.scope', 'asked for 31 s ago: kept');
  assert.equal(r.resolve(ids[1]!), `cgroup:${ids[1]!}`, 'gone and not asked for in 60 s: forgotten');
  assert.equal(r.size(), 3, 'root, trigger and kept.scope');
  t = 200_000;
  r.resolve('999999998');
  assert.equal(r.size(), 2, 'kept.scope forgotten once not asked for in retainMs');
  assert.equal(r.resolve(await inoOf('trigger')), '/trigger', 'live cgroups stay');
  await rm(root, { recursive: true });
});
