// `ebpfmon start`: run the planned bpftrace processes until a signal or --duration, route their records to CSV
// (and the console), and shut down without losing the final interval. SIGHUP reloads the config: the new one is
// validated and planned first; a bad one is logged and the old one keeps running.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { Logger } from '../../log.js';
import { prepare, requireRunnable } from '../context.js';
import { describe, EnvironmentError } from '../../errors.js';
import { composeScript, fragmentOf } from '../../script/compose.js';
import { loadOperatorScripts } from '../../script/operator-scripts.js';
import { createSupervisor, type ProcessSpec, type Supervisor } from '../../process/supervisor.js';
import { spawnBpftrace, type SpawnBpftrace } from '../../process/bpftrace.js';
import { compileAot, jitRunner } from '../../process/aot.js';
import { defaultBackoff } from '../../process/backoff.js';
import { newStats } from '../../records/stats.js';
import type { RoutedMonitor } from '../../records/router.js';
import { systemClock } from '../../rows/clock.js';
import { createCgroupResolver } from '../../rows/cgroup.js';
import { ensureDir } from '../../sinks/safe-fs.js';
import { createCsvSink } from '../../sinks/csv.js';
import { createNdjsonSink } from '../../sinks/ndjson.js';
import { createConsoleSink } from '../../sinks/console.js';
import { createOutput, type Output } from '../../sinks/output.js';
import type { Sink } from '../../sinks/sink.js';
import type { Row } from '../../monitors/types.js';
import type { Config } from '../../config/schema.js';
import type { Capabilities } from '../../plan/capabilities.js';
import { aheadOfTime, planMonitor, type PlannedMonitor, type Verdict } from '../../plan/plan.js';
import { findMonitor, monitors } from '../../monitors/registry.js';
import type { PrometheusSink } from '../../sinks/prometheus.js';
import { defaultConfigPath, loadConfig } from '../../config/load.js';
import { detectCapabilities } from '../../plan/capabilities.js';
import { bpftraceEnv } from '../../script/compose.js';
import { enableBpfStats, processBpfCost, costRate, type BpfCost, type CostRate } from '../../process/bpf-stats.js';
import { createUsageSampler, processUsage, writeStatus, type ProcessUsage, type StatusDoc } from '../../daemon/status.js';
import { runSteps } from '../../daemon/shutdown.js';

export interface StartOptions {
  config?: string | undefined;
  monitors?: string | undefined;
  duration?: number | undefined;
  outputDir?: string | undefined;
  console?: boolean | undefined;
  /** Run these operator-edited scripts (a directory of .bt files, or one file) instead of generating. */
  scripts?: string | undefined;
  /** Serve Prometheus metrics on this host:port (overrides output.prometheus). */
  prometheus?: string | undefined;
}

export interface StartSignals {
  /** Resolves when the user asks to stop (SIGINT/SIGTERM). */
  stop: Promise<string>;
  /** Registers the SIGHUP handler. */
  onReload(cb: () => void): void;
}

export interface ReadyReport {
  attached: string[];
  failed: { monitor: string; reason: string }[];
  unavailable: { monitor: string; reason: string }[];
  outputDir: string;
}

export interface StartDeps {
  log: Logger;
  signals: StartSignals;
  spawn?: SpawnBpftrace;
  /** Called once, when every process attached or failed: the daemon's readiness. */
  onReady?(r: ReadyReport): void;
  /** Refresh this status file every interval (daemon mode). */
  statusFile?: string | undefined;
  /** Reopen the log file (logrotate) on SIGHUP. */
  reopenLog?(): void;
  /** Called when shutdown begins (signal, --duration, or every process ended). */
  onStopping?(): void;
}

export interface StartSummary {
  files: string[];
  rows: Record<string, number>;
  failed: string[];
}

/** What to run: processes with their scripts, the config they came from, and this machine's verdicts. */
interface Runnable {
  configFile: string;
  config: Config;
  caps: Capabilities;
  env: Record<string, string>;
  verdicts: Verdict[];
  processes: { id: string; file: string; text: string | null; monitors: PlannedMonitor[] }[];
  /** Generated scripts can be split per monitor when a shared one fails; operator scripts cannot. */
  isolatable: boolean;
}

async function generatedRunnable(opts: StartOptions): Promise<Runnable> {
  const p = await prepare({ config: opts.config, monitors: opts.monitors, mount: true });
  requireRunnable(p.caps);
  return {
    configFile: p.configFile,
    config: p.config,
    caps: p.caps,
    env: p.env,
    verdicts: p.plan.verdicts,
    processes: p.plan.processes.map((proc, i) => ({ id: proc.id, file: p.scripts[i]!.file, text: p.scripts[i]!.text, monitors: proc.monitors })),
    isolatable: true,
  };
}

async function operatorRunnable(opts: StartOptions & { scripts: string }, log: Logger): Promise<Runnable> {
  const configFile = opts.config ?? defaultConfigPath();
  const config = await loadConfig(configFile);
  const caps = await detectCapabilities({ bpftrace: config.runtime.bpftrace, mount: true });
  requireRunnable(caps);
  const scripts = await loadOperatorScripts(opts.scripts, (n) => findMonitor(n) !== undefined);
  const verdicts: Verdict[] = [];
  const processes = scripts.map((s) => {
    if (s.versionWarning) log.warn(s.versionWarning);
    const monitors = s.monitors.map((name): PlannedMonitor => {
      const monitor = findMonitor(name)!;
      const o = config.monitors[name] ?? monitor.options.parse({});
      const { verdict, plan } = planMonitor(monitor, o, caps, aheadOfTime(config, caps));
      verdicts.push({ ...verdict, status: 'ready', detail: `operator script ${s.file}` });
      // The contract (map names, key parts) comes from the variant this machine would use, else the preferred one.
      const variant = monitor.variants(o)[0];
      return { monitor, opts: o, plan: plan ?? { variant: variant?.name ?? '', interval: o.interval ?? 2, symbols: {}, tracepointFields: {} } };
    });
    return { id: s.id, file: s.file, text: null, monitors };
  });
  return { configFile, config, caps, env: bpftraceEnv(config.runtime), verdicts, processes, isolatable: false };
}

interface Session {
  routed: Map<string, RoutedMonitor>;
  supervisor: Supervisor;
  output: Output;
  files: string[];
  dir: string;
  close(): Promise<void>;
}

async function openSession(r: Runnable, opts: StartOptions, deps: StartDeps, extra: readonly Sink[]): Promise<Session> {
  const { log } = deps;
  const { config } = r;
  const clock = systemClock();
  const dir = await ensureDir(opts.outputDir ?? config.output.directory);
  const workDir = await mkdtemp(path.join(os.tmpdir(), 'ebpfmon-'));
  const runnable = r.processes.flatMap((proc) => proc.monitors);
  const fileOpts = {
    dir,
    columns: new Map(runnable.map((m) => [m.monitor.name, m.monitor.columns])),
    startedAt: new Date(),
    bufferRows: config.output.buffer_rows,
    flushIntervalMs: config.output.flush_interval * 1000,
    onError: (e: unknown) => log.error({ err: e }, 'writing an output file failed'),
  };
  const fileSinks = await Promise.all(config.output.format.map((f) => (f === 'csv' ? createCsvSink(fileOpts) : createNdjsonSink(fileOpts))));
  const sinks: Sink[] = [...fileSinks, ...extra];
  if (opts.console ?? (config.output.console || runnable.length === 1)) {
    sinks.push(createConsoleSink(new Map(runnable.map((m) => [m.monitor.name, (row: Row) => m.monitor.consoleLine(row)]))));
  }
  const output = createOutput(sinks);
  const files = fileSinks.flatMap((fs) => [...fs.files]);
  for (const [m, f] of files) log.info({ monitor: m, file: f }, 'writing rows');

  const cgroups = createCgroupResolver();
  const writeScript = async (file: string, text: string): Promise<string> => {
    const full = path.join(workDir, file);
    await writeFile(full, text, { mode: 0o600, flag: 'wx' });
    return full;
  };
  const bpftrace = r.caps.bpftrace.path!;
  const aotrt = aheadOfTime(config, r.caps) ? (r.caps.bpftrace.aotrt ?? null) : null;
  /** bpftrace-aotrt on the compiled script where bpftrace compiles it ahead of time, else bpftrace on the script. */
  const runnerFor = async (id: string, scriptFile: string, pms: readonly PlannedMonitor[]): Promise<Pick<ProcessSpec, 'runner' | 'fallback'>> => {
    const jit = jitRunner(bpftrace, scriptFile);
    if (!aotrt) return { runner: jit };
    // Ahead-of-time runs were verified here with tracepoints only (this kernel has no kprobes).
    const kprobes = pms.filter((pm) => pm.monitor.variants(pm.opts).find((v) => v.name === pm.plan.variant)?.needs.some((n) => n.kind === 'kprobe'));
    if (kprobes.length) {
      log.info({ process: id, monitors: kprobes.map((pm) => pm.monitor.name).join(',') }, 'kprobe monitors run in bpftrace, not ahead of time');
      return { runner: jit };
    }
    const c = await compileAot({ bpftrace, aotrt, script: scriptFile, out: path.join(workDir, `ebpfmon-${id}.aot`), env: r.env, timeoutMs: config.runtime.attach_timeout * 1000 });
    if ('refused' in c) {
      log.info({ process: id, reason: c.refused }, 'bpftrace cannot compile this script ahead of time; bpftrace runs it (about 95 MB more memory)');
      return { runner: jit };
    }
    return { runner: c.runner, fallback: jit };
  };
  const routed = new Map<string, RoutedMonitor>();
  const processes = r.processes.map((proc) => ({
    proc,
    monitors: proc.monitors.map((pm) => {
      const rm: RoutedMonitor = {
        monitor: pm.monitor,
        opts: pm.opts,
        contract: fragmentOf(pm, config.runtime.double_buffer).contract,
        interval: pm.plan.interval,
        stats: newStats(),
      };
      routed.set(pm.monitor.name, rm);
      return rm;
    }),
  }));
  // One compile per CPU at a time (shared_process: false has one process per monitor): each takes a CPU for
  // about a second and ~96 MB while it runs.
  const specs = await mapLimit(processes, os.availableParallelism(), async ({ proc, monitors }): Promise<ProcessSpec> => {
    const scriptFile = proc.text === null ? proc.file : await writeScript(proc.file, proc.text);
    return { id: proc.id, ...(await runnerFor(proc.id, scriptFile, proc.monitors)), monitors };
  });
  const supervisor = createSupervisor(specs, {
    log,
    spawn: deps.spawn ?? spawnBpftrace,
    clock,
    arch: r.caps.arch,
    env: r.env,
    maxRestarts: config.runtime.max_restarts,
    backoff: defaultBackoff,
    killAfterMs: 10_000,
    attachTimeoutMs: config.runtime.attach_timeout * 1000,
    onRows: (m, rows) => output.write(m, cgroups.enrich(rows)),
    throttle: () => output.throttle(),
    onGap: (m, ts, text) => output.note(m, ts, text),
    ...(r.isolatable
      ? {
          // The parts compile like the processes above: one per CPU at a time.
          isolate: (spec: ProcessSpec) =>
            mapLimit(spec.monitors, os.availableParallelism(), async (rm): Promise<ProcessSpec> => {
              const pm = runnable.find((x) => x.monitor.name === rm.monitor.name)!;
              const s = composeScript(
                { id: pm.monitor.name, monitors: [pm] },
                { bpftraceVersion: r.caps.bpftrace.version, kernel: r.caps.kernel, env: r.env, doubleBuffer: config.runtime.double_buffer },
              );
              return { id: s.id, ...(await runnerFor(s.id, await writeScript(s.file, s.text), [pm])), monitors: [rm] };
            }),
        }
      : {}),
  });
  let closed: Promise<void> | null = null;
  return {
    routed,
    supervisor,
    output,
    files: files.map(([, f]) => f),
    dir,
    close() {
      closed ??= (async () => {
        await supervisor.stop();
        await output.close();
        await rm(workDir, { recursive: true, force: true });
      })();
      return closed;
    },
  };
}

/** `f` over `items`, at most `limit` at a time; the results in the order of `items`. */
async function mapLimit<T, R>(items: readonly T[], limit: number, f: (item: T) => Promise<R>): Promise<R[]> {
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

function logVerdicts(log: Logger, verdicts: readonly Verdict[]): void {
  for (const v of verdicts) {
    if (v.status === 'unavailable') log.warn({ monitor: v.monitor, reason: v.detail }, `monitor ${v.monitor} is unavailable on this machine; skipped`);
    else if (v.status === 'fallback') log.info({ monitor: v.monitor, variant: v.variant, reason: v.reasons.join('; ') }, `monitor ${v.monitor} uses its ${v.variant ?? ''} fallback`);
  }
}

async function makeRunnable(opts: StartOptions, log: Logger): Promise<Runnable> {
  const r = opts.scripts ? await operatorRunnable({ ...opts, scripts: opts.scripts }, log) : await generatedRunnable(opts);
  if (!r.processes.length) {
    throw new EnvironmentError(`no selected monitor can run on this machine: ${r.verdicts.map((v) => `${v.monitor}: ${v.detail}`).join('; ')}`);
  }
  return r;
}

/** The Prometheus exporter when the config or --prometheus asks for it; it reads health from the live session. */
async function startExporter(
  config: Config,
  opts: StartOptions,
  log: Logger,
  current: () => Session | null,
  costs: ReadonlyMap<number, { cost: BpfCost }>,
): Promise<PrometheusSink | null> {
  const conf = config.output.prometheus;
  if (!conf.enabled && !opts.prometheus) return null;
  // Loaded only when asked for: prom-client costs about 10 MB of memory.
  const { createPrometheusSink } = await import('../../sinks/prometheus.js');
  const exporter = await createPrometheusSink({
    listen: opts.prometheus ?? conf.listen,
    path: conf.path,
    maxCommSeries: conf.max_comm_series,
    metrics: new Map(monitors.map((m) => [m.name, m.metrics ?? []])),
    health: () =>
      [...(current()?.routed ?? [])].map(([monitor, m]) => ({
        monitor,
        stats: m.stats,
        bpf: m.stats.bpftracePid === null ? null : (costs.get(m.stats.bpftracePid)?.cost ?? null),
      })),
    usage: processUsage,
  });
  log.info({ address: exporter.address, path: conf.path }, 'prometheus exporter listening');
  return exporter;
}

export async function runStart(opts: StartOptions, deps: StartDeps): Promise<StartSummary> {
  const { log } = deps;
  let runnable = await makeRunnable(opts, log);
  logVerdicts(log, runnable.verdicts);
  if (runnable.caps.tracefs.detail.includes('ebpfmon mounted')) log.info(runnable.caps.tracefs.detail);
  const startedAt = new Date().toISOString();
  // Everything started below is stopped in the finally block, whatever fails on the way: a leftover bpftrace,
  // timer or HTTP server would keep the process alive after an error.
  let session: Session | null = null;
  // Last in-kernel cost sample per bpftrace pid (runtime.self_stats).
  const costs = new Map<number, { cost: BpfCost; at: number; rate: CostRate }>();
  const budgeted = (r: Runnable): boolean =>
    r.config.runtime.max_cpu_percent !== undefined || r.processes.some((p) => p.monitors.some((m) => m.opts.max_cpu_percent !== undefined));
  // A cost budget needs the kernel's figures, so it turns self_stats on.
  const bpfStats = runnable.config.runtime.self_stats || budgeted(runnable) ? await enableBpfStats().catch((e: unknown) => {
    log.warn({ err: describe(e) }, 'cannot enable BPF run-time statistics (kernel.bpf_stats_enabled); self_stats off');
    return null;
  }) : null;
  if (bpfStats && !bpfStats.wasEnabled) log.info('BPF run-time statistics enabled (kernel.bpf_stats_enabled=1); restored at exit');
  const exporter = await startExporter(runnable.config, opts, log, () => session, costs).catch(async (e: unknown) => {
    await bpfStats?.restore();
    throw e;
  });
  // The exporter outlives sessions (counters accumulate across reloads): sessions get a view that never closes it.
  const extra: Sink[] = exporter ? [{ write: exporter.write, flush: exporter.flush, close: () => Promise.resolve() }] : [];
  const allFiles: string[] = [];
  const rows: Record<string, number> = {};
  const failed = new Set<string>();
  const tally = (s: Session): void => {
    for (const [n, m] of s.routed) {
      rows[n] = (rows[n] ?? 0) + m.stats.rows;
      if (m.stats.state === 'failed') failed.add(n);
    }
  };

  let reloadRequested: (() => void) | null = null;
  let reloadPending = false;
  deps.signals.onReload(() => {
    reloadPending = true;
    reloadRequested?.();
  });

  // Each interval: one CPU/RSS sample per bpftrace process (its monitors share it), then the in-kernel cost and
  // the budgets (runtime.self_stats), then the status file (daemon mode).
  const sample = createUsageSampler();
  // Budgets: per bpftrace process, the tightest of runtime.max_cpu_percent and its monitors' max_cpu_percent,
  // against the CPU share of its BPF programs plus bpftrace's own CPU. Over it for budget_intervals samples in
  // a row: warn, and with budget_action: stop, stop that process for good (state over_budget); the rest run on.
  const overFor = new Map<number, number>();
  const checkBudget = (s: Session, pid: number, names: string[], kernelPercent: number | null, user: number | null): void => {
    const rt = runnable.config.runtime;
    const limits = [rt.max_cpu_percent, ...[...s.routed.values()].filter((m) => m.stats.bpftracePid === pid).map((m) => m.opts.max_cpu_percent)];
    const budget = Math.min(...limits.filter((l): l is number => l !== undefined));
    if (!Number.isFinite(budget) || kernelPercent === null || user === null) return;
    const cost = Math.round((kernelPercent + user) * 100) / 100;
    if (cost <= budget) {
      overFor.set(pid, 0);
      return;
    }
    const n = (overFor.get(pid) ?? 0) + 1;
    overFor.set(pid, n);
    if (n < rt.budget_intervals) return;
    const reason = `over budget: ${cost}% of one CPU (BPF ${kernelPercent}% + bpftrace ${user}%) > ${budget}% for ${n} intervals`;
    if (rt.budget_action === 'stop' && s.supervisor.halt(pid, 'over_budget', reason)) {
      log.error({ monitors: names, bpftracePid: pid, cost, budget }, `stopping ${names.join(', ')}: ${reason}`);
    } else if (n === rt.budget_intervals) {
      log.warn({ monitors: names, bpftracePid: pid, cost, budget }, `${names.join(', ')}: ${reason}`);
    }
  };
  const sampleCosts = async (s: Session, usage: ReadonlyMap<number | null, ProcessUsage>): Promise<void> => {
    for (const pid of usage.keys()) {
      if (pid === null) continue;
      const cost = await processBpfCost(pid);
      if (!cost) continue;
      const at = Date.now();
      const rate = costRate(costs.get(pid), cost, at);
      costs.set(pid, { cost, at, rate });
      const names = [...s.routed.values()].filter((m) => m.stats.bpftracePid === pid).map((m) => m.monitor.name);
      log.debug({ bpftracePid: pid, monitors: names, programs: cost.programs, nsPerEvent: rate.nsPerEvent, cpuPercent: rate.cpuPercent, recursionMisses: cost.recursionMisses }, 'in-kernel cost of bpftrace programs');
      checkBudget(s, pid, names, rate.cpuPercent, usage.get(pid)?.cpuPercent ?? null);
    }
  };
  const tick = async (): Promise<void> => {
    const s = session;
    if (!s || (!bpfStats && !deps.statusFile)) return;
    const usage = new Map<number | null, ProcessUsage>();
    for (const m of s.routed.values()) {
      if (!usage.has(m.stats.bpftracePid)) usage.set(m.stats.bpftracePid, await sample(m.stats.bpftracePid));
    }
    if (bpfStats) await sampleCosts(s, usage);
    if (!deps.statusFile) return;
    const monitors = [...s.routed].map(([name, m]) => {
      const c = m.stats.bpftracePid === null ? undefined : costs.get(m.stats.bpftracePid);
      return { monitor: name, ...m.stats, bpftrace: usage.get(m.stats.bpftracePid)!, bpf: c ? { ...c.cost, ...c.rate } : null };
    });
    const doc: StatusDoc = {
      pid: process.pid,
      startedAt,
      updatedAt: new Date().toISOString(),
      configFile: runnable.configFile,
      outputDir: s.dir,
      monitors,
      supervisor: await sample(process.pid),
    };
    await writeStatus(deps.statusFile, doc).catch((e: unknown) => log.warn({ err: describe(e) }, 'cannot write the status file'));
  };
  const statusEvery = Math.max(1, Math.min(...runnable.processes.flatMap((p) => p.monitors.map((m) => m.plan.interval)), 2)) * 1000;
  let statusTimer: NodeJS.Timeout | undefined;

  const settle = async (s: Session): Promise<ReadyReport> => {
    await Promise.race([s.supervisor.settled, deps.signals.stop]);
    const attached = [...s.routed.values()].filter((m) => m.stats.state === 'running').map((m) => m.monitor.name);
    const failedNow = [...s.routed.values()].filter((m) => m.stats.state === 'failed').map((m) => ({ monitor: m.monitor.name, reason: m.stats.lastError ?? 'failed' }));
    for (const f of failedNow) log.error({ monitor: f.monitor, reason: f.reason }, `monitor ${f.monitor} could not start`);
    if (attached.length) log.info({ monitors: attached, output: s.dir }, 'monitors attached');
    await tick();
    return {
      attached,
      failed: failedNow,
      unavailable: runnable.verdicts.filter((v) => v.status === 'unavailable').map((v) => ({ monitor: v.monitor, reason: v.detail })),
      outputDir: s.dir,
    };
  };

  try {
    session = await openSession(runnable, opts, deps, extra);
    allFiles.push(...session.files);
    if (deps.statusFile || bpfStats) statusTimer = setInterval(() => void tick(), statusEvery);
    deps.onReady?.(await settle(session));
    let timer: NodeJS.Timeout | undefined;
    const durationDone = new Promise<string>((resolve) => {
      if (opts.duration !== undefined) timer = setTimeout(() => resolve('duration'), opts.duration * 1000).unref();
    });
    for (;;) {
      const reload = new Promise<string>((resolve) => {
        reloadRequested = () => resolve('reload');
        if (reloadPending) resolve('reload');
      });
      const why = await Promise.race([deps.signals.stop, durationDone, reload, session.supervisor.done.then(() => 'all bpftrace processes ended')]);
      reloadPending = false;
      if (why !== 'reload') {
        clearTimeout(timer);
        log.info({ reason: why }, 'stopping: waiting for the final interval');
        deps.onStopping?.();
        break;
      }
      deps.reopenLog?.();
      log.info('SIGHUP: reloading the configuration');
      let next: Runnable;
      try {
        next = await makeRunnable(opts, log);
      } catch (e) {
        log.error({ reason: describe(e) }, 'reload refused: the new configuration is invalid; the running one continues');
        continue;
      }
      logVerdicts(log, next.verdicts);
      await session.close();
      tally(session);
      runnable = next;
      session = await openSession(runnable, opts, deps, extra);
      allFiles.push(...session.files);
      await settle(session);
      log.info({ config: runnable.configFile }, 'configuration reloaded');
    }
  } finally {
    clearInterval(statusTimer);
    // Every step runs whatever the others do; the host-wide setting first.
    await runSteps(log, [
      ['restore kernel.bpf_stats_enabled', () => bpfStats?.restore()],
      ['stop bpftrace and close the output', () => session?.close()],
      ['close the prometheus exporter', () => exporter?.close()],
    ]);
  }
  if (session) tally(session);
  log.info({ rows, files: allFiles }, 'stopped');
  return { files: allFiles, rows, failed: [...failed] };
}
