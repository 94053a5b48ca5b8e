// Worst-case Prometheus series of the configured exporter, from what this machine has, before anything runs.
// Each label has an upper bound on its values, declared with its metric (MetricSpec.bounds); a metric's series are
// the product over its labels (x the buckets of a histogram). The exporter's own labels follow the exporter
// (src/sinks/prometheus.ts): comm (and cgroup) take the max_comm_series busiest of a scrape window plus "other",
// cpu counts only with per_cpu.
import { readdirSync, readFileSync } from 'node:fs';
import os from 'node:os';
import type { Config } from '../config/schema.js';
import { exporterLabels, type BaseOptions, type Machine, type MetricSpec, type Monitor, type Row } from '../monitors/types.js';

/** The series budget for a host at the default settings (the exporter's promise; `check` warns above it). */
export const seriesBudget = 10_000;

/**
 * Series of ebpfmon's own health per monitor: monitor_up, 7 monitor_state values, restarts, lost events, parse
 * errors, rows, incomplete intervals, dropped map updates, stalls, skipped ticks, stalled, coverage, monitor_process.
 */
export const healthSeriesPerMonitor = 18;
/** Series per bpftrace process: its CPU and RSS, BPF run time, runs and misses. A process serves one monitor or more. */
export const healthSeriesPerProcess = 5;
/**
 * Series that do not grow with the config: ebpfmon_build_info and the supervisor's process_* and nodejs_* metrics
 * (104 measured with every monitor but func running: heap spaces x 3, and nodejs_gc_duration_seconds, 9 series for
 * each of the four kinds of GC once seen).
 */
export const selfSeries = 130;

export interface SeriesEstimate {
  metric: string;
  monitor: string;
  labels: Record<string, number>;
  series: number;
}

const count = (read: () => number, fallback: number): number => {
  try {
    return Math.max(1, read());
  } catch {
    return fallback;
  }
};

/** This machine, read from /sys and /proc (fallbacks where they cannot be read). */
export function describeMachine(arch: string): Machine {
  return {
    arch,
    cpus: os.cpus().length || 1,
    numaNodes: count(() => readdirSync('/sys/devices/system/node').filter((d) => /^node\d+$/.test(d)).length, 1),
    blockDevices: count(() => readdirSync('/sys/block').length, 16),
    irqHandlers: count(
      () =>
        readFileSync('/proc/interrupts', 'utf8')
          .split('\n')
          .filter((l) => /^\s*\d+:/.test(l))
          .reduce((n, l) => n + 1 + (l.match(/, /g)?.length ?? 0), 0),
      64,
    ),
  };
}

/** Distinct values each of the exporter's own labels can take (the monitors bound the others: MetricSpec.bounds). */
function exporterBounds(config: Config, machine: Machine): Readonly<Record<string, number>> {
  const prom = config.output.prometheus;
  return {
    // The busiest max_comm_series of a scrape window, plus "other"; with cgroup, of (comm, cgroup) pairs.
    comm: prom.max_comm_series + 1,
    cgroup: 1,
    cpu: prom.per_cpu ? machine.cpus : 1,
  };
}

/** Labels a spec exports, with their bounds (cpu only with per_cpu, cgroup only where the monitor's option is on). */
function specLabels(spec: MetricSpec, bounds: Readonly<Record<string, number>>, cgroupOn: boolean, perCpu: boolean): Record<string, number> {
  const out: Record<string, number> = {};
  for (const l of Object.keys(spec.labels)) {
    if ((l === 'cgroup' && !cgroupOn) || (l === exporterLabels.perCpu && !perCpu)) continue;
    const b = bounds[l];
    if (b === undefined) throw new Error(`series estimate: no bound for label "${l}" of ${spec.name} (add it to the metric's bounds)`);
    out[l] = b;
  }
  return out;
}

export function estimateSeries(config: Config, monitors: readonly Monitor<BaseOptions, Row>[], machine: Machine): SeriesEstimate[] {
  const exporter = exporterBounds(config, machine);
  const perCpu = config.output.prometheus.per_cpu;
  const out: SeriesEstimate[] = [];
  let perProcess = 0;
  for (const m of monitors) {
    const seen = new Set<string>();
    const opts = config.monitors[m.name] ?? m.options.parse({});
    const cgroupOn = (opts as BaseOptions & { cgroup?: boolean }).cgroup === true;
    for (const spec of m.metrics ?? []) {
      const labels = specLabels(spec, { ...spec.bounds?.(machine, opts), ...exporter }, cgroupOn, perCpu);
      // A histogram has one series per bucket, plus +Inf, _sum and _count.
      const series = Object.values(labels).reduce((a, b) => a * b, 1) * (spec.histogram ? spec.histogram.bounds.length + 3 : 1);
      // Specs sharing a metric name differ by a fixed label: one series set each.
      const prev = seen.has(spec.name) ? out.find((e) => e.metric === spec.name) : undefined;
      if (prev) {
        prev.series += series;
        for (const f of Object.keys(spec.fixed ?? {})) prev.labels[f] = (prev.labels[f] ?? 1) + 1;
        continue;
      }
      seen.add(spec.name);
      if ('comm' in labels) perProcess += 1;
      out.push({ metric: spec.name, monitor: m.name, labels, series });
    }
  }
  if (monitors.length) {
    out.push({
      metric: 'ebpfmon health (monitor_*, folded, ...)',
      monitor: '-',
      labels: { monitor: monitors.length },
      // At most one process per monitor (each runs alone once isolated).
      series: (healthSeriesPerMonitor + healthSeriesPerProcess) * monitors.length + perProcess + selfSeries,
    });
  }
  return out;
}

/** The sum of an estimate. */
export const totalSeries = (estimate: readonly SeriesEstimate[]): number => estimate.reduce((n, e) => n + e.series, 0);
