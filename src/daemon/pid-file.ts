// The pid file of a daemonised ebpfmon holds the pid alone (what systemd's PIDFile=, `kill $(cat ...)` and
// earlier versions read). Beside it, the identity file (/run/ebpfmon.identity.json) names that process for
// sure: its start time (field 22 of /proc/<pid>/stat, clock ticks after boot), the boot id, its executable and
// its command line. After a crash the pid is soon reused by anything; the pid with the same start time on the
// same boot is the same process. A pid file that names a process whose start time, boot, executable or
// command line differ is stale: `stop` signals nothing and `start` replaces it. Without an identity file (an
// earlier version wrote the pid file) the process must be node running ebpfmon's entry point, started before
// the pid file was written. Both files are written atomically (temp file + rename, never through a symlink),
// mode 0644, the identity file first.
import { readFileSync, unlinkSync } from 'node:fs';
import { readFile, readlink, stat, unlink } from 'node:fs/promises';
import path from 'node:path';
import { errnoOf, UsageError } from '../errors.js';
import { secureDirSync, writeFileAtomic } from '../safe-fs.js';

export const defaultPidFile = '/run/ebpfmon.pid';

/** The status file that sits next to a pid file: /run/ebpfmon.pid -> /run/ebpfmon.status.json. */
export const statusFileFor = (pidFile: string): string => pidFile.replace(/\.pid$/, '') + '.status.json';

/** The identity file that sits next to a pid file: /run/ebpfmon.pid -> /run/ebpfmon.identity.json. */
export const identityFileFor = (pidFile: string): string => pidFile.replace(/\.pid$/, '') + '.identity.json';

/** USER_HZ: the unit of the times in /proc/<pid>/stat (100 on every Linux architecture ebpfmon runs on). */
export const clockTicksPerSecond = 100;

/** What identifies a process beyond its pid. */
export interface ProcIdentity {
  /** Field 22 of /proc/<pid>/stat: when it started, in clock ticks after boot. */
  startTime: number;
  /** /proc/sys/kernel/random/boot_id: start times count from this boot. */
  bootId: string;
  /** /proc/<pid>/exe (the node binary); null when it cannot be read (not root). */
  exe: string | null;
  /** /proc/<pid>/cmdline. */
  argv: string[];
}

export interface PidRecord {
  pid: number;
  /** Null without an identity file naming the same pid (an earlier version wrote none). */
  identity: ProcIdentity | null;
}

export type PidFileState =
  | { state: 'none' }
  | { state: 'stale'; pid: number; reason: string }
  | { state: 'running'; pid: number; record: PidRecord };


/** The text of an identity file. */
export function formatIdentity(rec: { pid: number; identity: ProcIdentity }): string {
  const { startTime, bootId, exe, argv } = rec.identity;
  return `${JSON.stringify({ pid: rec.pid, start_time: startTime, boot_id: bootId, exe, argv })}\n`;
}

/** An identity file's text -> what it records; null when it does not parse. */
export function parseIdentity(text: string): { pid: number; identity: ProcIdentity } | null {
  try {
    const j = JSON.parse(text) as Record<string, unknown>;
    const { pid, start_time: startTime, boot_id: bootId, exe, argv } = j;
    if (
      typeof pid === 'number' &&
      typeof startTime === 'number' &&
      typeof bootId === 'string' &&
      (typeof exe === 'string' || exe === null) &&
      Array.isArray(argv) &&
      argv.every((a) => typeof a === 'string')
    ) {
      return { pid, identity: { startTime, bootId, exe, argv } };
    }
  } catch {
    // not an identity file
  }
  return null;
}

/** The pid in a pid file's text (its first line), or null. */
export function parsePid(text: string): number | null {
  const first = (text.split('\n')[0] ?? '').trim();
  return /^\d+$/.test(first) ? Number(first) : null;
}

/** Field 22 (starttime) and field 3 (state) of a /proc/<pid>/stat line; comm (field 2) may hold spaces and ")". */
export function parseStat(text: string): { state: string; startTime: number } | null {
  const rest = text.slice(text.lastIndexOf(')') + 2).split(' ');
  const startTime = Number(rest[19]);
  return rest[0] && Number.isInteger(startTime) ? { state: rest[0], startTime } : null;
}

/** The identity of a live process, or null when there is none (gone, or a zombie). */
export async function procIdentity(pid: number): Promise<ProcIdentity | null> {
  let st;
  try {
    st = parseStat(await readFile(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return null;
  }
  if (!st || st.state === 'Z' || st.state === 'X') return null;
  const exe = await readlink(`/proc/${pid}/exe`).then(
    (p) => p.replace(/ \(deleted\)$/, ''),
    () => null,
  );
  const argv = await readFile(`/proc/${pid}/cmdline`, 'utf8').then(
    (t) => t.split('\0').filter((a, i, all) => a !== '' || i < all.length - 1),
    () => [],
  );
  return { startTime: st.startTime, bootId: await bootId(), exe, argv };
}

const bootId = async (): Promise<string> => (await readFile('/proc/sys/kernel/random/boot_id', 'utf8')).trim();

/** Boot time from /proc/stat, in ms since the epoch. */
async function bootTimeMs(): Promise<number> {
  const m = /^btime (\d+)$/m.exec(await readFile('/proc/stat', 'utf8'));
  return Number(m?.[1] ?? 0) * 1000;
}

/** Whether a command line runs ebpfmon: node running our entry point (the `ebpfmon` link or cli/main.js). */
export function looksLikeEbpfmon(seen: Pick<ProcIdentity, 'exe' | 'argv'>): boolean {
  if (!/^node/.test(path.basename(seen.exe ?? seen.argv[0] ?? ''))) return false;
  const script = seen.argv.slice(1).find((a) => !a.startsWith('-'));
  return script !== undefined && (path.basename(script) === 'ebpfmon' || /(^|\/)cli\/main\.js$/.test(script));
}

const shown = (argv: readonly string[]): string => {
  const s = argv.join(' ');
  return JSON.stringify(s.length > 100 ? `${s.slice(0, 100)}...` : s);
};

/**
 * Why the process now at the recorded pid is not the ebpfmon that wrote the pid file, or null when it is.
 * Without an identity it needs node running ebpfmon's entry point, started before the pid file was written.
 */
export function staleReason(rec: PidRecord, seen: ProcIdentity | null, file: { mtimeMs: number; bootTimeMs: number }): string | null {
  if (!seen) return 'no such process';
  const other = `that pid is now another process (${shown(seen.argv)})`;
  const id = rec.identity;
  if (id) {
    if (seen.bootId !== id.bootId) return `it was written before the last reboot; ${other}`;
    if (seen.startTime !== id.startTime) return `${other}, started at another time`;
    if (id.exe !== null && seen.exe !== null && seen.exe !== id.exe) return `${other}, running ${seen.exe}`;
    if (seen.argv.length !== id.argv.length || seen.argv.some((a, i) => a !== id.argv[i])) return `${other}, with another command line`;
    return null;
  }
  if (!looksLikeEbpfmon(seen)) return other;
  const startedMs = file.bootTimeMs + (seen.startTime / clockTicksPerSecond) * 1000;
  // btime has whole seconds: 2 s of slack.
  if (startedMs > file.mtimeMs + 2000) return `that pid is now an ebpfmon started after the pid file was written (${shown(seen.argv)})`;
  return null;
}

const readOrNull = async (file: string): Promise<string | null> => {
  try {
    return await readFile(file, 'utf8');
  } catch (e) {
    if (errnoOf(e) === 'ENOENT') return null;
    throw new UsageError(`cannot read ${file}: ${(e as Error).message}`);
  }
};

/** The pid in the file with its identity (from the identity file, when that names the same pid); null when there is no pid. */
export async function readPidFile(file: string): Promise<PidRecord | null> {
  const text = await readOrNull(file);
  const pid = text === null ? null : parsePid(text);
  if (pid === null) return null;
  const id = parseIdentity((await readOrNull(identityFileFor(file)).catch(() => null)) ?? '');
  return { pid, identity: id?.pid === pid ? id.identity : null };
}

/** Whether the file names a running ebpfmon, a stale process, or nothing. */
export async function inspectPidFile(file: string): Promise<PidFileState> {
  const rec = await readPidFile(file);
  if (rec === null) return { state: 'none' };
  const reason = await recheck(rec, file);
  return reason === null ? { state: 'running', pid: rec.pid, record: rec } : { state: 'stale', pid: rec.pid, reason };
}

/** staleReason() for the process at `rec.pid` now: null while it is still the recorded ebpfmon. */
export async function recheck(rec: PidRecord, file: string): Promise<string | null> {
  const seen = await procIdentity(rec.pid);
  if (!seen) return 'no such process';
  // eslint-disable-next-line no-restricted-properties -- compared with a file's mtime, a date
  const mtimeMs = rec.identity ? 0 : await stat(file).then((s) => s.mtimeMs, () => Date.now());
  return staleReason(rec, seen, { mtimeMs, bootTimeMs: rec.identity ? 0 : await bootTimeMs() });
}

/** The pid of the running ebpfmon recorded in `file`, or null (no file, or a stale one). */
export async function runningPid(file: string): Promise<number | null> {
  const s = await inspectPidFile(file);
  return s.state === 'running' && s.pid !== process.pid ? s.pid : null;
}

/**
 * Claims the pid file for this process: throws when the ebpfmon it names still runs; returns the stale pid
 * it replaced, and why it was stale. The directory must pass the path rule of safe-fs.ts (a user who can
 * write it could plant a pid file naming any process).
 */
export async function claimPidFile(file: string, pid: number = process.pid): Promise<{ replacedStale: { pid: number; reason: string } | null }> {
  secureDirSync(path.dirname(path.resolve(file)), { what: 'pid file directory', create: false, linkAtEnd: true });
  const s = await inspectPidFile(file);
  if (s.state === 'running' && s.pid !== pid) {
    throw new UsageError(`ebpfmon is already running (pid ${s.pid}, pid file ${file}); stop it first: ebpfmon stop --pid-file ${file}`);
  }
  const identity = await procIdentity(pid);
  if (!identity) throw new UsageError(`cannot write pid file ${file}: process ${pid} not found in /proc`);
  await writeFileAtomic(identityFileFor(file), formatIdentity({ pid, identity }), 0o644);
  await writeFileAtomic(file, `${pid}\n`, 0o644);
  return { replacedStale: s.state === 'stale' && s.pid !== pid ? { pid: s.pid, reason: s.reason } : null };
}

/** Removes the pid file and its identity file if they still name `pid`. */
export async function releasePidFile(file: string, pid: number = process.pid): Promise<void> {
  const idFile = identityFileFor(file);
  if (parseIdentity((await readOrNull(idFile).catch(() => null)) ?? '')?.pid === pid) await unlink(idFile).catch(() => undefined);
  if (parsePid((await readOrNull(file).catch(() => null)) ?? '') === pid) await unlink(file).catch(() => undefined);
}

/** releasePidFile() for a process about to exit (the shutdown watchdog): synchronous, never throws. */
export function releasePidFileSync(file: string, pid: number = process.pid): void {
  const read = (f: string): string => {
    try {
      return readFileSync(f, 'utf8');
    } catch {
      return '';
    }
  };
  try {
    if (parseIdentity(read(identityFileFor(file)))?.pid === pid) unlinkSync(identityFileFor(file));
    if (parsePid(read(file)) === pid) unlinkSync(file);
  } catch {
    // exiting anyway
  }
}
