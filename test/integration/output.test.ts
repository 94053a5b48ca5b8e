// Output formats: CSV and NDJSON side by side carry the same rows.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { kernelAvailable } from '../helpers/kernel.js';
import { readCsv, startCli, tempDir, writeConfig } from '../helpers/cli.js';
import { run, workload } from '../helpers/workload.js';

test('output.format [csv, ndjson]: NDJSON rows parse and match the CSV rows', async (t) => {
  if (!kernelAvailable(t)) return;
  const dir = await tempDir('ndjson');
  const prog = await workload('syscalls', 'ebpfm_ndj');
  const config = await writeConfig(dir, 'output: {format: [csv, ndjson]}\nmonitors:\n  syscall: {enabled: true, interval: 1, comm: ebpfm_ndj}\n');
  const cli = startCli(['start', '-c', config, '-o', dir, '--duration', '2']);
  await cli.waitForLog('monitors attached');
  await run(prog, ['222', '11']);
  const r = await cli.done;
  assert.equal(r.exitCode, 0, r.stderr);
  const csv = await readCsv(dir, 'syscall');
  const file = (await readdir(dir)).find((f) => f.startsWith('syscall_') && f.endsWith('.ndjson'));
  assert.ok(file, 'an .ndjson file next to the CSV');
  const nd = (await readFile(path.join(dir, file), 'utf8')).trimEnd().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
  assert.equal(nd.length, csv.length);
  assert.ok(csv.length > 0);
  for (const [i, row] of csv.entries()) {
    const o = nd[i]!;
    for (const [k, v] of Object.entries(row)) {
      if (k === 'note') continue;
      assert.equal(o[k] === null ? '' : String(o[k]), v, `row ${i} column ${k}`);
    }
  }
  const get = nd.find((o) => o['syscall'] === 'getppid');
  assert.equal(get?.['count'], 222);
  assert.equal(typeof get?.['pid'], 'number');
});
