// The missing-tick watchdog: an aggregate monitor that closed no interval for two of them has a stalled bpftrace
// (stopped, starved). The verdict is pure; `watchStalls` applies it to a session's monitors and logs the changes.
import type { Logger } from '../log.js';
import type { RoutedMonitor } from '../records/router.js';

export interface TickClock {
  /** The monitor's interval, seconds. */
  interval: number;
  /** monotonicMs() of its last closed interval (src/timers.ts). */
  lastTickAt: number;
  /** Whether it was found stalled at the check before. */
  stalled: boolean;
}

/** Whether a monitor is late now, and what changed since the check before. Half a second of slack for timer jitter. */
export function stallVerdict(m: TickClock, now: number): { late: boolean; change: 'stalled' | 'resumed' | null } {
  const late = now - m.lastTickAt > 2 * m.interval * 1000 + 500;
  return { late, change: late && !m.stalled ? 'stalled' : !late && m.stalled ? 'resumed' : null };
}

/** The watchdog over every running aggregate monitor that has ticked once; sets `stats.stalled`. */
export function watchStalls(monitors: ReadonlyMap<string, RoutedMonitor>, now: number, log: Logger): void {
  for (const [name, m] of monitors) {
    const { lastTickAt } = m.stats;
    if (m.monitor.mode !== 'aggregate' || m.stats.state !== 'running' || lastTickAt === null) continue;
    const v = stallVerdict({ interval: m.interval, lastTickAt, stalled: m.stats.stalled }, now);
    if (v.change === 'stalled') log.warn({ monitor: name, seconds: Math.round((now - lastTickAt) / 100) / 10 }, `${name}: no interval closed for two intervals: bpftrace is stalled`);
    else if (v.change === 'resumed') log.info({ monitor: name }, `${name}: intervals close again`);
    m.stats.stalled = v.late;
  }
}
