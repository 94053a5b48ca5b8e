// The pure part of the overhead benchmarks' arms: the floor script's text, per-round ratios, and the in-kernel
// figures (per arm and per BPF program) from two samples of /proc/<pid>/fdinfo taken around the workload.
// No I/O here: unit-tested in test/unit/bench/arm-stats.test.ts.

/** The arms of an overhead round. */
export const armNames = ['A', 'F', 'S', 'B'] as const;
export type ArmName = (typeof armNames)[number];

export const armMeaning: Record<ArmName, string> = {
  A: 'the workload alone',
  F: 'the floor: every tracepoint B attaches, each only `@n = count();`',
  S: "the bare generated scripts in ebpfmon's runtime, output into a file nobody reads",
  B: 'ebpfmon start',
};

/** A bpftrace line that prints once every probe is attached (BEGIN runs after the attach). */
export const readyProbe = 'BEGIN { printf("bench\\tready\\n"); }';

/**
 * The floor of one bpftrace process: each of its attach points with no filter and one `count()` into one map,
 * what any bpftrace program on the same tracepoints pays before it reads a field or builds a key.
 */
export function floorText(attach: readonly string[]): string {
  if (!attach.length) throw new Error('a floor needs at least one attach point');
  return [readyProbe, ...attach.map((a) => `${a} { @n = count(); }`), ''].join('\n');
}

/** Attach points in first-seen order, each once. */
export const uniqueAttach = (points: Iterable<string>): string[] => [...new Set(points)];

/** The arms of round `r` (0-based), rotated so that no arm always runs first or right after another. */
export function roundOrder<T>(arms: readonly T[], r: number): T[] {
  const n = arms.length;
  return arms.map((_, i) => arms[(i + r) % n]!);
}

export function median(xs: readonly number[]): number {
  if (!xs.length) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

/** The median over rounds of over[i] / under[i] (pairs where either is missing or under is 0 are left out). */
export function medianRatio(over: readonly (number | null)[], under: readonly (number | null)[]): number | null {
  const rs: number[] = [];
  for (let i = 0; i < Math.min(over.length, under.length); i++) {
    const o = over[i];
    const u = under[i];
    if (o == null || u == null || u === 0) continue;
    rs.push(o / u);
  }
  return rs.length ? median(rs) : null;
}

/** One BPF program as read from fdinfo (plus its process), at one moment. */
export interface ProgSample {
  pid: number;
  /** The bpftrace process it belongs to: `main`, `paths` ... */
  process: string;
  id: number;
  runTimeNs: number;
  runCount: number;
}

/** What one program did over the workload: its runs and their run time. */
export interface ProgDelta {
  process: string;
  id: number;
  /** The kernel's program name (15 bytes at most), or `#<id>` when unknown. */
  name: string;
  runTimeNs: number;
  runCount: number;
}

/** after - before per program (keyed by pid and id); a program missing before counts from zero. */
export function progDeltas(before: readonly ProgSample[], after: readonly ProgSample[], names: ReadonlyMap<number, string> = new Map()): ProgDelta[] {
  const key = (p: ProgSample): string => `${p.pid}/${p.id}`;
  const prev = new Map(before.map((p) => [key(p), p]));
  return after.map((p) => {
    const b = prev.get(key(p));
    return {
      process: p.process,
      id: p.id,
      name: names.get(p.id) ?? `#${p.id}`,
      runTimeNs: p.runTimeNs - (b?.runTimeNs ?? 0),
      runCount: p.runCount - (b?.runCount ?? 0),
    };
  });
}

export interface KernelTotals {
  programs: number;
  runTimeNs: number;
  runCount: number;
  /** run_time_ns / run_cnt over every program: ns per program run (an event seen by two programs is two runs). */
  nsPerRun: number | null;
}

export function kernelTotals(deltas: readonly ProgDelta[]): KernelTotals {
  const runTimeNs = deltas.reduce((s, d) => s + d.runTimeNs, 0);
  const runCount = deltas.reduce((s, d) => s + d.runCount, 0);
  return { programs: deltas.length, runTimeNs, runCount, nsPerRun: runCount > 0 ? runTimeNs / runCount : null };
}

export interface ProgramRow {
  /** `<process>/<name>`. */
  program: string;
  /** Rounds it appeared in. */
  rounds: number;
  /** Median over rounds of its run time (ms) and its runs. */
  msPerRound: number;
  runsPerRound: number;
  /** Its run time over its runs, all rounds together. */
  nsPerRun: number | null;
  /** Its share of the arm's run time, all rounds together (0-1). */
  share: number;
}

/**
 * Per program across rounds (one list of deltas per round), busiest first. Programs of the same process with the
 * same name (one tracepoint attached twice, or names cut to 15 bytes that meet) are added up within a round.
 */
export function programTable(rounds: readonly (readonly ProgDelta[])[]): ProgramRow[] {
  const per = new Map<string, { time: number[]; runs: number[] }>();
  let all = 0;
  rounds.forEach((deltas, r) => {
    for (const d of deltas) {
      const k = `${d.process}/${d.name}`;
      const e = per.get(k) ?? { time: [], runs: [] };
      e.time[r] = (e.time[r] ?? 0) + d.runTimeNs;
      e.runs[r] = (e.runs[r] ?? 0) + d.runCount;
      per.set(k, e);
      all += d.runTimeNs;
    }
  });
  const rows: ProgramRow[] = [];
  for (const [program, e] of per) {
    const time = e.time.filter((x): x is number => x !== undefined);
    const runs = e.runs.filter((x): x is number => x !== undefined);
    const t = time.reduce((s, x) => s + x, 0);
    const n = runs.reduce((s, x) => s + x, 0);
    rows.push({ program, rounds: time.length, msPerRound: median(time) / 1e6, runsPerRound: median(runs), nsPerRun: n > 0 ? t / n : null, share: all > 0 ? t / all : 0 });
  }
  return rows.sort((a, b) => b.share - a.share || a.program.localeCompare(b.program));
}

/**
 * The probe of each program, from the kernel's names: bpftrace names a tracepoint's program after the event, cut to
 * 15 bytes (`sched_process_exit` and `sched_process_exec` both become `sched_process_e`), and loads a script's
 * programs in the order of its probes, so program ids rise in that order. Walking the programs by id alongside the
 * process's attach points (in script order) tells them apart. Programs that match no attach point (BEGIN, END,
 * interval) keep their kernel name. Returns id -> `category:event` (or the kernel name).
 */
export function probeNames(progs: readonly { id: number; name: string }[], attach: readonly string[]): Map<number, string> {
  const out = new Map<number, string>();
  let next = 0;
  for (const p of [...progs].sort((a, b) => a.id - b.id)) {
    let found = -1;
    for (let j = next; j < attach.length; j++) {
      const event = attach[j]!.split(':').pop() ?? '';
      if (p.name && event.slice(0, 15) === p.name) {
        found = j;
        break;
      }
    }
    if (found < 0) {
      out.set(p.id, p.name || `#${p.id}`);
      continue;
    }
    out.set(p.id, attach[found]!.replace(/^tracepoint:/, ''));
    next = found + 1;
  }
  return out;
}

/** The process a bpftrace command line runs: the script's file name without its prefix and extension
 * (`/tmp/x/ebpfmon-main.aot` -> `main`, `floor-paths.aot` -> `paths`), or the command's name. */
export function processLabel(argv: readonly string[]): string {
  const last = argv[argv.length - 1] ?? '';
  const base = last.split('/').pop() ?? last;
  const m = /^[a-z]+-(.+?)(?:\.[a-z]+)?$/.exec(base);
  return m ? m[1]! : base;
}
