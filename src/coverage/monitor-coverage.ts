// Coverage of a run's monitors: each aggregate monitor's interval against its kernel counter (or whether it is
// known complete), each event monitor's records seen against seen plus lost; stats, warnings and marker rows.
import type { Logger } from '../log.js';
import type { RoutedMonitor } from '../records/router.js';
import { readCounter, type Reading } from './kernel-counters.js';
import { coverageThreshold, coverageWindow, createCoverageTracker, type CoverageSample, type CoverageTracker } from './tracker.js';

/**
 * Coverage per monitor (src/coverage/): each interval of an aggregate monitor is checked against its kernel counter,
 * read now (the interval's close), or, without one, counted as complete or not; event monitors compare records
 * seen with records seen plus lost. A monitor whose coverage falls below the threshold gets a warning and a marker
 * row, and another when it recovers.
 */
export function createMonitorCoverage(monitors: ReadonlyMap<string, RoutedMonitor>, note: (monitor: string, text: string) => void, log: Logger) {
  const trackers = new Map<string, CoverageTracker>();
  const lastReading = new Map<string, Reading>();
  const lastEvents = new Map<string, { rows: number; lost: number }>();
  const trackerOf = (name: string, m: RoutedMonitor): CoverageTracker => {
    let t = trackers.get(name);
    if (!t) trackers.set(name, (t = createCoverageTracker(m.monitor.coverage ? 'kernel' : 'self', coverageWindow, m.monitor.coverage?.expect ?? coverageThreshold)));
    return t;
  };
  const record = (name: string, m: RoutedMonitor, sample: CoverageSample): void => {
    const { state, crossed } = trackerOf(name, m).add(sample);
    m.stats.coverage = state;
    if (!crossed) return;
    const against = m.monitor.coverage ? `of the kernel's count (${m.monitor.coverage.counter})` : 'of intervals known complete';
    const text =
      crossed === 'fell'
        ? `coverage below ${m.monitor.coverage?.expect ?? coverageThreshold}: ${state.ratio} ${against} over the last ${coverageWindow} intervals`
        : `coverage back at ${state.ratio} ${against}`;
    if (crossed === 'fell') log.warn({ monitor: name, coverage: state.ratio }, `${name}: ${text}`);
    else log.info({ monitor: name, coverage: state.ratio }, `${name}: ${text}`);
    note(name, text);
  };
  /** The kernel's count since the last reading for this monitor (only the devices it saw, for block requests). */
  const kernelDelta = (name: string, m: RoutedMonitor, devices: readonly string[] | undefined): number | null => {
    const counter = m.monitor.coverage?.counter;
    if (!counter) return null;
    const now = readCounter(counter);
    const before = lastReading.get(name);
    if (now === null) return null;
    lastReading.set(name, now);
    if (before === undefined) return null;
    if (typeof now === 'number' && typeof before === 'number') return now - before;
    if (now instanceof Map && before instanceof Map) return (devices ?? []).reduce((n, d) => n + (now.get(d) ?? 0) - (before.get(d) ?? now.get(d) ?? 0), 0);
    return null;
  };
  let stopping = false;
  return {
    /** The run is stopping: END's partial interval ends where the probes stopped, not where the kernel is read. */
    stop(): void {
      stopping = true;
    },
    onInterval(name: string, i: { total: { value: number; devices?: readonly string[] } | null; complete: boolean }): void {
      const m = monitors.get(name);
      if (!m || stopping) return;
      const kernel = kernelDelta(name, m, i.total?.devices);
      record(name, m, { total: kernel === null ? null : (i.total?.value ?? null), kernel, complete: i.complete });
    },
    sampleEvents(): void {
      for (const [name, m] of monitors) {
        if (m.monitor.mode !== 'event' || m.stats.state !== 'running') continue;
        const last = lastEvents.get(name) ?? { rows: m.stats.rows, lost: m.stats.lostEvents };
        const seen = m.stats.rows - last.rows;
        const lost = m.stats.lostEvents - last.lost;
        lastEvents.set(name, { rows: m.stats.rows, lost: m.stats.lostEvents });
        record(name, m, { total: seen, kernel: seen + lost, complete: lost === 0 });
      }
    },
  };
}
