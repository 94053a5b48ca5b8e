// The exec monitor: N executions of a uniquely named program give exactly N rows with real paths, under both
// runtimes: ahead of time (tracepoint-forks: the parent recorded at fork; only without arguments, max_args 0) and
// bpftrace (the parent from curtask; the default max_args reads the arguments from curtask too, so the default
// runtime.aot on runs exec in bpftrace).
import { expectedRuntime } from '../helpers/bpftrace.js';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { kernelAvailable } from '../helpers/kernel.js';
import { readCsv, startCli, tempDir, writeConfig } from '../helpers/cli.js';
import { run, uniqueTrue } from '../helpers/workload.js';

const cases = [
  { aot: true, maxArgs: 0, tag: 'a' },
  { aot: true, maxArgs: null, tag: 'd' },
  { aot: false, maxArgs: null, tag: 'j' },
] as const;
for (const { aot, maxArgs, tag } of cases) {
  test(`N executions of a uniquely named program give exactly N exec rows, parent included (runtime.aot ${aot}, max_args ${maxArgs ?? 'default'})`, async (t) => {
    if (!kernelAvailable(t)) return;
    const dir = await tempDir('exec');
    const name = `ebpfm_x${tag}${process.pid}`;
    const prog = await uniqueTrue(name);
    const late = await uniqueTrue(`${name}_l`);
    // A shell that is older than ebpfmon, then replaces itself with `late`: no fork for tracepoint-forks to see.
    const old = spawn('sh', ['-c', `read x; exec ${late}`], { stdio: ['pipe', 'ignore', 'ignore'] });
    const config = await writeConfig(dir, `runtime: {aot: ${aot}}\n${maxArgs === null ? '' : `monitors: {exec: {enabled: true, max_args: ${maxArgs}}}\n`}`);
    const cli = startCli(['start', '-c', config, '-m', 'exec', '-o', dir, '--duration', '3']);
    await cli.waitForLog('monitors attached');
    const N = 25;
    for (let i = 0; i < N; i++) await run(prog);
    old.stdin.end('go\n');
    await once(old, 'exit');
    const r = await cli.done;
    assert.equal(r.exitCode, 0, r.stderr);
    // runtime.aot takes effect only where this bpftrace's ahead-of-time output runs (0.17-0.20): else bpftrace runs it.
    // Arguments (max_args > 0) need curtask: bpftrace runs it.
    const runtime = expectedRuntime(aot && maxArgs === 0);
    assert.match(r.stderr, new RegExp(`"runtime":"${runtime}","msg":"bpftrace attached its probes"`));
    const rows = (await readCsv(dir, 'exec')).filter((row) => row['filename'] === prog);
    assert.equal(rows.length, N);
    const pids = new Set(rows.map((row) => row['pid']));
    assert.equal(pids.size, N, 'each execution is its own process');
    for (const row of rows) {
      assert.equal(row['comm'], name.slice(0, 15));
      assert.equal(row['uid'], '0');
      assert.equal(row['ppid'], String(process.pid), 'the test runner spawned them');
      // run() passes no arguments: argv is the path alone.
      assert.equal(row['args'], maxArgs === 0 ? '' : prog);
      const ts = Date.parse(row['timestamp'] ?? '');
      assert.ok(Math.abs(ts - Date.now()) < 60_000, `timestamp ${row['timestamp']} is near now`);
    }
    const replaced = (await readCsv(dir, 'exec')).filter((row) => row['filename'] === late);
    assert.equal(replaced.length, 1);
    assert.equal(replaced[0]?.['pid'], String(old.pid));
    assert.equal(replaced[0]?.['args'], maxArgs === 0 ? '' : late);
    // curtask knows the parent of any process; the fork record only of processes forked since the start.
    assert.equal(replaced[0]?.['ppid'], runtime === 'aot' ? '' : String(process.pid));
    // The console view is on by default when a single monitor runs.
    assert.match(r.stdout, new RegExp(`exec .*${name}`));
  });
}
