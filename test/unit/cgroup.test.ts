import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { createCgroupResolver } from '../../src/rows/cgroup.js';

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
  assert.deepEqual(rows, [{ cgroup: '/system.slice/ssh.service', pid: 1 }, { cgroup: null, pid: 2 }]);
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
