// The `start` command as the CLI runs it: foreground, or `--daemon` (detach, pid file, log file, readiness),
// with the signal wiring (SIGINT/SIGTERM stop, SIGHUP reload + log reopen).
import { fileURLToPath } from 'node:url';
import { rmSync } from 'node:fs';
import { unlink } from 'node:fs/promises';
import type { LevelWithSilent } from 'pino';
import { openLog, type Logger } from '../../log.js';
import { defaultConfigPath, loadConfig } from '../../config/load.js';
import { describe, isUserError, RunFailure, UsageError } from '../../errors.js';
import { runStart, type StartOptions } from './start.js';
import type { SessionSignals } from '../../session/run.js';
import { watchStopRequests } from '../../session/stop-requests.js';
import { lostRowsLine } from '../../sinks/file-sink.js';
import { claimPidFile, defaultPidFile, releasePidFile, releasePidFileSync, runningPid, statusFileFor } from '../../daemon/pid-file.js';
import { detach, isDaemonChild, tellParent } from '../../daemon/detach.js';
import { createSdNotifier } from '../../daemon/sd-notify.js';
import { defaultDaemonLog } from '../options.js';
import type { VersionProbe } from '../../plan/capabilities.js';

export interface StartCommandOptions extends StartOptions {
  logLevel?: LevelWithSilent;
  daemon?: boolean;
  pidFile?: string;
}

const shutdownWatchdogMs = 60_000;
export { defaultDaemonLog };
const cliPath = fileURLToPath(new URL('../main.js', import.meta.url));

/** SIGINT/SIGTERM resolve `stop` once (a second one is logged); SIGHUP calls the reload handler. */
function wireSignals(log: Logger): SessionSignals {
  let onReload: () => void = () => undefined;
  let onReopen: () => void = () => undefined;
  process.on('SIGHUP', () => onReload());
  process.on('SIGUSR1', () => onReopen());
  const stop = new Promise<string>((resolve) => {
    let seen = false;
    const on = (sig: NodeJS.Signals): void => {
      if (seen) {
        log.warn({ signal: sig }, 'already stopping: waiting for bpftrace to print its final interval');
        return;
      }
      seen = true;
      resolve(sig);
    };
    // `ebpfmon start --console | head`: the reader went away; files still get their final interval.
    watchStopRequests({
      signals: ['SIGINT', 'SIGTERM'],
      onSignal: on,
      stdout: process.stdout,
      onOutError: (e) => {
        if (e.code === 'EPIPE') on('SIGPIPE');
      },
    });
  });
  return { stop, onReload: (cb) => (onReload = cb), onReopen: (cb) => (onReopen = cb) };
}

/**
 * Runs `start`; returns the text for stdout (daemon parent) or nothing, and a last line for stderr when rows were lost.
 * Sets nothing global but signal handlers. `versionProbe`: `bpftrace --version` already started by main.ts.
 */
export async function startCommand(o: StartCommandOptions, setLog: (l: Logger) => void, versionProbe?: VersionProbe): Promise<{ stdout?: string; stderr?: string; failed: boolean }> {
  const child = isDaemonChild();
  if (o.daemon && !child) return { stdout: await startDaemon(o), failed: false };
  try {
    const config = await loadConfig(o.config ?? defaultConfigPath());
    const level = o.logLevel ?? (config.app.debug ? 'debug' : config.logging.level);
    const logFile = child ? (config.logging.file ?? defaultDaemonLog) : (config.logging.file ?? undefined);
    const { log, reopen } = openLog({ level, file: logFile });
    setLog(log);
    const pidFile = child ? (o.pidFile ?? defaultPidFile) : o.pidFile;
    if (pidFile) {
      const { replacedStale } = await claimPidFile(pidFile);
      if (replacedStale) log.warn({ pidFile, stalePid: replacedStale.pid, reason: replacedStale.reason }, 'replaced a stale pid file (it named a process that is not ebpfmon)');
    }
    const statusFile = pidFile ? statusFileFor(pidFile) : undefined;
    // Under systemd with Type=notify: readiness once the probes are attached (config/ebpfmon.service).
    const systemd = child ? null : createSdNotifier(log);
    try {
      const summary = await runStart(o, {
        log,
        signals: wireSignals(log),
        statusFile,
        reopenLog: reopen,
        // Read once: the config above is the one the run uses (same file, read moments ago).
        early: { config, version: versionProbe },
        onStopping: () => {
          void systemd?.notify({ STOPPING: '1', STATUS: 'stopping: waiting for the final interval' });
          // Last resort: bpftrace gets SIGKILL 10 s after SIGTERM; if shutdown still hangs, leave with an error.
          // Synchronously: process.exit() does not wait for promises. (kernel.bpf_stats_enabled is put back by
          // an exit handler of bpf-stats.ts.)
          setTimeout(() => {
            log.fatal({ seconds: shutdownWatchdogMs / 1000 }, 'shutdown did not finish in time; exiting');
            if (pidFile) {
              releasePidFileSync(pidFile);
              if (statusFile) rmSync(statusFile, { force: true });
            }
            process.exit(1);
          }, shutdownWatchdogMs).unref();
        },
        onReloading: () => void systemd?.notify({ RELOADING: '1', MONOTONIC_USEC: String(process.hrtime.bigint() / 1000n), STATUS: 'reloading the configuration' }),
        onReloaded: ({ applied }) => void systemd?.notify({ READY: '1', STATUS: applied ? 'configuration reloaded' : 'reload refused: the running configuration continues (see the log)' }),
        onReady: (r) => {
          // No READY=1 when nothing attached: ebpfmon exits non-zero and systemd reports the start as failed.
          if (r.attached.length) void systemd?.notify({ READY: '1', STATUS: `attached: ${r.attached.join(', ')}${r.failed.length ? `; failed: ${r.failed.map((f) => f.monitor).join(', ')}` : ''}` });
          if (!child) return;
          if (!r.attached.length) {
            tellParent({ type: 'failed', exitCode: 1, message: `no monitor could start: ${r.failed.map((f) => `${f.monitor}: ${f.reason}`).join('; ') || 'stopped'}` });
          } else {
            tellParent({ type: 'ready', pid: process.pid, ...r, logFile: logFile ?? '' });
          }
        },
      });
      const lost = lostRowsLine(summary.outputs);
      return { failed: summary.failed.length > 0 || lost !== null, ...(lost ? { stderr: lost } : {}) };
    } finally {
      if (pidFile) {
        await releasePidFile(pidFile);
        if (statusFile) await unlink(statusFile).catch(() => undefined);
      }
    }
  } catch (e) {
    if (child) {
      tellParent({ type: 'failed', exitCode: isUserError(e) ? e.exitCode : 1, message: describe(e) });
    }
    throw e;
  }
}

async function startDaemon(o: StartCommandOptions): Promise<string> {
  const pidFile = o.pidFile ?? defaultPidFile;
  const running = await runningPid(pidFile);
  if (running) throw new UsageError(`ebpfmon is already running (pid ${running}, pid file ${pidFile}); stop it first: ebpfmon stop`);
  // The child gets the same arguments; --daemon there only selects the log file and pid file defaults.
  const args = process.argv.slice(2);
  if (!o.pidFile) args.push('--pid-file', pidFile);
  const r = await detach(cliPath, args, 120_000);
  const lines = [`ebpfmon started as a daemon (pid ${r.pid}): ${r.attached.join(', ')} attached; CSV in ${r.outputDir}; log in ${r.logFile}`];
  for (const f of r.failed) lines.push(`  ${f.monitor}: failed to start: ${f.reason}`);
  for (const u of r.unavailable) lines.push(`  ${u.monitor}: unavailable on this machine: ${u.reason}`);
  lines.push(`stop it with: ebpfmon stop${o.pidFile ? ` --pid-file ${o.pidFile}` : ''}`);
  if (r.failed.length) throw new RunFailure(lines.join('\n'));
  return lines.join('\n');
}
