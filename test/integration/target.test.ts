// --pid and `run -- CMD`: only the chosen processes are counted, filtered in the kernel, with exact counts, while a
// process of the same name outside them makes the same calls at the same time.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execa } from 'execa';
import { readFile } from 'node:fs/promises';
import { kernelAvailable } from '../helpers/kernel.js';
import { readCsv, runCli, startCli, tempDir, writeConfig } from '../helpers/cli.js';
import { workload } from '../helpers/workload.js';

const sum = (rows: Record<string, string>[], col: string): number => rows.reduce((n, r) => n + Number(r[col]), 0);

/** Runs `prog` (same name, same calls) over and over until `stop()`: noise outside what is followed. */
function noiseLoop(prog: string, dir: string): { stop(): Promise<number> } {
  let stopping = false;
  let runs = 0;
  const loop = (async () => {
    while (!stopping) {
      await execa(prog, ['300', '0', dir, '0'], { stdin: 'ignore' });
      runs++;
    }
  })();
  return {
    stop: async () => {
      stopping = true;
      await loop;
      return runs;
    },
  };
}

test('run -- CMD: the command and its child exactly, from its exec to its exit; the same program outside is not counted; its status is ours', async (t) => {
  if (!kernelAvailable(t)) return;
  const dir = await tempDir('run');
  const prog = await workload('family', 'ebpfm_fam');
  const config = await writeConfig(dir, 'monitors:\n  syscall: {enabled: true, interval: 1}\n  open: {enabled: true, interval: 1}\n  exec: {enabled: true}\n');
  const noise = noiseLoop(prog, dir);
  const cli = startCli(['run', '-c', config, '-o', dir, '--', prog, '20000', '321', dir, '7']);
  const r = await cli.done;
  const noiseRuns = await noise.stop();
  assert.ok(noiseRuns > 0);
  assert.equal(r.exitCode, 7, r.stderr);
  assert.match(r.stderr, /"msg":"monitors attached: starting the command"/);
  const calls = 20000 + 321;
  const sys = (await readCsv(dir, 'syscall')).filter((row) => row['comm'] === 'ebpfm_fam');
  const getppid = sys.filter((row) => row['syscall'] === 'getppid');
  assert.equal(sum(getppid, 'count'), calls, JSON.stringify(getppid));
  // Two processes: the command and its child; never one of the noise's.
  assert.equal(new Set(sys.map((row) => row['pid'])).size, 2, JSON.stringify([...new Set(sys.map((row) => row['pid']))]));
  const opens = (await readCsv(dir, 'open')).filter((row) => row['filename'] === `${dir}/absent`);
  assert.equal(sum(opens, 'count'), calls);
  assert.equal(sum(opens, 'error_count'), calls);
  // One exec: the held shell becoming the command (the noise execs the same file many times).
  const execs = (await readCsv(dir, 'exec')).filter((row) => row['filename'] === prog);
  assert.equal(execs.length, 1, JSON.stringify(execs));
  // The summary on stderr counts what the files got.
  assert.match(r.stderr, /^ebpfmon run: .*ebpfm_fam 20000 321 .* 7: exit status 7, [\d.]+ s, \d+ processes seen$/m);
  assert.match(r.stderr, new RegExp(`^ +[\\d.]+ % +${calls} +0  getppid$`, 'm'));
  assert.match(r.stderr, /^ +1 {2}execs$/m);
});

test('run: SIGTERM to ebpfmon goes to the command, whose death by it is the exit status (128 + 15); the rows are flushed', async (t) => {
  if (!kernelAvailable(t)) return;
  const dir = await tempDir('run-term');
  const config = await writeConfig(dir, 'monitors:\n  syscall: {enabled: true, interval: 1}\n');
  const cli = startCli(['run', '-c', config, '-o', dir, '--', 'sleep', '60']);
  const started = await cli.waitForLog('monitors attached: starting the command');
  // Once the held shell has become sleep and sleep is asleep (in clock_nanosleep or nanosleep: x86_64 230, 35), so
  // its start-up (the openat of its libraries) is behind it. comm alone changes at exec, before that start-up: a
  // SIGTERM then found no openat to count (1 run in 4 on sid).
  const pid = Number(started['pid']);
  const deadline = Date.now() + 10_000;
  const asleep = async (): Promise<boolean> =>
    (await readFile(`/proc/${pid}/comm`, 'utf8').catch(() => '')).trim() === 'sleep' &&
    ['230', '35'].includes((await readFile(`/proc/${pid}/syscall`, 'utf8').catch(() => '')).split(' ')[0] ?? '');
  while (!(await asleep())) {
    assert.ok(Date.now() < deadline, 'the command never slept');
    await new Promise((r) => setImmediate(r));
  }
  cli.proc.kill('SIGTERM');
  const r = await cli.done;
  assert.equal(r.exitCode, 143, r.stderr);
  assert.match(r.stderr, /^ebpfmon run: sleep 60: killed by SIGTERM \(status 143\)/m);
  const rows = (await readCsv(dir, 'syscall')).filter((row) => row['comm'] === 'sleep');
  // Its start-up after exec is counted (the sleep it was killed in never returned: no sys_exit).
  assert.ok(rows.some((row) => row['syscall'] === 'openat'), JSON.stringify(rows));
});

test('start --pid: only that process (its child is another process), the same program beside it is not counted; start stops when it exits', async (t) => {
  if (!kernelAvailable(t)) return;
  const dir = await tempDir('pid');
  const prog = await workload('family', 'ebpfm_famp');
  const config = await writeConfig(dir, 'monitors:\n  syscall: {enabled: true, interval: 1}\n  open: {enabled: true, interval: 1}\n');
  // Both wait for a byte on stdin before their calls: released once the probes are attached.
  const target = execa(prog, ['5000', '77', dir, '0'], { stdin: 'pipe' });
  const noise = execa(prog, ['3000', '0', dir, '0'], { stdin: 'pipe' });
  const cli = startCli(['start', '-c', config, '-o', dir, '-p', String(target.pid)]);
  await cli.waitForLog('monitors attached');
  target.stdin?.end('x');
  noise.stdin?.end('x');
  await Promise.all([target, noise]);
  const r = await cli.done;
  assert.equal(r.exitCode, 0, r.stderr);
  assert.match(r.stderr, new RegExp(`"msg":"process ${target.pid} exited"`));
  assert.match(r.stderr, /"reason":"every --pid process exited/);
  const sys = (await readCsv(dir, 'syscall')).filter((row) => row['comm'] === 'ebpfm_famp');
  assert.deepEqual([...new Set(sys.map((row) => row['pid']))], [String(target.pid)]);
  assert.equal(sum(sys.filter((row) => row['syscall'] === 'getppid'), 'count'), 5000);
  const opens = (await readCsv(dir, 'open')).filter((row) => row['filename'] === `${dir}/absent`);
  assert.equal(sum(opens, 'count'), 5000);
});

test('start --pid refuses a process that does not exist, with one line, before anything attaches', async (t) => {
  if (!kernelAvailable(t)) return;
  const gone = execa('true');
  const pid = gone.pid!;
  await gone;
  const r = await runCli(['start', '-m', 'syscall', '-p', `${pid}`]);
  assert.equal(r.exitCode, 2, r.stderr);
  assert.equal(r.stderr, `ebpfmon: --pid: no such process: ${pid}`);
});

test('run --comm with every monitor: each script (follow and name tests together) loads on this bpftrace; interrupt is named host-wide', async (t) => {
  if (!kernelAvailable(t)) return;
  const dir = await tempDir('run-all');
  const prog = await workload('family', 'ebpfm_famc');
  const config = await writeConfig(dir, 'monitors:\n  syscall: {enabled: true, interval: 1}\n');
  const all = 'syscall,open,exec,page_fault,context_switch,bio,interrupt';
  // sh -c: the shell (another name) is followed but left out by --comm; the program it runs is counted.
  const cli = startCli(['run', '-c', config, '-o', dir, '-m', all, '--comm', 'ebpfm_famc', '--', 'sh', '-c', `${prog} 1000 10 ${dir} 0; true`]);
  const r = await cli.done;
  assert.equal(r.exitCode, 0, r.stderr);
  assert.match(r.stderr, /"msg":"interrupt: not per process, counts the whole host \(--pid\/--comm do not filter it\)"/);
  assert.match(r.stderr, /^ {14}interrupt: counts the whole host, not the command/m);
  const sys = await readCsv(dir, 'syscall');
  assert.deepEqual([...new Set(sys.map((row) => row['comm']))], ['ebpfm_famc']);
  assert.equal(sum(sys.filter((row) => row['syscall'] === 'getppid'), 'count'), 1010);
  assert.ok((await readCsv(dir, 'page_fault')).every((row) => row['comm'] === 'ebpfm_famc'));
});
