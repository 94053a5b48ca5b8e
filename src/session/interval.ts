// What a running session does each interval: the missing-tick watchdog, the event monitors' coverage, then (when
// asked for) one health sample per bpftrace process with its in-kernel cost and budget, and the status file.
import type { Logger } from '../log.js';
import { describe } from '../errors.js';
import { createUsageSampler, writeStatus, type StatusDoc } from '../daemon/status.js';
import type { Supervisor } from '../process/supervisor.js';
import type { Runnable } from '../script/runnable.js';
import type { Session } from './session.js';
import type { HealthSampler } from './health.js';
import type { BudgetGuard } from './budget-guard.js';
import { watchStalls } from './stall.js';
import { monotonicMs } from '../timers.js';

/** A session that runs: its supervisor with it. */
export interface Running {
  session: Session;
  supervisor: Supervisor;
}

export interface IntervalDeps {
  log: Logger;
  health: HealthSampler;
  /** kernel.bpf_stats_enabled is on (runtime.self_stats or a budget): costs are read and budgets judged. */
  bpfStats: boolean;
  budget: BudgetGuard;
  /** Refresh this status file (daemon mode). */
  statusFile?: string | undefined;
  /** When this ebpfmon started (ISO), for the status file. */
  startedAt: string;
}

/** The work of one interval over the running session `r` of `runnable`. */
export function createIntervalWork(deps: IntervalDeps): (r: Running, runnable: Runnable) => Promise<void> {
  const { log, health } = deps;
  const self = createUsageSampler();
  return async (r, runnable) => {
    const { session } = r;
    watchStalls(session.monitors, monotonicMs(), log);
    session.sampleEventCoverage();
    if (!deps.bpfStats && !deps.statusFile) return;
    const sampled = await health.sample(session.monitors.values(), deps.bpfStats);
    for (const { pid, cost } of sampled) {
      if (!cost) continue;
      const served = [...session.monitors.values()].filter((m) => m.stats.bpftracePid === pid);
      const names = served.map((m) => m.monitor.name);
      log.debug({ bpftracePid: pid, monitors: names, programs: cost.cost.programs, nsPerEvent: cost.rate.nsPerEvent, cpuPercent: cost.rate.cpuPercent, recursionMisses: cost.cost.recursionMisses }, 'in-kernel cost of bpftrace programs');
      await deps.budget(pid, cost.cost, served, runnable.config.runtime, { halt: (p, reason) => r.supervisor.halt(p, reason), note: (m, at, text) => session.output.note(m, at, text) });
    }
    if (!deps.statusFile) return;
    const doc: StatusDoc = {
      pid: process.pid,
      startedAt: deps.startedAt,
      updatedAt: new Date().toISOString(),
      configFile: runnable.configFile,
      outputDir: session.dir,
      monitors: [...session.monitors].map(([name, m]) => {
        const c = health.cost(m.stats.bpftracePid);
        // For readers of the file, when the last interval closed as a date (ms since the epoch), as of this write.
        // eslint-disable-next-line no-restricted-properties -- a date for the file's readers
        const lastTickAt = m.stats.lastTickAt === null ? null : Date.now() - (monotonicMs() - m.stats.lastTickAt);
        return { monitor: name, ...m.stats, lastTickAt, bpftrace: health.usage(m.stats.bpftracePid), bpf: c ? { ...c.cost, ...c.rate } : null };
      }),
      supervisor: await self(process.pid),
    };
    await writeStatus(deps.statusFile, doc).catch((e: unknown) => log.warn({ err: describe(e) }, 'cannot write the status file'));
  };
}
