// `ebpfmon start`: run a session until a signal, --duration or the end of every bpftrace, and shut down without
// losing the final interval. SIGHUP reloads the config: the new session is prepared first (config, plan,
// directories, files, compiles); if anything fails it is logged and the running session continues.
import type { Logger } from '../../log.js';
import { describe } from '../../errors.js';
import type { Supervisor } from '../../process/supervisor.js';
import type { SpawnBpftrace } from '../../process/bpftrace.js';
import type { Sink } from '../../sinks/sink.js';
import type { OutputFileStats } from '../../sinks/file-sink.js';
import type { Config } from '../../config/schema.js';
import type { Verdict } from '../../plan/plan.js';
import { monitors } from '../../monitors/registry.js';
import type { PrometheusSink } from '../../sinks/prometheus.js';
import { enableBpfStats, processBpfCost, costRate, type BpfCost, type CostRate } from '../../process/bpf-stats.js';
import { createUsageSampler, processUsage, writeStatus, type ProcessUsage, type StatusDoc } from '../../daemon/status.js';
import { makeRunnable, type Runnable } from '../../session/runnable.js';
import { prepareSession, type Session } from '../../session/session.js';
import { budgetOf, budgetWindow, judgeBudget, type CostReading } from '../../session/budget.js';
import { carryCounters, countersOf, type Counters } from '../../records/stats.js';
import { setLongTimeout, type LongTimeout } from '../../timers.js';
import { runSteps } from '../../daemon/shutdown.js';
import { version } from '../../version.js';
import { logScope, requirePids, scopeOf, watchPids } from '../../session/targets.js';

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
  /** TLS and basic auth of the exporter (overrides output.prometheus.web_config_file). */
  webConfigFile?: string | undefined;
  /** Count only these processes (`--pid`, tgids) and threads of this name (`--comm`): src/session/targets.ts. */
  pid?: number[] | undefined;
  comm?: string | undefined;
}

export interface StartSignals {
  /** Resolves when the user asks to stop (SIGINT/SIGTERM). */
  stop: Promise<string>;
  /** Registers the SIGHUP handler. */
  onReload(cb: () => void): void;
  /** Registers the SIGUSR1 handler: reopen the log and output files (logrotate), nothing else. */
  onReopen?(cb: () => void): void;
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
  /** Called when a SIGHUP reload begins, and when it ended (applied or refused: the monitors run again). */
  onReloading?(): void;
  onReloaded?(r: { applied: boolean }): void;
}

export interface StartSummary {
  files: string[];
  rows: Record<string, number>;
  failed: string[];
  /** Per output file: rows written and rows lost (full disk, deleted directory). */
  outputs: OutputFileStats[];
}

/** A session that runs: its supervisor with it. */
interface Running {
  session: Session;
  supervisor: Supervisor;
}

function logVerdicts(log: Logger, verdicts: readonly Verdict[]): void {
  for (const v of verdicts) {
    if (v.status === 'unavailable') log.warn({ monitor: v.monitor, reason: v.detail }, `monitor ${v.monitor} is unavailable on this machine; skipped`);
    else if (v.status === 'fallback') log.info({ monitor: v.monitor, variant: v.variant, reason: v.reasons.join('; ') }, `monitor ${v.monitor} uses its ${v.variant ?? ''} fallback`);
  }
}

/** The Prometheus exporter when the config or --prometheus asks for it; it reads health from the live session. */
async function startExporter(
  config: Config,
  opts: StartOptions,
  log: Logger,
  current: () => Running | null,
  costs: ReadonlyMap<number, { cost: BpfCost }>,
  bpftraceVersion: string | null,
): Promise<PrometheusSink | null> {
  const conf = config.output.prometheus;
  if (!conf.enabled && !opts.prometheus) return null;
  // Loaded only when asked for: prom-client costs about 10 MB of memory.
  const { createPrometheusSink } = await import('../../sinks/prometheus.js');
  const webFile = opts.webConfigFile ?? conf.web_config_file;
  const web = webFile ? await (await import('../../sinks/web-config.js')).loadWebConfig(webFile) : undefined;
  const exporter = await createPrometheusSink({
    ...(web ? { web } : {}),
    listen: opts.prometheus ?? conf.listen,
    path: conf.path,
    maxCommSeries: conf.max_comm_series,
    perCpu: conf.per_cpu,
    metrics: new Map(monitors.map((m) => [m.name, m.metrics ?? []])),
    health: () =>
      [...(current()?.session.monitors ?? [])].map(([monitor, m]) => ({
        monitor,
        stats: m.stats,
        bpf: m.stats.bpftracePid === null ? null : (costs.get(m.stats.bpftracePid)?.cost ?? null),
        process: m.stats.bpftraceProcess,
      })),
    usage: processUsage,
    buildInfo: { version, bpftraceVersion },
  });
  log.info({ address: exporter.address, path: conf.path, scheme: exporter.scheme, basicAuth: (web?.users.size ?? 0) > 0 }, 'prometheus exporter listening');
  return exporter;
}

export async function runStart(opts: StartOptions, deps: StartDeps): Promise<StartSummary> {
  const { log } = deps;
  if (opts.pid) await requirePids(opts.pid);
  const scope = scopeOf(opts);
  let runnable: Runnable = await makeRunnable({ ...opts, scope }, log);
  logVerdicts(log, runnable.verdicts);
  if (runnable.caps.tracefs.detail.includes('ebpfmon mounted')) log.info(runnable.caps.tracefs.detail);
  // Before anything attaches: monitors whose cost forecast is above their max_cpu_percent (cached calibration only).
  // The forecast code is loaded only when a monitor has a budget (it is the check command's, and costs memory).
  const startMonitors = runnable.processes.flatMap((p) => p.monitors.map((m) => m.monitor));
  if (startMonitors.some((m) => runnable.config.monitors[m.name]?.max_cpu_percent != null)) {
    await import('../../forecast/run.js')
      .then(({ warnOverBudget }) => warnOverBudget(log, { config: runnable.config, caps: runnable.caps, monitors: startMonitors }))
      .catch((e: unknown) => log.debug({ err: describe(e) }, 'no cost forecast at start'));
  }
  const startedAt = new Date().toISOString();
  // Everything started below is stopped in the finally block, whatever fails on the way: a leftover bpftrace,
  // timer or HTTP server would keep the process alive after an error.
  let running: Running | null = null;
  /** The running session, read through a function: launch() sets it inside a closure, which narrowing cannot see. */
  const current = (): Running | null => running;
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
  const exporter = await startExporter(runnable.config, opts, log, () => running, costs, runnable.caps.bpftrace.version).catch(async (e: unknown) => {
    await bpfStats?.restore();
    throw e;
  });
  // The exporter outlives sessions (counters accumulate across reloads): sessions get a view that never closes it.
  const extra: Sink[] = exporter ? [{ write: exporter.write, flush: exporter.flush, close: () => Promise.resolve() }] : [];
  const allFiles: string[] = [];
  const rows: Record<string, number> = {};
  const failed = new Set<string>();
  const outputs: OutputFileStats[] = [];
  // Per monitor, the counters of the sessions closed so far: a reload's new session starts from them, so `status`,
  // the log and the exporter count from `start` on, each with the same totals.
  const totals = new Map<string, Counters>();
  const tally = (s: Session): void => {
    outputs.push(...s.outputs());
    for (const [n, m] of s.monitors) {
      rows[n] = m.stats.rows;
      totals.set(n, countersOf(m.stats));
      if (m.stats.state === 'failed') failed.add(n);
    }
  };

  let reloadRequested: (() => void) | null = null;
  let reloadPending = false;
  deps.signals.onReload(() => {
    reloadPending = true;
    reloadRequested?.();
  });
  // SIGUSR1: the log and the output files only, no reload: logrotate's postrotate, with no gap in the counts.
  deps.signals.onReopen?.(() => {
    deps.reopenLog?.();
    void current()?.session.reopen().then(() => log.info('SIGUSR1: log and output files reopened'));
  });

  // Each interval: one CPU/RSS sample per bpftrace process (its monitors share it), then the in-kernel cost and
  // the budgets (runtime.self_stats), the missing-tick watchdog, then the status file (daemon mode).
  const sample = createUsageSampler();
  const overFor = new Map<number, number>();
  // Per bpftrace pid: the reading the next budget window starts from (taken once it attached).
  const budgetBase = new Map<number, CostReading>();
  const checkBudget = (r: Running, pid: number, names: string[], kernelPercent: number | null, user: number | null): void => {
    const rt = runnable.config.runtime;
    const served = [...r.session.monitors.values()].filter((m) => m.stats.bpftracePid === pid);
    const budget = budgetOf([rt.max_cpu_percent, ...served.map((m) => m.opts.max_cpu_percent)]);
    const v = judgeBudget({ kernelPercent, userPercent: user, budget, overFor: overFor.get(pid) ?? 0, intervals: rt.budget_intervals, action: rt.budget_action });
    if (v.verdict === 'none') return;
    overFor.set(pid, v.overFor);
    if (v.verdict === 'within' || v.verdict === 'over') return;
    const reason = `over budget: ${v.cost}% of one CPU (BPF ${kernelPercent}% + bpftrace ${user}%) > ${budget}% for ${v.overFor} intervals`;
    if (v.verdict === 'stop' && r.supervisor.halt(pid, reason)) {
      log.error({ monitors: names, bpftracePid: pid, cost: v.cost, budget }, `stopping ${names.join(', ')}: ${reason}`);
      // The rows end here: a marker says why, so nobody (analyze included) reads the silence as an idle host.
      for (const name of names) r.session.output.note(name, new Date().toISOString(), `stopped by its budget (${reason}): nothing is counted after this point`);
    } else if (v.overFor === rt.budget_intervals) {
      log.warn({ monitors: names, bpftracePid: pid, cost: v.cost, budget }, `${names.join(', ')}: ${reason}`);
    }
  };
  const sampleCosts = async (r: Running, usage: ReadonlyMap<number | null, ProcessUsage>): Promise<void> => {
    for (const pid of usage.keys()) {
      if (pid === null) continue;
      const cost = await processBpfCost(pid);
      if (!cost) continue;
      const at = Date.now();
      const rate = costRate(costs.get(pid), cost, at);
      costs.set(pid, { cost, at, rate });
      const served = [...r.session.monitors.values()].filter((m) => m.stats.bpftracePid === pid);
      const names = served.map((m) => m.monitor.name);
      log.debug({ bpftracePid: pid, monitors: names, programs: cost.programs, nsPerEvent: rate.nsPerEvent, cpuPercent: rate.cpuPercent, recursionMisses: cost.recursionMisses }, 'in-kernel cost of bpftrace programs');
      // The budget judges CPU after attach only, over whole intervals (budgetWindow).
      const cpu = served.length && served.every((m) => m.stats.state === 'running') ? await processUsage(pid) : null;
      if (!cpu) {
        budgetBase.delete(pid);
        continue;
      }
      const reading = { atMs: performance.now(), userSeconds: cpu.cpuSeconds, bpfNs: cost.runTimeNs };
      const base = budgetBase.get(pid);
      const w = base ? budgetWindow(base, reading, statusEvery) : null;
      if (!base || w) budgetBase.set(pid, reading);
      if (w) checkBudget(r, pid, names, w.kernelPercent, w.userPercent);
    }
  };
  /** No tick for two intervals from a running aggregate monitor: its bpftrace is stalled (stopped, starved). */
  const watchTicks = (r: Running): void => {
    const now = Date.now();
    for (const [name, m] of r.session.monitors) {
      if (m.monitor.mode !== 'aggregate' || m.stats.state !== 'running' || m.stats.lastTickAt === null) continue;
      const late = now - m.stats.lastTickAt > 2 * m.interval * 1000 + 500;
      if (late && !m.stats.stalled) log.warn({ monitor: name, seconds: Math.round((now - m.stats.lastTickAt) / 100) / 10 }, `${name}: no interval closed for two intervals: bpftrace is stalled`);
      else if (!late && m.stats.stalled) log.info({ monitor: name }, `${name}: intervals close again`);
      m.stats.stalled = late;
    }
  };
  const tick = async (): Promise<void> => {
    const r = running;
    if (!r) return;
    watchTicks(r);
    r.session.sampleEventCoverage();
    if (!bpfStats && !deps.statusFile) return;
    const usage = new Map<number | null, ProcessUsage>();
    for (const m of r.session.monitors.values()) {
      if (!usage.has(m.stats.bpftracePid)) usage.set(m.stats.bpftracePid, await sample(m.stats.bpftracePid));
    }
    if (bpfStats) await sampleCosts(r, usage);
    if (!deps.statusFile) return;
    const monitorStatus = [...r.session.monitors].map(([name, m]) => {
      const c = m.stats.bpftracePid === null ? undefined : costs.get(m.stats.bpftracePid);
      return { monitor: name, ...m.stats, bpftrace: usage.get(m.stats.bpftracePid)!, bpf: c ? { ...c.cost, ...c.rate } : null };
    });
    const doc: StatusDoc = {
      pid: process.pid,
      startedAt,
      updatedAt: new Date().toISOString(),
      configFile: runnable.configFile,
      outputDir: r.session.dir,
      monitors: monitorStatus,
      supervisor: await sample(process.pid),
    };
    await writeStatus(deps.statusFile, doc).catch((e: unknown) => log.warn({ err: describe(e) }, 'cannot write the status file'));
  };
  const statusEvery = Math.max(1, Math.min(...runnable.processes.flatMap((p) => p.monitors.map((m) => m.plan.interval)), 2)) * 1000;
  const statusTimer = setInterval(() => void tick(), statusEvery);

  const launch = async (s: Session): Promise<{ running: Running; report: ReadyReport }> => {
    const r: Running = { session: s, supervisor: s.start() };
    running = r;
    allFiles.push(...s.files);
    await Promise.race([r.supervisor.settled, deps.signals.stop]);
    const all = [...s.monitors.values()];
    const attached = all.filter((m) => m.stats.state === 'running').map((m) => m.monitor.name);
    const failedNow = all.filter((m) => m.stats.state === 'failed').map((m) => ({ monitor: m.monitor.name, reason: m.stats.lastError ?? 'failed' }));
    for (const f of failedNow) log.error({ monitor: f.monitor, reason: f.reason }, `monitor ${f.monitor} could not start`);
    if (attached.length) log.info({ monitors: attached, output: s.dir }, 'monitors attached');
    await tick();
    const report = {
      attached,
      failed: failedNow,
      unavailable: runnable.verdicts.filter((v) => v.status === 'unavailable').map((v) => ({ monitor: v.monitor, reason: v.detail })),
      outputDir: s.dir,
    };
    return { running: r, report };
  };

  try {
    const first = await launch(await prepareSession(runnable, opts, extra, { log, ...(deps.spawn ? { spawn: deps.spawn } : {}) }));
    logScope(scope, first.running.session.monitors.values(), log);
    deps.onReady?.(first.report);
    // --pid: when every target has exited there is nothing left to count (bpftrace -p stops likewise).
    const targets = watchPids(opts.pid ?? [], log);
    let timer: LongTimeout | undefined;
    const durationDone = new Promise<string>((resolve) => {
      if (opts.duration !== undefined) timer = setLongTimeout(() => resolve('duration'), opts.duration * 1000, { unref: true });
    });
    for (;;) {
      const r: Running = current() ?? first.running;
      const reload = new Promise<string>((resolve) => {
        reloadRequested = () => resolve('reload');
        if (reloadPending) resolve('reload');
      });
      const why = await Promise.race([deps.signals.stop, durationDone, reload, targets.done, r.supervisor.done.then(() => 'all bpftrace processes ended')]);
      reloadPending = false;
      if (why !== 'reload') {
        timer?.clear();
        targets.stop();
        log.info({ reason: why }, 'stopping: waiting for the final interval');
        deps.onStopping?.();
        break;
      }
      deps.reopenLog?.();
      // Output files renamed by logrotate are left to it now, before the (slower) reload.
      await r.session.reopen();
      log.info('SIGHUP: reloading the configuration');
      deps.onReloading?.();
      // The new session is prepared while the old one runs: a config, directory or compile that fails leaves it be.
      let next: { runnable: Runnable; session: Session };
      try {
        const nr = await makeRunnable({ ...opts, scope }, log);
        next = { runnable: nr, session: await prepareSession(nr, opts, extra, { log, ...(deps.spawn ? { spawn: deps.spawn } : {}) }) };
      } catch (e) {
        log.error({ reason: describe(e) }, `reload refused: ${describe(e)}; the running configuration continues`);
        deps.onReloaded?.({ applied: false });
        continue;
      }
      logVerdicts(log, next.runnable.verdicts);
      const stoppedAt = new Date();
      await r.session.close();
      tally(r.session);
      for (const [n, m] of next.session.monitors) {
        const t = totals.get(n);
        if (t) carryCounters(m.stats, t);
      }
      runnable = next.runnable;
      running = null;
      const { running: now } = await launch(next.session);
      // Between the old processes' final interval and the new ones attaching, nothing was counted: say so.
      const gap = ((Date.now() - stoppedAt.getTime()) / 1000).toFixed(1);
      for (const [name, m] of now.session.monitors) {
        if (m.stats.state === 'running') now.session.output.note(name, new Date().toISOString(), `configuration reloaded: events from ${stoppedAt.toISOString()} to now (${gap} s) were not counted`);
      }
      log.info({ config: runnable.configFile, gapSeconds: Number(gap) }, 'configuration reloaded');
      deps.onReloaded?.({ applied: true });
    }
  } finally {
    clearInterval(statusTimer);
    // Every step runs whatever the others do; the host-wide setting first.
    await runSteps(log, [
      ['restore kernel.bpf_stats_enabled', () => bpfStats?.restore()],
      ['stop bpftrace and close the output', () => current()?.session.close()],
      ['close the prometheus exporter', () => exporter?.close()],
    ]);
  }
  const last = current();
  if (last) tally(last.session);
  const written = Object.fromEntries(outputs.map((o) => [o.file, o.rowsWritten]));
  const lost = Object.fromEntries(outputs.filter((o) => o.rowsDropped).map((o) => [o.file, o.rowsDropped]));
  log.info({ rows, files: allFiles, written, ...(Object.keys(lost).length ? { lost } : {}) }, 'stopped');
  return { files: allFiles, rows, failed: [...failed], outputs };
}
