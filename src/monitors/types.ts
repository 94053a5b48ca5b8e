// The monitor module contract: one file per monitor owns its options, probes, script fragment, parser and columns.
import type { BpftraceFeatures } from '../bt/features.js';
import { z } from 'zod';
import { commPattern } from '../bt/literals.js';
import type { Fragment, PrintfDecl, ResultMap } from '../bt/ir.js';

/** The kernel counters a monitor can be checked against (Monitor.coverage); src/coverage/kernel-counters.ts reads them. */
export type KernelCounter = 'context_switches' | 'page_faults' | 'interrupts' | 'block_requests';

/** One CSV/console cell. Timestamps are ISO 8601 UTC strings with milliseconds. */
export type Cell = string | number | null;
export type Row = Record<string, Cell>;

/** A tracepoint the monitor attaches to, with the fields its script reads from `args`. */
export interface TracepointNeed {
  kind: 'tracepoint';
  category: string;
  event: string;
  fields: readonly string[];
  /** Optional needs (e.g. openat2 on older kernels) leave the monitor ready when missing. */
  optional?: boolean;
}
/** A kprobe on any one of `symbols` (tried in order; patterns may hold `*`). */
export interface KprobeNeed {
  kind: 'kprobe';
  symbols: readonly string[];
}
export type ProbeNeed = TracepointNeed | KprobeNeed;

/** One way of implementing a monitor; a monitor lists them in order of preference. */
export interface Variant {
  name: string;
  description: string;
  needs: readonly ProbeNeed[];
  /** Chosen only where the script runs ahead of time (runtime.aot on, bpftrace-aotrt installed): a variant that
   * avoids what `bpftrace --aot` refuses, at some cost the description states. */
  aheadOfTimeOnly?: boolean;
  /** Reads what `bpftrace --aot` refuses (curtask): a process holding it runs in bpftrace, never ahead of time. */
  bpftraceOnly?: boolean;
}

/** What the plan decided for one monitor on this machine. */
export interface MonitorPlan {
  variant: string;
  /** Seconds between flushes (aggregate monitors). */
  interval: number;
  /** For kprobe needs: the symbol chosen from `symbols`, keyed by the first candidate. */
  symbols: Readonly<Record<string, string>>;
  /** For each `category:event` tracepoint in use, the fields the running kernel offers. */
  tracepointFields: Readonly<Record<string, readonly string[]>>;
  /** What the bpftrace that runs the script can do (src/bt/features.ts): read, never compared by version here. */
  bt: BpftraceFeatures;
}

/** One entry of a result map, its key split into the declared parts by name. */
export interface Entry<N extends string = string> {
  /** The key as printed: equal between maps of one key declaration exactly when their keys are. */
  readonly id: string;
  readonly key: Readonly<Record<N, string>>;
  readonly value: number;
}

/** Everything a monitor printed in one interval, closed by its tick. */
export interface IntervalRecord {
  readonly kind: 'interval';
  /** The entries of one declared result map (every copy of it merged), keys split into named parts. */
  entries<N extends string>(map: ResultMap<N>): readonly Entry<N>[];
}
/** One printf line of an event monitor. */
export interface EventRecord {
  readonly kind: 'event';
  readonly tag: string;
  /** Its fields by name when it is a record of `p`, else null. */
  fields<N extends string>(p: PrintfDecl<N>): Readonly<Record<N, string>> | null;
  /** The fields of the record of `p` that joined this one (PrintfDecl.joins), else null (none arrived, or lost). */
  joined<N extends string>(p: PrintfDecl<N>): Readonly<Record<N, string>> | null;
}
export type MonitorRecord = IntervalRecord | EventRecord;

export interface ParseCtx {
  /** End of the interval (aggregate) or arrival time, ISO 8601 UTC. */
  timestamp: string;
  /** Length of the interval in seconds, as measured by the tick. */
  intervalSeconds: number;
  /** Kernel monotonic nanoseconds (bpftrace `nsecs`) to ISO 8601 UTC. */
  wallTime(ns: bigint): string;
  arch: string;
  /**
   * The pid of the bpftrace process whose output this is, once known: the syscall monitor leaves its rows out
   * (reading and clearing its own maps), which costs nothing per event, where a filter in the kernel did.
   */
  tracer?: number | undefined;
}

export type Mode = 'event' | 'aggregate';

/**
 * A Prometheus counter fed from this monitor's rows: each row adds `value` (or 1) to the series of its labels.
 * Counters accumulate across intervals although the kernel maps are cleared, so rate() works.
 * Series stay bounded (docs/exporter.md "Prometheus exporter"; the worst case is estimated by src/plan/series.ts):
 * - pid is never a label;
 * - `comm` and `cgroup` make a per-process metric: only the output.prometheus.max_comm_series busiest commands of
 *   each scrape window keep a series of their own, the rest add to comm="other";
 * - `cpu` is exported only with output.prometheus.per_cpu (else the CPUs are summed).
 * Where node_exporter exports the same kernel quantity, the names and labels follow it.
 */
export interface MetricSpec<O = BaseOptions> {
  /** Prometheus name: ebpfmon_<what>_total, base units in the name (_seconds, _bytes). */
  name: string;
  help: string;
  /** Label name -> row column. */
  labels: Readonly<Record<string, string>>;
  /**
   * The most values each of its labels can take on `machine` with these options, for the worst-case series
   * estimate of `ebpfmon check` (src/plan/series.ts multiplies them). Not the exporter's own labels, which it bounds
   * itself (`exporterLabels`); any other label left out is an error there, so a new label cannot count as one value.
   */
  bounds?(machine: Machine, opts: O): Readonly<Record<string, number>>;
  /** Fixed labels, e.g. { kind: 'voluntary' } when one row feeds two series. */
  fixed?: Readonly<Record<string, string>>;
  /** Only rows whose columns hold these values feed it, e.g. { type: 'softirq' }. */
  where?: Readonly<Record<string, string>>;
  /** Row column added to the counter; omitted: 1 per row (event monitors). */
  value?: string;
  /** Multiplier to the base unit, e.g. 1e-6 for microseconds -> seconds. */
  scale?: number;
  /**
   * A histogram instead of a counter: `column` holds `<upper bound>:<count>` pairs (`inf` for the overflow
   * bucket), `bounds` are the buckets' upper bounds and `meanColumn` the mean, all in the row's unit (x scale).
   */
  histogram?: { column: string; bounds: readonly number[]; meanColumn: string };
}

/** What label bounds depend on: measured by src/plan/series.ts describeMachine, or written out (a host sized in advance). */
export interface Machine {
  arch: string;
  cpus: number;
  numaNodes: number;
  /** Whole disks (/sys/block, loop and dm devices included): bio's device label. */
  blockDevices: number;
  /** Hard interrupt handlers: numbered lines of /proc/interrupts, one per device name on a shared line. */
  irqHandlers: number;
}

/**
 * The labels the exporter bounds whatever the monitor (src/sinks/prometheus.ts): `perProcess` ones make a metric
 * per-process (only the max_comm_series busiest of a scrape window keep a series, the rest add to comm="other"), and
 * `perCpu` is exported only with per_cpu.
 */
export const exporterLabels = { perProcess: ['comm', 'cgroup'] as readonly string[], perCpu: 'cpu' } as const;

/** The options every monitor has; each monitor's schema extends these. */
export const baseOptions = {
  enabled: z.boolean({ error: 'expected true or false' }).default(false),
  /** Cost budget of the bpftrace process serving this monitor, in percent of one CPU (see runtime.budget_action). */
  max_cpu_percent: z
    .number({ error: 'expected a percentage of one CPU, e.g. 2.5' })
    .positive({ error: 'expected a percentage of one CPU, e.g. 2.5' })
    .max(100, { error: 'expected at most 100 (one whole CPU)' })
    .optional(),
};
/** Seconds between flushes when a monitor's options do not say (event monitors have no interval of their own). */
export const defaultInterval = 2;

export const intervalOption = {
  interval: z
    .number({ error: 'expected a positive number of seconds' })
    .min(0.1, { error: (i) => (Number(i.input) > 0 ? 'expected at least 0.1 seconds (a shorter interval costs much of a CPU)' : 'expected a positive number of seconds') })
    .max(3600, { error: 'expected at most 3600 seconds' })
    .default(defaultInterval),
};
/** A whole-number threshold such as min_count, min_switches. */
export const minCount = (min = 1) =>
  z
    .number({ error: `expected a whole number >= ${min}` })
    .int({ error: `expected a whole number >= ${min}` })
    .min(min, { error: `expected a whole number >= ${min}` })
    .default(min);

/** An optional process-name filter; the pattern keeps it safe to quote into a script. */
export const commFilter = () =>
  z
    .string()
    .regex(commPattern, { error: 'expected a process name of 1-15 letters, digits or _.:+@%=,- characters' })
    .optional();

/** Per-process monitors: also key by the cgroup v2 id (bpftrace's `cgroup`), resolved to its path in user space. */
export const cgroupOption = {
  cgroup: z.boolean({ error: 'expected true or false' }).default(false),
};

/**
 * The columns a monitor with the cgroup option writes after `cgroup`: the pod and container the cgroup path names
 * (src/rows/cgroup.ts containerOf), filled in when rows are written (the parsers leave them out); empty when the
 * option is off or the path is no container's. Added after the first files: older files lack them
 * (analysis/header.ts accepts that). Only a row type with a `cgroup` cell may list them (defineMonitor).
 */
export type ContainerColumn = 'pod_uid' | 'container_id';

export interface BaseOptions {
  enabled: boolean;
  max_cpu_percent?: number | undefined;
  interval?: number;
}

/**
 * A monitor. Methods (not function properties) on purpose: the registry holds monitors of different option and row
 * types as `Monitor<BaseOptions, Row>`, which method bivariance allows.
 */
export interface Monitor<O extends BaseOptions = BaseOptions, R extends Row = Row> {
  /** snake_case: config key, map prefix `@<name>_`, printf tag, CSV file stem. */
  name: string;
  mode: Mode;
  summary: string;
  options: z.ZodType<O, unknown>;
  variants(opts: O): readonly Variant[];
  generate(opts: O, plan: MonitorPlan): Fragment;
  parse(rec: MonitorRecord, ctx: ParseCtx, opts: O): R[];
  /** The CSV columns, in order (defineMonitor checks each against R). */
  columns: readonly string[];
  consoleLine(row: R): string;
  /** Counters for the Prometheus exporter; none means the monitor exports only its health. */
  metrics?: readonly MetricSpec<O>[];
  /** A kernel counter its totals can be checked against (see src/coverage/); none: coverage from what ebpfmon knows. */
  coverage?: Coverage<O>;
  /** What watching with it costs the host (shown by `list` and `check`, measured by the overhead-build bench). */
  cost: Cost;
  /** What it adds to `ebpfmon top` (src/top/model.ts); none: top does not show it. */
  top?: TopContribution<R>;
  /** What it adds to `ebpfmon run`'s closing summary (src/session/run-summary.ts); none: a line of its own is not shown. */
  runSummary?: RunSummaryPart<R>;
  /**
   * It carries paths read by str(): it runs with the longest string bpftrace 0.17 allows (`pathStrlen`), in a
   * process of its own, since a string that long on the 512-byte BPF stack breaks other monitors' probes.
   */
  paths?: boolean;
}

/**
 * What `ebpfmon top` counts per process (src/top/model.ts sums them per pid and shows them as rates), and what it
 * counts for the whole host (rows that name no process, or events). Each is supplied by one monitor's `top`; while
 * that monitor does not run, top shows it as absent, not as zero.
 */
export const topProcessCounts = ['syscalls', 'errors', 'opens', 'openFailures', 'faults', 'switches', 'bioBytes'] as const;
export type TopProcessCount = (typeof topProcessCounts)[number];
export const topHostCounts = ['execs', 'hardirqs', 'softirqs'] as const;
export type TopHostCount = (typeof topHostCounts)[number];
export type TopCount = TopProcessCount | TopHostCount;

/**
 * What a monitor adds to `ebpfmon top`. An aggregate monitor's rows are rated over their interval, per process (the
 * row's pid and comm: only a row type with both may give process counts, see defineMonitor) or for the host; an
 * event monitor's rows are rated over a sliding window and give host counts only.
 */
export interface TopContribution<R extends Row, C extends TopCount = TopCount> {
  /** What its rows count. */
  counts: readonly C[];
  /** One row's counts, of `counts` only. */
  of(row: R): Partial<Record<C, number>>;
}

/** What a monitor adds to `ebpfmon run`'s summary: totals of the rows the run wrote, as lines. */
export interface RunSummaryPart<R extends Row> {
  /** Where its lines stand, smallest first (the syscall table leads, as in strace -c). */
  order: number;
  /** A fresh tally for one run. */
  tally(): RunTally<R>;
}
export interface RunTally<R extends Row> {
  add(row: R): void;
  /** Its line; `table` (at most `top` entries and a heading) is printed beneath it, indented. */
  line(top: number): { count: number; what: string; table?: readonly string[] };
}
/** A tally that sums some numeric fields of every row and words them in one line (no table). */
export const sumTally =
  <R extends Row & Record<K, number>, K extends string>(fields: readonly K[], words: (sums: Readonly<Record<K, number>>) => { count: number; what: string }) =>
  (): RunTally<R> => {
    const sums = Object.fromEntries(fields.map((f) => [f, 0])) as Record<K, number>;
    return {
      add(row) {
        for (const f of fields) sums[f] += row[f];
      },
      line: () => words(sums),
    };
  };
/** A share in percent with two decimals, `0 %` of nothing (summary lines). */
export const percentOf = (part: number, whole: number): string => (whole ? `${((100 * part) / whole).toFixed(2)} %` : '0 %');
/** Bytes in binary units (summary lines): `512 B`, `8.0 KiB`, `1.5 MiB`. */
export const binaryBytes = (n: number): string =>
  n >= 1 << 20 ? `${(n / (1 << 20)).toFixed(1)} MiB` : n >= 1024 ? `${(n / 1024).toFixed(1)} KiB` : `${n} B`;

/**
 * What a monitor costs the host, for an operator choosing what to run. The class follows how often its probes fire
 * on a busy host and the work per event; the note says what it scales with and the measured figures (in-kernel ns
 * per event from bpf_stats, and the build workload's slowdown with that monitor alone: `npm run bench -- --only
 * overhead-build`).
 */
export interface Cost {
  /** low: rare events, or cheap ones; medium: frequent events, little work; high: the hottest paths, real work each. */
  class: 'low' | 'medium' | 'high' | 'varies';
  note: string;
  /**
   * In-kernel ns per event of this monitor's programs on the reference VM (bpf_stats, build workload: docs/performance.md "Where
   * the cost lands"), the figure `check --cost` scales to this host; null: not forecast (e.g. kprobes missing there).
   */
  nsPerEvent: number | null;
  /** What one event is, for the forecast's table: "syscall", "open (exit + entry)". */
  event: string;
  /**
   * Where `check --cost` reads the event rate: a kernel counter, or (none exists) a count-only probe on these
   * `category:event` tracepoints (those present are counted together); null: not forecast.
   */
  rate: { counter: KernelCounter } | { tracepoints: readonly string[] } | null;
}

/**
 * How a monitor's totals compare with a kernel counter: which counter, what the comparison cannot see, and the
 * interval's comparable total (null where the options make it incomparable, such as a comm filter).
 */
export interface Coverage<O> {
  counter: KernelCounter;
  /**
   * The ratio below which the numbers are called incomplete: 0.99 where the two count the same events, lower where
   * the counter also counts what no tracepoint sees (or the other way round), as the caveat says.
   */
  expect: number;
  /** What the comparison can and cannot see (shown by `list` and in docs/integrity.md). */
  caveat: string;
  /** `devices`: for block requests, the devices ("major:minor") the total covers. */
  total(rec: IntervalRecord, opts: O): { value: number; devices?: readonly string[] } | null;
}

/**
 * BPFTRACE_STRLEN for monitors that carry paths: str() keeps 175 bytes. bpftrace 0.17 allows up to 200, but the
 * path, the record and exec's parent pid must share the 512-byte BPF stack: measured with `bpftrace -d` on every
 * variant and option of exec and open, 184 is the most that fits them all (192 does not); 176 leaves a margin.
 */
export const pathStrlen = 176;
/** BPFTRACE_STRLEN everywhere else: bpftrace 0.17's default. */
export const defaultStrlen = 64;

/** The first column of every monitor's rows and files: when the interval ended or the event arrived (ParseCtx). */
export const timestampColumn = 'timestamp';

/** Identity, for type inference in monitor files; it checks the columns (timestamp first) against the row type. */
export const defineMonitor = <O extends BaseOptions, R extends Row & Record<typeof timestampColumn, string>>(
  m: Monitor<O, R> & {
    columns: readonly [typeof timestampColumn, ...(ColumnOf<R> | (R extends { cgroup: unknown } ? ContainerColumn : never))[]];
    top?: TopContribution<R, R extends { pid: number; comm: string } ? TopCount : TopHostCount>;
  },
): Monitor<O, R> => m;

/**
 * The named columns of a row type, without `Row`'s string index: `ColumnOf<ContextSwitchRow>` is 'timestamp' |
 * 'pid' | 'comm' | ... (plain `keyof R` is every string, so it would check nothing).
 */
export type ColumnOf<R> = keyof { [K in keyof R as string extends K ? never : number extends K ? never : K]: R[K] } & string;

/** Ratio with a fixed number of decimals, 0 when the denominator is 0. */
export function ratio(num: number, den: number, decimals = 4): number {
  if (den === 0) return 0;
  const f = 10 ** decimals;
  return Math.round((num / den) * f) / f;
}

/**
 * Entries of several result maps with the same key, joined into one item per key: each item has the key and the
 * value of every map that holds it (`v.count`, `v.errors`), so several maps of one interval make one row.
 */
export function join<N extends string, K extends string>(
  rec: IntervalRecord,
  maps: Readonly<Record<K, ResultMap<N>>>,
): { key: Readonly<Record<N, string>>; v: Partial<Record<K, number>> }[] {
  const names = Object.keys(maps) as K[];
  const shape = (m: ResultMap<N>): string => m.key.parts.map((p) => `${p.name}:${p.kind}`).join(',');
  const first = names[0] === undefined ? '' : shape(maps[names[0]]);
  // Entries are matched by the key as printed, which is only comparable between maps of one key declaration.
  for (const k of names) if (shape(maps[k]) !== first) throw new Error(`join: map ${maps[k].name} has another key than ${maps[names[0]!].name}`);
  const out = new Map<string, { key: Readonly<Record<N, string>>; v: Partial<Record<K, number>> }>();
  for (const k of names) {
    for (const e of rec.entries(maps[k])) {
      let slot = out.get(e.id);
      if (!slot) {
        slot = { key: e.key, v: {} };
        out.set(e.id, slot);
      }
      slot.v[k] = e.value;
    }
  }
  return [...out.values()];
}
