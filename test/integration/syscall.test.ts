// The syscall monitor against a workload that makes an exact number of calls.
import { expectedRuntime } from '../helpers/bpftrace.js';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { kernelAvailable } from '../helpers/kernel.js';
import { readCsv, startCli, tempDir, writeConfig } from '../helpers/cli.js';
import { run, workload } from '../helpers/workload.js';

// Both runtimes: bpftrace-aotrt on the script compiled ahead of time (the default), and bpftrace itself.
for (const aot of [true, false]) {
  test(`N getppid calls and M failing close(-1) calls are counted exactly, with their errors (${aot ? 'bpftrace-aotrt' : 'bpftrace'})`, async (t) => {
    if (!kernelAvailable(t)) return;
    const dir = await tempDir('syscall');
    const prog = await workload('syscalls', 'ebpfm_sysc');
    const config = await writeConfig(dir, `runtime: {aot: ${aot}}\nmonitors:\n  syscall:\n    enabled: true\n    interval: 1\n`);
    const cli = startCli(['start', '-c', config, '-o', dir, '--duration', '4']);
    await cli.waitForLog('monitors attached');
    await run(prog, ['1234', '567']);
    await run(prog, ['1000', '0']);
    const r = await cli.done;
    assert.equal(r.exitCode, 0, r.stderr);
    assert.match(r.stderr, new RegExp(`"runtime":"${expectedRuntime(aot)}","msg":"bpftrace attached its probes"`));
    const all = await readCsv(dir, 'syscall');
    // The bpftrace process that counts is left out (it reads and clears the maps every interval): counted in the
    // kernel, its rows dropped by ebpfmon, which knows its pid; not one row of it.
    const tracer = /"pid":(\d+),"runtime":"(?:aot|jit)","msg":"bpftrace attached its probes"/.exec(r.stderr)?.[1];
    assert.ok(tracer, 'the log names the bpftrace pid');
    const stamps = [...new Set(all.map((row) => row['timestamp'] ?? ''))].sort();
    assert.ok(stamps.length >= 3, `intervals: ${stamps.join(' ')}`);
    const own = all.filter((row) => row['pid'] === tracer);
    assert.deepEqual(own.map((o) => [o['timestamp'], o['syscall'], o['count']]), [], 'rows of the tracing bpftrace');
    // By pid: its main thread is "node" on Node 20 and "MainThread" on Node 24 (sid).
    assert.ok(all.some((row) => row['pid'] === String(cli.proc.pid)), 'ebpfmon itself is counted');
    const rows = all.filter((row) => row['comm'] === 'ebpfm_sysc');
    const sum = (name: string, col: string): number =>
      rows.filter((row) => row['syscall'] === name).reduce((n, row) => n + Number(row[col]), 0);
    assert.equal(sum('getppid', 'count'), 2234);
    assert.equal(sum('getppid', 'error_count'), 0);
    // ld.so closes a few files successfully before main(): at least M calls, exactly M errors.
    assert.ok(sum('close', 'count') >= 567 && sum('close', 'count') <= 567 + 10, `close count ${sum('close', 'count')}`);
    assert.equal(sum('close', 'error_count'), 567);
    const close = rows.find((row) => row['syscall'] === 'close');
    assert.equal(close?.['category'], 'file');
    assert.ok(Number(close?.['error_rate']) > 0.9);
    assert.equal(rows.find((row) => row['syscall'] === 'getppid')?.['category'], 'process');
    for (const row of rows) assert.match(row['timestamp'] ?? '', /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
  });
}
