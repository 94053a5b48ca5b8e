// Integrity on a busy, real host: many processes at once, maps past their size, names that are not ASCII, long
// paths, a stalled bpftrace. Counts are exact where the kernel makes them so, and every loss is marked.
import { expectedRuntime } from '../helpers/bpftrace.js';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFile, mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { execa } from 'execa';
import { kernelAvailable } from '../helpers/kernel.js';
import { readCsv, sleep, startCli, tempDir, writeConfig } from '../helpers/cli.js';
import { run, workload } from '../helpers/workload.js';
import { cliPath } from '../helpers/paths.js';

const twelve = ['getppid', 'getpid', 'getuid', 'getgid', 'geteuid', 'getegid', 'gettid', 'getpgid', 'getsid', 'sched_yield', 'getpriority', 'umask'];

test('1,000 processes at once, 12 syscalls x 10 each: every call counted under the default runtime (maps split by pid)', async (t) => {
  if (!kernelAvailable(t)) return;
  const dir = await tempDir('many');
  const prog = await workload('many', 'ebpfm_many');
  const config = await writeConfig(dir, 'monitors:\n  syscall: {enabled: true}\n');
  const cli = startCli(['start', '-c', config, '-o', dir, '--duration', '5']);
  const attached = await cli.waitForLog('bpftrace attached its probes');
  // The default runtime: bpftrace-aotrt where this bpftrace runs ahead of time (its maps hold 4096 keys each, so they are split by pid).
  assert.equal(attached['runtime'], expectedRuntime(true));
  await run(prog, ['1000', '10']);
  const r = await cli.done;
  assert.equal(r.exitCode, 0, r.stderr);
  const rows = (await readCsv(dir, 'syscall')).filter((row) => row['comm'] === 'ebpfm_many');
  const pids = new Set(rows.map((row) => row['pid']));
  assert.ok(pids.size >= 1001, `${pids.size} processes`);
  for (const name of twelve) {
    const sum = rows.filter((row) => row['syscall'] === name).reduce((n, row) => n + Number(row['count']), 0);
    assert.equal(sum, 10_000, `${name}: ${sum} of 10000`);
  }
  // No map was full. (bpftrace 0.20+ may drop a count when two threads of one process create the same key on two
  // CPUs at once, and 0.23+ reports it: such an interval is marked, and these single-threaded processes cannot race.)
  assert.doesNotMatch(r.stderr, /held \d+ keys/);
});

test('processes past what a map holds: the interval is marked incomplete in the CSV, the log and the status', async (t) => {
  if (!kernelAvailable(t)) return;
  const dir = await tempDir('storm');
  const prog = await workload('many', 'ebpfm_storm');
  const out = path.join(dir, 'out');
  // 1,000 processes x 12 syscalls: 12,000 keys, more than one kernel map holds (4096: bpftrace-aotrt's fixed size,
  // and runtime.map_keys_max here for bpftrace, so no shards either). (One process opening more distinct paths than
  // open's path map holds is no longer incomplete: its totals are exact and the rest folded, test/integration/open.test.ts.)
  const config = await writeConfig(dir, 'runtime: {map_keys_max: 4096}\nmonitors:\n  syscall: {enabled: true, interval: 5}\n');
  const cli = startCli(['start', '-c', config, '-o', out, '--duration', '4']);
  await cli.waitForLog('monitors attached');
  await run(prog, ['1000', '1']);
  const r = await cli.done;
  assert.equal(r.exitCode, 0, r.stderr);
  const rows = await readCsv(out, 'syscall');
  const marker = rows.find((row) => row['note']?.startsWith('incomplete'));
  assert.ok(marker, 'a marker row says the interval is incomplete');
  assert.match(marker['note'] ?? '', /@syscall_count.* held 4096 keys/);
  assert.equal(marker['pid'], '', 'a marker row has only timestamp and note');
  assert.match(r.stderr, /syscall: counts of this interval are incomplete/);
});

test('UTF-8 process and file names arrive byte for byte in CSV, NDJSON and Prometheus', async (t) => {
  if (!kernelAvailable(t)) return;
  const dir = await tempDir('utf8');
  const name = 'été_日本';
  const prog = path.join(dir, name);
  await copyFile('/bin/cat', prog);
  await execa('chmod', ['755', prog]);
  const file = path.join(dir, 'café-日本-Ωmega.txt');
  await writeFile(file, 'x');
  const out = path.join(dir, 'out');
  const config = await writeConfig(dir, `output: {format: [csv, ndjson]}\nmonitors:\n  exec: {enabled: true}\n  open: {enabled: true, interval: 1}\n  syscall: {enabled: true, interval: 1}\n`);
  const cli = startCli(['start', '-c', config, '-o', out, '--prometheus', '127.0.0.1:0', '--duration', '30']);
  const address = String((await cli.waitForLog('prometheus exporter listening'))['address']);
  await cli.waitForLog('monitors attached');
  await run(prog, [file]);
  await sleep(2500);
  const metrics = await (await fetch(`http://${address}/metrics`)).text();
  cli.proc.kill('SIGTERM');
  const r = await cli.done;
  assert.equal(r.exitCode, 0, r.stderr);
  const execRow = (await readCsv(out, 'exec')).find((row) => row['filename'] === prog);
  assert.equal(execRow?.['comm'], name);
  const openRow = (await readCsv(out, 'open')).find((row) => row['filename'] === file);
  assert.equal(openRow?.['comm'], name);
  assert.ok((await readCsv(out, 'syscall')).some((row) => row['comm'] === name));
  const ndjson = async (m: string): Promise<Record<string, unknown>[]> => {
    const f = (await readdir(out)).find((x) => x.startsWith(`${m}_`) && x.endsWith('.ndjson'))!;
    return (await readFile(path.join(out, f), 'utf8')).trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
  };
  assert.ok((await ndjson('open')).some((row) => row['filename'] === file && row['comm'] === name));
  assert.ok((await ndjson('exec')).some((row) => row['filename'] === prog && row['comm'] === name));
  assert.match(metrics, new RegExp(`ebpfmon_opens_total\\{[^}]*comm="${name}"`));
  assert.match(metrics, new RegExp(`ebpfmon_exec_total\\{[^}]*comm="${name}"`));
  assert.doesNotMatch(metrics + (await readdir(out)).join(), /\uffff/);
});

test('a 120-byte exec path arrives complete, with the comm the kernel gives the process', async (t) => {
  if (!kernelAvailable(t)) return;
  const dir = await tempDir('longexec');
  const deep = path.join(dir, 'release-2026.11.29-build-4711', 'opt', 'vendor', 'application', 'bin');
  await mkdir(deep, { recursive: true });
  const prog = path.join(deep, 'x'.repeat(Math.max(1, 120 - deep.length - 1)));
  assert.equal(Buffer.byteLength(prog), 120);
  await copyFile('/bin/true', prog);
  await execa('chmod', ['755', prog]);
  const out = path.join(dir, 'out');
  const cli = startCli(['start', '-m', 'exec', '-o', out, '--duration', '3']);
  await cli.waitForLog('monitors attached');
  await run(prog);
  const r = await cli.done;
  assert.equal(r.exitCode, 0, r.stderr);
  const row = (await readCsv(out, 'exec')).find((x) => x['filename']?.startsWith(deep));
  assert.equal(row?.['filename'], prog);
  assert.equal(row?.['comm'], 'x'.repeat(15));
});

test('bpftrace stopped for 8 s (SIGSTOP): warned while it lasts, then a marker row and one row set for the whole span', async (t) => {
  if (!kernelAvailable(t)) return;
  const dir = await tempDir('stall');
  const prog = await workload('syscalls', 'ebpfm_stall');
  const config = await writeConfig(dir, 'monitors:\n  syscall: {enabled: true, interval: 1}\n');
  const cli = startCli(['start', '-c', config, '-o', dir, '--duration', '16']);
  const attached = await cli.waitForLog('bpftrace attached its probes');
  const pid = Number(attached['pid']);
  await sleep(1500);
  process.kill(pid, 'SIGSTOP');
  await run(prog, ['500', '0']);
  await cli.waitForLog('syscall: no interval closed for two intervals: bpftrace is stalled', 8000);
  await sleep(6000);
  process.kill(pid, 'SIGCONT');
  // The prints queued while it was stopped are printed now; calls made meanwhile could land in a copy being printed.
  await sleep(1500);
  await run(prog, ['300', '0']);
  const r = await cli.done;
  assert.equal(r.exitCode, 0, r.stderr);
  const rows = await readCsv(dir, 'syscall');
  const marker = rows.find((row) => row['note']?.startsWith('bpftrace stalled'));
  assert.ok(marker, 'a marker row names the stall');
  const span = Number(/cover ([\d.]+) s/.exec(marker['note'] ?? '')?.[1]);
  assert.ok(span >= 7 && span <= 11, `span ${span} s`);
  const calls = rows.filter((row) => row['comm'] === 'ebpfm_stall' && row['syscall'] === 'getppid');
  assert.equal(calls.reduce((n, row) => n + Number(row['count']), 0), 800, 'no call lost');
  // The calls made during the stall are in the rows stamped with the marker's time, not spread as spikes.
  assert.equal(calls.filter((row) => row['timestamp'] === marker['timestamp']).reduce((n, row) => n + Number(row['count']), 0), 500);
});

test('an exec storm while bpftrace is stopped overflows its event buffer: the lost events are counted and marked', async (t) => {
  if (!kernelAvailable(t)) return;
  const dir = await tempDir('execloss');
  const prog = path.join(dir, 'ebpfm_loss');
  await copyFile('/bin/true', prog);
  await execa('chmod', ['755', prog]);
  // 64 pages per CPU of event buffer: bpftrace-aotrt's fixed size (it ignores BPFTRACE_PERF_RB_PAGES), and
  // runtime.perf_rb_pages for bpftrace. 3000 records overflow it.
  const config = await writeConfig(dir, 'runtime: {perf_rb_pages: 64}\n');
  const cli = startCli(['start', '-c', config, '-m', 'exec', '-o', dir, '--duration', '14']);
  const attached = await cli.waitForLog('bpftrace attached its probes');
  process.kill(Number(attached['pid']), 'SIGSTOP');
  const n = 3000;
  await execa('sh', ['-c', `i=0; while [ $i -lt ${n} ]; do "${prog}"; i=$((i+1)); done`]);
  process.kill(Number(attached['pid']), 'SIGCONT');
  const r = await cli.done;
  assert.equal(r.exitCode, 0, r.stderr);
  const rows = await readCsv(dir, 'exec');
  const seen = rows.filter((row) => row['filename'] === prog).length;
  const lost = rows.filter((row) => row['note']?.includes('events lost')).reduce((s, row) => s + Number(/^(\d+) events lost/.exec(row['note'] ?? '')?.[1]), 0);
  assert.ok(seen < n, `${seen} of ${n} seen: the buffer did overflow`);
  // Every exec is either a row or counted as lost (other processes' execs may be among the lost ones).
  assert.ok(seen + lost >= n, `seen ${seen} + lost ${lost} >= ${n}`);
  assert.match(r.stderr, /records lost on CPU/);
});

test('SIGHUP reload: a marker row says what was not counted; a reload onto an unusable directory is refused and the old run keeps writing', async (t) => {
  if (!kernelAvailable(t)) return;
  const dir = await tempDir('reload');
  const out = path.join(dir, 'out');
  const prog = await workload('syscalls', 'ebpfm_reld');
  const yaml = `output: {directory: ${out}}\nmonitors:\n  syscall: {enabled: true, interval: 1}\n`;
  const config = await writeConfig(dir, yaml);
  const cli = startCli(['start', '-c', config, '--duration', '40']);
  await cli.waitForLog('monitors attached');
  // A valid new config: the old processes stop, the new ones start; the gap between them is marked.
  process.kill(cli.proc.pid!, 'SIGHUP');
  await cli.waitForLog('configuration reloaded');
  // An output directory that cannot be used (a file stands there): refused before the old run is touched.
  const blocker = path.join(dir, 'not-a-dir');
  await writeFile(blocker, '');
  await writeFile(config, yaml.replace(out, blocker));
  process.kill(cli.proc.pid!, 'SIGHUP');
  await sleep(2500);
  assert.match(cli.stderrText(), /reload refused: output directory .*not-a-dir exists and is not a directory; the running configuration continues/);
  await run(prog, ['444', '0']);
  await sleep(1500);
  cli.proc.kill('SIGTERM');
  const r = await cli.done;
  assert.equal(r.exitCode, 0, r.stderr);
  // In start order, by bytes: a reload within the same second as the start gets the same name with _001.
  const files = (await readdir(out)).filter((f) => f.startsWith('syscall_')).sort();
  assert.equal(files.length, 2, 'one file before the reload, one after');
  const { parse } = await import('csv-parse/sync');
  const after = parse(await readFile(path.join(out, files[1]!), 'utf8'), { columns: true }) as Record<string, string>[];
  assert.ok(after.some((row) => /^configuration reloaded: events from .* were not counted/.test(row['note'] ?? '')), 'the reload gap is marked');
  assert.equal(after.filter((row) => row['comm'] === 'ebpfm_reld' && row['syscall'] === 'getppid').reduce((n, row) => n + Number(row['count']), 0), 444, 'the run that stayed counted every call');
});

test('running out of file descriptors when bpftrace restarts: the failed spawn is retried, nothing crashes', async (t) => {
  if (!kernelAvailable(t)) return;
  const dir = await tempDir('emfile');
  const cli = startCli(['start', '-m', 'syscall', '-o', dir, '--duration', '60']);
  const attached = await cli.waitForLog('bpftrace attached its probes');
  const pid = cli.proc.pid!;
  const open = (await readdir(`/proc/${pid}/fd`)).length;
  const hard = /Max open files\s+\d+\s+(\d+)/.exec(await readFile(`/proc/${pid}/limits`, 'utf8'))?.[1] ?? '1024';
  // Room for what is open now and no more (the soft limit; the hard one stays): the restart cannot make its pipes.
  await execa('prlimit', ['--pid', String(pid), `--nofile=${open + 1}:${hard}`]);
  process.kill(Number(attached['pid']), 'SIGKILL');
  await sleep(2500);
  assert.match(cli.stderrText(), /EMFILE|too many open files/i);
  await execa('prlimit', ['--pid', String(pid), `--nofile=${hard}:${hard}`]);
  const attachedCount = (): number => cli.stderrText().split('\n').filter((l) => l.includes('bpftrace attached its probes')).length;
  for (let i = 0; i < 100 && attachedCount() < 2; i++) await sleep(200);
  const attachedAgain = attachedCount();
  assert.ok(attachedAgain >= 2, 'bpftrace is back once descriptors are available');
  cli.proc.kill('SIGTERM');
  const r = await cli.done;
  assert.equal(r.exitCode, 0, r.stderr);
  assert.doesNotMatch(r.stderr, /Error: spawn|\n\s+at /, 'no stack trace');
  const left = (await readdir('/tmp')).filter((f) => f.startsWith(`ebpfmon-${pid}-`));
  assert.deepEqual(left, [], 'the script directory is removed');
});

test('`start --console | head -1`: the reader goes away, ebpfmon stops cleanly and leaves no script directory', async (t) => {
  if (!kernelAvailable(t)) return;
  const dir = await tempDir('head');
  const before = new Set((await readdir('/tmp')).filter((f) => /^ebpfmon-\d+-/.test(f)));
  const r = await execa('sh', ['-c', `node ${JSON.stringify(cliPath)} start -m syscall --console -o ${JSON.stringify(dir)} --duration 60 | head -1`], { reject: false, timeout: 40_000 });
  assert.equal(r.exitCode, 0, r.stderr);
  assert.match(r.stdout, /syscall/);
  assert.match(r.stderr, /"reason":"SIGPIPE","msg":"stopping: waiting for the final interval"/);
  assert.doesNotMatch(r.stderr, /EPIPE|\n\s+at /);
  const left = (await readdir('/tmp')).filter((f) => /^ebpfmon-\d+-/.test(f) && !before.has(f) && !alive(Number(f.split('-')[1])));
  assert.deepEqual(left, [], 'its script directory is removed');
  assert.ok((await readCsv(dir, 'syscall')).length > 0, 'the files got their rows');
});

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

test('--scripts under a directory another user owns is refused: they could swap it and run their script as root', async (t) => {
  if (!kernelAvailable(t)) return;
  const dir = await tempDir('parents');
  const theirs = path.join(dir, 'theirs');
  const scripts = path.join(theirs, 'scripts');
  await mkdir(scripts, { recursive: true });
  const gen = await execa('node', [cliPath, 'generate', '-m', 'syscall', '--out', scripts], { reject: false });
  assert.equal(gen.exitCode, 0, gen.stderr);
  await execa('chown', ['65534:65534', theirs]);
  const r = await execa('node', [cliPath, 'start', '--scripts', scripts, '-o', path.join(dir, 'out'), '--duration', '1'], { reject: false });
  assert.equal(r.exitCode, 2);
  assert.match(r.stderr, new RegExp(`^ebpfmon: --scripts: refusing .*: ${theirs} is owned by uid 65534, not root`));
  // The same tree owned by root again, but writable by others: refused too.
  await execa('chown', ['0:0', theirs]);
  await execa('chmod', ['0777', theirs]);
  const w = await execa('node', [cliPath, 'start', '--scripts', scripts, '-o', path.join(dir, 'out'), '--duration', '1'], { reject: false });
  assert.equal(w.exitCode, 2);
  assert.match(w.stderr, new RegExp(`${theirs} is writable by group or others \\(mode 777\\)`));
});

test('--scripts: a file swapped after start is not what runs when bpftrace restarts (each script is read once)', async (t) => {
  if (!kernelAvailable(t)) return;
  const dir = await tempDir('swap');
  const scripts = path.join(dir, 'scripts');
  const gen = await execa('node', [cliPath, 'generate', '-m', 'syscall', '--out', scripts], { reject: false });
  assert.equal(gen.exitCode, 0, gen.stderr);
  const file = path.join(scripts, 'ebpfmon-main.bt');
  const original = await readFile(file, 'utf8');
  const probe = 'tracepoint:raw_syscalls:sys_exit {';
  assert.ok(original.includes(probe), 'the generated probe as this test edits it');
  const only = (comm: string): string => original.replace(probe, `tracepoint:raw_syscalls:sys_exit /comm == "${comm}"/ {`);
  await writeFile(file, only('ebpfm_keep'));
  const keep = await workload('syscalls', 'ebpfm_keep');
  const swapped = await workload('syscalls', 'ebpfm_swap');
  const out = path.join(dir, 'out');
  const cli = startCli(['start', '--scripts', scripts, '-o', out, '--duration', '30']);
  const first = await cli.waitForLog('bpftrace attached its probes');
  // Swapped on disk, then bpftrace dies: the restart runs the text read at start.
  await writeFile(file, only('ebpfm_swap'));
  process.kill(Number(first['pid']), 'SIGKILL');
  const attachedCount = (): number => cli.stderrText().split('\n').filter((l) => l.includes('bpftrace attached its probes')).length;
  for (let i = 0; i < 100 && attachedCount() < 2; i++) await sleep(200);
  assert.equal(attachedCount(), 2, 'bpftrace restarted');
  await run(keep, ['100', '0']);
  await run(swapped, ['100', '0']);
  await sleep(2500);
  cli.proc.kill('SIGTERM');
  const r = await cli.done;
  assert.equal(r.exitCode, 0, r.stderr);
  const rows = (await readCsv(out, 'syscall')).filter((row) => row['syscall'] === 'getppid');
  assert.equal(rows.filter((row) => row['comm'] === 'ebpfm_keep').reduce((n, row) => n + Number(row['count']), 0), 100);
  assert.equal(rows.filter((row) => row['comm'] === 'ebpfm_swap').length, 0, 'the swapped script never ran');
});
