// The cache of compiled scripts: a second compile of the same script for the same bpftrace and kernel is a copy;
// anything a compiled script depends on changes the key; the cache keeps at most aotCacheEntries files.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmod, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { aotCacheEntries, aotCacheKey, compileAot, type AotCompile } from '../../src/process/aot.js';

/** A bpftrace whose `--aot OUT SCRIPT` copies the script to OUT and counts its runs. */
async function fakeCompiler(dir: string): Promise<{ bin: string; runs: () => Promise<number> }> {
  const bin = path.join(dir, 'bpftrace');
  const count = path.join(dir, 'runs');
  await writeFile(bin, `#!/bin/sh\n[ "$1" = --aot ] || exit 2\necho run >> "$FAKE_COUNT"\ncp "$3" "$2"\n`);
  await chmod(bin, 0o755);
  return { bin, runs: async () => (await readFile(count, 'utf8').catch(() => '')).split('\n').filter(Boolean).length };
}

async function setup() {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'ebpfmon-aotcache-'));
  const fake = await fakeCompiler(dir);
  const cacheDir = path.join(dir, 'cache');
  let n = 0;
  const compile = async (script: string, kernel = '6.1.0-test'): Promise<{ cached: boolean | null; out: string }> => {
    const file = path.join(dir, `s${n}.bt`);
    const out = path.join(dir, `o${n++}.aot`);
    await writeFile(file, script);
    const c: AotCompile = { bpftrace: fake.bin, aotrt: '/bin/true', script: file, out, env: { FAKE_COUNT: path.join(dir, 'runs') }, timeoutMs: 10_000, cache: { dir: cacheDir, version: '0.17.0', kernel } };
    const r = await compileAot(c);
    return { cached: 'runner' in r ? r.cached : null, out };
  };
  return { dir, cacheDir, compile, runs: fake.runs };
}

test('a script compiled once is taken from the cache; another script, kernel or bpftrace compiles', async () => {
  const { dir, cacheDir, compile, runs } = await setup();
  const first = await compile('BEGIN { printf("a\\n"); }');
  assert.equal(first.cached, false);
  assert.equal(await runs(), 1);
  assert.equal(((await stat(cacheDir)).mode & 0o777).toString(8), '750');
  const again = await compile('BEGIN { printf("a\\n"); }');
  assert.equal(again.cached, true, 'same script: from the cache');
  assert.equal(await runs(), 1, 'bpftrace was not run again');
  assert.equal(await readFile(again.out, 'utf8'), await readFile(first.out, 'utf8'));
  assert.equal((await compile('BEGIN { printf("b\\n"); }')).cached, false, 'another script compiles');
  assert.equal((await compile('BEGIN { printf("a\\n"); }', '6.12.0-other')).cached, false, 'another kernel compiles');
  assert.equal(await runs(), 3);
  await rm(dir, { recursive: true });
});

test('the cache key covers script, environment, binary, version and kernel', () => {
  const base = { script: 's', env: { A: '1', B: '2' }, bpftrace: '/usr/bin/bpftrace', binary: { size: 1, mtimeMs: 2 }, version: '0.17.0', kernel: '6.1' };
  const k = aotCacheKey(base);
  assert.equal(aotCacheKey({ ...base, env: { B: '2', A: '1' } }), k, 'environment order does not matter');
  for (const v of [
    { script: 't' }, { env: { A: '1', B: '3' } }, { bpftrace: '/usr/local/bin/bpftrace' }, { binary: { size: 1, mtimeMs: 3 } }, { version: '0.23.0' }, { kernel: '6.2' },
  ]) assert.notEqual(aotCacheKey({ ...base, ...v }), k, JSON.stringify(v));
});

test(`the cache keeps at most ${aotCacheEntries} compiled scripts`, async () => {
  const { dir, cacheDir, compile } = await setup();
  for (let i = 0; i < aotCacheEntries + 4; i++) await compile(`BEGIN { printf("${i}\\n"); }`);
  assert.equal((await readdir(cacheDir)).filter((f) => f.endsWith('.aot')).length, aotCacheEntries);
  assert.deepEqual((await readdir(cacheDir)).filter((f) => !f.endsWith('.aot')), [], 'no temporary files left');
  await rm(dir, { recursive: true });
});
