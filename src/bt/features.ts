// Everything ebpfmon does differently by bpftrace version, decided in one place from the version string. Each line
// of the table below was measured on Debian's builds (bookworm 0.17.0, trixie 0.23.2, sid 0.27.1) on Linux 6.18;
// the bpftrace change that caused it is named beside it. Monitors, compose and the router read these fields: none
// of them compares versions.

export interface Version {
  major: number;
  minor: number;
  patch: number;
}

/** How scripts compiled by `bpftrace --aot` run with this bpftrace, or why they do not. */
export type AheadOfTime =
  | { mode: 'shim'; why: string }
  | { mode: 'none'; why: string };

export interface BpftraceFeatures {
  version: Version;
  /** The environment variables that size maps and strings (renamed in 0.20, #2815; the old names ignored from 0.24, #3982). */
  env: { mapKeys: string; strlen: string; perfRbPages: string };
  /**
   * 'shim': `bpftrace --aot` writes a file that bpftrace-aotrt runs (0.17-0.20). From 0.21 it writes a standalone
   * executable and bpftrace-aotrt refuses it; the 0.23 executable crashes on the first print() of a map inside a
   * probe, so those versions run scripts in bpftrace itself.
   */
  aheadOfTime: AheadOfTime;
  /**
   * How free text travels in a map key. 'text': as it is (0.17-0.23). 'bytes': from 0.24 bpftrace's JSON writer
   * removes every space from a key's text (`tmux: server` arrives as `tmux:server`), so a text part is cast to a byte
   * array (`(uint8[16])comm`), printed as its numbers and decoded back to the exact bytes.
   */
  textKeys: 'text' | 'bytes';
  /**
   * How often a text map key is JSON-escaped: 'twice' in 0.23, which escapes the key's text and then the JSON string
   * again (a tab arrives as \\t, é as \\uffffffc3\\uffffffa9), where 0.17 and 0.24+ escape once, as printf data.
   */
  keyEscapes: 'once' | 'twice';
  /**
   * The script sets its own map, string and buffer sizes in a `config = { ... }` block (the block exists since
   * 0.20; measured on 0.23 and 0.27), so it runs with the sizes it was written for without ebpfmon's environment
   * (0.24+ casts text key parts to byte arrays of exactly the string size). The environment still wins over it.
   */
  configBlock: boolean;
  /** Integers that a double cannot hold arrive as JSON strings (0.24+). */
  bigIntsAsStrings: boolean;
  /** bpftrace reports each failed map update as a `helper_error` record with its script line (0.23, #3784). */
  helperErrors: boolean;
  /**
   * str() of a `__data_loc` tracepoint field (exec's filename, irq handler names) reads "" in 0.23.0-0.23.5
   * (fixed in 0.24.0, #4238): monitors read those strings another way there.
   */
  dataLocStrings: boolean;
  /** The arguments that compile and load a script without running it: `-d` until 0.21; `--dry-run` since 0.22 (#3203). */
  dryRunArgs: readonly string[];
  /**
   * What BEGIN stores as bpftrace's own pid for compose's stop probe, which compares it with signal_generate's
   * target pid (always the host's). `pid` is the host's until 0.21; from 0.22 (#3428) it is the pid namespace's, so
   * there `curtask->tgid` (the host's; 0.21+ never runs ahead of time, which refuses curtask). Measured inside
   * `unshare -fp --mount-proc`: 0.23.2 and 0.27.1 give pid 5 and curtask->tgid 23496, the signal's target 23496.
   */
  selfPid: 'pid' | 'curtask->tgid';
  /** stderr lines this version prints on every start that are not about the script (logged at debug level). */
  benignStderr: readonly RegExp[];
}

/** The oldest bpftrace ebpfmon supports. */
export const minimumVersion: Version = { major: 0, minor: 17, patch: 0 };

/** "v0.23.2", "bpftrace v0.27.1-deb", "0.17.0" -> the version, or null. */
export function parseVersion(text: string): Version | null {
  const m = /v?(\d+)\.(\d+)(?:\.(\d+))?/.exec(text);
  if (!m) return null;
  return { major: Number(m[1]), minor: Number(m[2]), patch: Number(m[3] ?? 0) };
}

/** Negative, zero or positive as `a` is older, the same as or newer than `b`. */
export function compareVersions(a: Version, b: Version): number {
  return a.major - b.major || a.minor - b.minor || a.patch - b.patch;
}

export const formatVersion = (v: Version): string => `${v.major}.${v.minor}.${v.patch}`;

const atLeast = (v: Version, minor: number, patch = 0): boolean => compareVersions(v, { major: 0, minor, patch }) >= 0;

/** Every start on a kernel without kprobes (0.24+ reads available_filter_functions), and memlock on cgroup-accounted kernels. */
const memlock = /RLIMIT_MEMLOCK/;
const filterFunctions = /available_filter_functions|--traceable-functions|determine which functions can safely be traced/;

export function featuresOf(v: Version): BpftraceFeatures {
  const renamed = atLeast(v, 20);
  return {
    version: v,
    env: renamed
      ? { mapKeys: 'BPFTRACE_MAX_MAP_KEYS', strlen: 'BPFTRACE_MAX_STRLEN', perfRbPages: 'BPFTRACE_PERF_RB_PAGES' }
      : { mapKeys: 'BPFTRACE_MAP_KEYS_MAX', strlen: 'BPFTRACE_STRLEN', perfRbPages: 'BPFTRACE_PERF_RB_PAGES' },
    aheadOfTime: atLeast(v, 21)
      ? {
          mode: 'none',
          why: `bpftrace ${formatVersion(v)} writes ahead-of-time output as a standalone executable (0.21+), which bpftrace-aotrt refuses and which crashed on print() in 0.23: scripts run in bpftrace`,
        }
      : { mode: 'shim', why: `bpftrace ${formatVersion(v)}: bpftrace --aot compiles, bpftrace-aotrt runs` },
    textKeys: atLeast(v, 24) ? 'bytes' : 'text',
    keyEscapes: v.major === 0 && v.minor === 23 ? 'twice' : 'once',
    configBlock: atLeast(v, 23),
    bigIntsAsStrings: atLeast(v, 24),
    helperErrors: atLeast(v, 23),
    dataLocStrings: !(v.major === 0 && v.minor === 23),
    dryRunArgs: atLeast(v, 22) ? ['--dry-run'] : ['-d'],
    selfPid: atLeast(v, 22) ? 'curtask->tgid' : 'pid',
    benignStderr: atLeast(v, 24) ? [memlock, filterFunctions] : [memlock],
  };
}

/** What differs on this version, in a few words each, for `check`. */
export function describeFeatures(f: BpftraceFeatures): string[] {
  return [
    `maps sized by ${f.env.mapKeys}, strings by ${f.env.strlen}`,
    f.textKeys === 'bytes' ? 'names in map keys travel as byte arrays (its JSON drops the spaces of a key)' : 'names in map keys travel as text',
    f.helperErrors ? 'every update a full map drops is reported and counted' : 'a full map is seen by its key count only (drops are not reported)',
    ...(f.dataLocStrings ? [] : ['exec paths and IRQ names read through raw tracepoints (its tracepoint strings read as "")']),
  ];
}

/**
 * What ebpfmon assumes when no bpftrace could be asked (`generate` on a machine without it): the oldest supported
 * version, whose scripts the newer ones also run.
 */
export const assumedFeatures: BpftraceFeatures = featuresOf(minimumVersion);
