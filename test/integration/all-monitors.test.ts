// All eight monitors at once, as an operator would enable them: func is unavailable without kprobes, the
// other seven run in two bpftrace processes (paths and the rest) and each writes rows; every generated script compiles.
import { aotHere, assertCompiles } from '../helpers/bpftrace.js';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execa } from 'execa';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { kernelAvailable } from '../helpers/kernel.js';
import { readCsv, runCli, startCli, tempDir, writeConfig } from '../helpers/cli.js';
import { run, uniqueTrue } from '../helpers/workload.js';
import { goldenScripts } from '../../scripts/golden-cases.js';

const all = `monitors:
  exec: {enabled: true}
  func: {enabled: true, functions: [vfs_read, tcp_*], per_process: true, cgroup: true}
  syscall: {enabled: true, interval: 1}
  bio: {enabled: true, interval: 1, cgroup: true}
  open: {enabled: true, interval: 1}
  interrupt: {enabled: true, interval: 1}
  page_fault: {enabled: true, interval: 1, cgroup: true}
  context_switch: {enabled: true, interval: 1, cgroup: true}
`;

test('all eight monitors: the seven this kernel supports write rows; func is reported and skipped', async (t) => {
  if (!kernelAvailable(t)) return;
  const dir = await tempDir('all');
  const config = await writeConfig(dir, all);
  const check = JSON.parse((await runCli(['check', '--json', '-c', config])).stdout) as { kprobes: { ok: boolean } };
  const cli = startCli(['start', '-c', config, '-o', path.join(dir, 'out'), '--duration', '4']);
  await cli.waitForLog('monitors attached');
  await run(await uniqueTrue('ebpfm_all'));
  // Direct I/O on a real disk, so bio has something to count (/tmp may be tmpfs).
  const scratch = await mkdtemp('/var/tmp/ebpfmon-all-');
  await execa('dd', ['if=/dev/zero', `of=${path.join(scratch, 'f')}`, 'bs=64k', 'count=16', 'oflag=direct'], { reject: false });
  await rm(scratch, { recursive: true, force: true });
  const r = await cli.done;
  assert.equal(r.exitCode, 0, r.stderr);
  const files = await readdir(path.join(dir, 'out'));
  const expected = ['exec', 'syscall', 'bio', 'open', 'interrupt', 'page_fault', 'context_switch'];
  if (check.kprobes.ok) expected.push('func');
  else {
    assert.match(r.stderr, /monitor func is unavailable on this machine; skipped/);
    assert.ok(!files.some((f) => f.startsWith('func_')), 'no func file');
  }
  for (const m of expected) {
    const rows = await readCsv(path.join(dir, 'out'), m);
    assert.ok(rows.length > 0, `${m} wrote rows`);
  }
  // Monitors share a process by string size: exec and open carry paths (BPFTRACE_STRLEN 200), the rest do not.
  assert.match(r.stderr, /"process":"main","monitors":"syscall,bio,interrupt,page_fault,context_switch".*bpftrace attached its probes/, 'one process for the rest');
  assert.match(r.stderr, /"process":"paths","monitors":"exec,open".*bpftrace attached its probes/, 'one process for paths');
});

test('generate: the scripts of all eight monitors, kprobe variants included, compile with bpftrace -d', async (t) => {
  if (!kernelAvailable(t)) return;
  const dir = await tempDir('all-gen');
  const config = await writeConfig(dir, all);
  for (const [name, extra] of [['shared', []], ['preferred', ['--no-detect']]] as const) {
    const out = path.join(dir, name);
    const g = await runCli(['generate', '-c', config, '--out', out, ...extra]);
    assert.equal(g.exitCode, 0, g.stderr);
    for (const f of await readdir(out)) {
      await assertCompiles(path.join(out, f), { label: `${name}/${f}` });
    }
  }
  // One process per monitor (runtime.shared_process: false): each script stands alone.
  const solo = await writeConfig(dir, `runtime: {shared_process: false}\n${all}`);
  const out = path.join(dir, 'solo');
  const g = await runCli(['generate', '-c', solo, '--out', out, '--no-detect']);
  assert.equal(g.exitCode, 0, g.stderr);
  const files = (await readdir(out)).sort();
  assert.equal(files.length, 8);
  for (const f of files) {
    await assertCompiles(path.join(out, f), { label: `solo/${f}` });
  }
  await writeFile(path.join(dir, 'done'), '');
});

test('ahead of time: every tracepoint monitor, options included, compiles with bpftrace --aot; exec with arguments or without runtime.aot reads curtask and is refused', async (t) => {
  if (!kernelAvailable(t)) return;
  const dir = await tempDir('all-aot');
  // exec runs ahead of time only without its arguments (they are read through curtask): max_args 0.
  const allAot = all.replace('exec: {enabled: true}', 'exec: {enabled: true, max_args: 0}');
  const options = all
    .replace('syscall: {enabled: true, interval: 1}', 'syscall: {enabled: true, latency: true, cgroup: true}')
    .replace('bio: {enabled: true, interval: 1, cgroup: true}', 'bio: {enabled: true, min_latency_us: 50}')
    .replace('exec: {enabled: true}', 'exec: {enabled: true, cgroup: true, comm: bash, max_args: 0}');
  assert.notEqual(allAot, all);
  const variants = { all: { aot: true, yaml: allAot }, options: { aot: true, yaml: options }, jit: { aot: false, yaml: all }, args: { aot: true, yaml: all } };
  if (!aotHere()) {
    // This bpftrace's ahead-of-time output cannot run (src/bt/features.ts): runtime.aot changes nothing, and exec
    // keeps the variant that reads the parent from curtask, as bpftrace runs it.
    const config = await writeConfig(dir, `runtime: {aot: true}\n${all}`);
    const g = await runCli(['generate', '-c', config, '-m', 'exec']);
    assert.equal(g.exitCode, 0, g.stderr);
    assert.match(g.stdout, /curtask->real_parent->tgid/);
    assert.doesNotMatch(g.stdout, /task_newtask/);
    return;
  }
  for (const [name, { aot, yaml }] of Object.entries(variants)) {
    const config = await writeConfig(dir, `runtime: {aot: ${aot}, shared_process: false}\n${yaml}`);
    const out = path.join(dir, name);
    const g = await runCli(['generate', '-c', config, '--out', out]);
    assert.equal(g.exitCode, 0, g.stderr);
    const files = (await readdir(out)).sort();
    assert.ok(files.length >= 7, files.join(' '));
    for (const f of files) {
      const d = await execa('bpftrace', ['--aot', path.join(dir, `${name}-${f}.aot`), path.join(out, f)], { reject: false });
      if ((!aot || name === 'args') && f.includes('exec')) assert.match(d.stderr, /AOT does not yet support accessing `curtask`/, `${name}/${f}`);
      else assert.equal(d.exitCode, 0, `${name}/${f}: ${d.stderr.split('\n').filter((l) => /ERROR/.test(l) && !/RLIMIT_MEMLOCK/.test(l)).slice(0, 3).join(' | ')}`);
    }
  }
});

test('golden scripts (every monitor, variant and layout, kprobes included) compile with bpftrace -d in their environment', async (t) => {
  if (!kernelAvailable(t)) return;
  const dir = await tempDir('golden');
  for (const g of goldenScripts()) {
    const file = path.join(dir, g.file);
    await writeFile(file, g.text);
    await assertCompiles(file, { env: g.env, label: g.file });
  }
});
