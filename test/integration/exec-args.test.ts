// exec's args column: a program executed with hostile arguments (space, comma, quotes, newline, tab, backslash, a
// literal "\x41", an empty one, bytes that are not UTF-8), with an argument longer than the byte bound (160 bytes of the argument area) and with
// more arguments than max_args: the column holds each exactly, in the documented encoding, cuts marked.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { kernelAvailable } from '../helpers/kernel.js';
import { expectedRuntime } from '../helpers/bpftrace.js';
import { readCsv, startCli, tempDir, writeConfig } from '../helpers/cli.js';
import { uniqueTrue } from '../helpers/workload.js';

/** Runs `prog` through bash's exec, with arguments written in bash syntax ($'\xff' is the byte 0xff). */
async function execWith(prog: string, bashArgs: string): Promise<void> {
  const child = spawn('bash', ['-c', `exec ${prog} ${bashArgs}`], { stdio: 'ignore' });
  const [code] = (await once(child, 'exit')) as [number | null];
  assert.equal(code, 0);
}

test('exec args: hostile arguments byte-exact, a cut argument and a cut list marked (bpftrace, max_args 12)', async (t) => {
  if (!kernelAvailable(t)) return;
  const dir = await tempDir('execargs');
  const prog = await uniqueTrue(`ebpfm_ar${process.pid}`);
  // curtask (the argument area) is refused ahead of time: this runs under bpftrace itself.
  const config = await writeConfig(dir, 'runtime: {aot: false}\nmonitors: {exec: {enabled: true, max_args: 12}}\n');
  const cli = startCli(['start', '-c', config, '-m', 'exec', '-o', dir, '--duration', '3']);
  await cli.waitForLog('monitors attached');
  await execWith(prog, `'a b' x,y 'q"u'\\''o' $'l1\\nl2' $'t\\tb' 'b\\s\\x41' '' $'\\xff\\xfe' 'é'`);
  await execWith(prog, `${'A'.repeat(500)}`);
  await execWith(prog, Array.from({ length: 20 }, (_, i) => String(i + 1)).join(' '));
  const r = await cli.done;
  assert.equal(r.exitCode, 0, r.stderr);
  assert.match(r.stderr, new RegExp(`"runtime":"${expectedRuntime(false)}"`));
  const got = (await readCsv(dir, 'exec'))
    .filter((row) => row['filename'] === prog)
    .map((row) => row['args'])
    .sort();
  // Written out by hand from the encoding (docs/monitors.md, exec), not by the encoder under test.
  const expected = [
    `${prog} a\\ b x,y q\\"u'o l1\\x0al2 t\\x09b b\\\\s\\\\x41 "" \\xff\\xfe é`,
    `${prog} ${'A'.repeat(160 - prog.length - 1)}\\…`,
    `${prog} 1 2 3 4 5 6 7 8 9 10 11 \\…`,
  ].sort();
  assert.deepEqual(got, expected);
});
