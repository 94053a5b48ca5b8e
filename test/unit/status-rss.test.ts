// RSS comes from VmRSS (kB) in /proc/<pid>/status: right whatever the page size (4K, 16K, 64K kernels).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseVmRss, processUsage } from '../../src/daemon/status.js';

test('VmRSS in kB -> bytes; no VmRSS line (kernel thread, zombie) -> 0; not a status file -> null', () => {
  assert.equal(parseVmRss('Name:\tnode\nVmPeak:\t  999 kB\nVmRSS:\t   85432 kB\nRssAnon:\t 1 kB\n'), 85432 * 1024);
  assert.equal(parseVmRss('Name:\tkthreadd\nState:\tS (sleeping)\n'), 0);
  assert.equal(parseVmRss(''), null);
});

test('processUsage of this process: RSS close to what node reports', async () => {
  const u = await processUsage(process.pid);
  assert.ok(u);
  const rss = process.memoryUsage().rss;
  assert.ok(Math.abs(u.rssBytes - rss) < rss * 0.2, `${u.rssBytes} vs ${rss}`);
  assert.ok(u.cpuSeconds > 0);
  assert.equal(await processUsage(4194304), null);
});
