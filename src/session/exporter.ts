// The Prometheus exporter of a running ebpfmon, when the config or --prometheus asks for it. It outlives sessions
// (counters accumulate across reloads) and reads each monitor's health from the live one.
import type { Logger } from '../log.js';
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
