// A whole `start` run: prepare and launch a session, then until a signal, --duration, the end of the --pid targets
// or of every bpftrace: the interval work (interval.ts), SIGHUP reloads and SIGUSR1 reopens; at the end, shut down
// without losing the final interval. A reload prepares the new session first (config, plan, directories, files,
// compiles); if anything fails it is logged and the running session continues.
import type { Logger } from '../log.js';
import { describe } from '../errors.js';
import type { SpawnBpftrace } from '../process/bpftrace.js';
import type { Sink } from '../sinks/sink.js';
import type { OutputFileStats } from '../sinks/file-sink.js';
import type { Scope } from '../bt/ir.js';
import type { Verdict } from '../plan/plan.js';
import { enableBpfStats } from '../process/bpf-stats.js';
import { carryCounters, countersOf, type Counters } from '../records/stats.js';
import { monotonicMs, setLongTimeout, type LongTimeout } from '../timers.js';
import { runSteps } from '../daemon/shutdown.js';
import { makeRunnable, type Early, type Runnable } from '../script/runnable.js';
import { prepareSession, type Session } from './session.js';
import { logScope, watchPids } from './targets.js';
import { attachReport } from './attach.js';
import { createHealthSampler, refreshSeconds } from './health.js';
import { createBudgetGuard } from './budget-guard.js';
import { exporterRestartChanges, reloadExporterWeb, startExporter, type ExporterOptions } from './exporter.js';
import { createIntervalWork, type Running } from './interval.js';

export interface SessionRunOptions extends ExporterOptions {
  config?: string | undefined;
  monitors?: string | undefined;
  /** Run these operator-edited scripts (a directory of .bt files, or one file) instead of generating. */
  scripts?: string | undefined;
  duration?: number | undefined;
  outputDir?: string | undefined;
  console?: boolean | undefined;
  /** What is counted (src/session/targets.ts); the run ends when every one of `scope.pids` has exited. */
  scope: Scope;
}

export interface SessionSignals {
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

export interface SessionRunDeps {
  log: Logger;
  signals: SessionSignals;
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
  /** The config the command read already, and `bpftrace --version` main.ts started: for the first run only. */
  early?: Early | undefined;
}

export interface SessionSummary {
  files: string[];
  rows: Record<string, number>;
  failed: string[];
  /** Per output file: rows written and rows lost (full disk, deleted directory). */
  outputs: OutputFileStats[];
}

function logVerdicts(log: Logger, verdicts: readonly Verdict[]): void {
  for (const v of verdicts) {
    if (v.status === 'unavailable') log.warn({ monitor: v.monitor, reason: v.detail }, `monitor ${v.monitor} is unavailable on this machine; skipped`);
    else if (v.status === 'fallback') log.info({ monitor: v.monitor, variant: v.variant, reason: v.reasons.join('; ') }, `monitor ${v.monitor} uses its ${v.variant ?? ''} fallback`);
  }
}

/**
 * The config, this machine and the scripts, with this machine's verdicts logged: the first session and every reload
 * start here. `early`: what start already read (the config text, the version probe), for the first session only.
 */
async function runnableOf(opts: SessionRunOptions, log: Logger, early: Early | undefined): Promise<Runnable> {
  const runnable = await makeRunnable(opts, log, early);
  logVerdicts(log, runnable.verdicts);
  return runnable;
}

/** Before anything attaches: monitors whose cost forecast is above their max_cpu_percent (cached calibration only). */
async function forecastBudgets(runnable: Runnable, log: Logger): Promise<void> {
  const monitors = runnable.processes.flatMap((p) => p.monitors.map((m) => m.monitor));
  if (!monitors.some((m) => runnable.config.monitors[m.name]?.max_cpu_percent != null)) return;
  // Loaded only when a monitor has a budget (it is the check command's, and costs memory).
  await import('../forecast/run.js')
    .then(({ warnOverBudget }) => warnOverBudget(log, { config: runnable.config, caps: runnable.caps, monitors }))
    .catch((e: unknown) => log.debug({ err: describe(e) }, 'no cost forecast at start'));
}

/** kernel.bpf_stats_enabled on, when self_stats or a cost budget (which needs the kernel's figures) asks for it. */
async function bpfStatsFor(r: Runnable, log: Logger): Promise<{ restore(): Promise<void> } | null> {
  const budgeted = r.config.runtime.max_cpu_percent !== undefined || r.processes.some((p) => p.monitors.some((m) => m.opts.max_cpu_percent !== undefined));
  if (!r.config.runtime.self_stats && !budgeted) return null;
  const stats = await enableBpfStats().catch((e: unknown) => {
    log.warn({ err: describe(e) }, 'cannot enable BPF run-time statistics (kernel.bpf_stats_enabled); self_stats off');
    return null;
  });
  if (stats && !stats.wasEnabled) log.info('BPF run-time statistics enabled (kernel.bpf_stats_enabled=1); restored at exit');
  return stats;
}

/**
 * The session a SIGHUP asks for, prepared as the first one was while the running one goes on: null (logged) when
 * its config, directory or a compile fails, and the running one is left be.
 */
async function prepareReload(opts: SessionRunOptions, log: Logger, prepare: (r: Runnable) => Promise<Session>): Promise<{ runnable: Runnable; session: Session } | null> {
  try {
    const runnable = await runnableOf(opts, log, undefined);
    return { runnable, session: await prepare(runnable) };
  } catch (e) {
    log.error({ reason: describe(e) }, `reload refused: ${describe(e)}; the running configuration continues`);
    return null;
  }
}

/**
 * What the sessions of one run add up to. Per monitor, the counters of the sessions closed so far: a reload's new
 * session starts from them, so `status`, the log and the exporter count from `start` on, each with the same totals.
 */
function createRunTotals(): { files: string[]; add(s: Session): void; carry(s: Session): void; stopped(log: Logger): SessionSummary } {
  const files: string[] = [];
  const rows: Record<string, number> = {};
  const failed = new Set<string>();
  const outputs: OutputFileStats[] = [];
  const totals = new Map<string, Counters>();
  return {
    files,
    add(s) {
      outputs.push(...s.outputs());
      for (const [n, m] of s.monitors) {
        rows[n] = m.stats.rows;
        totals.set(n, countersOf(m.stats));
        if (m.stats.state === 'failed') failed.add(n);
      }
    },
    carry(s) {
      for (const [n, m] of s.monitors) {
        const t = totals.get(n);
        if (t) carryCounters(m.stats, t);
      }
    },
    /** The last log line of the run, and its summary. */
    stopped(log) {
      const written = Object.fromEntries(outputs.map((o) => [o.file, o.rowsWritten]));
      const lost = Object.fromEntries(outputs.filter((o) => o.rowsDropped).map((o) => [o.file, o.rowsDropped]));
      log.info({ rows, files, written, ...(Object.keys(lost).length ? { lost } : {}) }, 'stopped');
      return { files, rows, failed: [...failed], outputs };
    },
  };
}

export async function runSession(opts: SessionRunOptions, deps: SessionRunDeps): Promise<SessionSummary> {
  const { log } = deps;
  let runnable = await runnableOf(opts, log, deps.early);
  if (runnable.caps.tracefs.detail.includes('ebpfmon mounted')) log.info(runnable.caps.tracefs.detail);
  await forecastBudgets(runnable, log);
  const startedAt = new Date().toISOString();
  // What starts from here on is stopped in the finally block below, whatever fails on the way (an exporter that
  // cannot listen restores bpf_stats itself, before the try): a leftover bpftrace, timer or HTTP server would keep
  // the process alive after an error, and kernel.bpf_stats_enabled is host-wide.
  let running: Running | null = null;
  /** The running session, read through a function: launch() sets it inside a closure, which narrowing cannot see. */
  const current = (): Running | null => running;
  const health = createHealthSampler();
  const bpfStats = await bpfStatsFor(runnable, log);
  const exporter = await startExporter(runnable.config, opts, { log, current: () => current()?.session ?? null, health, bpftraceVersion: runnable.caps.bpftrace.version }).catch(
    async (e: unknown) => {
      await bpfStats?.restore();
      throw e;
    },
  );
  // The exporter outlives sessions (counters accumulate across reloads): sessions get a view that never closes it.
  const extra: Sink[] = exporter ? [{ write: exporter.write, flush: exporter.flush, close: () => Promise.resolve() }] : [];
  const prepare = (r: Runnable): Promise<Session> => prepareSession(r, opts, extra, { log, ...(deps.spawn ? { spawn: deps.spawn } : {}) });
  const sum = createRunTotals();
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

  const statusEvery = refreshSeconds(runnable.processes.flatMap((p) => p.monitors.map((m) => m.plan.interval))) * 1000;
  const work = createIntervalWork({ log, health, bpfStats: bpfStats !== null, budget: createBudgetGuard(statusEvery, log), statusFile: deps.statusFile, startedAt });
  const tick = async (): Promise<void> => {
    const r = running;
    if (r) await work(r, runnable);
  };
  const statusTimer = setInterval(() => void tick(), statusEvery);

  const launch = async (s: Session): Promise<{ running: Running; report: ReadyReport }> => {
    const r: Running = { session: s, supervisor: s.start() };
    running = r;
    sum.files.push(...s.files);
    await Promise.race([r.supervisor.settled, deps.signals.stop]);
    const { attached, failed: failedNow } = attachReport(s, log);
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
    const first = await launch(await prepare(runnable));
    logScope(opts.scope, first.running.session.monitors.values(), log);
    deps.onReady?.(first.report);
    // --pid: when every target has exited there is nothing left to count (bpftrace -p stops likewise).
    const targets = watchPids(opts.scope.pids, log);
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
      const next = await prepareReload(opts, log, prepare);
      if (!next) {
        deps.onReloaded?.({ applied: false });
        continue;
      }
      const stoppedAt = new Date();
      const stoppedMs = monotonicMs();
      await r.session.close();
      sum.add(r.session);
      sum.carry(next.session);
      if (exporter) {
        for (const line of exporterRestartChanges(runnable.config, next.runnable.config, opts)) log.warn(line);
        await reloadExporterWeb(exporter, next.runnable.config, opts, log);
      }
      runnable = next.runnable;
      running = null;
      const { running: now } = await launch(next.session);
      // Between the old processes' final interval and the new ones attaching, nothing was counted: say so.
      const gap = ((monotonicMs() - stoppedMs) / 1000).toFixed(1);
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
  if (last) sum.add(last.session);
  return sum.stopped(log);
}
