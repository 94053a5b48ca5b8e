// exec's args column: a program executed with hostile arguments (space, comma, quotes, newline, tab, backslash, a
// literal "\x41", an empty one, bytes that are not UTF-8), with an argument longer than the byte bound (160 bytes of the argument area) and with
// more arguments than max_args, and after a failed exec in the same process: the column holds each exactly, in the
// documented encoding, cuts marked, under runtime.aot on (the default) and off.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { kernelAvailable } from '../helpers/kernel.js';
import { readCsv, startCli, tempDir, writeConfig } from '../helpers/cli.js';
import { uniqueTrue } from '../helpers/workload.js';

/** Runs a bash script; its last command must succeed. */
async function bash(script: string): Promise<void> {
  const child = spawn('bash', ['-c', script], { stdio: 'ignore' });
  const [code] = (await once(child, 'exit')) as [number | null];
  assert.equal(code, 0, script);
}
/** Runs `prog` through bash's exec, with arguments written in bash syntax ($'\xff' is the byte 0xff). */
const execWith = (prog: string, bashArgs: string): Promise<void> => bash(`exec ${prog} ${bashArgs}`);

// The arguments need curtask, which `bpftrace --aot` refuses: with max_args > 0 the exec monitor's process runs in
// bpftrace even where runtime.aot is on (the default, and what this host's 0.17 with bpftrace-aotrt gives).
for (const aot of [true, false]) {
  test(`exec args: hostile arguments byte-exact, a cut argument and a cut list marked (runtime.aot ${aot}, max_args 12)`, async (t) => {
    if (!kernelAvailable(t)) return;
    const dir = await tempDir('execargs');
    const prog = await uniqueTrue(`ebpfm_ar${aot ? 'a' : 'j'}${process.pid}`);
    const config = await writeConfig(dir, `runtime: {aot: ${aot}}\nmonitors: {exec: {enabled: true, max_args: 12}}\n`);
    const cli = startCli(['start', '-c', config, '-m', 'exec', '-o', dir, '--duration', '3']);
    await cli.waitForLog('monitors attached');
    await execWith(prog, `'a b' x,y 'q"u'\\''o' $'l1\\nl2' $'t\\tb' 'b\\s\\x41' '' $'\\xff\\xfe' 'é'`);
    await execWith(prog, `${'A'.repeat(500)}`);
    await execWith(prog, Array.from({ length: 20 }, (_, i) => String(i + 1)).join(' '));
    // A failed exec (no such program) right before a successful one in the same process: no row, and its
    // arguments never reach the next exec's row.
    await bash(`shopt -s execfail; exec /nonexistent/${prog} failed-arg; exec ${prog} after-failed`);
    const r = await cli.done;
    assert.equal(r.exitCode, 0, r.stderr);
    assert.match(r.stderr, /"runtime":"jit","msg":"bpftrace attached its probes"/);
    const got = (await readCsv(dir, 'exec'))
      .filter((row) => row['filename'] === prog)
      .map((row) => row['args'])
      .sort();
    // Written out by hand from the encoding (docs/monitors.md, exec), not by the encoder under test.
    const expected = [
      `${prog} a\\ b x,y q\\"u'o l1\\x0al2 t\\x09b b\\\\s\\\\x41 "" \\xff\\xfe é`,
      `${prog} ${'A'.repeat(160 - prog.length - 1)}\\…`,
      `${prog} 1 2 3 4 5 6 7 8 9 10 11 \\…`,
      `${prog} after-failed`,
    ].sort();
    assert.deepEqual(got, expected);
  });
}
