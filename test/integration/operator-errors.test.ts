// What an operator meets at the edges (issue 24, "smaller"): durations a timer cannot hold, runs as a user who may not
// read what root wrote, a low file limit, a bpftrace that does not work. Each ends as one line saying what to do.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runCli } from '../helpers/cli.js';

test('durations a timer cannot hold are refused in one line (check --cost --seconds 1e9 measured 1 ms)', async () => {
  for (const args of [['check', '--cost', '--seconds', '1e9'], ['stop', '--timeout', '2147484']]) {
    const r = await runCli(args, { timeoutMs: 20_000 });
    assert.equal(r.exitCode, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, /expected at most 2147483 seconds \(24\.8 days: the longest a timer can wait\)/);
  }
  // The most one timer holds is accepted (stop: nothing runs, exit 1).
  const ok = await runCli(['stop', '--timeout', '2147483', '--pid-file', '/nonexistent/ebpfmon.pid'], { timeoutMs: 20_000 });
  assert.equal(ok.exitCode, 1, ok.stderr);
  for (const bad of ['0', '-1', 'Infinity', '', 'soon']) {
    const r = await runCli(['check', '--cost', '--seconds', bad], { timeoutMs: 20_000 });
    assert.equal(r.exitCode, 2, bad);
    assert.match(r.stderr, /expected a positive number of seconds/, bad);
  }
});
