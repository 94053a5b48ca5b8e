// `check --cost` and start's budget warning: which monitors get a forecast, from which rates, with which calibration.
import os from 'node:os';
import type { Config } from '../config/schema.js';
import type { Capabilities } from '../plan/capabilities.js';
import type { Verdict } from '../plan/plan.js';
import type { Logger } from '../log.js';
import { findMonitor } from '../monitors/registry.js';
import type { BaseOptions, KernelCounter, Monitor, Row } from '../monitors/types.js';
import { calibrate, readCalibration, scaleOf, calibrationFile, type CalibrationKey } from './calibration.js';
import { counterRates, measureRates, waitSeconds, type ProbeGroup } from './rates.js';
import type { Tracer } from './probe.js';
import { excludes, forecastMonitor, overBudget, totalOf, type Forecast, type MonitorForecast, type RateSource } from './forecast.js';

type AnyMonitor = Monitor<BaseOptions, Row>;

/** Where each monitor's rate comes from on this host: a counter, the tracepoints present, or why none. */
function sourceOf(m: AnyMonitor, verdict: Verdict | undefined, caps: Capabilities): RateSource {
  if (verdict?.status === 'unavailable') return { kind: 'none', why: `unavailable here: ${verdict.detail}` };
  const r = m.cost.rate;
  if (r === null || m.cost.nsPerEvent === null) return { kind: 'none', why: 'not forecast (kprobes)' };
  if ('counter' in r) return { kind: 'counter', counter: r.counter };
  const present = r.tracepoints.filter((t) => {
    const [category = '', event = ''] = t.split(':');
    return caps.tracepoint(category, event) !== null;
  });
  return present.length ? { kind: 'probe', tracepoints: present } : { kind: 'none', why: `none of ${r.tracepoints.join(', ')} exists here` };
}

/** The kernel counter a monitor's rate comes from, when it has one and a declared cost. */
const counterOf = (m: AnyMonitor): KernelCounter | null => (m.cost.rate && 'counter' in m.cost.rate && m.cost.nsPerEvent !== null ? m.cost.rate.counter : null);

const maxCpu = (config: Config, name: string): number | null => config.monitors[name]?.max_cpu_percent ?? null;

/** The forecast's short probes run in bpftrace (never ahead of time), so the version's own-pid expression applies. */
export const tracerOf = (caps: Capabilities, path: string): Tracer => ({ path, selfPid: caps.bpftrace.features.selfPid });

export const calibrationKey = (caps: Capabilities): CalibrationKey | null =>
  caps.bpftrace.version === null ? null : { kernel: caps.kernel, bpftrace: caps.bpftrace.version };

/** Measures rates for `seconds` and forecasts each selected monitor (calibrating first when the cache has nothing valid). */
export async function costForecast(opts: {
  config: Config;
  caps: Capabilities;
  verdicts: readonly Verdict[];
  selected: readonly string[];
  seconds: number;
  recalibrate: boolean;
}): Promise<Forecast> {
  const key = calibrationKey(opts.caps);
  if (!key || !opts.caps.bpftrace.path) throw new Error('cost forecast without bpftrace');
  const calibration = await calibrate(key, { tracer: tracerOf(opts.caps, opts.caps.bpftrace.path), recalibrate: opts.recalibrate });
  const host = { scale: scaleOf(calibration), cpus: os.availableParallelism() };
  const monitors = await forecastDuring({ ...opts, host, during: waitSeconds(opts.seconds) });
  return { estimate: true, seconds: opts.seconds, cpus: host.cpus, calibration: { ...calibration, scale: host.scale }, monitors, total: totalOf(monitors, host.cpus), excludes };
}

/** Each selected monitor's forecast from the event rates over the time `during` takes (check: a wait; the bench: a workload). */
export async function forecastDuring(opts: {
  config: Config;
  caps: Capabilities;
  verdicts: readonly Verdict[];
  selected: readonly string[];
  host: { scale: number; cpus: number };
  during: () => Promise<unknown>;
}): Promise<MonitorForecast[]> {
  const { caps } = opts;
  if (!caps.bpftrace.path) throw new Error('cost forecast without bpftrace');
  const ms = opts.selected.map((n) => findMonitor(n)).filter((m): m is AnyMonitor => m !== undefined);
  const sources = new Map(ms.map((m) => [m.name, sourceOf(m, opts.verdicts.find((v) => v.monitor === m.name), caps)]));
  const counters = [...new Set([...sources.values()].flatMap((s) => (s.kind === 'counter' ? [s.counter] : [])))];
  const probes: ProbeGroup[] = [...sources].flatMap(([monitor, s]) => (s.kind === 'probe' ? [{ monitor, tracepoints: s.tracepoints }] : []));
  const rates = await measureRates({ tracer: tracerOf(caps, caps.bpftrace.path), during: opts.during, counters, probes });
  return ms.map((m) => {
    const from = sources.get(m.name)!;
    const eventsPerSecond = from.kind === 'counter' ? (rates.counters.get(from.counter) ?? null) : from.kind === 'probe' ? (rates.probes.get(m.name) ?? 0) : null;
    return forecastMonitor(m, { eventsPerSecond, from }, opts.host, maxCpu(opts.config, m.name));
  });
}

/**
 * start's warning: one line per monitor whose forecast is above its max_cpu_percent. Cheap on purpose: only monitors
 * with a kernel counter, rates over one second, and the cached calibration (none: skipped, debug log); never a probe.
 */
export async function warnOverBudget(log: Logger, opts: { config: Config; caps: Capabilities; monitors: readonly AnyMonitor[] }, file = calibrationFile): Promise<void> {
  const budgeted = opts.monitors.filter((m) => maxCpu(opts.config, m.name) !== null);
  if (!budgeted.length) return;
  const key = calibrationKey(opts.caps);
  const calibration = key ? await readCalibration(key, file) : null;
  if (!calibration) {
    log.debug({ file }, 'no cost calibration cached for this kernel and bpftrace (ebpfmon check --cost makes one): no cost forecast at start');
    return;
  }
  const counted = budgeted.flatMap((m) => {
    const counter = counterOf(m);
    return counter ? [{ m, counter }] : [];
  });
  if (!counted.length) return;
  const rates = await counterRates([...new Set(counted.map((c) => c.counter))], waitSeconds(1));
  const host = { scale: scaleOf(calibration), cpus: os.availableParallelism() };
  const fs: MonitorForecast[] = counted.map(({ m, counter }) =>
    forecastMonitor(m, { eventsPerSecond: rates.get(counter) ?? null, from: { kind: 'counter', counter } }, host, maxCpu(opts.config, m.name)),
  );
  for (const f of overBudget(fs)) {
    log.warn(
      { monitor: f.monitor, forecastCpuPercent: f.cpuPercent, maxCpuPercent: f.maxCpuPercent, eventsPerSecond: f.eventsPerSecond },
      `${f.monitor}: forecast ${f.cpuPercent?.toFixed(2) ?? '?'} % of one CPU in the kernel (${Math.round(f.eventsPerSecond ?? 0)} events/s now) is above its max_cpu_percent ${f.maxCpuPercent ?? ''}`,
    );
  }
}
