// What this machine offers: privileges, kernel, bpftrace, tracefs, kprobes, tracepoints and their fields.
// Gathered once by `detectCapabilities`; everything after it (plan, check report) works on this plain data.
import { access, constants, readFile, readdir, realpath, stat } from 'node:fs/promises';
import { existsSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { runCommand, type RunResult } from '../process/run.js';
import { assumedFeatures, compareVersions, featuresOf, formatVersion, minimumVersion, parseVersion, type BpftraceFeatures } from '../bt/features.js';
import { EnvironmentError, errnoOf } from '../errors.js';

export interface Check {
  ok: boolean;
  detail: string;
}

export interface Capabilities {
  root: Check;
  kernel: string;
  arch: string;
  /** `aotrt`: bpftrace-aotrt beside bpftrace (same package), which runs scripts compiled by `bpftrace --aot`. */
  bpftrace: { path: string | null; version: string | null; detail: string; aotrt?: string | null; features: BpftraceFeatures };
  /**
   * tracefs mount point in use, or null; `detail` says whether ebpfmon mounted it. `denied`: its events could not be
   * read for want of permission (not root), so a tracepoint that seems missing may exist.
   */
  tracefs: { path: string | null; detail: string; denied?: string };
  debugfs: Check;
  kprobes: Check;
  btf: Check;
  /** Fields per `category:event`, or null when the tracepoint does not exist. */
  tracepoint(category: string, event: string): readonly string[] | null;
  /** Whether a kernel function (or `*` pattern) can be kprobed, and which names match. */
  symbols(pattern: string): readonly string[];
  /** Set by `generate --no-detect`: every probe, field and symbol is taken as present. */
  assumeAll?: boolean;
}

const CAP_PERFMON = 38n;
const CAP_BPF = 39n;
const CAP_SYS_ADMIN = 21n;

async function rootCheck(): Promise<Check> {
  if (process.getuid?.() === 0) return { ok: true, detail: 'running as root' };
  try {
    const status = await readFile('/proc/self/status', 'utf8');
    const eff = /CapEff:\s*([0-9a-f]+)/.exec(status)?.[1];
    if (eff) {
      const caps = BigInt(`0x${eff}`);
      const has = (c: bigint) => (caps >> c) & 1n;
      if ((has(CAP_BPF) && has(CAP_PERFMON)) || has(CAP_SYS_ADMIN)) return { ok: true, detail: 'has CAP_BPF and CAP_PERFMON' };
    }
  } catch {
    // fall through
  }
  return { ok: false, detail: 'ebpfmon needs root (or CAP_BPF + CAP_PERFMON): run it with sudo' };
}

async function findExecutable(cmd: string): Promise<string | null> {
  const candidates = cmd.includes('/') ? [cmd] : (process.env['PATH'] ?? '/usr/sbin:/usr/bin:/sbin:/bin').split(':').concat(['/usr/sbin', '/usr/bin', '/sbin', '/bin']).map((d) => path.join(d, cmd));
  for (const c of candidates) {
    try {
      await access(c, constants.X_OK);
      if ((await stat(c)).isFile()) return c;
    } catch {
      // next
    }
  }
  return null;
}

async function mountTable(): Promise<string> {
  try {
    return await readFile('/proc/self/mounts', 'utf8');
  } catch {
    return '';
  }
}

function isMountpoint(mounts: string, dir: string, fstype: string): boolean {
  return mounts.split('\n').some((l) => {
    const [, mnt, type] = l.split(' ');
    return mnt === dir && type === fstype;
  });
}

/** What is read of the machine before any command runs: files only. */
interface Found {
  /** bpftrace's path, and bpftrace-aotrt's beside it (the same installation), when there. */
  bpftrace: { cmd: string; path: string | null; aotrt: string | null };
  debugfsMounted: boolean;
  /** The tracefs mount point in use, if any. */
  tracefsAt: string | null;
}

async function findAll(cmd: string): Promise<Found> {
  const found = await findExecutable(cmd);
  // Only the runtime of the same installation: a compiled script is only for the bpftrace that compiled it.
  const aotrt = found ? await findExecutable(path.join(path.dirname(await realpath(found)), 'bpftrace-aotrt')) : null;
  const mounts = await mountTable();
  return {
    bpftrace: { cmd, path: found, aotrt },
    debugfsMounted: isMountpoint(mounts, '/sys/kernel/debug', 'debugfs'),
    tracefsAt: ['/sys/kernel/tracing', '/sys/kernel/debug/tracing'].find((dir) => isMountpoint(mounts, dir, 'tracefs')) ?? null,
  };
}

/** The commands detection runs, each a value: the version question and the mounts that are missing (and allowed). */
interface Probes {
  version: RunResult | null;
  /** Outcome of mounting debugfs, then tracefs: null = not tried. */
  debugfs: RunResult | null;
  tracefs: RunResult | null;
}

const timeoutMs = 10_000;

/** `bpftrace --version` of the executable `cmd` names, asked before the config is read: see `startVersionProbe`. */
export interface VersionProbe {
  /** The executable `cmd` names, or null. */
  path: Promise<string | null>;
  /** What its `--version` said (null when there is none). */
  result: Promise<RunResult | null>;
}

/**
 * Starts `cmd --version` now, so that it runs while the process loads its modules and reads the config (start: the
 * question took ~0.1 s of a ~1.2 s start, after a ~0.25 s module load; main.ts starts it first). Detection uses the
 * answer when the config names the same executable, else asks its own. Only the question, no mount: nothing on the
 * machine changes before the config is valid.
 */
export function startVersionProbe(cmd: string): VersionProbe {
  const found = findExecutable(cmd);
  return { path: found, result: found.then((p) => (p ? runCommand(p, ['--version'], { timeoutMs }) : null)) };
}

/** `--version` of the bpftrace found: the early probe's answer when it asked the same file, else asked now. */
async function versionOf(found: string | null, early: VersionProbe | undefined): Promise<RunResult | null> {
  if (!found) return null;
  return early && (await early.path) === found ? early.result : runCommand(found, ['--version'], { timeoutMs });
}

/** Runs every command detection needs, in one place: `bpftrace --version` beside the missing mounts, in order. */
async function runProbes(f: Found, mayMount: boolean, early: VersionProbe | undefined): Promise<Probes> {
  const mount = async (type: string, dir: string, wanted: boolean): Promise<RunResult | null> =>
    wanted && mayMount ? runCommand('mount', ['-t', type, type, dir], { timeoutMs }) : null;
  const mounts = async (): Promise<Pick<Probes, 'debugfs' | 'tracefs'>> => {
    const debugfs = await mount('debugfs', '/sys/kernel/debug', !f.debugfsMounted);
    return { debugfs, tracefs: await mount('tracefs', '/sys/kernel/tracing', f.tracefsAt === null) };
  };
  const [version, fs] = await Promise.all([versionOf(f.bpftrace.path, early), mounts()]);
  return { version, ...fs };
}

const mountError = (r: RunResult | null): string | null => (!r || r.exitCode === 0 ? null : r.stderr.trim() || `mount exited ${String(r.exitCode)}`);

/** What bpftrace --version said, read as a version and its features (pure). */
function bpftraceOf(b: Found['bpftrace'], r: RunResult | null): Capabilities['bpftrace'] {
  const { cmd, path: found } = b;
  if (!found || !r) {
    return { path: null, version: null, detail: `bpftrace not found (${cmd}); install it: apt-get install -y bpftrace`, features: assumedFeatures };
  }
  // Checked once here, so that a binary that is no bpftrace (runtime.bpftrace: /bin/false, whose --version names
  // coreutils 9.1) fails at once in one line rather than after every restart's backoff.
  if (r.exitCode !== 0 || !/\bbpftrace\b/i.test(r.stdout)) {
    const said = (r.stderr || r.stdout).trim().split('\n')[0] ?? '';
    const how = r.timedOut ? 'timed out' : r.exitCode === 0 ? 'did not name bpftrace' : `exited ${r.exitCode ?? r.signal ?? 'abnormally'}`;
    return { path: found, version: null, detail: `${found} is not a working bpftrace: \`${found} --version\` ${how}${said ? ` (${said.slice(0, 80)})` : ''}; set runtime.bpftrace to bpftrace's path`, features: assumedFeatures };
  }
  const parsed = parseVersion(r.stdout);
  if (!parsed) return { path: found, version: null, detail: `${found} --version printed no version: ${r.stderr || r.stdout}`, features: assumedFeatures };
  const version = formatVersion(parsed);
  const features = featuresOf(parsed);
  if (compareVersions(parsed, minimumVersion) < 0) {
    return { path: found, version, detail: `bpftrace ${version} is too old: ebpfmon needs >= ${formatVersion(minimumVersion)}`, features };
  }
  // Only where this version's ahead-of-time output runs in bpftrace-aotrt.
  const aotrt = features.aheadOfTime.mode === 'shim' ? b.aotrt : null;
  return { path: found, version, detail: `bpftrace ${version} at ${found}`, aotrt, features };
}

/** debugfs and tracefs as found, or as the mounts left them (reads the mount table again after a mount). */
async function filesystemsOf(f: Found, p: Probes): Promise<{ tracefs: Capabilities['tracefs']; debugfs: Check }> {
  const debugErr = mountError(p.debugfs);
  const debugfs: Check = f.debugfsMounted
    ? { ok: true, detail: 'mounted at /sys/kernel/debug' }
    : !p.debugfs
      ? { ok: false, detail: 'not mounted at /sys/kernel/debug' }
      : debugErr
        ? { ok: false, detail: `not mounted, and mounting failed: ${debugErr}` }
        : { ok: true, detail: 'was not mounted: ebpfmon mounted it at /sys/kernel/debug' };
  if (f.tracefsAt) return { tracefs: { path: f.tracefsAt, detail: `mounted at ${f.tracefsAt}` }, debugfs };
  const err = mountError(p.tracefs);
  if (p.tracefs && err === null && isMountpoint(await mountTable(), '/sys/kernel/tracing', 'tracefs')) {
    return { tracefs: { path: '/sys/kernel/tracing', detail: 'was not mounted: ebpfmon mounted it at /sys/kernel/tracing' }, debugfs };
  }
  // debugfs auto-mounts tracing below it on many kernels.
  if (existsSync('/sys/kernel/debug/tracing/events')) {
    return { tracefs: { path: '/sys/kernel/debug/tracing', detail: 'available at /sys/kernel/debug/tracing' }, debugfs };
  }
  return {
    tracefs: { path: null, detail: err ? `tracefs is not mounted and mounting it failed: ${err}` : 'tracefs is not mounted (mount -t tracefs tracefs /sys/kernel/tracing)' },
    debugfs,
  };
}

/** Parses a tracefs `format` file into its non-common field names. */
export function parseFormatFields(format: string): string[] {
  const fields: string[] = [];
  for (const line of format.split('\n')) {
    const m = /^\s*field:(.*?);\s*offset:/.exec(line);
    if (!m?.[1]) continue;
    const decl = m[1].replace(/\[[^\]]*\]\s*$/, '').trim();
    const name = /([A-Za-z_][A-Za-z0-9_]*)\s*(\[[^\]]*\])?$/.exec(decl)?.[1];
    if (name && !name.startsWith('common_')) fields.push(name);
  }
  return fields;
}

export function globToRegExp(pattern: string): RegExp {
  return new RegExp('^' + pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*') + '$');
}

function loadSymbols(tracefs: string | null): Set<string> {
  const names = new Set<string>();
  const sources = [tracefs ? path.join(tracefs, 'available_filter_functions') : null, '/proc/kallsyms'];
  for (const src of sources) {
    if (!src) continue;
    try {
      const text = readFileSync(src, 'utf8');
      const kallsyms = src.endsWith('kallsyms');
      for (const line of text.split('\n')) {
        if (kallsyms) {
          const [, type, name] = line.split(/\s+/);
          if (name && type && /[tT]/.test(type)) names.add(name);
        } else {
          const name = line.split(/\s+/)[0];
          if (name) names.add(name);
        }
      }
      if (names.size) return names;
    } catch {
      // next source
    }
  }
  return names;
}

export interface DetectOptions {
  bpftrace: string;
  /** Mount tracefs/debugfs when missing (start, check). */
  mount: boolean;
  /** `bpftrace --version` already under way (start's first detection); used when it asked the same executable. */
  version?: VersionProbe | undefined;
}

export async function detectCapabilities(opts: DetectOptions): Promise<Capabilities> {
  const root = await rootCheck();
  const mayMount = opts.mount && root.ok;
  const found = await findAll(opts.bpftrace);
  const probes = await runProbes(found, mayMount, opts.version);
  const bpftrace = bpftraceOf(found.bpftrace, probes.version);
  const fs = await filesystemsOf(found, probes);
  const tracefsPath = fs.tracefs.path;
  const kprobes: Check = tracefsPath && existsSync(path.join(tracefsPath, 'kprobe_events'))
    ? { ok: true, detail: 'kprobe_events present' }
    : tracefsPath
      ? { ok: false, detail: 'this kernel has no kprobes (no kprobe_events in tracefs; CONFIG_KPROBES is off)' }
      : { ok: false, detail: 'unknown: tracefs is not available' };
  const btf: Check = existsSync('/sys/kernel/btf/vmlinux')
    ? { ok: true, detail: '/sys/kernel/btf/vmlinux present' }
    : { ok: false, detail: 'no kernel BTF (/sys/kernel/btf/vmlinux): struct access needs kernel headers' };

  const tracepoints = new Map<string, string[] | null>();
  let tracefs = fs.tracefs;
  if (tracefsPath) {
    const eventsDir = path.join(tracefsPath, 'events');
    try {
      for (const cat of await readdir(eventsDir)) {
        let events: string[];
        try {
          events = await readdir(path.join(eventsDir, cat));
        } catch {
          continue;
        }
        for (const ev of events) tracepoints.set(`${cat}:${ev}`, null);
      }
    } catch (e) {
      const code = errnoOf(e);
      // Not root: tracefs is 0700. Every tracepoint would seem missing; say why instead.
      if (code === 'EACCES' || code === 'EPERM') {
        const denied = `cannot read ${eventsDir} (permission): run as root`;
        tracefs = { path: null, detail: `mounted at ${tracefsPath}, but ${denied}`, denied };
      }
      // else no events: every tracepoint is missing
    }
  }
  const fieldCache = new Map<string, readonly string[] | null>();
  const readFields = (category: string, event: string): readonly string[] | null => {
    const id = `${category}:${event}`;
    if (fieldCache.has(id)) return fieldCache.get(id) ?? null;
    let fields: string[] | null = null;
    if (tracefsPath && tracepoints.has(id)) {
      try {
        // Synchronous read keeps the lookup a plain function; format files are tiny.
        fields = parseFormatFields(readFileSync(path.join(tracefsPath, 'events', category, event, 'format'), 'utf8'));
      } catch {
        fields = null;
      }
    }
    fieldCache.set(id, fields);
    return fields;
  };

  // Read on first use only: most configs need no kernel symbol, and kallsyms is several MB.
  let loaded: Set<string> | null = null;
  const symbolSet = (): Set<string> => (loaded ??= loadSymbols(tracefsPath));
  const symbols = (pattern: string): readonly string[] => {
    if (!pattern.includes('*')) return symbolSet().has(pattern) ? [pattern] : [];
    const re = globToRegExp(pattern);
    const hits: string[] = [];
    for (const s of symbolSet()) if (re.test(s)) hits.push(s);
    return hits;
  };

  return {
    root,
    kernel: os.release(),
    arch: os.arch(),
    bpftrace,
    tracefs,
    debugfs: fs.debugfs,
    kprobes: tracefs.denied ? { ok: false, detail: `unknown: ${tracefs.denied}` } : kprobes,
    btf,
    tracepoint: readFields,
    symbols,
  };
}

/** What `start` cannot do without: root, bpftrace, tracefs. */
export function requireRunnable(caps: Capabilities): void {
  if (!caps.root.ok) throw new EnvironmentError(caps.root.detail);
  if (!caps.bpftrace.path || !caps.bpftrace.version) throw new EnvironmentError(caps.bpftrace.detail);
  if (!caps.tracefs.path) throw new EnvironmentError(caps.tracefs.detail);
}
