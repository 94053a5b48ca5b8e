// `ebpfmon top`: a live view of the busiest processes across the monitors, like htop, with each monitor's coverage
// and what watching costs. It runs its own session (the default config, no output files) beside anything else,
// on the alternate screen of a terminal, or as plain snapshots when stdout is a pipe. The model, the keys and the
// drawing are pure (src/top/); this file wires them to the session, the clock and the terminal.
import { readFile } from 'node:fs/promises';
import { Command, InvalidArgumentError, Option } from 'commander';
import { pino, stdTimeFunctions, type LevelWithSilent } from 'pino';
import { logLevels, openLog, prettyLine, type Logger } from '../../log.js';
import { RunFailure } from '../../errors.js';
import { makeRunnable } from '../../session/runnable.js';
import { requirePids, scopeOf } from '../../session/targets.js';
import { prepareSession, type Session } from '../../session/session.js';
import type { Supervisor } from '../../process/supervisor.js';
import { bpfStatsSysctl, costRate, processBpfCost, type BpfCost, type CostRate } from '../../process/bpf-stats.js';
import { createUsageSampler, type ProcessUsage } from '../../daemon/status.js';
import { createTopState, snapshot, sortKeys, type MonitorClock, type SortKey } from '../../top/model.js';
import { decodeKeys, press, type UiState } from '../../top/keys.js';
import { drawScreen, drawSnapshot, type CostLine, type Frame, type MonitorLine } from '../../top/draw.js';
import { createTopSink } from '../../top/sink.js';
import { openScreen, type Screen } from '../../top/terminal.js';
import { setLongTimeout, type LongTimeout } from '../../timers.js';
import { commOption, pidOption, secondsOption } from '../options.js';

export interface TopOptions {
  config?: string | undefined;
  monitors?: string | undefined;
  sort?: SortKey | undefined;
  filter?: string | undefined;
  /** Processes per snapshot when stdout is not a terminal. */
  lines?: number | undefined;
  duration?: number | undefined;
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
          if ((rec.level ?? 0) >= 40) last = { msg: String(rec.msg ?? ''), at: Date.now() };
        } catch {
          // not a record: kept for stderr only
        }
      },
    },
  );
  return {
    log,
    last: () => (last && Date.now() - last.at < messageMs ? last.msg : null),
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
  // Everything that can refuse to run (config, root, bpftrace, tracefs) is checked before the terminal changes.
  if (o.pid) await requirePids(o.pid);
  const runnable = await makeRunnable({ config: o.config, monitors: o.monitors, scope: scopeOf(o) }, log);
  const intervals = runnable.processes.flatMap((p) => p.monitors.filter((m) => m.monitor.mode === 'aggregate').map((m) => m.plan.interval));
  const refreshMs = Math.max(1, Math.min(...intervals, 2)) * 1000;

  const state = createTopState();
  let ui: UiState = { sort: o.sort ?? 'syscalls', filter: o.filter ?? '', editing: null };
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
  const onSignal = (sig: NodeJS.Signals): void => quit(sig);
  const signals: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];
  for (const s of signals) process.on(s, onSignal);
  // `ebpfmon top | head`: the reader went away; stop as on SIGTERM rather than die on EPIPE.
  const onOutError = (e: NodeJS.ErrnoException): void => {
    outClosed = true;
    quit(e.code === 'EPIPE' ? 'stdout closed' : `stdout: ${e.message}`);
  };
  stdout.on('error', onOutError);

  // The bpftrace processes' CPU (and, when kernel.bpf_stats_enabled is on, their BPF programs' run time), sampled
  // once per refresh.
  const sample = createUsageSampler();
  const usage = new Map<number, ProcessUsage>();
  const costs = new Map<number, { cost: BpfCost; at: number; rate: CostRate }>();
  let bpfStats = false;
  const measure = async (s: Session): Promise<void> => {
    s.sampleEventCoverage();
    bpfStats = (await readFile(bpfStatsSysctl, 'utf8').catch(() => '0')).trim() !== '0';
    const pids = new Set([...s.monitors.values()].flatMap((m) => (m.stats.bpftracePid === null ? [] : [m.stats.bpftracePid])));
    for (const pid of [...usage.keys()]) if (!pids.has(pid)) usage.delete(pid);
    for (const pid of pids) {
      usage.set(pid, await sample(pid));
      const cost = bpfStats ? await processBpfCost(pid) : null;
      if (!cost) {
        costs.delete(pid);
        continue;
      }
      const at = Date.now();
      costs.set(pid, { cost, at, rate: costRate(costs.get(pid), cost, at) });
    }
  };

  const frame = (): Frame => {
    const all = session ? [...session.monitors.values()] : [];
    const clocks: MonitorClock[] = all
      .filter((m) => m.stats.state === 'running')
      .map((m) => ({ name: m.monitor.name, mode: m.monitor.mode, interval: m.interval, lastTickAt: m.stats.lastTickAt }));
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
      const u = usage.get(pid);
      const c = costs.get(pid);
      byPid.set(pid, {
        pid,
        runtime: m.stats.runtime,
        monitors: [m.monitor.name],
        cpuPercent: u?.cpuPercent ?? null,
        rssBytes: u?.rssBytes ?? null,
        bpf: c ? { cpuPercent: c.rate.cpuPercent, nsPerEvent: c.rate.nsPerEvent } : null,
      });
    }
    const now = Date.now();
    return {
      snapshot: snapshot(state, clocks, now, refreshMs),
      ui,
      time: hhmmss(new Date(now)),
      refreshSeconds: refreshMs / 1000,
      monitors,
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
    const now = Date.now();
    if (now - lastPrint < (force ? refreshMs * 1.5 : refreshMs / 2)) return;
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
      else print(false);
    }, redrawDelayMs);
  };
  const sink = createTopSink(state, { onRows, stalls: (monitor) => {
    const stats = session?.monitors.get(monitor)?.stats;
    return stats ? stats.stalls + stats.skippedTicks : 0;
  } });

  let tick: NodeJS.Timeout | undefined;
  let durationTimer: LongTimeout | undefined;
  let supervisor: Supervisor | null = null;
  let why = '';
  const allEnded = 'every bpftrace process ended';
  try {
    if (tty) {
      screen = openScreen({
        stdin,
        stdout,
        onKeys: (chunk) => {
          for (const key of decodeKeys(chunk)) {
            const r = press(ui, key);
            ui = r.state;
            if (r.quit) quit(key.kind === 'interrupt' ? 'Ctrl-C' : 'q');
          }
          redraw();
        },
        onResize: redraw,
      });
      redraw();
    }
    session = await prepareSession(runnable, { noFiles: true, console: false }, [sink], { log });
    supervisor = session.start();
    const s = session;
    // Each refresh: the clock, coverage and cost move on even in an interval without rows.
    tick = setInterval(() => {
      void measure(s).then(() => (tty ? redraw() : print(true)));
    }, refreshMs);
    redraw();
    // --duration counts from when the probes are attached, as in `start`.
    void Promise.race([supervisor.settled, quitting]).then(() => {
      if (o.duration !== undefined && !stopping) durationTimer = setLongTimeout(() => quit('duration'), o.duration * 1000);
    });
    why = await Promise.race([quitting, supervisor.done.then(() => allEnded)]);
  } finally {
    clearInterval(tick);
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
      for (const s of signals) process.removeListener(s, onSignal);
      stdout.removeListener('error', onOutError);
    }
  }
  if (why === allEnded) {
    const failed = [...(session?.monitors.values() ?? [])].map((m) => `${m.monitor.name}: ${m.stats.lastError ?? m.stats.state}`);
    throw new RunFailure(`every bpftrace process ended: ${failed.join('; ')}`);
  }
}

const positive = (what: string, integer: boolean) => (v: string): number => {
  const n = Number(v);
  if (!Number.isFinite(n) || n <= 0 || (integer && !Number.isInteger(n))) throw new InvalidArgumentError(`expected a positive ${what}`);
  return n;
};

/** The `top` command, for main.ts to add. */
export function topCommand(state: { log?: Logger }): Command {
  return new Command('top')
    .description('a live view of the busiest processes across the monitors (syscalls, opens, faults, switches, block I/O), with coverage and cost; no output files')
    .option('-c, --config <file>', 'config file (default: /etc/ebpfmon/monitor_config.yaml if present, else the packaged default)', (v: string) => {
      // "" (an unset shell variable) would mean the current directory: refused, as `start` does.
      if (v === '') throw new InvalidArgumentError('expected a config file path, not an empty string');
      return v;
    })
    .option('-m, --monitors <list>', 'comma-separated monitors to run, replacing the ones the config enables')
    .addOption(new Option('-s, --sort <key>', 'sort by this at start (keys s e o f c b)').choices(sortKeys).default('syscalls'))
    .option('-p, --pid <pid>', 'count only this process and its threads, in the kernel (repeat it or give a comma list)', pidOption)
    .option('--comm <name>', 'count only threads of this name, in the kernel', commOption)
    .option('--filter <text>', 'show only processes whose comm contains this at start (key /)')
    .option('-n, --lines <n>', 'processes per snapshot when stdout is not a terminal', positive('integer', true), 5)
    .option('-d, --duration <seconds>', 'stop after this many seconds (counted from when the probes are attached; any length)', secondsOption())
    .addOption(new Option('--log-level <level>', 'log level (default warn; on a terminal, shown in the view and printed at exit)').choices(logLevels))
    .addHelpText('after', `
Keys: s syscalls/s, e errors/s, o opens/s, f faults/s, c switches/s, b block I/O (reads+writes): sort.
  / filter by comm (Enter keeps it, Esc clears it).  q or Ctrl-C: quit (bpftrace stops, nothing stays attached).

Examples:
  sudo ebpfmon top                           the live view (runs beside a daemon: its own bpftrace, no files)
  sudo ebpfmon top --sort faults --filter postgres
  sudo ebpfmon top | head -20                plain snapshots, a few lines per interval, when stdout is a pipe
  sudo ebpfmon top -m syscall,open -n 10 --duration 30 > top.txt`)
    .action((o: TopOptions) => runTop(o, { setLog: (l) => (state.log = l) }));
}
