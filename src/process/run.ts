// Short commands (`bpftrace --aot`, `bpftrace --version`, `mount`) on node:child_process: their output collected,
// failure a value. (execa did this and bpftrace's spawn; its 106 modules cost the supervisor ~14 MB for its whole run.)
import { spawn } from 'node:child_process';

export interface RunResult {
  /** undefined when the command did not start or was killed by a signal. */
  exitCode: number | undefined;
  signal: string | undefined;
  /** It did not start, exited non-zero, was killed, or timed out. */
  failed: boolean;
  timedOut: boolean;
  stdout: string;
  stderr: string;
  /** Why it did not start (ENOENT, EACCES ...). */
  cause?: Error;
  message?: string;
}

/** At most this much of each output is kept (a command that floods is cut, not buffered without bound). */
const maxOutput = 16 << 20;

/** Runs `file args`, stdin closed, with `env` over the inherited environment; SIGTERM, then SIGKILL, at `timeoutMs`. */
export function runCommand(file: string, args: readonly string[], opts: { env?: Readonly<Record<string, string>>; timeoutMs: number }): Promise<RunResult> {
  return new Promise((resolve) => {
    let stdout = '';
    let stderr = '';
    let timedOut = false;
    let cause: Error | undefined;
    const child = spawn(file, [...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...opts.env } });
    child.stdout.setEncoding('utf8').on('data', (s: string) => {
      if (stdout.length < maxOutput) stdout += s;
    });
    child.stderr.setEncoding('utf8').on('data', (s: string) => {
      if (stderr.length < maxOutput) stderr += s;
    });
    let kill: NodeJS.Timeout | undefined;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGTERM');
      kill = setTimeout(() => child.kill('SIGKILL'), 2000);
    }, opts.timeoutMs);
    child.on('error', (e) => {
      cause = e;
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      clearTimeout(kill);
      // A spawn that failed closes with the negative errno as its code: it never exited.
      const exitCode = cause ? undefined : (code ?? undefined);
      resolve({
        exitCode, signal: signal ?? undefined, failed: cause !== undefined || timedOut || exitCode !== 0, timedOut, stdout, stderr,
        ...(cause ? { cause, message: cause.message } : {}),
      });
    });
  });
}
