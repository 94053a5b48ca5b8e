// The cost forecast of `check --cost`, as arithmetic on plain data: measured event rates x each monitor's declared
// in-kernel ns per event (Monitor.cost) x this host's calibration. Measuring lives in rates.ts and calibration.ts.
import type { Cost, KernelCounter } from '../monitors/types.js';
import type { Calibration } from './calibration.js';

/** How one monitor's rate was measured, or why it was not. */
export type RateSource = { kind: 'counter'; counter: KernelCounter } | { kind: 'probe'; tracepoints: readonly string[] } | { kind: 'none'; why: string };

export interface MonitorForecast {
  monitor: string;
  event: string;
  rateFrom: RateSource;
  /** Events per second on this host over the measurement; null: not forecast. */
  eventsPerSecond: number | null;
  /** The declared figure (reference VM) and the same scaled to this host. */
  nsPerEvent: number | null;
  nsPerEventHere: number | null;
  /** Predicted share of one CPU spent in this monitor's BPF programs, percent. */
  cpuPercent: number | null;
  /** Predicted slowdown of a CPU-bound workload using every CPU: the share of one CPU over the number of CPUs, percent. */
  slowdownPercent: number | null;
  /** The monitor's max_cpu_percent, when set. */
  maxCpuPercent: number | null;
}

export interface Forecast {
  /** Always true: these are predictions from rates and declared figures, not measurements of ebpfmon running. */
  estimate: true;
  seconds: number;
  cpus: number;
  calibration: Calibration & { scale: number; cached: boolean; file: string };
  monitors: MonitorForecast[];
  total: { cpuPercent: number; slowdownPercent: number };
  /** What the figures leave out, in one sentence. */
  excludes: string;
}

export const excludes =
  'in-kernel BPF time only: not the user-space cost of bpftrace printing and clearing its maps nor of ebpfmon parsing and writing rows ' +
  '(on the build workload about as much again: docs/performance.md "Where the cost lands"), nor the tracepoints\' own cost (syscall tracepoints slow every syscall)';

const round = (x: number, digits: number): number => Math.round(x * 10 ** digits) / 10 ** digits;

/** Share of one CPU, percent: events/s x ns per event x scale, over the ns in a second. */
export const cpuShare = (eventsPerSecond: number, nsPerEvent: number, scale: number): number => ((eventsPerSecond * nsPerEvent * scale) / 1e9) * 100;

/** One monitor's forecast from its rate (null: not measured) and its declared cost. */
export function forecastMonitor(
  m: { name: string; cost: Pick<Cost, 'nsPerEvent' | 'event'> },
  rate: { eventsPerSecond: number | null; from: RateSource },
  host: { scale: number; cpus: number },
  maxCpuPercent: number | null = null,
): MonitorForecast {
  const ns = m.cost.nsPerEvent;
  const ok = ns !== null && rate.eventsPerSecond !== null;
  const cpu = ok ? cpuShare(rate.eventsPerSecond!, ns, host.scale) : null;
  return {
    monitor: m.name,
    event: m.cost.event,
    rateFrom: rate.from,
    eventsPerSecond: rate.eventsPerSecond === null ? null : round(rate.eventsPerSecond, 1),
    nsPerEvent: ns,
    nsPerEventHere: ns === null ? null : Math.round(ns * host.scale),
    cpuPercent: cpu === null ? null : round(cpu, 3),
    slowdownPercent: cpu === null ? null : round(cpu / host.cpus, 3),
    maxCpuPercent,
  };
}

export function totalOf(ms: readonly MonitorForecast[], cpus: number): Forecast['total'] {
  const cpu = ms.reduce((s, m) => s + (m.cpuPercent ?? 0), 0);
  return { cpuPercent: round(cpu, 3), slowdownPercent: round(cpu / cpus, 3) };
}

/** The monitors whose forecast is above their max_cpu_percent: one warning each. */
export const overBudget = (ms: readonly MonitorForecast[]): MonitorForecast[] =>
  ms.filter((m) => m.maxCpuPercent !== null && m.cpuPercent !== null && m.cpuPercent > m.maxCpuPercent);

const describeSource = (s: RateSource): string =>
  s.kind === 'counter' ? `kernel counter ${s.counter}` : s.kind === 'probe' ? `count probe ${s.tracepoints.join(', ')}` : s.why;

const num = (x: number | null, digits = 0): string =>
  x === null ? '-' : x.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });

export function renderForecast(f: Forecast): string {
  const c = f.calibration;
  const lines = [
    `cost forecast (an estimate, not a measurement of ebpfmon running): event rates measured over ${f.seconds} s x in-kernel ns per event x this host's calibration`,
    `  calibration: count() on raw_syscalls:sys_exit takes ${c.floorNs} ns here, ${c.referenceNs} ns on the reference VM: scale x${c.scale.toFixed(2)} (${c.cached ? 'cached' : 'measured now'} ${c.measuredAt}, ${c.file})`,
    `  ${'monitor'.padEnd(15)} ${'events/s'.padStart(11)} ${'ns/event'.padStart(9)} ${'% of 1 CPU'.padStart(10)} ${`slowdown (${f.cpus} CPU)`.padStart(18)}  rate from`,
  ];
  for (const m of f.monitors) {
    const budget = m.maxCpuPercent !== null && m.cpuPercent !== null && m.cpuPercent > m.maxCpuPercent ? `  above max_cpu_percent ${m.maxCpuPercent}` : '';
    lines.push(
      `  ${m.monitor.padEnd(15)} ${num(m.eventsPerSecond).padStart(11)} ${num(m.nsPerEventHere).padStart(9)} ${num(m.cpuPercent, 2).padStart(10)} ${`${num(m.slowdownPercent, 2)} %`.padStart(18)}  ${describeSource(m.rateFrom)}${budget}`,
    );
  }
  lines.push(
    `  ${'total'.padEnd(15)} ${''.padStart(11)} ${''.padStart(9)} ${num(f.total.cpuPercent, 2).padStart(10)} ${`${num(f.total.slowdownPercent, 2)} %`.padStart(18)}`,
    `  not included: ${f.excludes}`,
  );
  return lines.join('\n');
}
