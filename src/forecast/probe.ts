// A short-lived bpftrace for the forecast (the calibration's bare count, the rates' count probe): started with
// `-f json -e TEXT`, ready once it printed attached_probes, its records handed to `onRecord`.
import { spawnBpftrace, type BpftraceExit } from '../process/bpftrace.js';
import { sendStop } from '../process/aot.js';
import { parseLine, type BpftraceRecord } from '../records/json-line.js';
import { stopProbe } from '../script/compose.js';
import { tracerPid } from '../bt/ir.js';
import { RunFailure } from '../errors.js';
import type { BpftraceFeatures } from '../bt/features.js';

/** The bpftrace a short probe runs: its path, and how BEGIN names its own pid on that version. */
export interface Tracer {
  path: string;
  selfPid: BpftraceFeatures['selfPid'];
}

export interface ShortProbe {
  pid: number | undefined;
  /** Stops it through the stop probe (bpftrace prints its maps) and resolves with how it ended; safe to call twice. */
  stop(): Promise<BpftraceExit>;
}

/** `text` with BEGIN storing bpftrace's own host pid and compose's stop probe, which compares it with the signal's target. */
export const shortProbeScript = (tracer: Tracer, text: string): string =>
  [`BEGIN { ${tracerPid} = ${tracer.selfPid}; }`, text, ...stopProbe()].join('\n');

/**
 * Resolves once the probes are attached; a bpftrace that ends before that is a RunFailure naming `what`. `text` gets
 * BEGIN's own pid (as the version names it: inside a pid namespace `pid` is not the host's from 0.22) and compose's stop probe: bpftrace 0.17 misses a SIGTERM that lands outside epoll_wait() and would then
 * run until killed.
 */
export async function startShortProbe(tracer: Tracer, text: string, what: string, onRecord: (r: BpftraceRecord) => void = () => undefined): Promise<ShortProbe> {
  const stderr: string[] = [];
  let onAttached: () => void = () => undefined;
  const attached = new Promise<void>((r) => (onAttached = r));
  const run = spawnBpftrace({
    command: tracer.path,
    args: ['-f', 'json', '-e', shortProbeScript(tracer, text)],
    env: {},
    onLine: (line) => {
      const r = parseLine(line);
      if (!r.ok) return;
      if (r.record.type === 'attached_probes') onAttached();
      onRecord(r.record);
    },
    onStderr: (l) => stderr.push(l),
    killAfterMs: 15_000,
  });
  const lastError = (): string => stderr.filter((l) => l.trim()).slice(-1).join('');
  const early = run.done.then((e) => {
    throw new RunFailure(`${what}: bpftrace ended before attaching (${lastError() || e.spawnError || `exit code ${String(e.exitCode)}`})`);
  });
  try {
    await Promise.race([attached, early]);
  } catch (e) {
    run.stop();
    throw e;
  }
  early.catch(() => undefined);
  return {
    pid: run.pid,
    stop: async () => {
      if (run.pid === undefined) run.stop();
      else sendStop(run.pid);
      // SIGTERM (then SIGKILL) only if the stop probe did not end it.
      const late = setTimeout(() => run.stop(), 5000);
      const exit = await run.done.finally(() => clearTimeout(late));
      // Killed rather than ended: it printed nothing at exit, and zeros would pass for a quiet host.
      if (exit.signal !== null || exit.exitCode !== 0) {
        throw new RunFailure(`${what}: bpftrace did not end cleanly (${exit.signal ? `killed by ${exit.signal}` : `exit code ${String(exit.exitCode)}`}${lastError() ? `: ${lastError()}` : ''})`);
      }
      return exit;
    },
  };
}
