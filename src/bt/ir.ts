// The script as data. A monitor declares its maps, its printf records and its probes with these builders; compose
// renders them (src/bt/render.ts) and the router reads output through the same declarations. Nothing reads
// generated text back: a key part is declared once, with its column name, its bpftrace expression and its kind,
// and the bpftrace key, the script header's contract, the router's split and parse's named access all come from it.
// Expressions stay bpftrace text written by the monitor (`args->ret < 0`); statements and maps are data.
import { quote } from './literals.js';

/**
 * How a key part or printf field is written and decoded: a number; a word that never holds a separator (a kernel
 * symbol); free text (comm, path: only last); or bytes printed by `%r`, where no byte can be a separator.
 */
export type PartKind = 'int' | 'word' | 'text' | 'bytes';

export interface KeyPart<N extends string = string> {
  readonly name: N;
  readonly expr: string;
  readonly kind: PartKind;
  /** A process id: compose may split the map into shards by its value (equal keys always share one shard). */
  readonly shard: boolean;
  /** Read by str(): bpftrace cuts it at BPFTRACE_STRLEN - 1 bytes, and the router marks a value that long. */
  readonly fromStr?: boolean;
}

/** An integer key part: `int('nr', '$id')`. */
export const int = <N extends string>(name: N, expr: string): KeyPart<N> => ({ name, expr, kind: 'int', shard: false });
/** A key part that never holds "," or a tab: bpftrace's `func` (a kernel symbol name). */
export const word = <N extends string>(name: N, expr: string): KeyPart<N> => ({ name, expr, kind: 'word', shard: false });
/** A free-text key part (comm, filename): only the last part of a key may be free text. */
export const text = <N extends string>(name: N, expr: string, o: { fromStr?: boolean } = {}): KeyPart<N> => ({
  name,
  expr,
  kind: 'text',
  shard: false,
  ...(o.fromStr ? { fromStr: true } : {}),
});
/** The process id of a per-process map: the part compose shards by. */
export const pidPart = (expr = 'pid'): KeyPart<'pid'> => ({ name: 'pid', expr, kind: 'int', shard: true });
/** The cgroup v2 id key part of the cross-cutting `cgroup` option: none when the option is off. */
export const cgroupPart = (opts: { cgroup: boolean }, expr = 'cgroup'): KeyPart<'cgroup'>[] => (opts.cgroup ? [int('cgroup', expr)] : []);

export interface Key<N extends string = string> {
  readonly parts: readonly KeyPart<N>[];
}

/**
 * A map key: free text only last (bpftrace 0.17 joins key parts with "," and a comm or path may hold one). No parts:
 * a keyless map, one number (bpftrace keeps a keyless count() in a per-CPU array: the cheapest counter it has).
 */
export function keyOf<const P extends readonly KeyPart[]>(...parts: P): Key<P[number]['name']> {
  const names = new Set<string>();
  parts.forEach((p, i) => {
    if (p.kind === 'text' && i !== parts.length - 1) throw new Error(`key part ${p.name}: free text may only be the last part of a key`);
    if (names.has(p.name)) throw new Error(`key part ${p.name} declared twice`);
    names.add(p.name);
  });
  if (parts.filter((p) => p.shard).length > 1) throw new Error('a key has at most one shard part');
  return { parts };
}

/** How a result map aggregates; two values of one key printed twice combine by it (count and sum add). */
export type Agg = 'count' | 'sum' | 'min' | 'max';

/** A map printed and cleared every interval: its rows' numbers. */
export interface ResultMap<N extends string = string> {
  readonly role: 'result';
  /** `@<monitor>_<what>`. */
  readonly name: string;
  readonly key: Key<N>;
  readonly agg: Agg;
  readonly doc: string;
  /**
   * Detail under totals that another map of the monitor keeps exactly: when it fills, the monitor's parser folds what
   * did not fit into a row that says so, so its being full (or an update it dropped) leaves the interval complete.
   */
  readonly folds?: true;
}

export const resultMap = <N extends string>(name: string, key: Key<N>, agg: Agg, doc: string, o: { folds?: boolean } = {}): ResultMap<N> => {
  if (!/^@[a-z][a-z0-9_]*$/.test(name)) throw new Error(`map name ${name}: expected @<monitor>_<what>`);
  return { role: 'result', name, key, agg, doc, ...(o.folds ? { folds: true as const } : {}) };
};

/** State a script keeps between probes (start times, saved pointers): never printed, cleared in END. */
export interface HelperMap {
  readonly role: 'helper';
  readonly name: string;
  /** What the key parts are, for the header. */
  readonly keys: readonly string[];
  /** What a value is, for the header. */
  readonly value: string;
  readonly doc: string;
  /** A read of one entry, as an expression: `@bio_start[$dev, $sector]`. */
  at(...key: string[]): string;
}

export const helperMap = (name: string, keys: readonly string[], value: string, doc: string): HelperMap => {
  if (!/^@[a-z][a-z0-9_]*$/.test(name)) throw new Error(`map name ${name}: expected @<monitor>_<what>`);
  return { role: 'helper', name, keys, value, doc, at: (...key) => `${name}[${key.join(', ')}]` };
};

export interface Field<N extends string = string> {
  readonly name: N;
  /** printf conversion: %llu, %u, %d, %s, %r. */
  readonly fmt: string;
  readonly expr: string;
  readonly kind: PartKind;
  /** Read by str(): see KeyPart.fromStr. */
  readonly fromStr?: boolean;
}

/** One printf record of an event monitor: `<monitor>\t<tag>\t<fields...>`, free text only last. */
export interface PrintfDecl<N extends string = string> {
  readonly tag: string;
  readonly fields: readonly Field<N>[];
  readonly doc: string;
  /**
   * Fields holding the CPU and a per-CPU sequence number the script increments for each record, in `counter`
   * (keyed by cpu): a perf buffer is per CPU and ordered, so a gap in a CPU's sequence is exactly the number of
   * records lost on the way. Compose prints the counter every second and in END, so records lost after the last
   * one that arrived are counted too.
   */
  readonly sequence?: { readonly cpu: N; readonly seq: N; readonly counter: HelperMap };
  /**
   * This record belongs to the next numbered record `tag` of the same CPU and sequence number (printed right after
   * it by the next program on the same hook, so nothing comes between them in that CPU's buffer): the router holds
   * it and hands it to that record's parse (EventRecord.joined) instead of parsing it on its own. A record that
   * could not fit the other's 512-byte BPF stack travels this way.
   */
  readonly joins?: { readonly tag: string; readonly cpu: N; readonly seq: N };
}

export function printfOf<const F extends readonly Field[]>(tag: string, doc: string, ...fields: F): PrintfDecl<F[number]['name']> {
  fields.forEach((f, i) => {
    if (f.kind === 'text' && i !== fields.length - 1) throw new Error(`printf ${tag}: free text field ${f.name} may only be last`);
  });
  return { tag, fields, doc };
}
export const intField = <N extends string>(name: N, expr: string, fmt = '%llu'): Field<N> => ({ name, fmt, expr, kind: 'int' });
export const textField = <N extends string>(name: N, expr: string, o: { fromStr?: boolean } = {}): Field<N> => ({
  name,
  fmt: '%s',
  expr,
  kind: 'text',
  ...(o.fromStr ? { fromStr: true } : {}),
});
/** Raw bytes printed by `%rx` from buf(): every byte as \xNN, so even a backslash cannot pass for an escape. */
export const hexField = <N extends string>(name: N, expr: string): Field<N> => ({ name, fmt: '%rx', expr, kind: 'word' });
/** Bytes printed by `%r` from buf(): every byte that is not printable ASCII arrives as \xNN, so no tab can split it. */
export const bytesField = <N extends string>(name: N, expr: string): Field<N> => ({ name, fmt: '%r', expr, kind: 'bytes' });

export type Stmt =
  | { readonly s: 'let'; readonly name: string; readonly expr: string }
  | { readonly s: 'update'; readonly map: ResultMap; readonly arg: string | null }
  | { readonly s: 'set'; readonly map: HelperMap; readonly key: readonly string[]; readonly expr: string }
  | { readonly s: 'delete'; readonly map: HelperMap; readonly key: readonly string[] }
  | { readonly s: 'if'; readonly cond: string; readonly then: readonly Stmt[]; readonly else: readonly Stmt[] }
  | { readonly s: 'emit'; readonly printf: PrintfDecl }
  | { readonly s: 'exit' }
  | { readonly s: 'scope'; readonly pid: string; readonly comm: string; readonly then: readonly Stmt[] };

/** `$name = expr;`, e.g. a tracepoint field read once per probe, as bpftrace's own tools do. */
export const local = (name: `$${string}`, expr: string): Stmt => ({ s: 'let', name, expr });
/** Aggregate one event into a result map under its declared key: count() takes no argument. */
export const update = (map: ResultMap, arg: string | null = null): Stmt => {
  if ((map.agg === 'count') !== (arg === null)) throw new Error(`${map.name}: ${map.agg}() ${map.agg === 'count' ? 'takes no' : 'needs an'} argument`);
  return { s: 'update', map, arg };
};
export const set = (map: HelperMap, key: readonly string[], expr: string): Stmt => ({ s: 'set', map, key, expr });
export const del = (map: HelperMap, key: readonly string[]): Stmt => ({ s: 'delete', map, key });
export const when = (cond: string, then: readonly Stmt[], otherwise: readonly Stmt[] = []): Stmt => ({ s: 'if', cond, then, else: otherwise });
export const emit = (printf: PrintfDecl): Stmt => ({ s: 'emit', printf });
/**
 * `then`, only for an event of the run's process scope (`--pid`, `--comm`, `run`), told by a process id and a name
 * read earlier (bio: the submitter's, recorded at submission): compose renders the test, or `then` alone when the
 * run has no scope. Probes that run in the task their event is charged to say so with `Probe.task` instead.
 */
export const inScope = (pid: string, comm: string, then: readonly Stmt[]): Stmt => ({ s: 'scope', pid, comm, then });

/**
 * The pid of the bpftrace process that runs the script, for a filter that leaves it out: compose's BEGIN sets it
 * (before that, and after the stop probe, it reads 0, which is no process).
 */
export const tracerPid = '@ebpfmon_self[0]';

export interface Probe {
  /** Attach points, e.g. `tracepoint:raw_syscalls:sys_exit`; several share one body. */
  readonly attach: readonly string[];
  /** Conditions of the predicate, joined with &&. */
  readonly filter: readonly string[];
  readonly body: readonly Stmt[];
  /** One line above the probe saying why it is there. */
  readonly comment?: string;
  /**
   * The probe runs in the task its event is charged to (`pid` and `comm` are the process's): compose adds the run's
   * process scope (`--pid`, `--comm`, `run`) to its predicate. Probes without it count the host (interrupts) or
   * keep state that must see every process (fork tracking).
   */
  readonly task?: true;
}

export const probe = (attach: string | readonly string[], body: readonly Stmt[], filter: readonly string[] = [], comment?: string): Probe => ({
  attach: typeof attach === 'string' ? [attach] : attach,
  filter,
  body,
  ...(comment ? { comment } : {}),
});

/** The probe, marked as running in the task its event is charged to (see Probe.task). */
export const inTask = (p: Probe): Probe => ({ ...p, task: true });

/**
 * Which processes a run counts, filtered in the kernel: `pids` (`--pid`: these processes and their threads, by
 * tgid), `comm` (`--comm`: threads of that name), `follow` (`run`: this process and every process it starts, tracked
 * by compose in a map). Empty: the whole host.
 */
export interface Scope {
  readonly pids: readonly number[];
  readonly comm: string | null;
  readonly follow: number | null;
}
export const hostScope: Scope = { pids: [], comm: null, follow: null };

/** The followed processes of a `run` (tgid -> 1), filled at fork from the command's own process. */
export const followMap = '@ebpfmon_follow';

/** Whether a scope narrows anything. */
export const scoped = (s: Scope): boolean => s.pids.length > 0 || s.comm !== null || s.follow !== null;

/**
 * The conditions (joined with &&) that keep an event of process `pid` (a tgid expression) and thread name `comm` in
 * the scope. The name passed commPattern (the CLI validates it) and is quoted here.
 */
export function scopeConditions(s: Scope, pid: string, comm: string): string[] {
  const out: string[] = [];
  if (s.pids.length === 1) out.push(`${pid} == ${s.pids[0]}`);
  else if (s.pids.length) out.push(`(${s.pids.map((p) => `${pid} == ${p}`).join(' || ')})`);
  if (s.follow !== null) out.push(`${followMap}[${pid} + 0]`);
  if (s.comm !== null) out.push(`${comm} == ${quote(s.comm)}`);
  return out;
}

/** What a monitor adds to a script: compose renders it, adds the interval flush, the tick and the END block. */
export interface Fragment {
  readonly probes: readonly Probe[];
  /** Printed and cleared every interval (aggregate monitors). */
  readonly results: readonly ResultMap[];
  readonly helpers: readonly HelperMap[];
  /** The printf records of an event monitor. */
  readonly events: readonly PrintfDecl[];
}

/** Whether the run's process scope narrows a fragment: some probe or statement of it tests it (interrupt's do not). */
export const taskScoped = (f: Fragment): boolean => f.probes.some((p) => p.task === true || [...walk(p.body)].some((st) => st.s === 'scope'));

/** Every statement of a body, nested ones included. */
export function* walk(body: readonly Stmt[]): Generator<Stmt> {
  for (const st of body) {
    yield st;
    if (st.s === 'if') {
      yield* walk(st.then);
      yield* walk(st.else);
    }
    if (st.s === 'scope') yield* walk(st.then);
  }
}
