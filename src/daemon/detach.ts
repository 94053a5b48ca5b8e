// `start --daemon`: the parent re-runs ebpfmon detached (own session, stdio closed, logs to a file) and waits
// on an IPC channel until the child reports that its monitors are attached, or why they could not start.
import { spawn } from 'node:child_process';
import { RunFailure, UsageError, EnvironmentError, type UserError } from '../errors.js';

export const daemonChildEnv = 'EBPFMON_DAEMON_CHILD';
export const isDaemonChild = (): boolean => process.env[daemonChildEnv] === '1' && typeof process.send === 'function';

export type DaemonMessage =
  | { type: 'ready'; pid: number; attached: string[]; failed: { monitor: string; reason: string }[]; unavailable: { monitor: string; reason: string }[]; outputDir: string; logFile: string }
  | { type: 'failed'; message: string; exitCode: 1 | 2 | 3 };

/** In the child: tell the parent, then drop the channel so the parent can exit. */
export function tellParent(m: DaemonMessage): void {
  if (!process.send) return;
  process.send(m, () => {
    if (process.connected) process.disconnect();
  });
}

const errorFor = (m: { message: string; exitCode: 1 | 2 | 3 }): UserError =>
  m.exitCode === 2 ? new UsageError(m.message) : m.exitCode === 3 ? new EnvironmentError(m.message) : new RunFailure(m.message);

/** Starts `node <cli> <args>` as a daemon; resolves with its ready report, or throws its one-line failure. */
export function detach(cli: string, args: readonly string[], timeoutMs: number): Promise<Extract<DaemonMessage, { type: 'ready' }>> {
  const child = spawn(process.execPath, [...process.execArgv, cli, ...args], {
    detached: true,
    stdio: ['ignore', 'ignore', 'ignore', 'ipc'],
    env: { ...process.env, [daemonChildEnv]: '1' },
    cwd: process.cwd(),
  });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      reject(new RunFailure(`the daemon (pid ${child.pid ?? '?'}) did not report ready within ${timeoutMs / 1000} s; see its log`));
      child.disconnect();
      child.unref();
    }, timeoutMs);
    const done = (): void => {
      clearTimeout(timer);
      child.removeAllListeners('exit');
      if (child.connected) child.disconnect();
      child.unref();
    };
    child.on('message', (raw) => {
      const m = raw as DaemonMessage;
      done();
      if (m.type === 'ready') resolve(m);
      else reject(errorFor(m));
    });
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new RunFailure(`the daemon exited before it was ready (${signal ?? `exit code ${String(code)}`}); see its log`));
    });
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(new RunFailure(`cannot start the daemon: ${e.message}`));
    });
  });
}
