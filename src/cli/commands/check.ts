// `ebpfmon check`: what this machine offers and, per monitor, ready / fallback / unavailable.
import { describeFeatures, type AheadOfTime } from '../../bt/features.js';
import { defaultConfigPath, loadConfig, selectedMonitors } from '../../config/load.js';
import { detectCapabilities, type Capabilities } from '../../plan/capabilities.js';
import { aheadOfTime, buildPlan, mapCapacity, type Verdict } from '../../plan/plan.js';
import { fragmentOf } from '../../script/compose.js';
import { monitorLayout } from '../../bt/render.js';
import { monitorNames, monitors } from '../../monitors/registry.js';
import type { Cost } from '../../monitors/types.js';
import { describeMachine, estimateSeries, seriesBudget, totalSeries, type SeriesEstimate } from '../../plan/series.js';
import { version } from '../../version.js';
import { costForecast } from '../../forecast/run.js';
import { renderForecast, type Forecast } from '../../forecast/forecast.js';
import { UsageError } from '../../errors.js';
import { defaultForecastSeconds } from '../options.js';
import { dailyVolume, diskBound, renderDailyVolume, renderDiskBound, type DiskBound, type DiskSettings } from '../../forecast/disk.js';

export interface CheckReport {
  ebpfmon: string;
  runnable: boolean;
  privileges: Capabilities['root'];
  kernel: string;
  arch: string;
  /** What was found, and how this version runs scripts ahead of time (or why it does not). */
  bpftrace: Omit<Capabilities['bpftrace'], 'features'> & { aheadOfTime: AheadOfTime; features: string[] };
  tracefs: Capabilities['tracefs'];
  debugfs: Capabilities['debugfs'];
  kprobes: Capabilities['kprobes'];
  btf: Capabilities['btf'];
  monitors: Verdict[];
  /** What each monitor the config enables costs the host (Monitor.cost). */
  cost: { monitor: string; class: Cost['class']; note: string }[];
  /** Keys one kernel map holds, and per monitor what its per-process maps hold through their shards (src/bt/render.ts). */
  maps: { keysPerMap: number; runtime: 'aot' | 'jit'; monitors: { monitor: string; shards: number; keys: number }[] };
  /** Worst-case Prometheus series of the enabled monitors (with output.prometheus.max_comm_series and per_cpu). */
  prometheus: { enabled: boolean; listen: string; maxCommSeries: number; perCpu: boolean; totalSeries: number; budget: number; metrics: SeriesEstimate[] };
  /** The most the output directory holds under output.rotate and output.retention (null bound: unbounded). */
  disk: DiskBound & { directory: string; settings: DiskSettings };
  /** With --cost: the forecast of the enabled monitors' in-kernel cost (null: this machine cannot run ebpfmon). */
  forecast?: Forecast | null;
}

export interface CheckOptions {
  config?: string | undefined;
  /** Forecast the enabled monitors' cost: measure event rates for `seconds` (default 5), calibrate when not cached. */
  cost?: boolean | undefined;
  seconds?: number | undefined;
  recalibrate?: boolean | undefined;
}

/** Seconds `check --cost` measures event rates when --seconds does not say. */
export { defaultForecastSeconds };

export async function runCheck(opts: CheckOptions): Promise<CheckReport> {
  if (!opts.cost && (opts.seconds !== undefined || opts.recalibrate)) throw new UsageError('--seconds and --recalibrate go with --cost (e.g. ebpfmon check --cost --seconds 10)');
  const config = await loadConfig(opts.config ?? defaultConfigPath());
  const caps = await detectCapabilities({ bpftrace: config.runtime.bpftrace, mount: true });
  const plan = buildPlan(config, monitorNames(), caps);
  const selected = selectedMonitors(config);
  const runnable = caps.root.ok && caps.bpftrace.version !== null && caps.tracefs.path !== null;
  const forecast = !opts.cost
    ? undefined
    : runnable
      ? await costForecast({ config, caps, verdicts: plan.verdicts, selected, seconds: opts.seconds ?? defaultForecastSeconds, recalibrate: opts.recalibrate === true })
      : null;
  return {
    ebpfmon: version,
    runnable,
    privileges: caps.root,
    kernel: caps.kernel,
    arch: caps.arch,
    bpftrace: { path: caps.bpftrace.path, version: caps.bpftrace.version, detail: caps.bpftrace.detail, aotrt: caps.bpftrace.aotrt ?? null, aheadOfTime: caps.bpftrace.features.aheadOfTime, features: caps.bpftrace.version ? describeFeatures(caps.bpftrace.features) : [] },
    tracefs: caps.tracefs,
    debugfs: caps.debugfs,
    kprobes: caps.kprobes,
    btf: caps.btf,
    monitors: plan.verdicts,
    cost: monitors.filter((m) => selected.includes(m.name)).map((m) => ({ monitor: m.name, ...m.cost })),
    maps: (() => {
      const keysPerMap = mapCapacity(config, caps);
      const perMonitor = plan.processes.flatMap((proc) =>
        proc.monitors.map((pm) => {
          const fragment = fragmentOf(pm);
          const perProcess = fragment.results.some((m) => m.key.parts.some((p) => p.shard));
          const { shards } = perProcess ? monitorLayout(fragment, proc.layout) : { shards: 1 };
          const keys = (proc.aheadOfTime ? keysPerMap : config.runtime.map_keys_max) * shards;
          return { monitor: pm.monitor.name, shards, keys };
        }),
      );
      return { keysPerMap, runtime: aheadOfTime(config, caps) ? 'aot' : 'jit', monitors: perMonitor };
    })(),
    prometheus: (() => {
      const enabled = monitors.filter((m) => selected.includes(m.name));
      const metrics = estimateSeries(config, enabled, describeMachine(caps.arch));
      return {
        enabled: config.output.prometheus.enabled,
        listen: config.output.prometheus.listen,
        maxCommSeries: config.output.prometheus.max_comm_series,
        perCpu: config.output.prometheus.per_cpu,
        totalSeries: totalSeries(metrics),
        budget: seriesBudget,
        metrics,
      };
    })(),
    disk: (() => {
      const settings: DiskSettings = { rotate: config.output.rotate, retention: config.output.retention, formats: config.output.format };
      return { directory: config.output.directory, settings, ...diskBound(settings, selected.length) };
    })(),
    ...(forecast === undefined ? {} : { forecast }),
  };
}

export function renderCheck(r: CheckReport): string {
  const mark = (ok: boolean): string => (ok ? 'ok ' : 'NO ');
  const lines = [
    `ebpfmon ${r.ebpfmon} capability check`,
    `  privileges  ${mark(r.privileges.ok)} ${r.privileges.detail}`,
    `  kernel      ok  Linux ${r.kernel} (${r.arch})`,
    `  bpftrace    ${mark(r.bpftrace.version !== null && r.bpftrace.path !== null)} ${r.bpftrace.detail}`,
    `  aot runtime ${r.bpftrace.aotrt ? 'ok ' : '-  '} ${
      r.bpftrace.aotrt
        ? `${r.bpftrace.aotrt}: scripts bpftrace can compile ahead of time run without LLVM (runtime.aot)`
        : r.bpftrace.aheadOfTime.mode === 'shim'
          ? 'bpftrace-aotrt not found beside bpftrace: every script runs in bpftrace itself (about 95 MB more per process)'
          : r.bpftrace.aheadOfTime.why
    }`,
    ...r.bpftrace.features.map((f) => `              ${f}`),
    `  tracefs     ${mark(r.tracefs.path !== null)} ${r.tracefs.detail}`,
    `  debugfs     ${mark(r.debugfs.ok)} ${r.debugfs.detail}`,
    `  kprobes     ${mark(r.kprobes.ok)} ${r.kprobes.detail}`,
    `  btf         ${mark(r.btf.ok)} ${r.btf.detail}`,
    '',
    'monitors:',
  ];
  for (const v of r.monitors) {
    const status = v.status === 'fallback' ? 'ready (fallback)' : v.status;
    lines.push(`  ${v.monitor.padEnd(15)} ${status.padEnd(17)} ${v.variant ? `${v.variant}: ` : ''}${v.detail}`);
  }
  if (r.cost.length) {
    lines.push('', 'cost of the enabled monitors (measured on a build workload; `ebpfmon list` shows every monitor):');
    for (const c of r.cost) lines.push(`  ${c.monitor.padEnd(15)} ${c.class.padEnd(7)} ${c.note}`);
  }
  const mp = r.maps;
  lines.push(
    '',
    `map size: ${mp.keysPerMap} keys per kernel map (${mp.runtime === 'aot' ? 'bpftrace-aotrt: fixed at 4096, whatever runtime.map_keys_max says' : 'runtime.map_keys_max'}); a map printed full marks its interval incomplete.`,
  );
  for (const m of mp.monitors) lines.push(`  ${m.monitor.padEnd(15)} ${String(m.keys).padStart(7)} keys per map and interval${m.shards > 1 ? ` (${m.shards} shards by pid)` : ''}`);
  const p = r.prometheus;
  lines.push(
    '',
    `prometheus exporter: ${p.enabled ? `on ${p.listen}` : 'off (output.prometheus.enabled)'}; worst-case series for the enabled monitors: ${p.totalSeries}${p.totalSeries > p.budget ? ` (above ${p.budget}: lower output.prometheus.max_comm_series, turn off per_cpu or a monitor)` : ''}`,
    `  comm: the ${p.maxCommSeries} busiest commands of each scrape + "other" (max_comm_series); cpu label ${p.perCpu ? 'on (per_cpu)' : 'off, CPUs summed (per_cpu)'}`,
  );
  for (const m of p.metrics) {
    lines.push(`  ${m.metric.padEnd(42)} ${String(m.series).padStart(9)}  = ${Object.entries(m.labels).map(([l, n]) => `${l} ${n}`).join(' x ') || '1'}`);
  }
  lines.push('', renderDiskBound(r.disk, r.disk.settings, r.disk.directory));
  if (r.forecast !== undefined) lines.push('', r.forecast ? renderForecast(r.forecast) : 'cost forecast: not made: this machine cannot run ebpfmon (see NO above)');
  if (r.forecast) lines.push('', renderDailyVolume(dailyVolume(r.forecast.monitors)));
  lines.push('', r.runnable ? 'verdict: this machine can run ebpfmon' : 'verdict: this machine cannot run ebpfmon (see NO above)');
  return lines.join('\n');
}
