// One run of a Runnable: its output files and sinks, its scripts (compiled ahead of time where they can be), the
// supervisor over its bpftrace processes, one router per bpftrace run, and each monitor's stats. `prepareSession`
// does everything that can fail on bad input (directories, files, compiles) before anything runs, so a reload can
// refuse a new configuration and keep the old session; `start` then launches the processes.
import { rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { Logger } from '../log.js';
import { composeScript, contractOf, foldedLinesOf, fragmentOf, sectionsOf, stopProbeAttach } from '../script/compose.js';
import { createSupervisor, type ProcessSpec, type RunInfo, type StateReport, type Supervisor } from '../process/supervisor.js';
import { spawnBpftrace, type SpawnBpftrace } from '../process/bpftrace.js';
import { aotCacheDir, compileAot, jitRunner } from '../process/aot.js';
import { defaultBackoff } from '../process/backoff.js';
import { newStats } from '../records/stats.js';
import { createRouter, type RoutedMonitor } from '../records/router.js';
import { systemClock, type Clock } from '../rows/clock.js';
import { createCgroupResolver } from '../rows/cgroup.js';
import { createDiskResolver } from '../rows/disk.js';
import { ensureDir } from '../safe-fs.js';
import { createCsvSink } from '../sinks/csv.js';
import { fileSinkPolicy, type OutputFileStats } from '../sinks/file-sink.js';
import { monitors as allMonitors } from '../monitors/registry.js';
import { describe } from '../errors.js';
import { createNdjsonSink } from '../sinks/ndjson.js';
import { createConsoleSink } from '../sinks/console.js';
import { createOutput, type Output } from '../sinks/output.js';
import type { Sink } from '../sinks/sink.js';
import { defaultStrlen, type Row } from '../monitors/types.js';
import { aheadOfTime, needsBpftrace, type PlannedMonitor } from '../plan/plan.js';
import { createMonitorCoverage } from '../coverage/monitor-coverage.js';
import { makeWorkDir } from './work-dir.js';
import { scoped, taskScoped } from '../bt/ir.js';
import type { Runnable, RunnableProcess } from '../script/runnable.js';

export interface SessionOptions {
  outputDir?: string | undefined;
  console?: boolean | undefined;
  /** No output files at all (`ebpfmon top`): rows go only to the extra sinks. */
  noFiles?: boolean;
  /** Where compiled scripts are cached (default aotCacheDir); null: no cache. */
  aotCacheDir?: string | null;
}

export interface SessionDeps {
  log: Logger;
  spawn?: SpawnBpftrace;
  clock?: Clock;
}

export interface Session {
  /** Every monitor of the run and its stats, by name. */
  monitors: ReadonlyMap<string, RoutedMonitor>;
  output: Output;
  files: string[];
  dir: string;
  /** Per output file: rows written and rows lost (full disk, deleted directory). */
  outputs(): OutputFileStats[];
  /** Event monitors' coverage from records seen and lost since the last call (aggregate ones update at each tick). */
  sampleEventCoverage(): void;
  /** SIGHUP: output files renamed away (logrotate) are closed; the next rows start new ones. */
  reopen(): Promise<void>;
  /** Launches the bpftrace processes; resolves with the supervisor once it is running. */
  start(): Supervisor;
  /** Stops bpftrace (each prints its final interval), closes the sinks, removes the scripts' directory. */
  close(): Promise<void>;
}

/** `f` over `items`, at most `limit` at a time; the results in the order of `items`. */
export async function mapLimit<T, R>(items: readonly T[], limit: number, f: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array<R>(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++;
      out[i] = await f(items[i]!);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, worker));
  return out;
}

export async function prepareSession(r: Runnable, opts: SessionOptions, extra: readonly Sink[], deps: SessionDeps): Promise<Session> {
  const { log } = deps;
  const { config } = r;
  const clock =
    deps.clock ??
    systemClock({
      onStep: (seconds) => log.warn({ seconds }, `wall clock stepped by ${seconds >= 0 ? '+' : ''}${seconds.toFixed(1)} s: rows are stamped with the new time from here`),
    });
  const dir = opts.noFiles ? '' : await ensureDir(opts.outputDir ?? config.output.directory);
  const runnable = r.processes.flatMap((proc) => proc.monitors);
  const fileOpts = {
    dir,
    columns: new Map(runnable.map((m) => [m.monitor.name, m.monitor.columns])),
    startedAt: new Date(clock.now()),
    now: () => new Date(clock.now()),
    ...fileSinkPolicy(config.output),
    known: allMonitors.map((m) => m.name),
    bufferRows: config.output.buffer_rows,
    flushIntervalMs: config.output.flush_interval * 1000,
    onError: (e: unknown) => log.error({ err: describe(e) }, 'writing an output file failed'),
    log,
  };
  const fileSinks = opts.noFiles ? [] : await Promise.all(config.output.format.map((f) => (f === 'csv' ? createCsvSink(fileOpts) : createNdjsonSink(fileOpts))));
  const sinks: Sink[] = [...fileSinks, ...extra];
  if (opts.console ?? (config.output.console || runnable.length === 1)) {
    sinks.push(createConsoleSink(new Map(runnable.map((m) => [m.monitor.name, (row: Row) => m.monitor.consoleLine(row)]))));
  }
  const output = createOutput(sinks);
  const files = fileSinks.flatMap((fs) => [...fs.files]);
  const workDir = await makeWorkDir(log);
  const cleanup = async (): Promise<void> => {
    await output.close();
    await rm(workDir, { recursive: true, force: true });
  };
  try {
    const monitors = new Map<string, RoutedMonitor>();
    for (const proc of r.processes) {
      for (const pm of proc.monitors) {
        monitors.set(pm.monitor.name, {
          monitor: pm.monitor,
          opts: pm.opts,
          contract: contractOf(pm.monitor, fragmentOf(pm), proc.layout),
          interval: pm.plan.interval,
          stats: newStats(),
          scoped: scoped(proc.scope) && taskScoped(fragmentOf(pm)),
        });
      }
    }
    const writeScript = async (file: string, text: string): Promise<string> => {
      const full = path.join(workDir, file);
      await writeFile(full, text, { mode: 0o600, flag: 'wx' });
      return full;
    };
    const bpftrace = r.caps.bpftrace.path!;
    const aotrt = r.caps.bpftrace.aotrt ?? null;
    const mapKeys = config.runtime.map_keys_max;
    const bt = r.caps.bpftrace.features;
    /** bpftrace-aotrt on the compiled script where bpftrace compiles it ahead of time, else bpftrace on the script. */
    const runnerFor = async (proc: RunnableProcess, scriptFile: string): Promise<Pick<ProcessSpec, 'runner' | 'fallback'>> => {
      const jit = jitRunner(bpftrace, scriptFile, mapKeys, proc.stoppable);
      if (!aotrt || !proc.aheadOfTime) {
        if (aotrt && aheadOfTime(config, r.caps)) log.info({ process: proc.id, monitors: proc.monitors.filter(needsBpftrace).map((m) => m.monitor.name) }, 'monitors that need bpftrace itself (kprobes, exec\'s arguments) run in bpftrace, not ahead of time');
        return { runner: jit };
      }
      if (!proc.stoppable) {
        log.info({ process: proc.id }, `the script has no ${stopProbeAttach} stop probe (edited out): bpftrace runs it, not bpftrace-aotrt`);
        return { runner: jit };
      }
      const version = r.caps.bpftrace.version;
      const c = await compileAot({
        bpftrace, aotrt, script: scriptFile, out: path.join(workDir, `ebpfmon-${proc.id}.aot`), env: proc.env, timeoutMs: config.runtime.attach_timeout * 1000,
        ...(version && opts.aotCacheDir !== null ? { cache: { dir: opts.aotCacheDir ?? aotCacheDir, version, kernel: r.caps.kernel } } : {}),
      });
      if ('refused' in c) {
        log.info({ process: proc.id, reason: c.refused }, 'bpftrace cannot compile this script ahead of time; bpftrace runs it (about 95 MB more memory)');
        return { runner: jit };
      }
      log.debug({ process: proc.id, cached: c.cached }, c.cached ? 'compiled script taken from the cache' : 'script compiled ahead of time');
      return { runner: c.runner, fallback: jit };
    };
    /** Per process: the monitor each line of its script belongs to (bpftrace's helper_error records name a line). */
    const sections = new Map<string, (line: number) => string | undefined>();
    /** Per process: whether a line of its script updates a map that folds (a dropped update there loses detail only). */
    const folded = new Map<string, (line: number) => boolean>();
    const specOf = async (proc: RunnableProcess): Promise<ProcessSpec> => {
      const scriptFile = await writeScript(proc.file, proc.text);
      sections.set(proc.id, sectionsOf(proc.text));
      folded.set(proc.id, foldedLinesOf(proc.text, proc.monitors.flatMap((pm) => [...(monitors.get(pm.monitor.name)?.contract.copies ?? [])])));
      return { id: proc.id, ...(await runnerFor(proc, scriptFile)), monitors: proc.monitors.map((pm) => pm.monitor.name), env: proc.env, benignStderr: bt.benignStderr };
    };
    // One compile per CPU at a time (shared_process: false has one process per monitor): each takes a CPU for
    // about a second and ~96 MB while it runs.
    const specs = await mapLimit(r.processes, os.availableParallelism(), specOf);
    const isolate = (spec: ProcessSpec): Promise<ProcessSpec[]> => {
      const proc = r.processes.find((p) => p.id === spec.id) ?? r.processes.find((p) => p.monitors.some((m) => spec.monitors.includes(m.monitor.name)))!;
      // The parts compile like the processes above: one per CPU at a time.
      return mapLimit(proc.monitors, os.availableParallelism(), (pm: PlannedMonitor) => {
        const part = { ...proc, id: pm.monitor.name, monitors: [pm] };
        const s = composeScript(part, { bpftraceVersion: r.caps.bpftrace.version, kernel: r.caps.kernel, runtime: config.runtime });
        return specOf({ ...part, file: s.file, text: s.text, env: s.env });
      });
    };

    const coverage = createMonitorCoverage(monitors, (name, text) => output.note(name, clock.now(), text), log, clock.monotonicNs);
    const cgroups = createCgroupResolver();
    const disks = createDiskResolver();
    const note = (monitor: string, timestamp: string, text: string): void => output.note(monitor, timestamp, text);
    const onState = (spec: ProcessSpec, s: StateReport): void => {
      for (const name of spec.monitors) {
        const m = monitors.get(name);
        if (!m) continue;
        m.stats.state = s.state;
        m.stats.bpftracePid = s.pid;
        m.stats.bpftraceProcess = spec.id;
        if (s.state !== 'running') m.stats.bpftraceRowPid = null;
        m.stats.runtime = s.runner.mode;
        if (s.reason) m.stats.lastError = s.reason;
        if (s.state !== 'restarting') continue;
        m.stats.restarts++;
        if (!s.lostOutput) continue;
        // A restart loses the counts of the interval in progress (events, for an event monitor): the output says so.
        note(
          name,
          clock.now(),
          m.monitor.mode === 'aggregate'
            ? `bpftrace restarted: counts since the previous row are lost (${s.reason ?? ''})`
            : `bpftrace restarted: events may be missing until it is back (${s.reason ?? ''})`,
        );
      }
    };
    const onRun = (spec: ProcessSpec, run: RunInfo): { line(l: string): void; end(): void } => {
      const router = createRouter({
        monitors: spec.monitors.flatMap((n) => monitors.get(n) ?? []),
        onRows: (m, rows) => output.write(m, disks.enrich(cgroups.enrich(rows))),
        onNote: note,
        onAttached: (probes) => run.attached(probes),
        onInterval: coverage.onInterval,
        log: log.child({ process: spec.id }),
        clock,
        arch: r.caps.arch,
        tracer: () => run.pid,
        mapCapacity: run.runner.mapCapacity,
        stallKeysMax: mapKeys,
        strlen: Number(spec.env[bt.env.strlen] ?? defaultStrlen),
        textKeys: bt.textKeys,
        keyEscapes: bt.keyEscapes,
        monitorAtLine: sections.get(spec.id) ?? (() => spec.monitors[0]),
        foldedAtLine: folded.get(spec.id) ?? (() => false),
      });
      return router;
    };

    let supervisor: Supervisor | null = null;
    let closed: Promise<void> | null = null;
    return {
      monitors,
      output,
      files: files.map(([, f]) => f),
      dir,
      outputs: () => fileSinks.flatMap((s) => s.stats()),
      sampleEventCoverage: coverage.sampleEvents,
      reopen: () => Promise.all(fileSinks.map((s) => s.reopen())).then(() => undefined),
      start() {
        supervisor ??= createSupervisor(specs, {
          log,
          spawn: deps.spawn ?? spawnBpftrace,
          maxRestarts: config.runtime.max_restarts,
          backoff: defaultBackoff,
          killAfterMs: 10_000,
          attachTimeoutMs: config.runtime.attach_timeout * 1000,
          onRun,
          onState,
          throttle: () => output.throttle(),
          ...(r.isolatable ? { isolate } : {}),
        });
        return supervisor;
      },
      close() {
        closed ??= (async () => {
          coverage.stop();
          await supervisor?.stop();
          await cleanup();
        })();
        return closed;
      },
    };
  } catch (e) {
    await cleanup();
    throw e;
  }
}
