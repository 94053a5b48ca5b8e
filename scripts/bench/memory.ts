// Memory and start-up of `ebpfmon start` at its defaults (issue #26, goals 3 and 4): the packaged config
// (config/monitor_config.yaml: every monitor it enables) with exec's max_args 0 (so that on bpftrace 0.17 exec runs
// ahead of time too). Per run, --seconds after 'monitors attached' on an idle host: the supervisor's RSS (anonymous
// and file-backed), its own view (memory-probe.ts, preloaded: heap per V8 space, external, array buffers, code and
// bytecode), and each bpftrace process's RSS. Start-up: from spawning node to 'monitors attached', split into node's
// boot, the time before ebpfmon's first child process (module load and config), the detection commands (count and
// time), the wait for bpftrace, and the time to attach; plus the module load alone, timed in a fresh node.
// One more start per arm with the loader hook gives the modules `start` loads (its RSS is not reported).
//   node dist/scripts/bench/memory.js [--seconds 35] [--runs 3] [--arm 'NAME|MAIN_JS[|NODE FLAGS]']... [--out DIR]
// Arms compare builds or node flags, interleaved (run i of every arm before run i+1): MAIN_JS is a built
// dist/src/cli/main.js ('' is this checkout); without a third field node gets the flags of MAIN_JS's shebang, as
// ebpfmon runs; with one (even empty), exactly those flags. Works under scripts/bench/in-chroot.sh SUITE memory.
// --flood S: then, per arm, S seconds of the worst case at the default map sizes (every shard of open full each
// interval): the supervisor must stay up; its peak RSS. `--runs 0 --flood S` runs only that.
import { execFile, execFileSync, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { parseArgs, promisify } from 'node:util';
import { pathToFileURL } from 'node:url';
import type { MemoryProbeReport, SpawnRecord } from './memory-probe.js';
import { modulesByOrigin, probeReport } from './footprint.js';
import {
  bpftracePids, cliPath, commOf, haveBpftrace, isMain, isRoot, median, printResult, removeBuildDir, repoRoot, round, rssKb, scratchDir, skipped, sleep, writeResult,
  type BenchOptions, type BenchResult, type LogRecord,
} from './common.js';

const execFileP = promisify(execFile);
const probeUrl = pathToFileURL(new URL('./memory-probe.js', import.meta.url).pathname).href;

export interface Arm {
  name: string;
  cli: string;
  /** Node flags: the shebang's of `cli` when not given. */
  flags: string[];
}

/** The node flags of a CLI's shebang (`#!/usr/bin/env -S node FLAGS`). */
export function shebangFlags(firstLine: string): string[] {
  return /^#!.*\bnode\b(.*)$/.exec(firstLine)?.[1]?.trim().split(/\s+/).filter(Boolean) ?? [];
}

/** `NAME|MAIN_JS[|FLAGS]` -> an arm; MAIN_JS '' is this checkout's CLI. */
export function parseArm(spec: string, readFirstLine: (file: string) => string): Arm {
  const [name, cli, flags] = spec.split('|');
  if (!name) throw new Error(`--arm ${JSON.stringify(spec)}: expected NAME|MAIN_JS[|NODE FLAGS]`);
  const file = cli ? path.resolve(cli) : cliPath;
  return { name, cli: file, flags: flags === undefined ? shebangFlags(readFirstLine(file)) : flags.split(/\s+/).filter(Boolean) };
}

const firstLine = (file: string): string => readFileSync(file, 'utf8').split('\n', 1)[0] ?? '';

interface Run {
  arm: string;
  attachMs: number;
  supervisor: { rss: number; anon: number; file: number };
  bpftrace: { comm: string; rss: number }[];
  probe: MemoryProbeReport | null;
  logs: LogRecord[];
}

/** The packaged config with exec's arguments off, so every default monitor runs ahead of time on bpftrace 0.17. */
async function defaultsConfig(dir: string): Promise<string> {
  const text = await readFile(path.join(repoRoot, 'config/monitor_config.yaml'), 'utf8');
  const edited = text.replace(/^( {4})# max_args: 16( +)/m, '$1max_args: 0 $2');
  if (edited === text) throw new Error('config/monitor_config.yaml: no "# max_args: 16" line under exec to set to 0');
  const file = path.join(dir, 'memory-config.yaml');
  await writeFile(file, edited);
  return file;
}

/** Starts one supervisor with the probe; resolves at 'monitors attached' (ms since spawn) and follows its log. */
function startArm(arm: Arm, config: string, outDir: string, env: Record<string, string>) {
  const t0 = performance.now();
  const proc = spawn(process.execPath, [...arm.flags, '--import', probeUrl, arm.cli, 'start', '-c', config, '-o', outDir, '--log-level', 'debug'], {
    stdio: ['ignore', 'ignore', 'pipe'],
    env: { ...process.env, ...env },
  });
  const logs: LogRecord[] = [];
  let partial = '';
  let err = '';
  const attached = new Promise<number>((resolve, reject) => {
    proc.stderr.on('data', (chunk: Buffer) => {
      err += chunk.toString();
      partial += chunk.toString();
      const lines = partial.split('\n');
      partial = lines.pop() ?? '';
      for (const line of lines) {
        try {
          const rec = JSON.parse(line) as LogRecord;
          logs.push(rec);
          if (rec.msg === 'monitors attached') resolve(performance.now() - t0);
        } catch {
          // not a log line
        }
      }
    });
    proc.on('exit', (code, signal) => reject(new Error(`ebpfmon (${arm.name}) exited (code ${code}, signal ${signal}) before attaching:\n${err.slice(-2000)}`)));
  });
  const exited = new Promise<void>((resolve) => proc.on('exit', () => resolve()));
  const stop = async (): Promise<void> => {
    if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGTERM');
    const t = setTimeout(() => proc.kill('SIGKILL'), 60_000);
    await exited;
    clearTimeout(t);
  };
  return { pid: proc.pid ?? -1, attached, logs, stop, stderr: (): string => err };
}


const mib = (kb: number): number => round(kb / 1024, 1);
/** A bpftrace that runs a monitor's script (under setpriv), not a detection or compile command. */
export const isRuntime = (s: Pick<SpawnRecord, 'command' | 'args'>): boolean => {
  const argv = [s.command, ...s.args];
  const at = argv.findIndex((a) => /(^|\/)bpftrace(-aotrt)?$/.test(a));
  return at >= 0 && argv.slice(at + 1).includes('-f') && !argv.includes('--aot') && !argv.includes('-l') && !argv.includes('--dry-run');
};

/** Start-up parts of one run, ms since node started (the probe's clock; log times are converted to it). */
export function startupParts(p: MemoryProbeReport, logs: readonly LogRecord[]): {
  boot: number; firstSpawn: number | null; detectSpawns: number; detectSerialMs: number; detectSpanMs: number; runtimeSpawn: number | null; attached: number | null;
} {
  const at = (msg: string): number | null => {
    const r = logs.find((l) => l.msg === msg);
    return typeof r?.['time'] === 'string' ? Date.parse(r['time']) - p.timeOrigin : null;
  };
  const runtime = p.spawns.find(isRuntime);
  const detect = p.spawns.filter((s) => !isRuntime(s) && (runtime === undefined || s.startMs < runtime.startMs));
  const ends = detect.map((s) => s.endMs ?? s.startMs);
  return {
    boot: p.bootMs,
    firstSpawn: p.spawns[0]?.startMs ?? null,
    detectSpawns: detect.length,
    detectSerialMs: detect.reduce((sum, s) => sum + ((s.endMs ?? s.startMs) - s.startMs), 0),
    detectSpanMs: detect.length ? Math.max(...ends) - detect[0]!.startMs : 0,
    runtimeSpawn: runtime?.startMs ?? null,
    attached: at('monitors attached'),
  };
}

/** ms to import what `start` needs, in a fresh node with the arm's flags (the program, then the start action). */
async function moduleLoadMs(arm: Arm): Promise<number> {
  const dir = pathToFileURL(path.dirname(arm.cli)).href;
  const code = `const t = performance.now(); for (const p of ['zod', 'yaml', 'pino']) await import(p); await import('${dir}/program.js'); await import('${dir}/commands/start-action.js'); console.log(performance.now() - t);`;
  const { stdout } = await execFileP(process.execPath, [...arm.flags, '--input-type=module', '-e', code], { cwd: path.dirname(arm.cli) });
  return Number(stdout.trim());
}

/** The open flood: `procs` processes (every pid & 7 shard gets some) each opening distinct missing paths as fast as
 * they can, so that every shard of open's per-process maps is full each interval: at the default map sizes the
 * most rows one interval can bring (8 shards x 4096 keys, paths up to BPFTRACE_STRLEN). Python, as in every suite. */
const floodCode = `import os, sys, time
end = time.monotonic() + float(sys.argv[1])
pad = 'x' * 120
n = 0
while time.monotonic() < end:
    n += 1
    try:
        os.close(os.open('/nonexistent-ebpfmon-flood/%s/%d/%d' % (pad, os.getpid(), n), os.O_RDONLY))
    except OSError:
        pass
`;

interface FloodRun {
  arm: string;
  peakSupervisorKb: number;
  heapUsedAtEndMb: number | null;
  openRows: number | null;
  alive: boolean;
  fatal: string | null;
  /** Supervisor RSS (KiB) every 5 s from the flood's start, to tell a plateau from growth. */
  trace: number[];
}

/** Starts each arm, floods opens for `seconds`, samples the supervisor's RSS every 250 ms; rows from the stop log. */
async function flood(arms: readonly Arm[], config: string, work: string, seconds: number, procs = 16): Promise<FloodRun[]> {
  const out: FloodRun[] = [];
  for (const arm of arms) {
    const probeOut = path.join(work, `probe-${arm.name}-flood.json`);
    const mon = startArm(arm, config, path.join(work, `out-${arm.name}-flood`), { EBPFMON_MEMORY_OUT: probeOut });
    let peak = 0;
    let heap: number | null = null;
    let alive = true;
    const trace: number[] = [];
    try {
      await mon.attached;
      const kids = Array.from({ length: procs }, () => spawn('python3', ['-c', floodCode, String(seconds)], { stdio: 'ignore' }));
      const done = Promise.all(kids.map((k) => new Promise<void>((resolve) => k.on('exit', () => resolve()))));
      let running = true;
      void done.then(() => (running = false));
      const t0 = performance.now();
      while (running) {
        const r = (await rssKb(mon.pid)).rss;
        peak = Math.max(peak, r);
        if (performance.now() - t0 >= trace.length * 5000) trace.push(r);
        await sleep(250);
      }
      // Two more intervals: the last flooded ones are written.
      for (let i = 0; i < 20; i++) {
        peak = Math.max(peak, (await rssKb(mon.pid)).rss);
        await sleep(250);
      }
      const p = await probeReport<MemoryProbeReport>(mon.pid, probeOut).catch(() => null);
      heap = p ? round(p.memory.heapUsed / 2 ** 20, 1) : null;
      alive = p !== null;
    } finally {
      await mon.stop();
    }
    const rows = mon.logs.map((l) => l['rows']).find((r): r is Record<string, number> => typeof r === 'object' && r !== null);
    const logged = mon.logs.find((l) => typeof l['level'] === 'number' && l['level'] >= 50);
    // V8's own death ("Reached heap limit", "JavaScript heap out of memory") is not a log line.
    const died = mon.stderr().split('\n').find((l) => /heap limit|out of memory/i.test(l));
    const fatal = logged ? String(logged.msg) : (died?.trim().slice(0, 120) ?? null);
    out.push({ arm: arm.name, peakSupervisorKb: peak, heapUsedAtEndMb: heap, openRows: rows?.['open'] ?? null, alive, fatal, trace });
    process.stderr.write(`memory flood (${arm.name}): peak supervisor ${mib(peak)} MiB (every 5 s: ${trace.map(mib).join(' ')}), open rows ${rows?.['open'] ?? '?'}, ${alive ? 'alive' : `DEAD: ${fatal ?? '?'}`}\n`);
  }
  return out;
}

export async function runMemory(o: BenchOptions & { seconds?: number; runs?: number; arms?: Arm[]; modules?: boolean; flood?: number }): Promise<BenchResult> {
  const version = haveBpftrace() ? execFileSync('bpftrace', ['--version'], { encoding: 'utf8' }).trim() : '';
  const seconds = o.seconds ?? (o.quick ? 15 : 35);
  const runsWanted = o.runs ?? (o.quick ? 2 : 3);
  const floodSeconds = o.flood ?? 0;
  const arms = o.arms ?? [parseArm('current|', firstLine)];
  const title = `Memory and start-up of \`ebpfmon start\` at its defaults (exec max_args 0) under ${version}, ${seconds} s after attaching`;
  if (!isRoot() || !haveBpftrace()) return skipped('memory', title, 'needs root and bpftrace', o.quick);
  const started = Date.now();
  const work = await scratchDir('memory');
  const runs: Run[] = [];
  const modules = new Map<string, string[]>();
  const loadMs = new Map<string, number[]>();
  let floods: FloodRun[] = [];
  try {
    const config = await defaultsConfig(work);
    // A first start per arm fills the AOT cache (and the page cache): runs measure a cached start, as at boot.
    for (const arm of arms) {
      const warm = startArm(arm, config, path.join(work, 'out-warm'), {});
      await warm.attached.finally(() => warm.stop());
    }
    for (let i = 0; i < runsWanted; i++) {
      for (const arm of arms) {
        const probeOut = path.join(work, `probe-${arm.name}-${i}.json`);
        const mon = startArm(arm, config, path.join(work, `out-${arm.name}-${i}`), { EBPFMON_MEMORY_OUT: probeOut });
        try {
          const attachMs = await mon.attached;
          await sleep(seconds * 1000);
          const pids = await bpftracePids(mon.pid);
          const supervisor = await rssKb(mon.pid);
          const bpftrace = await Promise.all(pids.map(async (p) => ({ comm: await commOf(p), rss: (await rssKb(p)).rss })));
          const probe = await probeReport<MemoryProbeReport>(mon.pid, probeOut);
          runs.push({ arm: arm.name, attachMs, supervisor, bpftrace, probe, logs: mon.logs });
          process.stderr.write(`memory (${arm.name}) run ${i + 1}/${runsWanted}: attached in ${Math.round(attachMs)} ms; supervisor ${mib(supervisor.rss)} MiB, bpftrace ${bpftrace.map((b) => mib(b.rss)).join(' + ')} MiB\n`);
        } finally {
          await mon.stop();
        }
        loadMs.set(arm.name, [...(loadMs.get(arm.name) ?? []), await moduleLoadMs(arm)]);
      }
    }
    if (o.modules !== false) {
      for (const arm of arms) {
        const probeOut = path.join(work, `probe-${arm.name}-modules.json`);
        const mon = startArm(arm, config, path.join(work, 'out-modules'), { EBPFMON_MEMORY_OUT: probeOut, EBPFMON_MEMORY_MODULES: '1' });
        try {
          await mon.attached;
          modules.set(arm.name, (await probeReport<MemoryProbeReport>(mon.pid, probeOut))?.modules ?? []);
        } finally {
          await mon.stop();
        }
      }
    }
    if (floodSeconds > 0) floods = await flood(arms, config, work, floodSeconds);
  } finally {
    await rm(work, { recursive: true, force: true });
  }

  const med = (xs: (number | null | undefined)[]): number | null => {
    const v = xs.filter((x): x is number => typeof x === 'number');
    return v.length ? median(v) : null;
  };
  const spaceNames = [...new Set(runs.flatMap((r) => r.probe?.spaces.map((s) => s.name) ?? []))];
  const memRows = runs.map((r, i) => {
    const m = r.probe?.memory;
    const kb = (n: number | undefined): number | null => (n === undefined ? null : round(n / 2 ** 20, 1));
    return [
      r.arm, Math.floor(i / arms.length) + 1, mib(r.supervisor.rss), mib(r.supervisor.anon), mib(r.supervisor.file),
      kb(m?.heapTotal), kb(m?.heapUsed), kb(m?.external), kb(m?.arrayBuffers),
      r.probe ? mib(r.probe.code.codeKb + r.probe.code.bytecodeKb) : null, r.probe ? mib(r.probe.heap.mallocedKb) : null,
      r.bpftrace.map((b) => `${b.comm} ${mib(b.rss)}`).join(', '), mib(r.supervisor.rss + r.bpftrace.reduce((s, b) => s + b.rss, 0)),
    ];
  });
  const spaceRows = arms.flatMap((a) => {
    const rs = runs.filter((r) => r.arm === a.name);
    return spaceNames.map((n) => {
      const of = (f: 'sizeKb' | 'usedKb'): number | null => med(rs.map((r) => r.probe?.spaces.find((s) => s.name === n)?.[f]));
      const size = of('sizeKb');
      const used = of('usedKb');
      return [a.name, n, size === null ? null : mib(size), used === null ? null : mib(used)];
    });
  });
  const startRows = arms.filter((a) => runs.some((r) => r.arm === a.name)).map((a) => {
    const rs = runs.filter((r) => r.arm === a.name);
    const parts = rs.map((r) => (r.probe ? startupParts(r.probe, r.logs) : null));
    const m = (f: (p: ReturnType<typeof startupParts>) => number | null): number | null => {
      const v = med(parts.map((p) => (p ? f(p) : null)));
      return v === null ? null : Math.round(v);
    };
    return [
      a.name, Math.round(median(rs.map((r) => r.attachMs))), m((p) => p.boot), Math.round(median(loadMs.get(a.name) ?? [0])), m((p) => p.firstSpawn), m((p) => p.detectSpawns),
      m((p) => p.detectSerialMs), m((p) => p.detectSpanMs), m((p) => p.runtimeSpawn), m((p) => p.attached),
      m((p) => (p.attached !== null && p.runtimeSpawn !== null ? p.attached - p.runtimeSpawn : null)),
    ];
  });
  // The detection commands of the first run of each arm, for whoever restructures detection.
  const spawnRows = arms.flatMap((a) => {
    const p = runs.find((r) => r.arm === a.name)?.probe;
    return (p?.spawns ?? []).map((s) => [a.name, `${path.basename(s.command)} ${s.args.join(' ')}`.slice(0, 90), Math.round(s.startMs), s.endMs === null ? null : Math.round(s.endMs - s.startMs)]);
  });
  const totalOf = (r: Run): number => mib(r.supervisor.rss + r.bpftrace.reduce((s, b) => s + b.rss, 0));
  const first = arms[0]!.name;
  const own = runs.filter((r) => r.arm === first);
  const idleTables: BenchResult['tables'] = [
    {
      title: `Memory per run, MiB (supervisor: RSS = anon + file; heap, external, array buffers, code + bytecode, malloced: the supervisor's own view)`,
      columns: ['arm', 'run', 'supervisor RSS', 'anon', 'file', 'heap total', 'heap used', 'external', 'array buffers', 'code', 'malloced', 'bpftrace RSS', 'total RSS'],
      rows: memRows,
    },
    { title: 'V8 heap spaces (median over runs), MiB', columns: ['arm', 'space', 'size', 'used'], rows: spaceRows },
    {
      title: 'Start to attached (median over runs), ms; boot, first spawn, runtime spawn and attached: since node started',
      columns: ['arm', 'spawn -> attached', 'node boot', 'module load (fresh node)', 'first spawn', 'detection spawns', 'their time summed', 'their span', 'bpftrace spawned', 'attached', 'bpftrace spawn -> attached'],
      rows: startRows,
    },
    { title: 'Child processes of one start (first run), ms since node started', columns: ['arm', 'command', 'at', 'took'], rows: spawnRows },
  ];
  return {
    bench: 'memory',
    title,
    startedAt: new Date(started).toISOString(),
    seconds: (Date.now() - started) / 1000,
    quick: o.quick,
    tables: [
      ...(runs.length ? idleTables : []),
      ...(floods.length
        ? [{
          title: `Worst case at the default map sizes: ${floodSeconds} s of 16 processes opening distinct paths (every open shard full each interval)`,
          columns: ['arm', 'peak supervisor RSS MiB', 'RSS every 5 s', 'heap used after MiB', 'open rows', 'rows per 2-s interval', 'alive', 'error'],
          rows: floods.map((f) => [f.arm, mib(f.peakSupervisorKb), f.trace.map(mib).join(' '), f.heapUsedAtEndMb, f.openRows, f.openRows === null ? null : Math.round(f.openRows / (floodSeconds / 2)), f.alive ? 'yes' : 'NO', f.fatal ?? '']),
        }]
        : []),
      ...[...modules].map(([arm, urls]) => ({ title: `Modules start loads (${arm}): ${urls.length}`, columns: ['from', 'modules'], rows: modulesByOrigin(urls) })),
    ],
    checks: [
      ...floods.map((f) => ({ figure: `memory (${f.arm}): supervisor survives the open flood`, value: mib(f.peakSupervisorKb), unit: 'MiB peak', target: 'alive, no error', pass: f.alive && f.fatal === null })),
      { figure: `memory (${first}): total RSS, supervisor + bpftrace, median`, value: own.length ? median(own.map(totalOf)) : null, unit: 'MiB', target: '<= 64 MB (61 MiB)', pass: own.length ? median(own.map(totalOf)) <= 61 : null },
      { figure: `memory (${first}): supervisor RSS, median`, value: own.length ? median(own.map((r) => mib(r.supervisor.rss))) : null, unit: 'MiB', target: 'reference', pass: null },
      { figure: `memory (${first}): start to attached, median`, value: own.length ? round(median(own.map((r) => r.attachMs)) / 1000, 2) : null, unit: 's', target: '<= 1 s', pass: own.length ? median(own.map((r) => r.attachMs)) <= 1000 : null },
    ],
    notes: [
      `${runsWanted} runs per arm, interleaved; one warm-up start per arm first (fills the AOT cache). The host is shared: compare arms within one run.`,
      'The supervisor runs with a preloaded probe (memory-probe.ts: a spawn wrapper and a SIGUSR2 handler); its own cost is small but counted.',
    ],
    raw: { arms, floods, runs: runs.map((r) => ({ ...r, logs: undefined })), loadMs: Object.fromEntries(loadMs), modules: Object.fromEntries(modules) },
  };
}

if (isMain(import.meta.url)) {
  const { values } = parseArgs({
    options: {
      out: { type: 'string', default: 'bench-results' },
      quick: { type: 'boolean', default: false },
      seconds: { type: 'string' },
      runs: { type: 'string' },
      arm: { type: 'string', multiple: true },
      'no-modules': { type: 'boolean', default: false },
      flood: { type: 'string' },
    },
    strict: true,
  });
  const num = (s: string | undefined, what: string): number | undefined => {
    if (s === undefined) return undefined;
    const n = Number(s);
    if (!(n >= 0)) throw new Error(`--${what}: expected a positive number, got ${JSON.stringify(s)}`);
    return n;
  };
  try {
    const r = await runMemory({
      out: path.resolve(values.out),
      quick: values.quick,
      seconds: num(values.seconds, 'seconds'),
      runs: num(values.runs, 'runs'),
      ...(values.arm ? { arms: values.arm.map((a) => parseArm(a, firstLine)) } : {}),
      modules: !values['no-modules'],
      flood: num(values.flood, 'flood'),
    });
    printResult(r);
    console.log(`\nwritten: ${await writeResult(path.resolve(values.out), r)}`);
  } catch (e) {
    console.error(`bench failed: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
    process.exitCode = 2;
  } finally {
    await removeBuildDir();
  }
}
