// The func monitor needs kprobes. On a kernel without them (CONFIG_KPROBES off) it must be reported unavailable,
// with the reason, without stopping the other monitors; its scripts must still compile (`bpftrace -d` parses and
// type-checks without attaching).
import { assertCompiles, bpftraceFeatures } from '../helpers/bpftrace.js';
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { kernelAvailable } from '../helpers/kernel.js';
import { readCsv, runCli, startCli, tempDir, writeConfig } from '../helpers/cli.js';

const hasKprobes = existsSync('/sys/kernel/tracing/kprobe_events') || existsSync('/sys/kernel/debug/tracing/kprobe_events');
const funcConfig = (functions: string, perProcess = false): string =>
  `monitors:\n  func:\n    enabled: true\n    interval: 1\n    functions: ${functions}\n    per_process: ${String(perProcess)}\n`;

/** These tests are about a kernel without kprobes; elsewhere they skip. */
function noKprobes(t: TestContext): boolean {
  if (!kernelAvailable(t)) return false;
  if (hasKprobes) {
    t.skip('this kernel has kprobes: func is available here');
    return false;
  }
  return true;
}

test('check --json marks func unavailable, naming missing kprobes', async (t) => {
  if (!noKprobes(t)) return;
  const dir = await tempDir('func-check');
  const config = await writeConfig(dir, funcConfig('[vfs_read]'));
  const r = await runCli(['check', '--json', '-c', config]);
  assert.equal(r.exitCode, 0, r.stderr);
  const report = JSON.parse(r.stdout) as { kprobes: { ok: boolean }; monitors: { monitor: string; status: string; detail: string }[] };
  assert.equal(report.kprobes.ok, false);
  const v = report.monitors.find((m) => m.monitor === 'func');
  assert.equal(v?.status, 'unavailable');
  assert.match(v?.detail ?? '', /kprobes/);
});

test('start -m func,syscall runs syscall, logs func as unavailable and exits 0', async (t) => {
  if (!noKprobes(t)) return;
  const dir = await tempDir('func-start');
  const config = await writeConfig(dir, funcConfig('[vfs_read]') + '  syscall:\n    interval: 1\n');
  const cli = startCli(['start', '-c', config, '-m', 'func,syscall', '-o', dir, '--duration', '3']);
  const skipped = await cli.waitForLog('monitor func is unavailable on this machine; skipped');
  assert.match(String(skipped['reason']), /kprobes/);
  await cli.waitForLog('monitors attached');
  const r = await cli.done;
  assert.equal(r.exitCode, 0, r.stderr);
  assert.ok((await readCsv(dir, 'syscall')).length > 0, 'syscall rows were written');
  await assert.rejects(readCsv(dir, 'func'), /expected one func CSV/);
});

for (const [label, functions, perProcess] of [
  ['one function, global', '[vfs_read]', false],
  ['functions and a wildcard, per process', '[vfs_read, vfs_write, "tcp_*"]', true],
  ['a wildcard, global', '["vfs_*"]', false],
] as const) {
  test(`generate --no-detect -m func (${label}) compiles with bpftrace -d`, async (t) => {
    if (!kernelAvailable(t)) return;
    const dir = await tempDir('func-gen');
    const config = await writeConfig(dir, funcConfig(functions, perProcess));
    const g = await runCli(['generate', '--no-detect', '-c', config, '-m', 'func']);
    assert.equal(g.exitCode, 0, g.stderr);
    assert.match(g.stdout, /^kprobe:vfs_/m);
    assert.match(g.stdout, perProcess ? /@func_count\[pid, func, (\(uint8\[16\]\))?comm\] = count\(\);/ : /@func_count\[func\] = count\(\);/);
    const file = path.join(dir, 'func.bt');
    await writeFile(file, g.stdout);
    const out = await assertCompiles(file);
    // bpftrace -d (0.17-0.21) also prints the typed AST: func is a kernel symbol, printed as its name.
    if (bpftraceFeatures().dryRunArgs.includes('-d')) assert.match(out, /builtin: func :: type\[ksym/);
  });
}
