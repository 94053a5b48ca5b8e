// Run the real CLI as a child process, as an operator would.
import { execa, type ResultPromise } from 'execa';
import { mkdtemp, readdir, readFile, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parse } from 'csv-parse/sync';
import { cliPath } from './paths.js';

export interface CliResult {
  exitCode: number;
  stdout: string;
  stderr: string;
}

export async function runCli(args: readonly string[], opts: { env?: Record<string, string>; timeoutMs?: number } = {}): Promise<CliResult> {
  const r = await execa('node', [cliPath, ...args], {
    reject: false,
    env: opts.env ?? {},
    timeout: opts.timeoutMs ?? 120_000,
    stdin: 'ignore',
  });
  return { exitCode: r.exitCode ?? -1, stdout: String(r.stdout), stderr: String(r.stderr) };
}

export interface RunningCli {
  proc: ResultPromise<{ reject: false; stdin: 'ignore'; buffer: true }>;
  /** Resolves when a log line with this `msg` appeared on stderr. */
  waitForLog(msg: string, timeoutMs?: number): Promise<Record<string, unknown>>;
  stderrText(): string;
  done: Promise<CliResult>;
}

/** `prefix`: a command that runs the CLI, e.g. ['unshare', '--time', '--monotonic', '5', '--fork']. */
export function startCli(args: readonly string[], opts: { prefix?: readonly string[] } = {}): RunningCli {
  const [cmd, ...rest] = [...(opts.prefix ?? []), 'node', cliPath, ...args] as [string, ...string[]];
  const proc = execa(cmd, rest, { reject: false, stdin: 'ignore', buffer: true });
  let stderr = '';
  const waiters: { msg: string; resolve: (v: Record<string, unknown>) => void }[] = [];
  const seen: Record<string, unknown>[] = [];
  let partial = '';
  proc.stderr?.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
    partial += chunk.toString();
    const lines = partial.split('\n');
    partial = lines.pop() ?? '';
    for (const line of lines) {
      try {
        const rec = JSON.parse(line) as Record<string, unknown>;
        seen.push(rec);
        for (const w of [...waiters]) {
          if (rec['msg'] === w.msg) {
            waiters.splice(waiters.indexOf(w), 1);
            w.resolve(rec);
          }
        }
      } catch {
        // not a log line
      }
    }
  });
  const done = proc.then((r) => ({ exitCode: r.exitCode ?? -1, stdout: String(r.stdout), stderr }));
  return {
    proc,
    stderrText: () => stderr,
    done,
    waitForLog(msg, timeoutMs = 60_000) {
      const hit = seen.find((r) => r['msg'] === msg);
      if (hit) return Promise.resolve(hit);
      return new Promise((resolve, reject) => {
        const t = setTimeout(() => reject(new Error(`no log "${msg}" within ${timeoutMs} ms; stderr:\n${stderr}`)), timeoutMs);
        waiters.push({
          msg,
          resolve: (v) => {
            clearTimeout(t);
            resolve(v);
          },
        });
        void done.then(() => {
          clearTimeout(t);
          reject(new Error(`ebpfmon exited before logging "${msg}"; stderr:\n${stderr}`));
        });
      });
    },
  };
}

export const tempDir = (prefix: string): Promise<string> => mkdtemp(path.join(os.tmpdir(), `ebpfmon-test-${prefix}-`));

/** A config file in `dir` with the given YAML text. */
export async function writeConfig(dir: string, yaml: string): Promise<string> {
  const file = path.join(dir, 'config.yaml');
  await writeFile(file, yaml);
  return file;
}

/** The rows of the one CSV file of `monitor` in `dir`, as objects. */
export async function readCsv(dir: string, monitor: string): Promise<Record<string, string>[]> {
  const files = (await readdir(dir)).filter((f) => f.startsWith(`${monitor}_`) && f.endsWith('.csv'));
  if (files.length !== 1) throw new Error(`expected one ${monitor} CSV in ${dir}, found ${files.join(', ') || 'none'}`);
  return parse(await readFile(path.join(dir, files[0]!), 'utf8'), { columns: true, skip_empty_lines: true }) as Record<string, string>[];
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
