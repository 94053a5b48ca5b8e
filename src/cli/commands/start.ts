// `ebpfmon start`: run the planned bpftrace processes in the foreground until a signal or --duration,
// route their records to CSV (and the console), and shut down without losing the final interval.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { Logger } from '../../log.js';
import { prepare, requireRunnable } from '../context.js';
import { EnvironmentError } from '../../errors.js';
import { composeScript } from '../../script/compose.js';
import { createSupervisor, type ProcessSpec } from '../../process/supervisor.js';
import { spawnBpftrace, type SpawnBpftrace } from '../../process/bpftrace.js';
import { defaultBackoff } from '../../process/backoff.js';
import { newStats } from '../../records/stats.js';
import type { RoutedMonitor } from '../../records/router.js';
import { systemClock } from '../../rows/clock.js';
import { ensureDir } from '../../sinks/safe-fs.js';
import { createCsvSink } from '../../sinks/csv.js';
import { createConsoleSink } from '../../sinks/console.js';
import { createOutput } from '../../sinks/output.js';
import type { Sink } from '../../sinks/sink.js';
import type { Row } from '../../monitors/types.js';

export interface StartOptions {
  config?: string | undefined;
  monitors?: string | undefined;
  duration?: number | undefined;
  outputDir?: string | undefined;
  console?: boolean | undefined;
}

export interface StartDeps {
  log: Logger;
  /** Resolves when the user asks to stop (SIGINT/SIGTERM). */
  stopSignal: Promise<string>;
  spawn?: SpawnBpftrace;
}

export interface StartSummary {
  files: string[];
  rows: Record<string, number>;
  failed: string[];
}

export async function runStart(opts: StartOptions, deps: StartDeps): Promise<StartSummary> {
  const { log } = deps;
  const p = await prepare({ config: opts.config, monitors: opts.monitors, mount: true });
  requireRunnable(p.caps);
  for (const v of p.plan.verdicts) {
    if (v.status === 'unavailable') log.warn({ monitor: v.monitor, reason: v.detail }, `monitor ${v.monitor} is unavailable on this machine; skipped`);
    else if (v.status === 'fallback') log.info({ monitor: v.monitor, variant: v.variant, reason: v.reasons.join('; ') }, `monitor ${v.monitor} uses its ${v.variant ?? ''} fallback`);
  }
  if (!p.plan.processes.length) {
    throw new EnvironmentError(`no selected monitor can run on this machine: ${p.plan.verdicts.map((v) => `${v.monitor}: ${v.detail}`).join('; ')}`);
  }
  if (p.caps.tracefs.detail.includes('ebpfmon mounted')) log.info(p.caps.tracefs.detail);

  const config = p.config;
  const clock = systemClock();
  const startedAt = new Date();
  const dir = await ensureDir(opts.outputDir ?? config.output.directory);
  const workDir = await mkdtemp(path.join(os.tmpdir(), 'ebpfmon-'));
  const runnable = p.plan.processes.flatMap((proc) => proc.monitors);

  const csv = await createCsvSink({
    dir,
    columns: new Map(runnable.map((m) => [m.monitor.name, m.monitor.columns])),
    startedAt,
    bufferRows: config.output.buffer_rows,
    flushIntervalMs: config.output.flush_interval * 1000,
    onError: (e) => log.error({ err: e }, 'writing CSV failed'),
  });
  const sinks: Sink[] = [csv];
  if (opts.console ?? (config.output.console || runnable.length === 1)) {
    sinks.push(createConsoleSink(new Map(runnable.map((m) => [m.monitor.name, (r: Row) => m.monitor.consoleLine(r)]))));
  }
  const output = createOutput(sinks);
  for (const [m, f] of csv.files) log.info({ monitor: m, file: f }, 'writing CSV');

  const writeScript = async (file: string, text: string): Promise<string> => {
    const full = path.join(workDir, file);
    await writeFile(full, text, { mode: 0o600, flag: 'wx' });
    return full;
  };
  const routed = new Map<string, RoutedMonitor>();
  const specs: ProcessSpec[] = [];
  for (const [i, proc] of p.plan.processes.entries()) {
    const script = p.scripts[i]!;
    const monitors = proc.monitors.map((pm) => {
      const rm: RoutedMonitor = {
        monitor: pm.monitor,
        opts: pm.opts,
        contract: pm.monitor.generate(pm.opts, pm.plan).contract,
        interval: pm.plan.interval,
        stats: newStats(),
      };
      routed.set(pm.monitor.name, rm);
      return rm;
    });
    specs.push({ id: proc.id, scriptFile: await writeScript(script.file, script.text), monitors });
  }

  const supervisor = createSupervisor(specs, {
    log,
    spawn: deps.spawn ?? spawnBpftrace,
    clock,
    arch: p.caps.arch,
    bpftrace: p.caps.bpftrace.path!,
    env: p.env,
    maxRestarts: config.runtime.max_restarts,
    backoff: defaultBackoff,
    killAfterMs: 10_000,
    onRows: (m, rows) => output.write(m, rows),
    onGap: (m, ts, text) => output.note(m, ts, text),
    isolate: async (spec) => {
      const parts: ProcessSpec[] = [];
      for (const rm of spec.monitors) {
        const pm = p.plan.processes.flatMap((x) => x.monitors).find((x) => x.monitor.name === rm.monitor.name)!;
        const s = composeScript({ id: pm.monitor.name, monitors: [pm] }, { bpftraceVersion: p.caps.bpftrace.version, kernel: p.caps.kernel, env: p.env });
        parts.push({ id: s.id, scriptFile: await writeScript(s.file, s.text), monitors: [rm] });
      }
      return parts;
    },
  });

  try {
    await Promise.race([supervisor.settled, deps.stopSignal]);
    const attached = [...routed.values()].filter((m) => m.stats.state === 'running').map((m) => m.monitor.name);
    const failed = [...routed.values()].filter((m) => m.stats.state === 'failed');
    for (const f of failed) log.error({ monitor: f.monitor.name, reason: f.stats.lastError }, `monitor ${f.monitor.name} could not start`);
    if (attached.length) log.info({ monitors: attached, output: dir }, 'monitors attached');

    let timer: NodeJS.Timeout | undefined;
    const durationDone = new Promise<string>((resolve) => {
      if (opts.duration !== undefined) timer = setTimeout(() => resolve('duration'), opts.duration * 1000);
    });
    const why = await Promise.race([deps.stopSignal, durationDone, supervisor.done.then(() => 'all bpftrace processes ended')]);
    clearTimeout(timer);
    log.info({ reason: why }, 'stopping: waiting for the final interval');
    await supervisor.stop();
  } finally {
    await supervisor.stop();
    await output.close();
    await rm(workDir, { recursive: true, force: true });
  }
  const rows = Object.fromEntries([...routed].map(([n, m]) => [n, m.stats.rows]));
  const failed = [...routed.values()].filter((m) => m.stats.state === 'failed').map((m) => m.monitor.name);
  log.info({ rows, files: [...csv.files.values()] }, 'stopped');
  return { files: [...csv.files.values()], rows, failed };
}
