// Small C workloads the tests control exactly, compiled once per test run with the system cc.
import { execa } from 'execa';
import { copyFile, mkdtemp } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fixturesDir } from './paths.js';

let buildDir: Promise<string> | undefined;

/** Compiles test/fixtures/workloads/<name>.c into an executable called `as` (its comm), returns the path. */
export async function workload(name: string, as: string = name): Promise<string> {
  buildDir ??= mkdtemp(path.join(os.tmpdir(), 'ebpfmon-workloads-'));
  const dir = await buildDir;
  const out = path.join(dir, as);
  await execa('cc', ['-O1', '-o', out, path.join(fixturesDir, 'workloads', `${name}.c`)]);
  return out;
}

/** A copy of /bin/true under a unique name, so its executions can be told apart from everything else. */
export async function uniqueTrue(as: string): Promise<string> {
  buildDir ??= mkdtemp(path.join(os.tmpdir(), 'ebpfmon-workloads-'));
  const out = path.join(await buildDir, as);
  await copyFile('/bin/true', out);
  await execa('chmod', ['755', out]);
  return out;
}

export async function run(file: string, args: readonly string[] = []): Promise<void> {
  await execa(file, [...args], { stdio: 'ignore' });
}
