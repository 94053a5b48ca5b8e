// Worst-case Prometheus series of the configured exporter, from what this machine has, before anything runs.
import { readdirSync, readFileSync } from 'node:fs';
import os from 'node:os';
import type { Config } from '../config/schema.js';
import type { BaseOptions, Monitor, Row } from '../monitors/types.js';
import { syscallTable } from '../monitors/syscall-category.js';

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

/** Distinct values each label can take on this machine (an upper bound). */
export function labelBounds(config: Config, arch: string): Record<string, number> {
  const cpus = os.cpus().length || 1;
  const func = config.monitors['func'] as (BaseOptions & { functions?: string[] }) | undefined;
  return {
    comm: config.output.prometheus.max_comm_series + 1,
    syscall: (syscallTable(arch)?.size ?? 512) + 1,
    category: 1, // a function of the syscall
    cpu: cpus,
    numa_node: count(() => readdirSync('/sys/devices/system/node').filter((d) => /^node\d+$/.test(d)).length, 1),
    type: 2,
    access: 3,
    cause: 2,
    kind: 2,
    io_type: 5,
    device: count(() => readdirSync('/sys/dev/block').length, 16),
    // softirq vectors plus every interrupt line the kernel lists.
    name: 10 + count(() => readFileSync('/proc/interrupts', 'utf8').split('\n').filter((l) => /^\s*\d+:/.test(l)).length, 64),
    function: Math.max(1, func?.functions?.length ?? 1),
  };
}

export function estimateSeries(config: Config, monitors: readonly Monitor<BaseOptions, Row>[], arch: string): SeriesEstimate[] {
  const bounds = labelBounds(config, arch);
  const out: SeriesEstimate[] = [];
  for (const m of monitors) {
    const seen = new Set<string>();
    for (const spec of m.metrics ?? []) {
      // Specs sharing a metric name differ by a fixed label: one series set each.
      const cgroupOn = (config.monitors[m.name] as (BaseOptions & { cgroup?: boolean }) | undefined)?.cgroup === true;
      const labels = Object.fromEntries(
        Object.keys(spec.labels)
          .filter((l) => l !== 'cgroup' || cgroupOn)
          .map((l) => [l, l === 'cgroup' ? bounds['comm']! : (bounds[l] ?? 1)]),
      );
      // A histogram has one series per bucket, plus +Inf, _sum and _count.
      const series = Object.values(labels).reduce((a, b) => a * b, 1) * (spec.histogram ? spec.histogram.bounds.length + 3 : 1);
      const prev = out.find((e) => e.metric === spec.name && seen.has(spec.name));
      if (prev) {
        prev.series += series;
        for (const f of Object.keys(spec.fixed ?? {})) prev.labels[f] = (prev.labels[f] ?? 1) + 1;
        continue;
      }
      seen.add(spec.name);
      out.push({ metric: spec.name, monitor: m.name, labels, series });
    }
  }
  return out;
}
