// The tracers of the overhead benchmarks' F and S arms, built from ebpfmon's own code rather than from its
// printed text: `prepare()` gives the scripts `ebpfmon generate` prints (with the environment each runs with),
// each monitor's `generate()` fragment gives the attach points, and the scripts are compiled and run by the
// runtime ebpfmon chooses (`compileAot`: `bpftrace --aot`, then `bpftrace-aotrt -f json`; bpftrace itself where
// the plan says the process cannot run ahead of time). Also: bpftrace for hand-written programs (per-event
// bench), and the names of BPF programs by id.
import { spawn } from 'node:child_process';
import { open, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { prepare } from '../../src/script/prepare.js';
import { fragmentOf, stopProbeAttach } from '../../src/script/compose.js';
import { compileAot, jitRunner, type Runner } from '../../src/process/aot.js';
import { setprivPath, spawnEnv } from '../../src/process/bpftrace.js';
import { floorText, processLabel, type ProgSample } from './arm-stats.js';
import { compile, progStats, runText, sleep } from './common.js';

/** One bpftrace process of an arm. */
export interface TracerSpec {
  /** ebpfmon's process id: `main`, `paths`, or a monitor's name (shared_process: false). */
  id: string;
  text: string;
  /** The environment ebpfmon runs (and compiles) this process's script with. */
  env: Record<string, string>;
  /** The plan runs it ahead of time (bpftrace-aotrt), else in bpftrace. */
  aheadOfTime: boolean;
  /** Every attach point of its probes, the stop probe's included, once per probe that attaches there. */
  attach: string[];
}

export interface ArmScripts {
  /** S: the generated scripts, one per bpftrace process. */
  bare: TracerSpec[];
  /** F: per process of S, one `@n = count();` probe per attach point. */
  floor: TracerSpec[];
  bpftrace: string;
  aotrt: string | null;
}

/** The scripts `ebpfmon generate -c CONFIG -m MONITORS` prints, and the floor of each. */
export async function armScripts(config: string, monitors: readonly string[]): Promise<ArmScripts> {
  const p = await prepare({ config, monitors: monitors.join(','), mount: false });
  if (!p.caps.bpftrace.path) throw new Error(p.caps.bpftrace.detail);
  const bare = p.plan.processes.map((proc, i): TracerSpec => {
    const s = p.scripts[i]!;
    if (s.id !== proc.id) throw new Error(`script ${s.id} is not process ${proc.id}`);
    // Every program B loads runs on every event of its tracepoint, so a tracepoint attached twice is floored twice.
    const attach = [...proc.monitors.flatMap((m) => fragmentOf(m).probes.flatMap((pr) => pr.attach)), stopProbeAttach];
    return { id: proc.id, text: s.text, env: s.env, aheadOfTime: proc.aheadOfTime, attach };
  });
  if (!bare.length) throw new Error(`no script for ${monitors.join(',')}: ${p.plan.verdicts.map((v) => `${v.monitor} ${v.status}`).join(', ')}`);
  const floor = bare.map((b) => ({ ...b, text: floorText(b.attach) }));
  return { bare, floor, bpftrace: p.caps.bpftrace.path, aotrt: p.caps.bpftrace.aotrt ?? null };
}

export interface CompiledTracer {
  id: string;
  runner: Runner;
  env: Record<string, string>;
  /** The script has ebpfmon's stop probe: stopped as ebpfmon stops it (END runs), else SIGTERM. */
  graceful: boolean;
}

/** Writes `spec`'s script into `dir` as `<prefix>-<id>.bt` and compiles it as ebpfmon would. */
export async function compileTracer(spec: TracerSpec, prefix: string, dir: string, tools: { bpftrace: string; aotrt: string | null }, graceful: boolean): Promise<CompiledTracer> {
  const script = path.join(dir, `${prefix}-${spec.id}.bt`);
  await writeFile(script, spec.text);
  const base = { id: spec.id, env: spec.env, graceful };
  if (!tools.aotrt || !spec.aheadOfTime) return { ...base, runner: jitRunner(tools.bpftrace, script, 0, graceful) };
  const c = await compileAot({ bpftrace: tools.bpftrace, aotrt: tools.aotrt, script, out: path.join(dir, `${prefix}-${spec.id}.aot`), env: spec.env, timeoutMs: 120_000 });
  if ('refused' in c) throw new Error(`bpftrace --aot refused ${script}: ${c.refused}`);
  return { ...base, runner: c.runner };
}

export interface Tracer {
  pid: number;
  /** ms from spawn to the first printf line (BEGIN: every probe attached). */
  attachMs: number;
  stop(): Promise<void>;
}

/**
 * Runs a compiled tracer with its stdout in `outFile` (nobody reads it while the workload runs, as with
 * /dev/null, but it shows when BEGIN printed: every probe attached). Started through setpriv --pdeathsig KILL
 * as ebpfmon starts bpftrace, so no tracer outlives the benchmark.
 */
export async function startTracer(t: Pick<CompiledTracer, 'runner' | 'env' | 'graceful'>, outFile: string): Promise<Tracer> {
  const t0 = performance.now();
  const fh = await open(outFile, 'w');
  const [file, args] = setprivPath ? [setprivPath, ['--pdeathsig', 'KILL', '--', t.runner.command, ...t.runner.args]] : [t.runner.command, [...t.runner.args]];
  const proc = spawn(file, args, { stdio: ['ignore', fh.fd, 'pipe'], env: { ...process.env, ...spawnEnv(t.env, process.env) } });
  await fh.close();
  let err = '';
  proc.stderr?.on('data', (c: Buffer) => (err += c.toString()));
  let gone = false;
  const exited = new Promise<void>((resolve) =>
    proc.on('exit', () => {
      gone = true;
      resolve();
    }),
  );
  const what = `${path.basename(t.runner.command)} ${t.runner.args.join(' ')}`;
  for (;;) {
    const text = await readFile(outFile, 'utf8').catch(() => '');
    if (text.includes('"type": "printf"')) break;
    if (gone) throw new Error(`${what} exited before attaching: ${err.slice(-2000)}`);
    if (performance.now() - t0 > 120_000) {
      proc.kill('SIGKILL');
      await exited;
      throw new Error(`${what} did not attach within 120 s: ${err.slice(-2000)}`);
    }
    await sleep(50);
  }
  const attachMs = performance.now() - t0;
  return {
    pid: proc.pid!,
    attachMs,
    stop: async () => {
      if (gone) return;
      if (t.graceful && t.runner.stop) t.runner.stop(proc.pid!);
      else proc.kill('SIGTERM');
      const timer = setTimeout(() => proc.kill('SIGKILL'), 15_000);
      await exited;
      clearTimeout(timer);
    },
  };
}

/** bpftrace -f json on a hand-written program (`-e TEXT` or a file), resolved once attached. */
export const startBpftrace = (args: readonly string[], outFile: string): Promise<Tracer> =>
  startTracer({ runner: { mode: 'jit', command: 'bpftrace', args: ['-f', 'json', ...args], mapCapacity: 0 }, env: {}, graceful: false }, outFile);

/** The command line of a process (empty when it is gone). */
export const cmdlineOf = (pid: number): Promise<string[]> => readFile(`/proc/${pid}/cmdline`, 'utf8').then((s) => s.split('\0').filter(Boolean), () => []);

/** The programs of each tracer pid, labelled with the process they belong to (`main`, `paths`). */
export async function sampleProgs(pids: readonly number[], labels: ReadonlyMap<number, string>): Promise<ProgSample[]> {
  const out: ProgSample[] = [];
  for (const pid of pids) for (const p of await progStats(pid)) out.push({ pid, process: labels.get(pid) ?? String(pid), id: p.id, runTimeNs: p.runTimeNs, runCount: p.runCount });
  return out;
}

export const labelsOf = async (pids: readonly number[]): Promise<Map<number, string>> =>
  new Map(await Promise.all(pids.map(async (p): Promise<[number, string]> => [p, processLabel(await cmdlineOf(p))])));

let namesHelper: Promise<string> | undefined;

/** id -> the kernel's name of each program still loaded (workloads/bpf-prog-names.c). */
export async function progNames(ids: readonly number[]): Promise<Map<number, string>> {
  if (!ids.length) return new Map();
  namesHelper ??= compile('bpf-prog-names');
  const text = await runText(await namesHelper, ids.map(String));
  const out = new Map<number, string>();
  for (const line of text.split('\n')) {
    const [id, , name] = line.split('\t');
    if (id && name !== undefined) out.set(Number(id), name);
  }
  return out;
}
