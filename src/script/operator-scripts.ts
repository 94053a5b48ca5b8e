// `start --scripts DIR`: scripts an operator generated with `generate --out` and then edited. Each file names the
// monitors it feeds in its `// ebpfmon-contract:` line. ebpfmon runs as root, so files, the directory and every
// directory above it must be root-owned and not writable by group or others. Each script is read once, here: what
// runs at every restart, fallback and isolation is that text, whatever happens to the file later (a reload reads
// and checks again).
import { lstat, readdir, readFile, realpath } from 'node:fs/promises';
import path from 'node:path';
import { errnoOf, UsageError } from '../errors.js';
import { contractMarker } from './header.js';
import { stopProbeAttach } from './compose.js';
import { contractVersion } from '../version.js';

export interface OperatorScript {
  file: string;
  id: string;
  monitors: string[];
  /** Set when the script was generated for another contract version. */
  versionWarning: string | null;
  /** The text as read at start: what runs at every restart, fallback and isolation, whatever happens to the file. */
  text: string;
  /** It kept compose's stop probe, so bpftrace-aotrt can run it and still print the final interval. */
  stoppable: boolean;
}

async function checkOwnership(p: string, what: 'file' | 'directory'): Promise<void> {
  const st = await lstat(p).catch((e: unknown) => {
    throw new UsageError(`--scripts: cannot read ${p}: ${errnoOf(e) ?? String(e)}`);
  });
  if (st.isSymbolicLink()) throw new UsageError(`--scripts: ${p} is a symbolic link; refusing it (give the real path)`);
  if (what === 'file' && !st.isFile()) throw new UsageError(`--scripts: ${p} is not a regular file`);
  if (what === 'directory' && !st.isDirectory()) throw new UsageError(`--scripts: ${p} is not a directory`);
  if (st.uid !== 0) throw new UsageError(`--scripts: refusing ${p}: owned by uid ${st.uid}, not root (ebpfmon runs it as root)`);
  if (st.mode & 0o022) {
    throw new UsageError(`--scripts: refusing ${p}: writable by group or others (mode ${(st.mode & 0o777).toString(8)}); chmod go-w it`);
  }
}

/**
 * Every directory from `/` down to `dir` (symlinks resolved) must be one no other user can change: owned by root
 * and not writable by group or others, unless it is root's and sticky (like /tmp, where nobody can rename or
 * remove another user's entry). Otherwise a user could swap a parent directory and have their script run as root.
 */
async function checkAncestors(dir: string): Promise<void> {
  const real = await realpath(dir).catch((e: unknown) => {
    throw new UsageError(`--scripts: cannot resolve ${dir}: ${errnoOf(e) ?? String(e)}`);
  });
  for (let p = real; ; p = path.dirname(p)) {
    const st = await lstat(p);
    const sticky = (st.mode & 0o1000) !== 0;
    if (st.uid !== 0) throw new UsageError(`--scripts: refusing ${dir}: ${p} is owned by uid ${st.uid}, not root, so that user could replace what ebpfmon runs as root`);
    if (st.mode & 0o022 && !sticky) {
      throw new UsageError(`--scripts: refusing ${dir}: ${p} is writable by group or others (mode ${(st.mode & 0o7777).toString(8)}), so they could replace what ebpfmon runs as root`);
    }
    if (p === path.dirname(p)) return;
  }
}

export function parseContractLine(text: string): { version: number; monitors: string[] } | null {
  const line = text.split('\n').find((l) => l.startsWith(contractMarker));
  const m = line ? /^\/\/ ebpfmon-contract: (\d+) monitors=([a-z_,]+)\s*$/.exec(line) : null;
  return m ? { version: Number(m[1]), monitors: m[2]!.split(',').filter(Boolean) } : null;
}

/** Loads the .bt files of a directory (or one file), refusing unsafe ones. */
export async function loadOperatorScripts(target: string, known: (name: string) => boolean): Promise<OperatorScript[]> {
  const abs = path.resolve(target);
  const st = await lstat(abs).catch(() => null);
  if (!st) throw new UsageError(`--scripts: ${abs} does not exist`);
  let files: string[];
  if (st.isDirectory()) {
    await checkOwnership(abs, 'directory');
    await checkAncestors(abs);
    files = (await readdir(abs)).filter((f) => f.endsWith('.bt')).sort().map((f) => path.join(abs, f));
    if (!files.length) throw new UsageError(`--scripts: no .bt file in ${abs}`);
  } else {
    await checkOwnership(path.dirname(abs), 'directory');
    await checkAncestors(path.dirname(abs));
    files = [abs];
  }
  const seen = new Map<string, string>();
  const out: OperatorScript[] = [];
  for (const file of files) {
    await checkOwnership(file, 'file');
    const text = await readFile(file, 'utf8');
    const contract = parseContractLine(text);
    if (!contract) {
      throw new UsageError(`--scripts: ${file} has no "${contractMarker} N monitors=..." line: ebpfmon cannot tell which monitors it feeds (write scripts with: ebpfmon generate --out DIR)`);
    }
    for (const m of contract.monitors) {
      if (!known(m)) throw new UsageError(`--scripts: ${file} names unknown monitor "${m}"`);
      const other = seen.get(m);
      if (other) throw new UsageError(`--scripts: monitor ${m} is fed by both ${other} and ${file}`);
      seen.set(m, file);
    }
    out.push({
      file,
      id: path.basename(file, '.bt'),
      monitors: contract.monitors,
      versionWarning:
        contract.version === contractVersion ? null : `${file} was written for output contract ${contract.version}; this ebpfmon speaks ${contractVersion}`,
      text,
      stoppable: text.split('\n').some((l) => l.startsWith(`${stopProbeAttach} `)),
    });
  }
  return out;
}
