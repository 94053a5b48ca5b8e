// `ebpfmon stop`: SIGTERM to the daemon named by the pid file, wait for its clean shutdown (final interval
// written, files flushed, pid file removed), SIGKILL after the timeout. Only the process the pid file
// identifies (same pid, start time, executable and command line) is ever signalled: a stale pid file names
// whatever reused the pid, and that process is left alone.
import { unlink } from 'node:fs/promises';
import { inspectPidFile, recheck, releasePidFile, statusFileFor, type PidRecord } from '../../daemon/pid-file.js';
import { EnvironmentError, errnoOf } from '../../errors.js';
import { monotonicMs } from '../../timers.js';

export interface StopResult {
  pid: number | null;
  /** 'stopped' cleanly, 'killed' after the timeout, or 'not-running' (nothing was signalled). */
  outcome: 'stopped' | 'killed' | 'not-running';
  message: string;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Waits until the recorded process is gone (or the pid names another process now); true when it is. */
async function waitGone(rec: PidRecord, file: string, ms: number): Promise<boolean> {
  const until = monotonicMs() + ms;
  for (;;) {
    if ((await recheck(rec, file)) !== null) return true;
    if (monotonicMs() >= until) return false;
    await sleep(100);
  }
}

/** Sends `signal` unless the pid stopped being the recorded ebpfmon; false when it did (or is gone). */
async function signalIfSame(rec: PidRecord, file: string, signal: NodeJS.Signals): Promise<boolean> {
  if ((await recheck(rec, file)) !== null) return false;
  try {
    process.kill(rec.pid, signal);
    return true;
  } catch (e) {
    const code = errnoOf(e);
    if (code === 'ESRCH') return false;
    // The daemon runs as root; another user may not signal it.
    if (code === 'EPERM') throw new EnvironmentError(`cannot signal ebpfmon (pid ${rec.pid}): permission denied; run as root (sudo ebpfmon stop)`, { cause: e });
    throw e;
  }
}

export async function runStop(opts: { pidFile: string; timeout: number }): Promise<StopResult> {
  const s = await inspectPidFile(opts.pidFile);
  if (s.state === 'none') return { pid: null, outcome: 'not-running', message: `ebpfmon is not running (no pid file at ${opts.pidFile})` };
  if (s.state === 'stale') {
    return {
      pid: null,
      outcome: 'not-running',
      message: `ebpfmon is not running: stale pid file ${opts.pidFile} names pid ${s.pid}: ${s.reason}; nothing was signalled (start replaces the file)`,
    };
  }
  const { pid, record } = s;
  if (!(await signalIfSame(record, opts.pidFile, 'SIGTERM'))) {
    return { pid: null, outcome: 'not-running', message: `ebpfmon (pid ${pid}) exited before it could be signalled` };
  }
  if (await waitGone(record, opts.pidFile, opts.timeout * 1000)) {
    return { pid, outcome: 'stopped', message: `ebpfmon (pid ${pid}) stopped` };
  }
  if (!(await signalIfSame(record, opts.pidFile, 'SIGKILL'))) return { pid, outcome: 'stopped', message: `ebpfmon (pid ${pid}) stopped` };
  await waitGone(record, opts.pidFile, 5000);
  // A killed daemon cannot remove its own files.
  await releasePidFile(opts.pidFile, pid);
  await unlink(statusFileFor(opts.pidFile)).catch(() => undefined);
  return {
    pid,
    outcome: 'killed',
    message: `warning: ebpfmon (pid ${pid}) did not stop within ${opts.timeout} s and was killed (SIGKILL); its last interval may be lost`,
  };
}
