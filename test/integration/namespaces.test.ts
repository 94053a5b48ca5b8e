// ebpfmon inside namespaces: a time namespace (node's CLOCK_MONOTONIC shifted, bpftrace's nsecs not) and a pid
// namespace (bpftrace 0.17's rows carry host pids, ebpfmon sees the namespace's; from 0.22 rows carry the
// namespace's pids, and every process outside it as pid 0).
import { test } from 'node:test';
import { readdir, readFile } from 'node:fs/promises';
import assert from 'node:assert/strict';
import { kernelAvailable } from '../helpers/kernel.js';
import { bpftraceFeatures } from '../helpers/bpftrace.js';
import { readCsv, startCli, tempDir, writeConfig } from '../helpers/cli.js';
import { run, uniqueTrue, workload } from '../helpers/workload.js';

test('time namespace (unshare --time --monotonic 5): aggregate rows are written, exec timestamps are right within a second', async (t) => {
  if (!kernelAvailable(t)) return;
  const dir = await tempDir('timens');
  const prog = await uniqueTrue('ebpfm_tns');
  const calls = await workload('syscalls', 'ebpfm_tnsc');
  const config = await writeConfig(dir, 'monitors:\n  exec: {enabled: true, comm: ebpfm_tns}\n  syscall: {enabled: true, interval: 1, comm: ebpfm_tnsc}\n');
  const cli = startCli(['start', '-c', config, '-o', dir, '--duration', '4'], { prefix: ['unshare', '--time', '--monotonic', '5', '--fork'] });
  t.after(() => cli.proc.kill('SIGKILL'));
  await cli.waitForLog('monitors attached');
  const before = Date.now();
  await run(prog);
  const after = Date.now();
  await run(calls, ['321', '0']);
  const r = await cli.done;
  assert.equal(r.exitCode, 0, r.stderr);
  const execs = (await readCsv(dir, 'exec')).filter((row) => row['comm'] === 'ebpfm_tns');
  assert.equal(execs.length, 1, 'one exec row');
  const at = Date.parse(execs[0]!['timestamp'] ?? '');
  assert.ok(at >= before - 1000 && at <= after + 1000, `exec stamped ${execs[0]!['timestamp']}, run between ${new Date(before).toISOString()} and ${new Date(after).toISOString()}`);
  const sys = (await readCsv(dir, 'syscall')).filter((row) => row['syscall'] === 'getppid');
  assert.equal(sys.reduce((n, row) => n + Number(row['count']), 0), 321, 'every interval written');
});

/** Host pids and comms of every descendant of `root`, from /proc (the host's view). */
async function descendants(root: number): Promise<Map<number, string>> {
  const parent = new Map<number, { ppid: number; comm: string }>();
  for (const e of await readdir('/proc')) {
    if (!/^\d+$/.test(e)) continue;
    const stat = await readFile(`/proc/${e}/stat`, 'utf8').catch(() => '');
    const close = stat.lastIndexOf(')');
    if (close < 0) continue;
    parent.set(Number(e), { ppid: Number(stat.slice(close + 2).split(' ')[1]), comm: stat.slice(stat.indexOf('(') + 1, close) });
  }
  const out = new Map<number, string>();
  const walk = (pid: number): void => {
    for (const [child, p] of parent) {
      if (p.ppid === pid && !out.has(child)) {
        out.set(child, p.comm);
        walk(child);
      }
    }
  };
  walk(root);
  return out;
}

test('pid namespace (unshare -fp --mount-proc): the tracer\'s own rows are left out by its host pid, which the log names', async (t) => {
  if (!kernelAvailable(t)) return;
  const dir = await tempDir('pidns');
  const config = await writeConfig(dir, 'monitors:\n  syscall: {enabled: true, interval: 1}\n');
  // What `unshare -fp --mount-proc` does, with /proc made private first: in a chroot, / is no mount point and
  // unshare's own `mount --make-rprivate /` fails (EINVAL); a proc mount must never reach the parent namespace.
  const prefix = ['unshare', '-fp', '--mount', '--propagation', 'unchanged', 'sh', '-c', 'mount --make-rprivate /proc && mount -t proc proc /proc && exec "$@"', 'sh'];
  const cli = startCli(['start', '-c', config, '-o', dir, '--duration', '4'], { prefix });
  t.after(() => cli.proc.kill('SIGKILL'));
  await cli.waitForLog('monitors attached');
  const tracers = [...(await descendants(cli.proc.pid!))].filter(([, comm]) => comm.startsWith('bpftrace')).map(([pid]) => pid);
  assert.equal(tracers.length, 1, 'one bpftrace');
  // Its pid in the namespace: the last of NSpid.
  const nsPid = Number((/^NSpid:\s+(.*)$/m.exec(await readFile(`/proc/${tracers[0]}/status`, 'utf8'))?.[1] ?? '').trim().split(/\s+/).pop());
  const r = await cli.done;
  assert.equal(r.exitCode, 0, r.stderr);
  const rows = await readCsv(dir, 'syscall');
  assert.ok(rows.length > 0);
  const hostPids = bpftraceFeatures().selfPid === 'pid';
  const rowPid = hostPids ? tracers[0] : nsPid;
  assert.ok(rowPid !== undefined && rowPid > 0);
  assert.deepEqual(rows.filter((row) => Number(row['pid']) === rowPid).map((row) => `${row['comm']} ${row['syscall']} ${row['count']}`), [], 'no row of the tracer');
  if (hostPids) assert.match(r.stderr, new RegExp(`"rowPid":${rowPid},.*in the rows \\(a pid namespace\\)`));
  // 0.22+: ebpfmon and the rows agree on the namespace's pids: nothing to say.
  else assert.doesNotMatch(r.stderr, /in the rows \(a pid namespace\)/);
});
