import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, stat } from 'node:fs/promises';
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
