// What the benchmarks share: options, result shape, aligned tables, statistics, compiling the C workloads,
// running `ebpfmon start` as an operator would, and reading RSS and BPF program statistics from /proc (through
// ebpfmon's own parsers in src/: parseProgFdinfo, enableBpfStats, parseVmRss; only what the benchmarks need beyond
// them, per-program ids and the anonymous/file RSS split, is read here).
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, readlink, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs, promisify } from 'node:util';
import { bpfStatsSysctl, enableBpfStats, parseProgFdinfo } from '../../src/process/bpf-stats.js';
import { parseVmRss, processUsage } from '../../src/daemon/status.js';

const execFileP = promisify(execFile);

/** The repository root, from dist/scripts/bench/<file>.js. */
export const repoRoot = fileURLToPath(new URL('../../../', import.meta.url));
export const cliPath = path.join(repoRoot, 'dist/src/cli/main.js');
export const workloadsDir = path.join(repoRoot, 'scripts/bench/workloads');

/** The V8 flags the CLI's shebang gives node (`#!/usr/bin/env -S node FLAGS`): ebpfmon is measured as it runs. */
export const cliNodeFlags: string[] = (() => {
  const first = readFileSync(cliPath, 'utf8').split('\n', 1)[0] ?? '';
  return /^#!.*\bnode\b(.*)$/.exec(first)?.[1]?.trim().split(/\s+/).filter(Boolean) ?? [];
})();

/** Every monitor the overhead and footprint benchmarks want; `check --json` says which run here. */
export const allMonitors = ['exec', 'syscall', 'open', 'interrupt', 'page_fault', 'bio', 'context_switch'] as const;

export interface BenchOptions {
  /** Results directory: <out>/<bench>.json. */
  out: string;
  /** Shorter runs: fewer pairs and rounds. */
  quick: boolean;
  /** `--minutes N`: how long the soak runs (the other benchmarks ignore it). */
  minutes?: number | undefined;
  /** `--default-only`: the footprint bench skips its runtime.aot: false comparison (the other benchmarks ignore it). */
  defaultOnly?: boolean;
}

export interface Check {
  figure: string;
  value: number | null;
  unit: string;
  /** Human-readable target, e.g. "< 2 %". */
  target: string;
  /** null: no verdict: not measured (skipped or failed), or a reference figure without a target. */
  pass: boolean | null;
}

export interface Table {
  title: string;
  columns: string[];
  rows: (string | number | null)[][];
}

export interface BenchResult {
  bench: string;
  title: string;
  startedAt: string;
  seconds: number;
  quick: boolean;
  tables: Table[];
  checks: Check[];
  notes: string[];
  /** Raw measurements, for whoever wants to redo the statistics. */
  raw: Record<string, unknown>;
}

export function parseBenchArgs(argv: readonly string[] = process.argv.slice(2)): BenchOptions & { rest: Record<string, string | boolean | undefined> } {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      out: { type: 'string', default: 'bench-results' },
      quick: { type: 'boolean', default: false },
      child: { type: 'string' },
      only: { type: 'string' },
      minutes: { type: 'string' },
      'default-only': { type: 'boolean', default: false },
    },
    strict: true,
  });
  const minutes = values.minutes === undefined ? undefined : Number(values.minutes);
  if (minutes !== undefined && !(minutes > 0)) throw new Error(`--minutes: expected a positive number of minutes, got ${JSON.stringify(values.minutes)}`);
  return { out: path.resolve(values.out), quick: values.quick, minutes, defaultOnly: values['default-only'], rest: values };
}

/** True when `url` (import.meta.url) is the script node was started with. */
export const isMain = (url: string): boolean => process.argv[1] !== undefined && pathToFileURL(path.resolve(process.argv[1])).href === url;

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export { median } from './arm-stats.js';

export const round = (x: number, digits = 2): number => Math.round(x * 10 ** digits) / 10 ** digits;

/** An aligned text table: text columns left, numbers right, each number column with one number of decimals. */
export function renderTable(t: Table): string {
  const numeric = t.columns.map((_, i) => t.rows.length > 0 && t.rows.every((r) => typeof r[i] === 'number' || r[i] === null));
  const decimals = t.columns.map((_, i) =>
    Math.max(0, ...t.rows.map((r) => r[i]).filter((v): v is number => typeof v === 'number').map((v) => (String(v).split('.')[1] ?? '').length)),
  );
  const cell = (v: string | number | null, i: number): string =>
    v === null ? '-' : typeof v === 'number' ? v.toLocaleString('en-US', { minimumFractionDigits: decimals[i], maximumFractionDigits: decimals[i] }) : v;
  const text = [t.columns, ...t.rows.map((r) => r.map(cell))];
  const widths = t.columns.map((_, i) => Math.max(...text.map((r) => String(r[i] ?? '').length)));
  const line = (r: (string | number | null)[]): string =>
    r.map((c, i) => (numeric[i] ? String(c).padStart(widths[i]!) : String(c).padEnd(widths[i]!))).join('  ').trimEnd();
  return [`${t.title}`, line(text[0]!), widths.map((w) => '-'.repeat(w)).join('  '), ...text.slice(1).map(line)].join('\n');
}

const figure = (v: number | null): string => (v === null ? '-' : Number.isInteger(v) ? v.toLocaleString('en-US') : String(round(v, 2)));

export const checkRows = (checks: readonly Check[]): (string | number | null)[][] => {
  const width = Math.max(0, ...checks.map((c) => figure(c.value).length));
  return checks.map((c) => [c.figure, figure(c.value).padStart(width), c.unit, c.target, c.pass === null ? 'n/a' : c.pass ? 'PASS' : 'FAIL']);
};

export function printResult(r: BenchResult): void {
  console.log(`\n== ${r.title} (${r.seconds.toFixed(0)} s${r.quick ? ', quick' : ''})`);
  for (const t of r.tables) console.log(`\n${renderTable(t)}`);
  if (r.checks.length) console.log(`\n${renderTable({ title: 'Targets', columns: ['figure', 'value', 'unit', 'target', 'result'], rows: checkRows(r.checks) })}`);
  for (const n of r.notes) console.log(`note: ${n}`);
}

export async function writeResult(out: string, r: BenchResult): Promise<string> {
  await mkdir(out, { recursive: true });
  const file = path.join(out, `${r.bench}.json`);
  await writeFile(file, JSON.stringify(r, null, 2) + '\n');
  return file;
}

/** Runs one benchmark from its own entry point: prints and writes its result; failures set the exit code. */
export async function mainOf(run: (o: BenchOptions) => Promise<BenchResult>): Promise<void> {
  const opts = parseBenchArgs();
  try {
    const r = await run(opts);
    printResult(r);
    console.log(`\nwritten: ${await writeResult(opts.out, r)}`);
    if (r.checks.some((c) => c.pass === false)) process.exitCode = 1;
  } catch (e) {
    console.error(`bench failed: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
    process.exitCode = 2;
  } finally {
    await removeBuildDir();
  }
}

let buildDir: Promise<string> | undefined;

/** A scratch directory on a block device (O_DIRECT needs one; /tmp may be tmpfs elsewhere). */
export const scratchDir = (prefix: string): Promise<string> => mkdtemp(path.join('/var/tmp', `ebpfmon-bench-${prefix}-`));

/** Removes the compiled workloads. */
export async function removeBuildDir(): Promise<void> {
  if (buildDir) await rm(await buildDir, { recursive: true, force: true });
  buildDir = undefined;
}

/** Compiles scripts/bench/workloads/<name>.c to an executable named `as` (its comm); tries -static first if asked. */
export async function compile(name: string, opts: { as?: string; static?: boolean } = {}): Promise<string> {
  buildDir ??= scratchDir('build');
  const out = path.join(await buildDir, opts.as ?? `ebpfb-${name}`);
  const src = path.join(workloadsDir, `${name}.c`);
  if (opts.static) {
    const ok = await execFileP('cc', ['-O2', '-static', '-o', out, src]).then(() => true, () => false);
    if (ok) return out;
  }
  await execFileP('cc', ['-O2', '-o', out, src]);
  return out;
}

/** Runs a program to completion and returns its stdout (throws on a non-zero exit). */
export async function runText(file: string, args: readonly string[], opts: { cpu?: string } = {}): Promise<string> {
  const [cmd, argv] = opts.cpu ? ['taskset', ['-c', opts.cpu, file, ...args]] : [file, [...args]];
  const r = await execFileP(cmd, argv, { maxBuffer: 64 << 20 });
  return r.stdout;
}

export interface Verdicts {
  /** Monitors whose status is ready or fallback, in the order asked. */
  runnable: string[];
  skipped: { monitor: string; status: string; detail: string }[];
}

/** `ebpfmon check --json`: which of `wanted` can run here. */
export async function runnableMonitors(wanted: readonly string[] = allMonitors): Promise<Verdicts> {
  const r = await execFileP('node', [cliPath, 'check', '--json'], { maxBuffer: 8 << 20 }).catch((e: { stdout?: string }) => ({ stdout: e.stdout ?? '' }));
  const doc = JSON.parse(r.stdout) as { monitors?: { monitor: string; status: string; detail: string }[] };
  const by = new Map((doc.monitors ?? []).map((m) => [m.monitor, m]));
  const runnable: string[] = [];
  const skipped: Verdicts['skipped'] = [];
  for (const w of wanted) {
    const v = by.get(w);
    if (v && (v.status === 'ready' || v.status === 'fallback')) runnable.push(w);
    else skipped.push({ monitor: w, status: v?.status ?? 'unknown', detail: v?.detail ?? 'not in `ebpfmon check --json` (monitor does not exist yet?)' });
  }
  return { runnable, skipped };
}

export type LogRecord = Record<string, unknown> & { msg?: string };

export interface RunningEbpfmon {
  proc: ChildProcess;
  pid: number;
  /** ms from spawn to the 'monitors attached' log line (as seen by this process). */
  attached: Promise<{ ms: number; record: LogRecord }>;
  logs: LogRecord[];
  stderr(): string;
  /** SIGTERM (or `signal`), then wait for the exit (SIGKILL after `timeoutMs`). */
  stop(timeoutMs?: number, signal?: NodeJS.Signals): Promise<{ code: number | null; signal: string | null; ms: number }>;
  exited: Promise<{ code: number | null; signal: string | null }>;
}

/** A config for benchmark runs: info logs as JSON on stderr, no console view, CSV into `outDir`. */
export async function benchConfig(dir: string, outDir: string, extra = ''): Promise<string> {
  const file = path.join(dir, 'bench-config.yaml');
  const yaml = [
    'logging:',
    '  level: info',
    'output:',
    `  directory: ${JSON.stringify(outDir)}`,
    '  console: false',
    extra,
  ].join('\n');
  await writeFile(file, yaml + '\n');
  return file;
}

/** Starts `ebpfmon start -c CONFIG ARGS...` and follows its JSON log on stderr. `node`: more node flags (e.g. a
 * preload) and environment for the supervisor. */
export function startEbpfmon(config: string, args: readonly string[], node: { flags?: readonly string[]; env?: Readonly<Record<string, string>> } = {}): RunningEbpfmon {
  const t0 = performance.now();
  const proc = spawn(process.execPath, [...cliNodeFlags, ...(node.flags ?? []), cliPath, 'start', '-c', config, ...args], {
    stdio: ['ignore', 'ignore', 'pipe'],
    env: { ...process.env, ...node.env },
  });
  const logs: LogRecord[] = [];
  let err = '';
  let partial = '';
  let onAttached: ((v: { ms: number; record: LogRecord }) => void) | undefined;
  let onEarlyExit: ((e: Error) => void) | undefined;
  const attached = new Promise<{ ms: number; record: LogRecord }>((resolve, reject) => {
    onAttached = resolve;
    onEarlyExit = reject;
  });
  proc.stderr?.on('data', (chunk: Buffer) => {
    const s = chunk.toString();
    err += s;
    partial += s;
    const lines = partial.split('\n');
    partial = lines.pop() ?? '';
    for (const line of lines) {
      let rec: LogRecord;
      try {
        rec = JSON.parse(line) as LogRecord;
      } catch {
        continue;
      }
      logs.push(rec);
      if (rec.msg === 'monitors attached') onAttached?.({ ms: performance.now() - t0, record: rec });
    }
  });
  const exited = new Promise<{ code: number | null; signal: string | null }>((resolve) =>
    proc.on('exit', (code, signal) => {
      onEarlyExit?.(new Error(`ebpfmon exited (code ${code}, signal ${signal}) before 'monitors attached'; stderr:\n${err.slice(-3000)}`));
      resolve({ code, signal });
    }),
  );
  return {
    proc,
    pid: proc.pid ?? -1,
    attached,
    logs,
    stderr: () => err,
    exited,
    async stop(timeoutMs = 60_000, signal: NodeJS.Signals = 'SIGTERM') {
      const t = performance.now();
      if (proc.exitCode === null && proc.signalCode === null) proc.kill(signal);
      const timer = setTimeout(() => proc.kill('SIGKILL'), timeoutMs);
      const r = await exited;
      clearTimeout(timer);
      return { ...r, ms: performance.now() - t };
    },
  };
}

/** Sum of `lost` over 'bpftrace lost events' log lines. */
export const lostEvents = (logs: readonly LogRecord[]): number =>
  logs.filter((l) => l.msg === 'bpftrace lost events').reduce((s, l) => s + (typeof l['lost'] === 'number' ? l['lost'] : 0), 0);

/** Every descendant of `pid` (children, their children ...), from /proc/<pid>/stat. */
export async function descendants(pid: number): Promise<number[]> {
  const parent = new Map<number, number>();
  for (const e of await readdir('/proc')) {
    if (!/^\d+$/.test(e)) continue;
    const stat = await readFile(`/proc/${e}/stat`, 'utf8').catch(() => '');
    // pid (comm) state ppid ...: comm may hold spaces and parentheses, so read after the last ')'.
    const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
    if (Number.isFinite(ppid)) parent.set(Number(e), ppid);
  }
  const out: number[] = [];
  const walk = (p: number): void => {
    for (const [child, pp] of parent) {
      if (pp === p) {
        out.push(child);
        walk(child);
      }
    }
  };
  walk(pid);
  return out;
}

export const commOf = (pid: number): Promise<string> => readFile(`/proc/${pid}/comm`, 'utf8').then((s) => s.trim(), () => '');

/** bpftrace itself, or bpftrace-aotrt running a script compiled ahead of time. */
const isBpftrace = (comm: string): boolean => comm === 'bpftrace' || comm === 'bpftrace-aotrt';

/** The bpftrace processes under an ebpfmon supervisor. */
export async function bpftracePids(supervisor: number): Promise<number[]> {
  const out: number[] = [];
  for (const p of await descendants(supervisor)) if (isBpftrace(await commOf(p))) out.push(p);
  return out;
}

/** VmRSS and its parts (KiB; 0 when the process is gone): anonymous memory, and file-backed pages (program and
 * library code, reclaimable). VmRSS is read as ebpfmon's status reads it; the split is the benchmark's own. */
export async function rssKb(pid: number): Promise<{ rss: number; anon: number; file: number }> {
  const s = await readFile(`/proc/${pid}/status`, 'utf8').catch(() => '');
  const field = (name: string): number => Number(new RegExp(`^${name}:\\s+(\\d+)`, 'm').exec(s)?.[1] ?? 0);
  return { rss: (parseVmRss(s) ?? 0) / 1024, anon: field('RssAnon'), file: field('RssFile') };
}

/** BPF program types by number (include/uapi/linux/bpf.h), for the ones bpftrace loads. */
const progTypes: Record<string, string> = { '1': 'socket_filter', '2': 'kprobe', '5': 'tracepoint', '7': 'perf_event', '17': 'raw_tracepoint', '26': 'tracing' };

/** User + system CPU seconds of these processes so far, summed (a process gone counts 0). */
export async function cpuSecondsOf(pids: readonly number[]): Promise<number> {
  let s = 0;
  for (const p of pids) s += (await processUsage(p))?.cpuSeconds ?? 0;
  return s;
}

export interface ProgStat {
  fd: number;
  /** The kernel's program id (stable for the program's life; names come from it, see progNames). */
  id: number;
  type: string;
  runTimeNs: number;
  runCount: number;
}

/**
 * Every BPF program `pid` holds, with the kernel's run statistics (zero unless kernel.bpf_stats_enabled=1): the
 * same fdinfo ebpfmon's self_stats reads (`parseProgFdinfo`), per program rather than summed, with its id and type.
 */
export async function progStats(pid: number): Promise<ProgStat[]> {
  const fds = await readdir(`/proc/${pid}/fd`).catch(() => [] as string[]);
  const out: ProgStat[] = [];
  for (const fd of fds) {
    if ((await readlink(`/proc/${pid}/fd/${fd}`).catch(() => '')) !== 'anon_inode:bpf-prog') continue;
    const text = await readFile(`/proc/${pid}/fdinfo/${fd}`, 'utf8').catch(() => '');
    const cost = parseProgFdinfo(text);
    if (!cost) continue;
    const get = (k: string): string => new RegExp(`^${k}:\\s*(\\S+)`, 'm').exec(text)?.[1] ?? '';
    out.push({ fd: Number(fd), id: Number(get('prog_id')), type: progTypes[get('prog_type')] ?? get('prog_type'), runTimeNs: cost.runTimeNs, runCount: cost.runCount });
  }
  return out;
}

/**
 * Runs `fn` with kernel.bpf_stats_enabled=1 (ebpfmon's own enableBpfStats: restored after, and at exit).
 * `ensure` turns it back on if another process (a concurrent ebpfmon restoring its own setting) switched it off,
 * and says whether it was still on.
 */
export async function withBpfStats<T>(fn: (ensure: () => Promise<boolean>) => Promise<T>): Promise<T> {
  const stats = await enableBpfStats();
  const ensure = async (): Promise<boolean> => {
    if ((await readFile(bpfStatsSysctl, 'utf8')).trim() !== '0') return true;
    await writeFile(bpfStatsSysctl, '1');
    return false;
  };
  try {
    return await fn(ensure);
  } finally {
    await stats.restore().catch(() => undefined);
  }
}

/** Other bpftrace processes on the machine (concurrent tests): noise worth reporting. */
export async function foreignBpftrace(): Promise<number> {
  let n = 0;
  for (const e of await readdir('/proc')) if (/^\d+$/.test(e) && isBpftrace(await commOf(Number(e)))) n++;
  return n;
}

export const loadAvg = (): string => os.loadavg().map((x) => x.toFixed(2)).join(' ');

export const isRoot = (): boolean => process.getuid?.() === 0;

export const haveBpftrace = (): boolean => ['/usr/bin/bpftrace', '/usr/sbin/bpftrace', '/usr/local/bin/bpftrace'].some((p) => existsSync(p));

/** A result for a benchmark that could not run here. */
export function skipped(bench: string, title: string, why: string, quick: boolean): BenchResult {
  return { bench, title, startedAt: new Date().toISOString(), seconds: 0, quick, tables: [], checks: [], notes: [`skipped: ${why}`], raw: {} };
}
