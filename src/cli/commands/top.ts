// `ebpfmon top`: a live view of the busiest processes across the monitors, like htop, with each monitor's coverage
// and what watching costs. It runs its own session (the default config, no output files) beside anything else,
// on the alternate screen of a terminal, or as plain snapshots when stdout is a pipe. The model, the keys and the
// drawing are pure (src/top/); this file wires them to the session, the clock and the terminal.
import { pino, stdTimeFunctions, type LevelWithSilent } from 'pino';
import { openLog, prettyLine, type Logger } from '../../log.js';
import { RunFailure } from '../../errors.js';
import { makeRunnable } from '../../script/runnable.js';
import { requirePids, scopeOf } from '../../session/targets.js';
import { prepareSession, type Session } from '../../session/session.js';
import type { Supervisor } from '../../process/supervisor.js';
import { bpfStatsEnabled } from '../../process/bpf-stats.js';
import { createHealthSampler, refreshSeconds } from '../../session/health.js';
import { watchStopRequests } from '../../session/stop-requests.js';
import { createTopState, snapshot, withUsage, type MonitorClock, type SortKey, type Usage } from '../../top/model.js';
import { initialUi, press, type UiState } from '../../top/keys.js';
import { bodyRows, drawScreen, drawSnapshot, visibleProcesses, type CostLine, type Frame, type MonitorLine } from '../../top/draw.js';
import { createProcSampler } from '../../top/proc.js';
import { createTopSink } from '../../top/sink.js';
import { openScreen, type Screen } from '../../top/terminal.js';
import { monotonicMs, setLongTimeout, type LongTimeout } from '../../timers.js';

export interface TopOptions {
  config?: string | undefined;
  monitors?: string | undefined;
  sort?: SortKey | undefined;
  filter?: string | undefined;
  /** Processes per snapshot when stdout is not a terminal. */
  lines?: number | undefined;
  duration?: number | undefined;
  /** Seconds between redraws; default the shortest monitor interval, at most 2. */
  delay?: number | undefined;
  logLevel?: LevelWithSilent | undefined;
  /** Only these processes / threads of this name, filtered in the kernel (src/session/targets.ts). */
  pid?: number[] | undefined;
  comm?: string | undefined;
}

export interface TopDeps {
  setLog(log: Logger): void;
  stdin?: NodeJS.ReadStream;
  stdout?: NodeJS.WriteStream & { fd: number };
  stderr?: NodeJS.WriteStream;
}

/** After quitting, bpftrace gets SIGKILL 10 s after SIGTERM; if closing still hangs, leave (the exit handler restores the terminal). */
const shutdownWatchdogMs = 30_000;
/** Rows of all monitors of one bpftrace arrive within milliseconds of each other at a tick: one redraw for them. */
const redrawDelayMs = 200;
/** How long the last warning stays in the view. */
const messageMs = 30_000;
const hhmmss = (d: Date): string => d.toTimeString().slice(0, 8);

/**
 * The logger of the view. On a terminal nothing may write over the screen: lines are kept (the last 100), the last
 * warning is shown in the view, and the kept lines go to stderr once the terminal is restored. On a pipe, stderr.
 */
function topLogger(level: LevelWithSilent, tty: boolean, stderr: NodeJS.WritableStream): { log: Logger; last(): string | null; release(): void } {
  if (!tty) return { log: openLog({ level }).log, last: () => null, release: () => undefined };
  let held: string[] | null = [];
  let last: { msg: string; at: number } | null = null;
  const log = pino(
    { level, base: { app: 'ebpfmon' }, timestamp: stdTimeFunctions.isoTime },
    {
      write(s: string) {
        if (!held) {
          stderr.write(prettyLine(s));
          return;
        }
        held.push(prettyLine(s));
        if (held.length > 100) held.shift();
        try {
          const rec = JSON.parse(s) as { level?: number; msg?: string };
          if ((rec.level ?? 0) >= 40) last = { msg: String(rec.msg ?? ''), at: monotonicMs() };
        } catch {
          // not a record: kept for stderr only
        }
      },
    },
  );
  return {
    log,
    last: () => (last && monotonicMs() - last.at < messageMs ? last.msg : null),
    // The terminal is back: what was kept goes to stderr, and so does whatever is logged after (main's stack trace).
    release: () => {
      for (const line of held ?? []) stderr.write(line);
      held = null;
    },
  };
}

/** Runs the view until q, Ctrl-C, a signal, --duration, a closed pipe, or the end of every bpftrace. */
export async function runTop(o: TopOptions, deps: TopDeps): Promise<void> {
  const stdin = deps.stdin ?? process.stdin;
  const stdout = deps.stdout ?? process.stdout;
  const stderr = deps.stderr ?? process.stderr;
  const tty = stdout.isTTY === true;
  const logs = topLogger(o.logLevel ?? 'warn', tty, stderr);
  deps.setLog(logs.log);
  try {
    await runView(o, { stdin, stdout, tty, logs });
  } finally {
    logs.release();
  }
}

async function runView(
  o: TopOptions,
  io: { stdin: NodeJS.ReadStream; stdout: NodeJS.WriteStream & { fd: number }; tty: boolean; logs: ReturnType<typeof topLogger> },
): Promise<void> {
  const { stdin, stdout, tty, logs } = io;
  const { log } = logs;
  const state = createTopState();
  let ui: UiState = initialUi({ sort: o.sort ?? 'syscalls', filter: o.filter ?? '', delay: o.delay ?? 2 });
  /** What the view says before the session exists; null once it does. */
  let starting: string | null = 'checking the config, bpftrace and tracefs';
  /** The refresh is the delay (+/- change it); exec/s is counted over it. */
  const refreshMs = (): number => ui.delay * 1000;
  let session: Session | null = null;
  let screen: Screen | null = null;
  let lastPrint = 0;
  let redrawTimer: NodeJS.Timeout | undefined;
  let outClosed = false;

  let quit: (why: string) => void = () => undefined;
  let stopping = false;
  const quitting = new Promise<string>((resolve) => (quit = resolve)).then((why) => {
    // The final interval bpftrace prints at exit is partial: its counts over a full interval would understate rates.
    stopping = true;
    return why;
  });
  // A signal or a closed stdout (`ebpfmon top | head`) quits as q does.
  const unwatch = watchStopRequests({
    signals: ['SIGINT', 'SIGTERM', 'SIGHUP'],
    onSignal: (sig) => quit(sig),
    stdout,
    onOutError: (e) => {
      outClosed = true;
      quit(e.code === 'EPIPE' ? 'stdout closed' : `stdout: ${e.message}`);
    },
  });

  // Every listed process's CPU and RSS, from /proc, sampled once per refresh like htop.
  const sampleProcs = createProcSampler();
  let procUsage: ReadonlyMap<number, Usage> = new Map();
  let procSampledAt = 0;
  /** /proc for the processes listed now; again within half a refresh only for pids not sampled yet. */
  const sampleUsage = async (): Promise<void> => {
    const now = monotonicMs();
    const pids = snapshot(state, clocks(), now, refreshMs()).processes.map((p) => p.pid);
    if (now - procSampledAt < refreshMs() / 2 && pids.every((pid) => procUsage.has(pid))) return;
    procSampledAt = now;
    procUsage = await sampleProcs(pids, now);
  };
  // The bpftrace processes' CPU (and, when kernel.bpf_stats_enabled is on, their BPF programs' run time), sampled
  // once per refresh, as `start` samples them.
  const health = createHealthSampler();
  let bpfStats = false;
  const measure = async (s: Session): Promise<void> => {
    s.sampleEventCoverage();
    await sampleUsage();
    bpfStats = await bpfStatsEnabled();
    await health.sample(s.monitors.values(), bpfStats);
  };

  const clocks = (): MonitorClock[] =>
    [...(session?.monitors.values() ?? [])]
      .filter((m) => m.stats.state === 'running')
      .map((m) => ({ name: m.monitor.name, mode: m.monitor.mode, interval: m.interval, lastTickAt: m.stats.lastTickAt }));
  const frame = (): Frame => {
    const all = session ? [...session.monitors.values()] : [];
    const monitors: MonitorLine[] = all.map((m) => ({
      name: m.monitor.name,
      state: m.stats.state,
      coverage: m.stats.coverage?.ratio ?? null,
      low: m.stats.coverage?.low ?? false,
    }));
    const byPid = new Map<number, CostLine & { monitors: string[] }>();
    for (const m of all) {
      const pid = m.stats.bpftracePid;
      if (pid === null) continue;
      const line = byPid.get(pid);
      if (line) {
        line.monitors.push(m.monitor.name);
        continue;
      }
      const u = health.usage(pid);
      const c = health.cost(pid);
      byPid.set(pid, {
        pid,
        runtime: m.stats.runtime,
        monitors: [m.monitor.name],
        cpuPercent: u.cpuPercent,
        rssBytes: u.rssBytes,
        bpf: c ? { cpuPercent: c.rate.cpuPercent, nsPerEvent: c.rate.nsPerEvent } : null,
      });
    }
    const now = monotonicMs();
    const snap = snapshot(state, clocks(), now, refreshMs());
    return {
      snapshot: { ...snap, processes: withUsage(snap.processes, procUsage) },
      ui,
      time: hhmmss(new Date()),
      refreshSeconds: ui.delay,
      monitors,
      waiting: all.filter((m) => m.stats.state !== 'running' || (m.monitor.mode === 'aggregate' && m.stats.lastTickAt === null)).map((m) => m.monitor.name),
      starting,
      costs: [...byPid.values()],
      bpfStats,
      message: logs.last(),
    };
  };

  const redraw = (): void => {
    if (screen && !stopping) screen.draw(drawScreen(frame(), screen.size()));
  };
  /** A snapshot on stdout (not a terminal): once there is data, at most one per half refresh. */
  const print = (force: boolean): void => {
    if (outClosed || stopping) return;
    const now = monotonicMs();
    if (now - lastPrint < (force ? refreshMs() * 1.5 : refreshMs() / 2)) return;
    const f = frame();
    if (!f.snapshot.ready) return;
    lastPrint = now;
    stdout.write(drawSnapshot(f, o.lines ?? 5).join('\n') + '\n');
  };
  const onRows = (): void => {
    if (redrawTimer) return;
    redrawTimer = setTimeout(() => {
      redrawTimer = undefined;
      if (tty) redraw();
      // A snapshot shows RSS and CPU time from its first line on (CPU% needs a second sample).
      else void sampleUsage().then(() => print(false));
    }, redrawDelayMs);
  };
  // Each refresh: the clock, coverage, cost and /proc move on even in an interval without rows. A new delay takes
  // effect at once.
  const schedule = (s: Session, now: boolean): void => {
    clearTimeout(tick);
    const run = (): void => {
      tick = setTimeout(run, refreshMs());
      void measure(s).then(() => (tty ? redraw() : print(true)));
    };
    if (now) run();
    else tick = setTimeout(run, refreshMs());
  };
  const sink = createTopSink(state, { onRows, stalls: (monitor) => {
    const stats = session?.monitors.get(monitor)?.stats;
    return stats ? stats.stalls + stats.skippedTicks : 0;
  } });

  let tick: NodeJS.Timeout | undefined;
  let session0: Session | null = null;
  let durationTimer: LongTimeout | undefined;
  let supervisor: Supervisor | null = null;
  let why = '';
  const allEnded = 'every bpftrace process ended';
  try {
    if (tty) {
      screen = openScreen({
        stdin,
        stdout,
        onKeys: (keys) => {
          const delay = ui.delay;
          for (const key of keys) {
            // PgUp/PgDn move by the rows on screen; the selection stays within the rows shown.
            const f = frame();
            const r = press(ui, key, { page: screen ? bodyRows(f, screen.size()) : 1, count: visibleProcesses(f).length });
            ui = r.state;
            if (r.quit) quit(key.kind === 'interrupt' ? 'Ctrl-C' : 'q');
          }
          if (ui.delay !== delay && session0) schedule(session0, true);
          redraw();
        },
        onResize: redraw,
      });
      // A frame at once: the header and what is being done, before the config is even read.
      redraw();
    }
    // Everything that can refuse to run (config, root, bpftrace, tracefs) is checked before bpftrace starts; on a
    // terminal the view is already up, and the error is printed once the terminal is restored.
    if (o.pid) requirePids(o.pid);
    const runnable = await makeRunnable({ config: o.config, monitors: o.monitors, scope: scopeOf(o) }, log);
    const intervals = runnable.processes.flatMap((p) => p.monitors.filter((m) => m.monitor.mode === 'aggregate').map((m) => m.plan.interval));
    if (o.delay === undefined) ui = { ...ui, delay: refreshSeconds(intervals) };
    starting = 'starting bpftrace';
    redraw();
    session = await prepareSession(runnable, { noFiles: true, console: false }, [sink], { log });
    starting = null;
    supervisor = session.start();
    session0 = session;
    schedule(session, false);
    redraw();
    // --duration counts from when the probes are attached, as in `start`.
    void Promise.race([supervisor.settled, quitting]).then(() => {
      if (o.duration !== undefined && !stopping) durationTimer = setLongTimeout(() => quit('duration'), o.duration * 1000);
    });
    why = await Promise.race([quitting, supervisor.done.then(() => allEnded)]);
  } finally {
    clearTimeout(tick);
    durationTimer?.clear();
    clearTimeout(redrawTimer);
    const watchdog = setTimeout(() => {
      logs.release();
      log.fatal({ seconds: shutdownWatchdogMs / 1000 }, 'ebpfmon top: stopping bpftrace did not finish in time; exiting');
      process.exit(1);
    }, shutdownWatchdogMs).unref();
    // The terminal first (q feels immediate), then bpftrace stops (it runs its END probe) and the scripts go.
    screen?.restore();
    try {
      await session?.close();
    } finally {
      clearTimeout(watchdog);
      // Signals while bpftrace stops were absorbed (quit already resolved): a second Ctrl-C does not cut it short.
      unwatch();
    }
  }
  if (why === allEnded) {
    const failed = [...(session?.monitors.values() ?? [])].map((m) => `${m.monitor.name}: ${m.stats.lastError ?? m.stats.state}`);
    throw new RunFailure(`every bpftrace process ended: ${failed.join('; ')}`);
  }
}
