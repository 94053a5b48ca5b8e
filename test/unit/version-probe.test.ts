// start's early `bpftrace --version` (main.ts, capabilities.ts startVersionProbe): detection takes its answer only
// when the config names the executable it asked, and asks its own otherwise.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { detectCapabilities, startVersionProbe } from '../../src/plan/capabilities.js';

/** A fake bpftrace that says `version` and appends a line to `calls` each time it is asked. */
async function fakeBpftrace(dir: string, name: string, version: string, calls: string): Promise<string> {
  const file = path.join(dir, name);
  await writeFile(file, `#!/bin/sh\necho ${name} >> '${calls}'\necho 'bpftrace ${version}'\n`);
  await chmod(file, 0o755);
  return file;
}

const asked = async (calls: string): Promise<string[]> => (await readFile(calls, 'utf8').catch(() => '')).split('\n').filter(Boolean);

test('the early answer is used for the same executable, and not for another', async () => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'ebpfmon-version-probe-'));
  try {
    const calls = path.join(dir, 'calls');
    const a = await fakeBpftrace(dir, 'bpftrace-a', 'v0.17.0', calls);
    const b = await fakeBpftrace(dir, 'bpftrace-b', 'v0.23.0', calls);

    const early = startVersionProbe(a);
    const same = await detectCapabilities({ bpftrace: a, mount: false, version: early });
    assert.equal(same.bpftrace.version, '0.17.0');
    assert.deepEqual(await asked(calls), ['bpftrace-a'], 'asked once, early');

    const other = await detectCapabilities({ bpftrace: b, mount: false, version: startVersionProbe(a) });
    assert.equal(other.bpftrace.version, '0.23.0', "the config's bpftrace, not the one asked early");
    assert.deepEqual((await asked(calls)).slice(1).sort(), ['bpftrace-a', 'bpftrace-b']);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('an early probe of a command that is not there finds nothing and runs nothing', async () => {
  const early = startVersionProbe('/nonexistent/bpftrace');
  assert.equal(await early.path, null);
  assert.equal(await early.result, null);
});
