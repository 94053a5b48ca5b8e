// `ebpfmon top` used as a person would: in a terminal (tmux), with keys, against workloads whose comm and call
// rate the test knows; then through a pipe, as `ebpfmon top | head`.
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { execa, execaSync } from 'execa';
import { readdir } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { kernelAvailable } from '../helpers/kernel.js';
import { sleep, tempDir } from '../helpers/cli.js';
import { cliPath, repoRoot } from '../helpers/paths.js';
import { workload } from '../helpers/workload.js';
import { isAlive } from '../helpers/process.js';

const required = process.env['EBPFMON_REQUIRE_KERNEL'] === '1' || process.env['CI'] === 'true';

function tmuxAvailable(t: TestContext): boolean {
  try {
    execaSync('tmux', ['-V']);
    return true;
  } catch {
    if (required) throw new Error('top test cannot run: needs tmux (apt-get install -y tmux)');
    t.skip('needs tmux (apt-get install -y tmux)');
    return false;
  }
}

/** A tmux server of this test alone (its own socket file), with one 140x40 window running a plain bash. */
async function openTmux(socket: string) {
  const tmux = async (...args: string[]): Promise<string> => (await execa('tmux', ['-S', socket, ...args])).stdout;
  await tmux('new-session', '-d', '-x', '140', '-y', '40', '-c', repoRoot, 'env', 'PS1=$ ', 'TERM=xterm-256color', 'bash', '--norc', '--noprofile');
  return {
    tmux,
    keys: (...keys: string[]) => tmux('send-keys', '-t', '0', ...keys),
    /** Text typed as is (no key names). */
    type: (text: string) => tmux('send-keys', '-t', '0', '-l', text),
    screen: async (): Promise<string[]> => (await tmux('capture-pane', '-p', '-t', '0')).split('\n'),
    flag: async (name: string): Promise<string> => (await tmux('display', '-p', '-t', '0', `#{${name}}`)).trim(),
    close: () => tmux('kill-server').catch(() => ''),
  };
}
type Tmux = Awaited<ReturnType<typeof openTmux>>;

async function until<T>(what: string, f: () => Promise<T | null | undefined | false>, timeoutMs: number, last?: () => Promise<string>): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await f();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}${last ? `; screen:\n${await last()}` : ''}`);
    await sleep(250);
  }
}

/** One process row of the view, by the fixed column layout of src/top/draw.ts. */
interface ViewRow {
  pid: number;
  comm: string;
  cpu: number | null;
  syscalls: number | null;
  errors: number | null;
  opens: number | null;
  faults: number | null;
  switches: number | null;
}
const rate = (s: string): number | null => {
  const t = s.trim();
  if (t === '-') return null;
  const m = /^([\d.]+)([kM]?)$/.exec(t);
  if (!m) throw new Error(`not a rate: "${t}"`);
  return Number(m[1]) * (m[2] === 'k' ? 1e3 : m[2] === 'M' ? 1e6 : 1);
};
function rowsOf(lines: readonly string[]): ViewRow[] {
  const header = lines.findIndex((l) => /^ +PID COMM +CPU%/.test(l));
  if (header < 0) return [];
  // Right-aligned columns: each cell ends where its title ends (the columns shown depend on the width).
  const h = lines[header]!;
  const end = (title: string): number => h.indexOf(title) + title.length;
  const cell = (l: string, title: string, before: string): string => l.slice(end(before), end(title));
  const out: ViewRow[] = [];
  for (const l of lines.slice(header + 1)) {
    if (!/^ +\d+ /.test(l)) break;
    out.push({
      pid: Number(l.slice(0, 8)),
      comm: l.slice(9, 25).trim(),
      cpu: rate(l.slice(25, end('CPU%'))),
      syscalls: rate(cell(l, 'SYSCALLS/s', 'TIME+')),
      errors: rate(cell(l, 'ERRORS/s', 'SYSCALLS/s')),
      opens: rate(cell(l, 'OPENS/s', 'ERRORS/s')),
      faults: rate(cell(l, 'FAULTS/s', 'FAILED/s')),
      switches: rate(cell(l, 'SWITCH/s', 'FAULTS/s')),
    });
  }
  return out;
}
const nonIncreasing = (xs: readonly (number | null)[]): boolean => xs.every((x, i) => i === 0 || (x ?? 0) <= (xs[i - 1] ?? 0));
const median = (xs: readonly number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

/** The pids of a process's children, with their comm. */
function children(pid: number): { pid: number; comm: string }[] {
  try {
    const kids = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
    return kids.map((k) => ({ pid: k, comm: readFileSync(`/proc/${k}/comm`, 'utf8').trim() }));
  } catch {
    return [];
  }
}

/** The node process of `ebpfmon top` started from the pane's shell. */
async function topPid(term: Tmux): Promise<number> {
  const shell = Number(await term.flag('pane_pid'));
  return until('the ebpfmon top process', async () => children(shell).find((c) => c.comm === 'node')?.pid, 10_000);
}

test('top in a terminal: a busy process shows with a plausible rate, keys sort and filter, q leaves nothing attached', async (t) => {
  if (!kernelAvailable(t) || !tmuxAvailable(t)) return;
  const busy = await workload('spin', 'ebpfm_top');
  const failing = await workload('spin', 'ebpfm_toperr');
  const dir = await tempDir('top');
  const term = await openTmux(path.join(dir, 'tmux.sock'));
  const shown = async (): Promise<string> => (await term.screen()).join('\n');
  const workers: ReturnType<typeof execa>[] = [];
  let top: number | null = null;
  try {
    await term.type(`stty -g > ${dir}/stty.before; node ${cliPath} top; echo "top-exit=$?"`);
    await term.keys('Enter');
    const launched = Date.now();
    top = await topPid(term);
    await until('the alternate screen', async () => (await term.flag('alternate_on')) === '1', 30_000, shown);
    // A frame at once: the header and the key hint while the config is read and bpftrace starts, rows not yet there.
    const firstFrame = await until('the first frame', async () => {
      const s = await term.screen();
      return /^ebpfmon top /.test(s[0] ?? '') ? s : null;
    }, 30_000, shown);
    const frameMs = Date.now() - launched;
    assert.equal(rowsOf(firstFrame).length, 0, firstFrame.join('\n'));
    assert.match(firstFrame.join('\n'), /checking the config|starting bpftrace|attaching/);
    assert.match(firstFrame.join('\n'), /q quit/);
    // Compiling and attaching takes seconds (more on a loaded machine); then the table has rows.
    await until('the first rows', async () => rowsOf(await term.screen()).length > 0, 120_000, shown);
    t.diagnostic(`first frame ${frameMs} ms after Enter; first rows ${Date.now() - launched} ms`);
    const bpftrace = children(top).filter((c) => c.comm === 'bpftrace' || c.comm === 'bpftrace-aotrt');
    assert.ok(bpftrace.length > 0, `bpftrace runs under ebpfmon top (children: ${JSON.stringify(children(top))})`);

    // Two loops run until the test stops them (at most 90 s): the busy one calls getppid(), the other fails every
    // close(). Each prints how many calls it made over how long, the truth the view's readings are held against.
    // Each rests 2 ms after every 1024 calls: two loops spinning on both CPUs kept the interval timer landing inside
    // a BPF program (the kernel then skips it), and the view went empty for want of ticks (1 CI run in 4).
    const startedAt = Date.now();
    const a = execa(busy, ['ok', '90000', '2000']);
    const b = execa(failing, ['err', '90000', '2000']);
    workers.push(a, b);
    const callsPerSecond = async (w: typeof a): Promise<{ calls: number; perSecond: number }> => {
      w.kill('SIGTERM');
      const [calls, ms] = (await w).stdout.trim().split(' ').map(Number);
      return { calls: calls!, perSecond: calls! / (ms! / 1000) };
    };

    await until('ebpfm_top in the view', async () => rowsOf(await term.screen()).some((r) => r.comm === 'ebpfm_top'), 10_000, shown);
    const before = rowsOf(await term.screen());
    assert.ok(before.some((r) => !r.comm.startsWith('ebpfm_top')), 'other processes show before filtering');
    // The filter: "/" then text, Enter.
    await term.type('/ebpfm_top');
    await term.keys('Enter');
    const filtered = await until('the filtered view', async () => {
      const s = await term.screen();
      return /filter: ebpfm_top {2}\(\d+ match\)/.test(s[1] ?? '') && !/^filter:/.test(s.at(-1) ?? '') ? s : null;
    }, 5000, shown);
    const rows = rowsOf(filtered);
    assert.ok(rows.length >= 1 && rows.every((r) => r.comm.startsWith('ebpfm_top')), `only ebpfm_top* rows:\n${filtered.join('\n')}`);

    // Sorted by syscalls/s (the default): readings of the busy process while it runs.
    const readings: number[] = [];
    while (readings.length < 5) {
      const s = await term.screen();
      assert.match(s[1] ?? '', /^sort: syscalls\/s/);
      const r = rowsOf(s);
      assert.ok(nonIncreasing(r.map((x) => x.syscalls)), `sorted by syscalls/s:\n${s.join('\n')}`);
      const mine = r.find((x) => x.comm === 'ebpfm_top')?.syscalls;
      if (mine) readings.push(mine);
      await sleep(1000);
    }
    // CPU% from /proc against the loop's own average so far (utime+stime over its lifetime), within a factor of 3
    // as the rates above: the load of a shared machine moves it from one refresh to the next.
    const cpu = await until('CPU% of ebpfm_top', async () => rowsOf(await term.screen()).find((x) => x.comm === 'ebpfm_top')?.cpu, 10_000, shown);
    const ticks = readFileSync(`/proc/${a.pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    const lifetime = ((Number(ticks[11]) + Number(ticks[12])) / 100 / ((Date.now() - startedAt) / 1000)) * 100;
    t.diagnostic(`ebpfm_top: CPU ${cpu}% in the view; ${lifetime.toFixed(1)}% on average since it started`);
    assert.ok(cpu > lifetime / 3 && cpu < lifetime * 3 + 1, `CPU% of the busy loop: ${cpu} in the view, ${lifetime.toFixed(1)} on average`);
    // ? opens the help over the view; any key closes it.
    await term.type('?');
    await until('the help', async () => (await shown()).includes('ebpfmon top: keys'), 5000, shown);
    await term.type('x');
    await until('the help closed', async () => /^sort: syscalls\/s/.test((await term.screen())[1] ?? ''), 5000, shown);
    // e: sorted by errors/s, the process whose calls all fail comes first, with as many errors as calls.
    await term.keys('e');
    const byErrors = await until('the sort by errors', async () => {
      const s = await term.screen();
      const r = rowsOf(s);
      return /^sort: errors\/s/.test(s[1] ?? '') && r[0]?.comm === 'ebpfm_toperr' ? s : null;
    }, 5000, shown);
    const err = rowsOf(byErrors)[0]!;
    assert.ok((err.errors ?? 0) > 0.9 * (err.syscalls ?? 0) && (err.errors ?? 0) > 1000, `errors/s of the failing loop: ${JSON.stringify(err)}`);
    assert.ok(nonIncreasing(rowsOf(byErrors).map((x) => x.errors)));
    // f: sorted by faults/s; Esc clears the filter and the others come back.
    await term.keys('f');
    await until('the sort by faults', async () => /^sort: faults\/s/.test((await term.screen())[1] ?? ''), 5000, shown);
    assert.ok(nonIncreasing(rowsOf(await term.screen()).map((x) => x.faults)));
    await term.keys('Escape');
    const all = await until('the filter cleared', async () => {
      const s = await term.screen();
      return /filter: -/.test(s[1] ?? '') ? s : null;
    }, 5000, shown);
    assert.ok(rowsOf(all).some((r) => !r.comm.startsWith('ebpfm_top')), `other processes are back:\n${all.join('\n')}`);
    // End: the selection goes to the last row, the range shown ends there; Home comes back to the first. The list
    // grows under the test (each tmux command it runs is a process the next refresh shows), so a row count that grew
    // after the key moved the end away: End is pressed again until a frame shows the range ending at the last row.
    await term.keys('End');
    await until('the last rows', async () => {
      const m = /rows (\d+)-(\d+) of (\d+)/.exec((await term.screen())[1] ?? '');
      if (m && m[2] === m[3]) return m;
      await term.keys('End');
      return null;
    }, 10_000, shown);
    await term.keys('Home');
    await until('the first rows again', async () => /rows 1-\d+ of \d+/.test((await term.screen())[1] ?? ''), 5000, shown);

    // The readings against what the busy loop really did: its calls over its lifetime.
    const { calls, perSecond: average } = await callsPerSecond(a);
    await callsPerSecond(b);
    assert.ok(readings.length >= 2, `readings of ebpfm_top: ${JSON.stringify(readings)}`);
    const seen = median(readings);
    t.diagnostic(`ebpfm_top: readings ${readings.join(', ')} /s; it averaged ${Math.round(average)}/s over ${calls} calls`);
    // Within a factor of 3: a shared machine's load changes the loop's speed from one interval to the next.
    assert.ok(seen > average / 3 && seen < average * 3, `ebpfm_top shown at ${seen}/s; it averaged ${Math.round(average)}/s (${calls} calls)`);

    // q: the view ends, bpftrace stopped (its END ran), the script directory removed, the terminal as it was.
    await term.keys('q');
    const done = await until('the shell back', async () => (await shown()).match(/top-exit=(\d+)/)?.[1], 60_000, shown);
    assert.equal(done, '0', await shown());
    assert.equal(isAlive(top), false);
    for (const p of bpftrace) assert.equal(isAlive(p.pid), false, `${p.comm} ${p.pid} left running`);
    assert.deepEqual((await readdir(os.tmpdir())).filter((d) => d.startsWith(`ebpfmon-${top}-`)), [], 'the script directory was removed');
    assert.equal(await term.flag('alternate_on'), '0', 'back on the primary screen');
    assert.equal(await term.flag('cursor_flag'), '1', 'the cursor is visible');
    await term.type(`stty -g > ${dir}/stty.after; cmp -s ${dir}/stty.before ${dir}/stty.after && echo "stty-same-$((6*7))"`);
    await term.keys('Enter');
    await until('stty compared', async () => /^stty-same-42$/m.test(await shown()), 5000, shown);
    top = null;
  } finally {
    for (const w of workers) w.kill();
    if (top !== null && isAlive(top)) process.kill(top, 'SIGTERM');
    await term.close();
  }
});

test('top through a pipe: plain snapshots, no escapes; `| head -20` stops it cleanly', async (t) => {
  if (!kernelAvailable(t)) return;
  const dir = await tempDir('top-pipe');
  // The exit code of ebpfmon itself, not of head; its pid, to look for its script directory afterwards.
  const script = `(node ${JSON.stringify(cliPath)} top -m syscall,page_fault,exec 2>${dir}/stderr & echo $! > ${dir}/pid; wait $!; echo $? > ${dir}/rc) | head -20`;
  const r = await execa('sh', ['-c', script], { reject: false, timeout: 120_000 });
  assert.equal(r.exitCode, 0, r.stderr);
  const lines = r.stdout.split('\n');
  assert.equal(lines.length, 20);
  assert.equal(r.stdout.includes('\x1b'), false, 'no escape sequences');
  assert.match(lines[0]!, /^\d\d:\d\d:\d\d {2}\d+ processes, sorted by syscalls\/s {2}exec\/s /);
  assert.match(lines[1]!, /^ +PID COMM +CPU% +RSS +TIME\+ SYSCALLS\/s ERRORS\/s +OPENS\/s/);
  const snapshots = lines.filter((l) => /processes, sorted by/.test(l)).length;
  assert.ok(snapshots >= 2, r.stdout);
  assert.ok(lines.some((l) => /^coverage syscall /.test(l)));
  assert.ok(lines.some((l) => /^cost {5}bpftrace \d+ \((aot|jit)\) {2}CPU /.test(l)));
  const rc = await until('ebpfmon top to end', async () => {
    try {
      return readFileSync(`${dir}/rc`, 'utf8').trim();
    } catch {
      return null;
    }
  }, 60_000);
  const stderr = readFileSync(`${dir}/stderr`, 'utf8');
  assert.equal(rc, '0', stderr);
  const pid = readFileSync(`${dir}/pid`, 'utf8').trim();
  assert.deepEqual((await readdir(os.tmpdir())).filter((d) => d.startsWith(`ebpfmon-${pid}-`)), [], 'the script directory was removed');
  assert.doesNotMatch(stderr, /unexpected|did not finish/);
});

test('top in a terminal: Ctrl-C quits as q does; a failure after the screen opened still restores the terminal', async (t) => {
  if (!kernelAvailable(t) || !tmuxAvailable(t)) return;
  const dir = await tempDir('top-keys');
  const term = await openTmux(path.join(dir, 'tmux.sock'));
  const shown = async (): Promise<string> => (await term.screen()).join('\n');
  let top: number | null = null;
  try {
    await term.type(`node ${cliPath} top -m syscall; echo "top-exit=$?"`);
    await term.keys('Enter');
    top = await topPid(term);
    await until('the first rows', async () => rowsOf(await term.screen()).length > 0, 120_000, shown);
    const bpftrace = children(top).filter((c) => c.comm === 'bpftrace' || c.comm === 'bpftrace-aotrt');
    await term.keys('C-c');
    assert.equal(await until('the shell back', async () => (await shown()).match(/top-exit=(\d+)/)?.[1], 60_000, shown), '0');
    for (const p of bpftrace) assert.equal(isAlive(p.pid), false, `${p.comm} ${p.pid} left running`);
    assert.equal(await term.flag('alternate_on'), '0');
    assert.equal(await term.flag('cursor_flag'), '1');
    top = null;

    // The scripts' directory cannot be made (TMPDIR is missing): the session fails once the view is up.
    await term.keys('clear', 'Enter');
    await term.type(`TMPDIR=${dir}/missing node ${cliPath} top -m syscall; echo "top-exit=$?"`);
    await term.keys('Enter');
    const failed = await until('the failure', async () => (await shown()).match(/top-exit=(\d+)/)?.[1], 60_000, shown);
    assert.equal(failed, '1');
    assert.match(await shown(), /ebpfmon: unexpected failure: ENOENT: no such file or directory, mkdtemp/);
    assert.equal(await term.flag('alternate_on'), '0');
    assert.equal(await term.flag('cursor_flag'), '1');
  } finally {
    if (top !== null && isAlive(top)) process.kill(top, 'SIGTERM');
    await term.close();
  }
});
