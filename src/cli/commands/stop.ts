// `ebpfmon stop`: SIGTERM to the daemon named by the pid file, wait for its clean shutdown (final interval
// written, files flushed, pid file removed), SIGKILL after the timeout.
import { unlink } from 'node:fs/promises';
import { isAlive, readPidFile, runningPid, statusFileFor } from '../../daemon/pid-file.js';

export interface StopResult {
  pid: number | null;
  /** 'stopped' cleanly, 'killed' after the timeout, or 'not-running'. */
  outcome: 'stopped' | 'killed' | 'not-running';
  message: string;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function waitGone(pid: number, ms: number): Promise<boolean> {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    if (!isAlive(pid)) return true;
    await sleep(100);
  }
  return !isAlive(pid);
}

export async function runStop(opts: { pidFile: string; timeout: number }): Promise<StopResult> {
  const pid = await runningPid(opts.pidFile);
  if (pid === null) {
    const stale = await readPidFile(opts.pidFile);
    return {
      pid: null,
      outcome: 'not-running',
      message: stale === null ? `ebpfmon is not running (no pid file at ${opts.pidFile})` : `ebpfmon is not running (stale pid file ${opts.pidFile} names pid ${stale})`,
    };
  }
  process.kill(pid, 'SIGTERM');
  if (await waitGone(pid, opts.timeout * 1000)) {
    return { pid, outcome: 'stopped', message: `ebpfmon (pid ${pid}) stopped` };
  }
  process.kill(pid, 'SIGKILL');
  await waitGone(pid, 5000);
  // A killed daemon cannot remove its own files.
  await unlink(opts.pidFile).catch(() => undefined);
  await unlink(statusFileFor(opts.pidFile)).catch(() => undefined);
  return {
    pid,
    outcome: 'killed',
    message: `warning: ebpfmon (pid ${pid}) did not stop within ${opts.timeout} s and was killed (SIGKILL); its last interval may be lost`,
  };
}
