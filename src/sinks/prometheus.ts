// The Prometheus exporter: a sink that adds each row to the counters its monitor declares (MetricSpec), plus
// ebpfmon's own health, served over HTTP. Counters accumulate across intervals although the kernel maps are
// cleared each interval, so rate() works. Series stay bounded (src/plan/series.ts estimates them): pid is never a
// label; a per-process metric (comm, cgroup) shows the max_comm_series busiest commands of each scrape window and
// adds the rest to comm="other" (counted); the cpu label only with per_cpu.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createTlsServer, type Server as TlsServer } from 'node:https';
import { createRequire } from 'node:module';
import { Counter, Gauge, Registry } from 'prom-client';
import { exporterLabels, type MetricSpec, type Row } from '../monitors/types.js';
import type { MonitorStats } from '../records/stats.js';
import type { BpfCost } from '../process/bpf-stats.js';
import type { Sink } from './sink.js';
import { UsageError } from '../errors.js';
import { selectShown, type Shown } from './busiest.js';
import { basicAuth, type WebConfig } from './web-config.js';

export interface HealthSnapshot {
  monitor: string;
  stats: MonitorStats;
  /** In-kernel cost of its bpftrace's programs, when runtime.self_stats is on. */
  bpf: BpfCost | null;
  /** The bpftrace process serving it ("main", "paths", or the monitor's name once isolated); null before it runs. */
  process?: string | null;
}

/** What ebpfmon_build_info says. */
export interface BuildInfo {
  version: string;
  /** bpftrace --version of this host; "unknown" when it could not be read. */
  bpftraceVersion: string | null;
}

export interface PrometheusOptions {
  listen: string;
  path: string;
  /** Commands (or comm and cgroup pairs) a per-process metric shows each scrape window; the rest are "other". */
  maxCommSeries: number;
  /** Export the cpu label (output.prometheus.per_cpu); without it, the CPUs are summed. */
  perCpu?: boolean;
  /** Monitor name -> the counters it declares. */
  metrics: ReadonlyMap<string, readonly MetricSpec[]>;
  /** Current health of every monitor, read at each scrape. */
  health(): readonly HealthSnapshot[];
  /** CPU seconds and RSS of a process, read at each scrape. */
  usage(pid: number): Promise<{ cpuSeconds: number; rssBytes: number } | null>;
  /** ebpfmon_build_info's labels; without it, ebpfmon's version and bpftrace_version="unknown". */
  buildInfo?: BuildInfo;
  /** The supervisor's own process_* and nodejs_* metrics (default on). */
  processMetrics?: boolean;
  /** TLS and basic auth (--web.config.file); none: plain HTTP, no authentication. */
  web?: WebConfig;
}

/**
 * prom-client's default metrics that are read at scrape time (or on a GC event), registered one by one: the set
 * collectDefaultMetrics registers also starts perf_hooks.monitorEventLoopDelay, a timer that wakes the process
 * every 10 ms for nodejs_eventloop_lag_*. Those and the handle/request/resource counts (Node internals) are left out.
 */
export const processCollectors = [
  'processCpuTotal',
  'processStartTime',
  'osMemoryHeap',
  'processOpenFileDescriptors',
  'processMaxFileDescriptors',
  'heapSizeAndUsed',
  'heapSpacesSizeAndUsed',
  'version',
  'gc',
] as const;
type Collector = (registry: Registry, config: Record<string, unknown>) => void;
const requireCjs = createRequire(import.meta.url);
/** Registers the supervisor's own process metrics on `registry`. */
function collectProcessMetrics(registry: Registry): void {
  // prom-client has no `exports` map: its lib/ files are its published layout (package.json `files`).
  for (const name of processCollectors) (requireCjs(`prom-client/lib/metrics/${name}.js`) as Collector)(registry, {});
}

export type PrometheusSink = Sink & {
  address: string;
  scheme: 'http' | 'https';
  /** What a scrape answers: health refreshed, the scrape window closed (as GET on the metrics path does). */
  scrape(): Promise<string>;
  /**
   * A web config read again (SIGHUP: a renewed certificate, changed users), for the connections from now on.
   * Refused (UsageError, the one before stays) when it would turn TLS on or off: that takes a restart.
   */
  setWeb(web: WebConfig | undefined): void;
};

/** `host:port`, `[v6]:port` or `:port` (loopback). */
export function parseListen(listen: string): { host: string; port: number } {
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([A-Za-z0-9.-]*)):(\d{1,5})$/.exec(listen);
  const port = Number(m?.[3]);
  if (!m || port > 65535) throw new UsageError(`prometheus listen address "${listen}": expected host:port, e.g. 127.0.0.1:9464`);
  return { host: m[1] ?? (m[2] || '127.0.0.1'), port };
}

const other = 'other';
/** Labels whose values come from what runs on the host: a metric with one is per-process (see busiest.ts). */
const perProcessLabels = exporterLabels.perProcess;
/** A label exported only with per_cpu: CPUs x everything else multiplies series on a large host. */
const perCpuLabel = exporterLabels.perCpu;
/** Whether a row feeds a spec (its `where` columns hold the values asked for). */
const selected = (spec: MetricSpec, row: Row): boolean =>
  !(typeof row['note'] === 'string' && row['note']) && Object.entries(spec.where ?? {}).every(([c, v]) => String(row[c]) === v);

/** Delta-feeding counters for values the supervisor keeps as totals (they restart at 0 after a reload). */
function totalsCounter(registry: Registry, name: string, help: string, labelNames: string[]) {
  const last = new Map<string, number>();
  const c = new Counter({ name, help, labelNames, registers: [registry] });
  return (labels: Record<string, string>, total: number): void => {
    const key = JSON.stringify(labels);
    const prev = last.get(key) ?? 0;
    // A smaller total means the counters started over (a reload): count all of it.
    const delta = total >= prev ? total - prev : total;
    c.inc(labels, Math.max(0, delta));
    last.set(key, total);
  };
}

interface HistogramSeries {
  labels: Record<string, string>;
  counts: number[];
  sum: number;
}

/**
 * A histogram fed with buckets the kernel already counted (prom-client's Histogram only observes one value at
 * a time). Registered as a metric object the registry renders like its own: _bucket{le}, _sum, _count.
 */
function bucketHistogram(registry: Registry, spec: MetricSpec & { histogram: NonNullable<MetricSpec['histogram']> }) {
  const scale = spec.scale ?? 1;
  const bounds = spec.histogram.bounds;
  const series = new Map<string, HistogramSeries>();
  const metric = {
    name: spec.name,
    help: spec.help,
    type: 'histogram' as const,
    aggregator: 'sum' as const,
    reset: () => series.clear(),
    get: () =>
      Promise.resolve({
        name: spec.name,
        help: spec.help,
        type: 'histogram',
        aggregator: 'sum',
        values: [...series.values()].flatMap((h) => {
          let cumulative = 0;
          const buckets = h.counts.map((n, i) => {
            cumulative += n;
            const le = i < bounds.length ? String(Number(((bounds[i] ?? 0) * scale).toPrecision(6))) : '+Inf';
            return { metricName: `${spec.name}_bucket`, labels: { ...h.labels, le }, value: cumulative };
          });
          return [
            ...buckets,
            { metricName: `${spec.name}_sum`, labels: h.labels, value: h.sum },
            { metricName: `${spec.name}_count`, labels: h.labels, value: cumulative },
          ];
        }),
      }),
  };
  // The registry only calls name, help, type, get() and reset(); this object has them all.
  registry.registerMetric(metric as unknown as Parameters<Registry['registerMetric']>[0]);
  return (labels: Record<string, string>, row: Row): void => {
    const text = row[spec.histogram.column];
    if (typeof text !== 'string' || !text) return;
    const key = JSON.stringify(labels);
    let h = series.get(key);
    if (!h) series.set(key, (h = { labels, counts: new Array<number>(bounds.length + 1).fill(0), sum: 0 }));
    let n = 0;
    for (const pair of text.split(' ')) {
      const [b, c] = pair.split(':');
      const i = b === 'inf' ? bounds.length : bounds.indexOf(Number(b));
      if (i < 0 || !c) continue;
      h.counts[i] = (h.counts[i] ?? 0) + Number(c);
      n += Number(c);
    }
    const mean = Number(row[spec.histogram.meanColumn] ?? 0);
    if (Number.isFinite(mean)) h.sum += mean * scale * n;
  };
}

/** A per-process metric's counts since the last scrape, and the commands it shows (see busiest.ts). */
interface ScrapeWindow {
  add(labels: Record<string, string>, value: number): void;
  /** Closes the window: the busiest groups get their counts, the rest go to comm="other". */
  settle(): void;
}

/**
 * Counts wait here until the scrape that closes their window; a window also closes when more label sets wait than
 * `pendingLimit` (no scrape for a long time must not grow memory without bound).
 */
function scrapeWindow(counter: Counter, metric: string, limit: number, folded: Counter): ScrapeWindow {
  const pendingLimit = Math.max(1000, 10 * limit);
  const pending = new Map<string, { labels: Record<string, string>; group: string; folded: string; value: number; rows: number }>();
  /** Series of each shown group, by their labels' key, to remove them when it is dropped. */
  const series = new Map<string, Map<string, Record<string, string>>>();
  let shown: Shown = new Map();
  let window = 0;
  const settle = (): void => {
    if (!pending.size) return;
    window += 1;
    const totals = new Map<string, number>();
    for (const p of pending.values()) totals.set(p.group, (totals.get(p.group) ?? 0) + p.value);
    const next = selectShown(totals, shown, window, limit);
    for (const g of next.dropped) {
      for (const labels of series.get(g)?.values() ?? []) counter.remove(labels);
      series.delete(g);
    }
    shown = next.shown;
    for (const [key, p] of pending) {
      if (shown.has(p.group)) {
        counter.inc(p.labels, p.value);
        let own = series.get(p.group);
        if (!own) series.set(p.group, (own = new Map()));
        own.set(key, p.labels);
      } else {
        const labels = { ...p.labels };
        for (const l of perProcessLabels) if (l in labels) labels[l] = other;
        counter.inc(labels, p.value);
        folded.inc({ metric, label: p.folded }, p.rows);
      }
    }
    pending.clear();
  };
  return {
    add(labels, value) {
      const present = perProcessLabels.filter((l) => l in labels);
      // No comm (e.g. func without per_process): nothing to attribute per process.
      if (!present.length) return;
      const key = JSON.stringify(labels);
      const p = pending.get(key);
      if (p) {
        p.value += value;
        p.rows += 1;
        return;
      }
      if (pending.size >= pendingLimit) settle();
      pending.set(key, { labels, group: JSON.stringify(present.map((l) => labels[l])), folded: present.join(','), value, rows: 1 });
    },
    settle,
  };
}

/**
 * Bounds on what one client can hold: any local user can connect to the exporter, and an open connection
 * must neither pin memory nor delay shutdown. A scrape is one short request, so the limits are tight.
 */
export const serverLimits = {
  /** Concurrent connections; more are closed on accept (Prometheus uses one per scrape target). */
  maxConnections: 64,
  /** Whole request headers within this (Node's default: 60 s). */
  headersTimeoutMs: 5_000,
  /** Whole request within this (Node's default: 300 s). */
  requestTimeoutMs: 10_000,
  keepAliveTimeoutMs: 5_000,
  /** A socket silent this long is destroyed, whatever state its request is in. */
  idleSocketMs: 30_000,
  /** How long close() lets a scrape in flight finish before it drops every connection. */
  closeGraceMs: 1_000,
  /** How often Node checks the headers and request timeouts (its default, 30 s, would let them run 35 s). */
  create: { connectionsCheckingInterval: 1_000 },
} as const;

/**
 * Stops listening, closes idle connections at once and every other one after `graceMs`: server.close()
 * alone waits for each connection to end, and a connection that never sends a request is never idle to Node.
 */
export function closeServer(server: Server | TlsServer, graceMs: number): Promise<void> {
  return new Promise<void>((resolve) => {
    const timer = setTimeout(() => server.closeAllConnections(), graceMs);
    server.close(() => {
      clearTimeout(timer);
      resolve();
    });
    server.closeIdleConnections();
  });
}

export async function createPrometheusSink(opts: PrometheusOptions): Promise<PrometheusSink> {
  const registry = new Registry();
  const perCpu = opts.perCpu ?? false;
  const exported = (label: string): boolean => label !== perCpuLabel || perCpu;
  const folded = new Counter({
    name: 'ebpfmon_label_values_folded_total',
    help: 'Rows added to comm="other": their command was not among the output.prometheus.max_comm_series busiest of the scrape window.',
    labelNames: ['metric', 'label'],
    registers: [registry],
  });
  const histograms = new Map<MetricSpec, (labels: Record<string, string>, row: Row) => void>();
  // Several specs may feed one metric (e.g. kind="voluntary" and kind="involuntary"): they share its counter and window.
  const byName = new Map<string, { counter: Counter; window: ScrapeWindow | null }>();
  const counters = new Map<MetricSpec, { counter: Counter; window: ScrapeWindow | null }>();
  for (const specs of opts.metrics.values()) {
    for (const spec of specs) {
      if (spec.histogram) {
        histograms.set(spec, bucketHistogram(registry, { ...spec, histogram: spec.histogram }));
        continue;
      }
      let shared = byName.get(spec.name);
      if (!shared) {
        const labelNames = [...Object.keys(spec.labels).filter(exported), ...Object.keys(spec.fixed ?? {})];
        const counter = new Counter({ name: spec.name, help: spec.help, labelNames, registers: [registry] });
        const perProcess = Object.keys(spec.labels).some((l) => perProcessLabels.includes(l));
        shared = { counter, window: perProcess ? scrapeWindow(counter, spec.name, opts.maxCommSeries, folded) : null };
        byName.set(spec.name, shared);
      }
      counters.set(spec, shared);
    }
  }
  /** Ends the scrape window of every per-process metric: the busiest get their counts, the rest go to "other". */
  const settle = (): void => {
    for (const { window } of byName.values()) window?.settle();
  };

  const up = new Gauge({ name: 'ebpfmon_monitor_up', help: '1 when the monitor\'s bpftrace is attached and running, else 0.', labelNames: ['monitor'], registers: [registry] });
  const state = new Gauge({ name: 'ebpfmon_monitor_state', help: 'The monitor\'s state: 1 for the current one.', labelNames: ['monitor', 'state'], registers: [registry] });
  const restarts = totalsCounter(registry, 'ebpfmon_monitor_restarts_total', 'Restarts of the monitor\'s bpftrace.', ['monitor']);
  const lost = totalsCounter(registry, 'ebpfmon_lost_events_total', 'Events bpftrace reported lost (its buffer overflowed).', ['monitor']);
  const parseErrors = totalsCounter(registry, 'ebpfmon_parse_errors_total', 'Records that broke the output contract or could not be parsed.', ['monitor']);
  const rowsOut = totalsCounter(registry, 'ebpfmon_rows_total', 'Rows written for the monitor.', ['monitor']);
  const incomplete = totalsCounter(registry, 'ebpfmon_incomplete_intervals_total', 'Intervals whose counts are incomplete: a kernel map was full, updates beyond were dropped.', ['monitor']);
  const stalls = totalsCounter(registry, 'ebpfmon_stalls_total', 'Times the monitor\'s bpftrace stalled: the rows after it cover the whole stall.', ['monitor']);
  const skippedTicks = totalsCounter(registry, 'ebpfmon_skipped_ticks_total', 'Interval timer ticks the kernel skipped (it fired inside another BPF program on that CPU): the rows after it cover the span.', ['monitor']);
  const coverage = new Gauge({
    name: 'ebpfmon_coverage_ratio',
    help: "How much of what happened the monitor's numbers hold over its last 10 intervals: against the kernel's own counter where there is one (basis=kernel), else the share of intervals known complete (basis=self).",
    labelNames: ['monitor', 'basis'],
    registers: [registry],
  });
  const dropped = totalsCounter(registry, 'ebpfmon_dropped_updates_total', 'Map updates the kernel refused because the map was full, as bpftrace reported each one (bpftrace 0.23+; older versions only mark the interval).', ['monitor']);
  const stalled = new Gauge({ name: 'ebpfmon_monitor_stalled', help: '1 while no interval closed for two intervals (bpftrace stalled), else 0.', labelNames: ['monitor'], registers: [registry] });
  // One series per bpftrace process (several monitors share one): summing them over monitors would count it again
  // for each. ebpfmon_monitor_process says which monitors a process serves.
  const cpu = totalsCounter(registry, 'ebpfmon_bpftrace_cpu_seconds_total', 'CPU time (user+system) of a bpftrace process.', ['process']);
  const rss = new Gauge({ name: 'ebpfmon_bpftrace_rss_bytes', help: 'Resident memory of a bpftrace process.', labelNames: ['process'], registers: [registry] });
  const bpfSeconds = totalsCounter(registry, 'ebpfmon_bpf_run_seconds_total', 'Kernel time spent in the BPF programs of a bpftrace process (only with runtime.self_stats).', ['process']);
  const bpfRuns = totalsCounter(registry, 'ebpfmon_bpf_runs_total', 'Runs of the BPF programs of a bpftrace process (only with runtime.self_stats).', ['process']);
  const bpfMisses = totalsCounter(registry, 'ebpfmon_bpf_recursion_misses_total', 'Program runs the kernel skipped in a bpftrace process (another BPF program was running on that CPU): missed events (only with runtime.self_stats).', ['process']);
  const monitorProcess = new Gauge({ name: 'ebpfmon_monitor_process', help: 'The bpftrace process serving the monitor: 1 for the current one.', labelNames: ['monitor', 'process'], registers: [registry] });
  const build = opts.buildInfo ?? { version: 'unknown', bpftraceVersion: null };
  new Gauge({
    name: 'ebpfmon_build_info',
    help: 'Always 1: the versions of ebpfmon, the bpftrace it runs and Node.js.',
    labelNames: ['version', 'bpftrace_version', 'node_version'],
    registers: [registry],
  }).set({ version: build.version, bpftrace_version: build.bpftraceVersion ?? 'unknown', node_version: process.versions.node }, 1);
  if (opts.processMetrics ?? true) collectProcessMetrics(registry);
  const states = ['starting', 'running', 'restarting', 'failed', 'stopped', 'unavailable', 'over_budget'] as const;

  const refreshHealth = async (): Promise<void> => {
    /** Each bpftrace process once, by pid: the first monitor that names it gives its process label. */
    const processes = new Map<number, { process: string; bpf: BpfCost | null }>();
    monitorProcess.reset();
    for (const { monitor, stats, bpf, process: proc } of opts.health()) {
      const name = proc ?? monitor;
      if (stats.bpftracePid !== null) {
        monitorProcess.set({ monitor, process: name }, 1);
        if (!processes.has(stats.bpftracePid)) processes.set(stats.bpftracePid, { process: name, bpf });
      }
      up.set({ monitor }, stats.state === 'running' ? 1 : 0);
      for (const st of states) state.set({ monitor, state: st }, st === stats.state ? 1 : 0);
      restarts({ monitor }, stats.restarts);
      lost({ monitor }, stats.lostEvents);
      parseErrors({ monitor }, stats.parseErrors);
      rowsOut({ monitor }, stats.rows);
      incomplete({ monitor }, stats.saturatedIntervals);
      dropped({ monitor }, stats.droppedUpdates);
      stalls({ monitor }, stats.stalls);
      skippedTicks({ monitor }, stats.skippedTicks);
      stalled.set({ monitor }, stats.stalled ? 1 : 0);
      if (stats.coverage?.ratio !== null && stats.coverage !== null) coverage.set({ monitor, basis: stats.coverage.basis }, stats.coverage.ratio);
    }
    // A process that ended (a reload, an isolated monitor) leaves no stale RSS behind.
    rss.reset();
    for (const [pid, { process: proc, bpf }] of processes) {
      if (bpf) {
        bpfSeconds({ process: proc }, bpf.runTimeNs / 1e9);
        bpfRuns({ process: proc }, bpf.runCount);
        bpfMisses({ process: proc }, bpf.recursionMisses);
      }
      const u = await opts.usage(pid);
      if (u) {
        cpu({ process: proc }, u.cpuSeconds);
        rss.set({ process: proc }, u.rssBytes);
      }
    }
  };

  const labelsOf = (spec: MetricSpec, row: Row): Record<string, string> => {
    const labels: Record<string, string> = { ...spec.fixed };
    for (const [label, column] of Object.entries(spec.labels)) {
      const cell = row[column];
      // An empty cell (e.g. cgroup when that option is off) leaves the label out rather than exporting "".
      if (cell === null || cell === undefined || cell === '' || !exported(label)) continue;
      labels[label] = String(cell);
    }
    return labels;
  };

  /** Labels of a histogram series: its label columns as they are (histogram labels are never per-process ones). */
  const labelsOfSpec = (spec: MetricSpec, row: Row): Record<string, string> =>
    Object.fromEntries(Object.entries(spec.labels).filter(([label]) => exported(label)).map(([label, column]) => [label, String(row[column] ?? '')]));

  const scrape = async (): Promise<string> => {
    await refreshHealth();
    settle();
    return registry.metrics();
  };

  const { host, port } = parseListen(opts.listen);
  let authorized = opts.web?.users.size ? basicAuth(opts.web.users) : null;
  const handler = (req: IncomingMessage, res: ServerResponse): void => {
    if (authorized && !authorized(req.headers.authorization)) {
      res.writeHead(401, { 'content-type': 'text/plain', 'www-authenticate': 'Basic realm="ebpfmon", charset="UTF-8"' }).end('ebpfmon: unauthorized\n');
      return;
    }
    const url = (req.url ?? '/').split('?')[0];
    if (url !== opts.path) {
      res.writeHead(404, { 'content-type': 'text/plain' }).end(`ebpfmon: metrics are at ${opts.path}\n`);
      return;
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { 'content-type': 'text/plain', allow: 'GET, HEAD' }).end(`ebpfmon: metrics are at ${opts.path} (GET)\n`);
      return;
    }
    // HEAD (a health check, a probe of the path): GET's status and headers without the body, and no scrape: it does
    // not close the scrape window the busiest comms are chosen in.
    if (req.method === 'HEAD') {
      res.writeHead(200, { 'content-type': registry.contentType }).end();
      return;
    }
    scrape().then(
      (text) => res.writeHead(200, { 'content-type': registry.contentType }).end(text),
      (e: unknown) => res.writeHead(500).end(String(e)),
    );
  };
  const tls = opts.web?.tls;
  // TLS 1.2 at least, as exporter-toolkit's default.
  const server: Server | TlsServer = tls
    ? createTlsServer({ ...serverLimits.create, cert: tls.cert, key: tls.key, minVersion: 'TLSv1.2' }, handler)
    : createServer({ ...serverLimits.create }, handler);
  server.headersTimeout = serverLimits.headersTimeoutMs;
  server.requestTimeout = serverLimits.requestTimeoutMs;
  server.keepAliveTimeout = serverLimits.keepAliveTimeoutMs;
  server.maxConnections = serverLimits.maxConnections;
  // headersTimeout also drops a connection that never sends a byte; this drops one that stops reading the answer.
  server.setTimeout(serverLimits.idleSocketMs);
  await new Promise<void>((resolve, reject) => {
    server.once('error', (e: NodeJS.ErrnoException) =>
      reject(new UsageError(`prometheus exporter cannot listen on ${opts.listen}: ${e.code === 'EADDRINUSE' ? 'address in use' : e.message}`)),
    );
    server.listen(port, host, () => resolve());
  });
  const addr = server.address();
  const address = typeof addr === 'object' && addr ? `${addr.family === 'IPv6' ? `[${addr.address}]` : addr.address}:${addr.port}` : opts.listen;

  return {
    address,
    scheme: tls ? 'https' : 'http',
    scrape,
    setWeb(web) {
      const next = web?.tls ?? null;
      if ((next === null) !== (tls === undefined || tls === null)) {
        throw new UsageError(`the exporter serves ${tls ? 'HTTPS' : 'HTTP'}: turning TLS ${next ? 'on' : 'off'} takes a restart`);
      }
      if (next) (server as TlsServer).setSecureContext({ cert: next.cert, key: next.key, minVersion: 'TLSv1.2' });
      authorized = web?.users.size ? basicAuth(web.users) : null;
    },
    write(monitor, rows) {
      for (const spec of opts.metrics.get(monitor) ?? []) {
        const observe = histograms.get(spec);
        if (observe) {
          for (const row of rows) if (selected(spec, row)) observe(labelsOfSpec(spec, row), row);
          continue;
        }
        const { counter, window } = counters.get(spec)!;
        for (const row of rows) {
          if (!selected(spec, row)) continue;
          const raw = spec.value === undefined ? 1 : Number(row[spec.value] ?? 0);
          const v = raw * (spec.scale ?? 1);
          if (!(Number.isFinite(v) && v > 0)) continue;
          if (window) window.add(labelsOf(spec, row), v);
          else counter.inc(labelsOf(spec, row), v);
        }
      }
    },
    flush: () => Promise.resolve(),
    close: () => closeServer(server, serverLimits.closeGraceMs),
  };
}
