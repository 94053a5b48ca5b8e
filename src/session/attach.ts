// Once a session's processes settled (each attached or failed): which monitors run, and which could not start
// (each logged as an error). `start` and `run` report it alike.
import type { Logger } from '../log.js';
import type { Session } from './session.js';

export function attachReport(s: Session, log: Logger): { attached: string[]; failed: { monitor: string; reason: string }[] } {
  const all = [...s.monitors.values()];
  const attached = all.filter((m) => m.stats.state === 'running').map((m) => m.monitor.name);
  const failed = all.filter((m) => m.stats.state === 'failed').map((m) => ({ monitor: m.monitor.name, reason: m.stats.lastError ?? 'failed' }));
  for (const f of failed) log.error({ monitor: f.monitor, reason: f.reason }, `monitor ${f.monitor} could not start`);
  return { attached, failed };
}
