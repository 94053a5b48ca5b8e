// The Prometheus exporter of a running ebpfmon, when the config or --prometheus asks for it. It outlives sessions
// (counters accumulate across reloads) and reads each monitor's health from the live one.
import type { Logger } from '../log.js';
import { describe } from '../errors.js';
import type { Config } from '../config/schema.js';
import type { PrometheusSink } from '../sinks/prometheus.js';
import { processUsage } from '../daemon/status.js';
import { monitors } from '../monitors/registry.js';
import { version } from '../version.js';
import type { Session } from './session.js';
import type { HealthSampler } from './health.js';

export interface ExporterOptions {
  /** --prometheus host:port (overrides output.prometheus.listen and turns it on). */
  prometheus?: string | undefined;
  /** --web-config-file (overrides output.prometheus.web_config_file). */
  webConfigFile?: string | undefined;
}

export async function startExporter(
  config: Config,
  opts: ExporterOptions,
  deps: { log: Logger; current: () => Session | null; health: HealthSampler; bpftraceVersion: string | null },
): Promise<PrometheusSink | null> {
  const conf = config.output.prometheus;
  if (!conf.enabled && !opts.prometheus) return null;
  // Loaded only when asked for: prom-client costs about 10 MB of memory.
  const { createPrometheusSink } = await import('../sinks/prometheus.js');
  const webFile = opts.webConfigFile ?? conf.web_config_file;
  const web = webFile ? await (await import('../sinks/web-config.js')).loadWebConfig(webFile) : undefined;
  const exporter = await createPrometheusSink({
    ...(web ? { web } : {}),
    listen: opts.prometheus ?? conf.listen,
    path: conf.path,
    maxCommSeries: conf.max_comm_series,
    perCpu: conf.per_cpu,
    metrics: new Map(monitors.map((m) => [m.name, m.metrics ?? []])),
    health: () =>
      [...(deps.current()?.monitors ?? [])].map(([monitor, m]) => ({
        monitor,
        stats: m.stats,
        bpf: deps.health.cost(m.stats.bpftracePid)?.cost ?? null,
        process: m.stats.bpftraceProcess,
      })),
    usage: processUsage,
    buildInfo: { version, bpftraceVersion: deps.bpftraceVersion },
  });
  deps.log.info({ address: exporter.address, path: conf.path, scheme: exporter.scheme, basicAuth: (web?.users.size ?? 0) > 0 }, 'prometheus exporter listening');
  return exporter;
}

/** What a reloaded config changes of the exporter that only a restart applies (listen, path, on/off): one line each. */
export function exporterRestartChanges(before: Config, after: Config, opts: ExporterOptions): string[] {
  const b = before.output.prometheus;
  const a = after.output.prometheus;
  const on = (c: typeof a): boolean => c.enabled || opts.prometheus !== undefined;
  if (on(b) !== on(a)) return [`output.prometheus.enabled is now ${String(on(a))}: the exporter ${on(a) ? 'starts' : 'stops'} at the next restart`];
  if (!on(a)) return [];
  const changed: string[] = [];
  if (opts.prometheus === undefined && a.listen !== b.listen) changed.push(`output.prometheus.listen is now ${a.listen}: the exporter moves there at the next restart`);
  if (a.path !== b.path) changed.push(`output.prometheus.path is now ${a.path}: it applies at the next restart`);
  return changed;
}

/**
 * SIGHUP: the exporter keeps its counters, address and path, and reads its web config file again: a renewed
 * certificate and changed users apply to the connections from now on. A file that fails to load or would turn TLS
 * on or off is refused; the one before stays.
 */
export async function reloadExporterWeb(exporter: PrometheusSink, config: Config, opts: ExporterOptions, log: Logger): Promise<void> {
  const webFile = opts.webConfigFile ?? config.output.prometheus.web_config_file;
  try {
    const web = webFile ? await (await import('../sinks/web-config.js')).loadWebConfig(webFile) : undefined;
    exporter.setWeb(web);
    log.info({ webConfigFile: webFile ?? null, scheme: exporter.scheme, basicAuth: (web?.users.size ?? 0) > 0 }, 'prometheus exporter: web config reloaded');
  } catch (e) {
    log.error({ reason: describe(e) }, 'prometheus exporter: web config not reloaded; the one before stays');
  }
}
