// MAJ:MIN -> the kernel's disk name, as bio rows carry it (src/rows/disk.ts): from /sys/dev/block's symlinks,
// partitions too, cached, looked up again when unknown (hot-plug) and after a while (a number reused).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, symlink } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { createDiskResolver, diskCache } from '../../src/rows/disk.js';
import { bio, type BioRow } from '../../src/monitors/bio.js';

test('MAJ:MIN resolves to the last component of /sys/dev/block/MAJ:MIN, partitions too; hot-plugged disks are found', async (t) => {
  const root = await mkdtemp(path.join(os.tmpdir(), 'ebpfmon-disk-'));
  t.after(() => rm(root, { recursive: true, force: true }));
  await symlink('../../devices/pci0000:00/0000:00:02.0/virtio1/block/vda', path.join(root, '254:0'));
  await symlink('../../devices/pci0000:00/0000:00:02.0/virtio1/block/vda/vda1', path.join(root, '254:1'));
  await symlink('../../devices/virtual/block/dm-0', path.join(root, '253:0'));
  let now = 0;
  const r = createDiskResolver(root, () => now);
  assert.equal(r.resolve('254:0'), 'vda');
  assert.equal(r.resolve('254:1'), 'vda1');
  assert.equal(r.resolve('253:0'), 'dm-0');
  for (const bad of ['../254:0', '254', '', '254:0/..']) assert.equal(r.resolve(bad), null, bad);
  // Plugged in after a first lookup: found once the miss is older than missRetryMs.
  assert.equal(r.resolve('259:0'), null);
  await symlink('../../devices/pci0000:00/nvme/nvme0/nvme0n1', path.join(root, '259:0'));
  now += diskCache.missRetryMs - 1;
  assert.equal(r.resolve('259:0'), null, 'the miss is cached for missRetryMs');
  now += 1;
  assert.equal(r.resolve('259:0'), 'nvme0n1');
  // The number given to another disk: the new name after hitTtlMs.
  await rm(path.join(root, '259:0'));
  await symlink('../../devices/pci0000:00/nvme/nvme1/nvme1n1', path.join(root, '259:0'));
  assert.equal(r.resolve('259:0'), 'nvme0n1');
  now += diskCache.hitTtlMs;
  assert.equal(r.resolve('259:0'), 'nvme1n1');
});

test('bio rows get a disk column beside device: the name, or the number when /sys has none; other rows are untouched', async (t) => {
  const root = await mkdtemp(path.join(os.tmpdir(), 'ebpfmon-disk-'));
  t.after(() => rm(root, { recursive: true, force: true }));
  await symlink('../../devices/virtual/block/vda', path.join(root, '254:0'));
  const r = createDiskResolver(root);
  const row = (device: string): BioRow => ({ timestamp: 't', pid: 1, comm: 'a', device, disk: null, io_type: 'read', count: 1, total_bytes: 1, avg_latency_us: null, min_latency_us: null, max_latency_us: null, throughput_mbps: 0, latency_buckets: null, cgroup: null });
  const rows = r.enrich([row('254:0'), row('8:99')]);
  assert.deepEqual(rows.map((x) => [x.device, x.disk]), [['254:0', 'vda'], ['8:99', '8:99']]);
  const other = { timestamp: 't', device: '254:0' };
  assert.deepEqual(r.enrich([other]), [{ timestamp: 't', device: '254:0' }]);
  const cols = bio.columns;
  assert.equal(cols.indexOf('disk'), cols.indexOf('device') + 1, 'disk is beside device');
});

test('a cache full of devices starts over instead of growing', async (t) => {
  const root = await mkdtemp(path.join(os.tmpdir(), 'ebpfmon-disk-'));
  t.after(() => rm(root, { recursive: true, force: true }));
  await symlink('../../devices/virtual/block/vda', path.join(root, '254:0'));
  const r = createDiskResolver(root, () => 0);
  for (let i = 0; i <= diskCache.maxEntries; i++) r.resolve(`1:${i}`);
  assert.equal(r.resolve('254:0'), 'vda');
});
