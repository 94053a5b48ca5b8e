// Records of one bpftrace process -> rows of its monitors. Every record is read through the declarations compose
// rendered the script from (OutputContract): map copies, key parts by name and kind, printf fields. Anything
// unexpected is counted and logged (once per kind), never thrown. The router also says when an interval cannot be
// trusted: a map printed as full as it can be (counts dropped in the kernel), or ticks that arrive late (bpftrace
// stalled, so the maps printed at those ticks hold more than one interval).
import type { Logger } from '../log.js';
import type { BaseOptions, Entry, EventRecord, IntervalRecord, Monitor, ParseCtx, Row } from '../monitors/types.js';
import type { Clock } from '../rows/clock.js';
import { attachedDecl, composeRecords, retiredDecl, tickDecl, type OutputContract } from '../bt/contract.js';
import type { Agg, Field, KeyPart, PrintfDecl, ResultMap } from '../bt/ir.js';
import { parseLine, splitFields, splitKey, type MapValue } from './json-line.js';
import { cutMarker, decodeByteArray, decodeHexBytes, decodeText, unescapeJson } from '../bt/text.js';
import type { MonitorStats } from './stats.js';

export interface RoutedMonitor {
  monitor: Monitor<BaseOptions, Row>;
  opts: BaseOptions;
  contract: OutputContract;
  interval: number;
  stats: MonitorStats;
  /** Its probes count only the run's processes (--pid, --comm, run): no host-wide counter compares with it. */
  scoped?: boolean;
}

export interface RouterDeps {
  monitors: readonly RoutedMonitor[];
  onRows(monitor: string, rows: Row[]): void;
  /** A marker row: the interval ending at `timestamp` is incomplete or covers more than one interval. */
  onNote(monitor: string, timestamp: string, text: string): void;
  /** The script's BEGIN printed `ebpfmon\tattached`: every probe is live. */
  onAttached?(probes: number): void;
  /**
   * An aggregate monitor's interval closed at kernel time `tickNs` (CLOCK_MONOTONIC, bpftrace's nsecs): its total
   * comparable with a kernel counter, and whether it is complete.
   */
  onInterval?(monitor: string, i: { total: { value: number; devices?: readonly string[] } | null; complete: boolean; tickNs: bigint }): void;
  log: Logger;
  clock: Clock;
  arch: string;
  /** The pid of the bpftrace process this router reads (undefined until it runs). */
  tracer?: () => number | undefined;
  /** Keys one kernel map holds under the runtime in use (a map printed with this many keys dropped updates). */
  mapCapacity: number;
  /**
   * Keys of one monitor's result maps a stall may hold (runtime.map_keys_max; default mapCapacity): past it, the
   * stall's rows are written at its next late tick (see classifyTick's `held`).
   */
  stallKeysMax?: number;
  /** BPFTRACE_STRLEN: str() keeps at most this many bytes minus one. */
  strlen: number;
  /** How the script writes free text into map keys (src/bt/features.ts); default as it is. */
  textKeys?: 'text' | 'bytes';
  /** How often bpftrace escaped a text map key (src/bt/features.ts); default once. */
  keyEscapes?: 'once' | 'twice';
  /** The monitor whose probe is at this line of the script (bpftrace's helper_error records name a line). */
  monitorAtLine?(line: number): string | undefined;
  /** Whether this line of the script updates a map that folds (ResultMap.folds): an update dropped there loses detail only. */
  foldedAtLine?(line: number): boolean;
}

export interface Router {
  line(line: string): void;
  /** bpftrace's output ended: records its sequence counters numbered and never delivered are lost. */
  end(): void;
  /** Records that belonged to no monitor or could not be parsed. */
  readonly unrouted: number;
}

/** One key of a result map this interval: the value so far, from every copy printed before the tick. */
interface Pending {
  /** The key as printed: the same for every map of one key declaration. */
  id: string;
  key: Readonly<Record<string, string>>;
  value: number;
}

interface Slot {
  rm: RoutedMonitor;
  /** Last sequence number per CPU of each numbered printf record (tag -> cpu -> seq). */
  seqs: Map<string, Map<string, bigint>>;
  /** The counters as last printed (tag -> cpu -> seq): settled against what arrived one print later, or at the end. */
  marks: Map<string, Map<string, bigint>>;
  /** Result map name -> its keys so far this interval. */
  pending: Map<string, Map<string, Pending>>;
  /** Result maps printed as full as the kernel map can hold in this interval. */
  full: Set<string>;
  /** Updates the kernel refused this interval (helper_error records), by cause. */
  dropped: Dropped;
  lastTickNs: bigint | null;
  stall: Stall | null;
  /** Records waiting for the record they join (PrintfDecl.joins), by `<tag>:<cpu>`. */
  joining: Map<string, { seq: string; tag: string; fields: Record<string, string> }>;
  /** Whether the last interval was reported incomplete (the warning is logged once per change). */
  wasFull: boolean;
  /** The double buffer's flip the last tick followed (null before the first). */
  lastFlip: bigint | null;
  /** The last tick wrote a stall that goes on (TickVerdict `goesOn`): the next such is logged at debug, not warned again. */
  stallGoesOn: boolean;
  /** END's copy of the retired maps repeats what that flip's tick already closed: its prints are skipped. */
  skipRetired: boolean;
}

const combiners: Record<Agg, (a: number, b: number) => number> = {
  count: (a, b) => a + b,
  sum: (a, b) => a + b,
  min: Math.min,
  max: Math.max,
};

/** A tick whose arrival lags its kernel time by more than this (on top of one interval) comes from a stalled run. */
export const lateTickSlackSeconds = 1;
/** A tick more than this ahead of now, or this long before its run began, is no kernel time of this run. */
export const tickSanitySlackSeconds = 60;

/**
 * Why a tick's kernel time cannot be this run's (an operator's script printing something else than `nsecs`), or null.
 * Ticks of one monitor come from one interval probe: each later than the one before, none before the run began, none
 * after now. Between them every interval is then shorter than the run: no row dated centuries ahead, no timer set
 * for one.
 */
export function insaneTick(ns: bigint, at: { nowNs: bigint; startNs: bigint; lastNs: bigint | null }): string | null {
  const slack = BigInt(tickSanitySlackSeconds * 1e9);
  const s = (d: bigint): string => (Number(d) / 1e9).toFixed(1);
  if (ns > at.nowNs + slack) return `${s(ns - at.nowNs)} s ahead of now`;
  if (ns < at.startNs - slack) return `${s(at.startNs - ns)} s before this run began`;
  if (at.lastNs !== null && ns <= at.lastNs) return `not after the tick before (${at.lastNs})`;
  return null;
}
/** An on-time tick this many intervals after the one before follows ticks the kernel skipped. */
const skippedTickFactor = 1.5;

/** Ticks that arrived late, merged until one arrives on time: their maps span the whole stall. */
export interface Stall {
  fromNs: bigint | null;
  ticks: number;
}

/**
 * What a tick of kernel time `ns`, read at `nowNs`, closes:
 * - `late`: printed long after it fired (bpftrace stopped, starved, or blocked on a full pipe): the copies printed
 *   now were written over several intervals; merged into the stall until a tick arrives on time;
 * - `stalled`: the on-time tick that ends a stall: its rows hold the stall's whole span;
 * - `skipped`: on time, yet more than an interval after the tick before: the kernel skipped the timer probe (a
 *   perf-event BPF program does not run on a CPU where another BPF program runs, bpf_prog_active, so a timer firing
 *   inside one of the monitors' own probes is dropped; on a busy host a few times an hour). Nothing is lost: the
 *   maps were not flipped, so the rows hold the whole span;
 * - `on-time`: one interval (or the first, counted as one).
 * `seconds` is the span the rows cover; `fromNs` where it began (null: the first tick). A late tick also ends the
 * stall so far (`stalled` with `goesOn`) once the stall holds `held.max` keys or more: a stall that lasts (the
 * supervisor starved of CPU under a flood of distinct keys, its pipe full) would otherwise hold every key of every
 * interval until it ends (issue #26: 19 intervals of open, RSS 68 -> 460 MiB). Its rows may then hold counts printed
 * after the tick's kernel time (the maps printed before a late tick were read late), which the next rows then lack:
 * the sum stays exact, the split between the two spans is not.
 */
export type TickVerdict =
  | { kind: 'late' }
  | { kind: 'stalled'; fromNs: bigint | null; seconds: number; intervals: number; goesOn?: true }
  | { kind: 'skipped'; fromNs: bigint; seconds: number; skipped: number }
  | { kind: 'on-time'; seconds: number };

export function classifyTick(
  ns: bigint,
  at: { nowNs: bigint; interval: number; lastTickNs: bigint | null; stall: Stall | null; held?: { keys: number; max: number } },
): TickVerdict {
  const from = at.stall ? at.stall.fromNs : at.lastTickNs;
  const seconds = from === null ? at.interval : Number(ns - from) / 1e9;
  if (Number(at.nowNs - ns) / 1e9 > at.interval + lateTickSlackSeconds) {
    if (at.held && at.held.keys >= at.held.max) return { kind: 'stalled', fromNs: from, seconds, intervals: (at.stall?.ticks ?? 0) + 1, goesOn: true };
    return { kind: 'late' };
  }
  if (at.stall) return { kind: 'stalled', fromNs: from, seconds, intervals: at.stall.ticks + 1 };
  if (from !== null && seconds > at.interval * skippedTickFactor) return { kind: 'skipped', fromNs: from, seconds, skipped: Math.round(seconds / at.interval) - 1 };
  return { kind: 'on-time', seconds };
}

/** The stall after a tick: a late one opens it (from the tick before) or lengthens it; any other tick ends it. */
export function stallAfter(v: TickVerdict, stall: Stall | null, lastTickNs: bigint | null): Stall | null {
  if (v.kind !== 'late') return null;
  return { fromNs: stall ? stall.fromNs : lastTickNs, ticks: (stall ? stall.ticks : 0) + 1 };
}

/** The marker a tick's rows get when they cover more than one interval (logged at `level`), or null. */
export function spanNote(v: TickVerdict, interval: number, wallTime: (ns: bigint) => string): { level: 'warn' | 'info'; text: string } | null {
  if (v.kind === 'stalled') {
    const from = v.fromNs === null ? '' : ` from ${wallTime(v.fromNs)}`;
    const span = `this interval's rows cover ${v.seconds.toFixed(1)} s${from} (${v.intervals} interval${v.intervals === 1 ? '' : 's'}), not ${interval} s`;
    if (v.goesOn) {
      return { level: 'warn', text: `bpftrace is stalled (its ticks arrive late): ${span}, written at a late tick so that the stall's keys do not pile up in memory; counts are totals for that span, up to the tick's arrival` };
    }
    return { level: 'warn', text: `bpftrace stalled: ${span}; counts are totals for that span` };
  }
  if (v.kind === 'skipped') {
    const ticks = `${v.skipped} tick${v.skipped === 1 ? '' : 's'}`;
    return { level: 'info', text: `the kernel skipped ${ticks} of the interval timer: this interval's rows cover ${v.seconds.toFixed(1)} s from ${wallTime(v.fromNs)}, not ${interval} s; counts are totals for that span` };
  }
  return null;
}

/**
 * Updates the kernel refused, by cause: `full`, -E2BIG (the map held all it can); `race`, -EEXIST (two CPUs created
 * the same key at once: bpftrace 0.20-0.23 inserts a new key of count() with BPF_NOEXIST, and the CPU that lost the
 * race loses its count; bpftrace issue 4068). Each is one count lost.
 */
export interface Dropped {
  full: number;
  race: number;
}
const noneDropped = (): Dropped => ({ full: 0, race: 0 });
const updates = (n: number): string => `${n} update${n === 1 ? ' was' : 's were'}`;

/** Why an interval's counts are incomplete: maps printed full, updates the kernel refused; null when complete. */
export function incompleteDetail(full: readonly string[], dropped: Dropped, capacity: number): string | null {
  const parts = [
    full.length ? `${full.join(', ')} held ${capacity} keys, as many as a kernel map can` : '',
    dropped.full ? `${updates(dropped.full)} dropped in the kernel (map full)` : full.length ? 'updates beyond were dropped in the kernel' : '',
    dropped.race ? `${updates(dropped.race)} lost in the kernel (a key created on two CPUs at once: bpftrace's count() race, issue 4068)` : '',
  ].filter((p) => p);
  return parts.length ? parts.join('; ') : null;
}

export function createRouter(deps: RouterDeps): Router {
  const { log, clock } = deps;
  const stallKeysMax = deps.stallKeysMax ?? deps.mapCapacity;
  const byCopy = new Map<string, { slot: Slot; map: ResultMap }>();
  const byName = new Map<string, Slot>();
  const byCounter = new Map<string, { slot: Slot; decl: PrintfDecl }>();
  for (const rm of deps.monitors) {
    const slot: Slot = { rm, seqs: new Map(), marks: new Map(), pending: new Map(), full: new Set(), dropped: noneDropped(), lastTickNs: null, stall: null, wasFull: false, joining: new Map(), lastFlip: null, skipRetired: false, stallGoesOn: false };
    byName.set(rm.monitor.name, slot);
    for (const [copy, map] of rm.contract.copies) byCopy.set(copy, { slot, map });
    for (const [counter, decl] of rm.contract.counters) byCounter.set(counter, { slot, decl });
  }
  const warned = new Set<string>();
  let unrouted = 0;
  /** bpftrace's pid as its rows carry it, from the script's attached line; else the pid ebpfmon sees. */
  let rowPid: number | undefined;
  const tracer = (): number | undefined => rowPid ?? deps.tracer?.();
  /** When this run began (the router is made before its bpftrace starts): no tick of the run is earlier. */
  const startNs = clock.monotonicNs();

  const problem = (slot: Slot | undefined, kind: string, message: string): void => {
    unrouted++;
    if (slot) {
      slot.rm.stats.parseErrors++;
      slot.rm.stats.lastError = message;
    }
    if (warned.has(kind)) log.debug({ monitor: slot?.rm.monitor.name }, message);
    else {
      warned.add(kind);
      log.warn({ monitor: slot?.rm.monitor.name }, message);
    }
  };

  /** A text value (of a map key, or of a printf field): decoded to UTF-8, and marked when str() may have cut it. */
  const textOf = (raw: string, part: KeyPart | Field, inKey: boolean): string => {
    if (part.kind === 'bytes') return decodeHexBytes(raw);
    if (part.kind !== 'text') return raw;
    const d = !inKey ? decodeText(raw) : deps.textKeys === 'bytes' ? decodeByteArray(raw) : decodeText(deps.keyEscapes === 'twice' ? unescapeJson(raw) : raw);
    return part.fromStr && d.bytes >= deps.strlen - 1 ? d.text + cutMarker : d.text;
  };

  const emit = (slot: Slot, rows: Row[]): void => {
    slot.rm.stats.rows += rows.length;
    if (rows.length) deps.onRows(slot.rm.monitor.name, rows);
  };

  const runParse = (slot: Slot, rec: IntervalRecord | EventRecord, ctx: ParseCtx): void => {
    try {
      emit(slot, slot.rm.monitor.parse(rec, ctx, slot.rm.opts));
    } catch (e) {
      problem(slot, `parse:${slot.rm.monitor.name}`, `${slot.rm.monitor.name}: parser failed: ${String(e)}`);
    }
  };

  const ownerOfMap = (name: string): Slot | undefined => {
    let best: Slot | undefined;
    for (const [mon, slot] of byName) {
      if (name.startsWith(`@${mon}_`) && (!best || mon.length > best.rm.monitor.name.length)) best = slot;
    }
    return best;
  };

  const onMap = (name: string, value: MapValue): void => {
    const copy = byCopy.get(name);
    if (copy?.slot.skipRetired) return;
    const counter = byCounter.get(name);
    if (counter) {
      onCounter(counter.slot, counter.decl, value);
      return;
    }
    const hit = byCopy.get(name);
    if (!hit) {
      const owner = ownerOfMap(name);
      problem(
        owner,
        `map:${name}`,
        owner
          ? `${owner.rm.monitor.name}: map ${name} is not in the output contract; its values are ignored`
          : `map ${name} belongs to no monitor in this process (maps are named @<monitor>_<what>); ignored`,
      );
      return;
    }
    const { slot, map } = hit;
    const parts = map.key.parts;
    slot.rm.stats.records++;
    let pending = slot.pending.get(map.name);
    if (!pending) slot.pending.set(map.name, (pending = new Map()));
    const combine = combiners[map.agg];
    if (typeof value === 'number') {
      if (parts.length) {
        problem(slot, `arity:${name}`, `${slot.rm.monitor.name}: map ${name} has no key, contract expects [${parts.map((p) => p.name).join(', ')}]; ignored`);
        return;
      }
      // A keyless map: one value, combined like a key printed from several copies.
      const seen = pending.get('');
      if (seen) seen.value = combine(seen.value, value);
      else pending.set('', { id: '', key: {}, value });
      return;
    }
    const { keys, values } = value;
    for (let e = 0; e < keys.length; e++) {
      const k = keys[e]!;
      const v = values[e]!;
      // The same key printed from two copies of the map before one tick (END prints every copy): combine.
      const seen = pending.get(k);
      if (seen) {
        seen.value = combine(seen.value, v);
        continue;
      }
      const split = splitKey(k, parts.length);
      if (!split) {
        problem(slot, `arity:${name}`, `${slot.rm.monitor.name}: map ${name} key "${k}" has fewer than ${parts.length} parts; entry ignored`);
        continue;
      }
      const key: Record<string, string> = {};
      for (let i = 0; i < parts.length; i++) key[parts[i]!.name] = textOf(split[i]!, parts[i]!, true);
      pending.set(k, { id: k, key, value: v });
    }
    // A map that folds (ResultMap.folds) may fill: the parser folds what did not fit, the totals are in another map.
    if (keys.length >= deps.mapCapacity && !map.folds) slot.full.add(map.name);
  };

  /** Keys the monitor's result maps hold so far this interval (or stall). */
  const heldKeys = (slot: Slot): number => {
    let n = 0;
    for (const p of slot.pending.values()) n += p.size;
    return n;
  };

  /** Closes one interval of an aggregate monitor at its tick (kernel time `ns`, after flip `flip`). */
  const onTick = (slot: Slot, ns: bigint, flip: bigint | null): void => {
    const { rm } = slot;
    slot.skipRetired = false;
    if (flip !== null) slot.lastFlip = flip;
    const name = rm.monitor.name;
    const verdict = classifyTick(ns, { nowNs: clock.monotonicNs(), interval: rm.interval, lastTickNs: slot.lastTickNs, stall: slot.stall, held: { keys: heldKeys(slot), max: stallKeysMax } });
    slot.stall = stallAfter(verdict, slot.stall, slot.lastTickNs);
    if (verdict.kind === 'late') {
      slot.lastTickNs = ns;
      return;
    }
    const stalled = verdict.kind === 'stalled';
    const { seconds } = verdict;
    const timestamp = clock.wallTime(ns);
    if (verdict.kind === 'stalled') rm.stats.stalls++;
    else if (verdict.kind === 'skipped') rm.stats.skippedTicks++;
    const note = spanNote(verdict, rm.interval, clock.wallTime);
    const goesOn = verdict.kind === 'stalled' && verdict.goesOn === true;
    const again = goesOn && slot.stallGoesOn;
    slot.stallGoesOn = goesOn;
    if (note) {
      log[again ? 'debug' : note.level]({ monitor: name, seconds, ...(verdict.kind === 'stalled' ? { intervals: verdict.intervals } : verdict.kind === 'skipped' ? { skipped: verdict.skipped } : {}) }, note.text);
      deps.onNote(name, timestamp, note.text);
    }
    slot.lastTickNs = ns;
    rm.stats.lastTickAt = Number(clock.monotonicNs() / 1000n) / 1000;
    const pending = slot.pending;
    const full = [...slot.full];
    const dropped = slot.dropped;
    slot.pending = new Map();
    slot.full = new Set();
    slot.dropped = noneDropped();
    const rec: IntervalRecord = {
      kind: 'interval',
      entries<N extends string>(map: ResultMap<N>): readonly Entry<N>[] {
        const p = pending.get(map.name);
        return p ? ([...p.values()] as Entry<N>[]) : [];
      },
    };
    const detail = incompleteDetail(full, dropped, deps.mapCapacity);
    runParse(slot, rec, { timestamp, intervalSeconds: seconds, wallTime: clock.wallTime, arch: deps.arch, tracer: tracer() });
    if (deps.onInterval) {
      let total: { value: number; devices?: readonly string[] } | null = null;
      try {
        total = rm.scoped ? null : (rm.monitor.coverage?.total(rec, rm.opts) ?? null);
      } catch (e) {
        problem(slot, `coverage:${name}`, `${name}: coverage total failed: ${String(e)}`);
      }
      deps.onInterval(name, { total, complete: detail === null && !stalled, tickNs: ns });
    }
    if (detail !== null) {
      rm.stats.saturatedIntervals++;
      deps.onNote(name, timestamp, `incomplete: ${detail}`);
      if (!slot.wasFull) log.warn({ monitor: name, maps: full, capacity: deps.mapCapacity }, `${name}: counts of this interval are incomplete (${detail})`);
    } else if (slot.wasFull) log.info({ monitor: name }, `${name}: maps no longer full; counts complete again`);
    slot.wasFull = detail !== null;
  };

  /**
   * A tick's kernel time as printed, checked: one that cannot be this run's (see insaneTick; a script run with
   * --scripts prints what its operator wrote) is counted as a parse error, warned about once, marked in the output,
   * and the interval closes at the tick's arrival instead.
   */
  const tickNs = (slot: Slot, text: string): bigint => {
    const now = clock.monotonicNs();
    const ns = /^\d+$/.test(text) ? BigInt(text) : null;
    const why = ns === null ? 'not a number' : insaneTick(ns, { nowNs: now, startNs, lastNs: slot.lastTickNs });
    if (ns !== null && why === null) return ns;
    const name = slot.rm.monitor.name;
    // Never before the last tick: an interval of 0 s at worst (bio's throughput is then 0), never a negative one.
    const arrival = slot.lastTickNs !== null && now < slot.lastTickNs ? slot.lastTickNs : now;
    problem(slot, `tick:${name}`, `${name}: tick ${JSON.stringify(text.slice(0, 30))} is not a kernel time of this run (${why ?? ''}); the interval closes at its arrival (does the script print nsecs?)`);
    deps.onNote(name, clock.wallTime(arrival), `tick ${JSON.stringify(text.slice(0, 30))} is not a kernel time of this run (${why ?? ''}): this interval closed at the tick's arrival`);
    return arrival;
  };

  /** Records lost on one CPU: counted, logged and marked. */
  const reportLost = (slot: Slot, cpu: string, lost: number): void => {
    const name = slot.rm.monitor.name;
    slot.rm.stats.lostEvents += lost;
    log.warn({ monitor: name, cpu: Number(cpu), lost }, `${name}: ${lost} records lost on CPU ${cpu} (bpftrace's event buffer overflowed)`);
    deps.onNote(name, clock.now(), `${lost} events lost on CPU ${cpu} before this point (bpftrace's event buffer overflowed)`);
  };

  /** Moves a CPU's sequence on to `seq`: whatever was numbered in between and never arrived is lost. */
  const advance = (slot: Slot, tag: string, cpu: string, seq: bigint): void => {
    let perCpu = slot.seqs.get(tag);
    if (!perCpu) slot.seqs.set(tag, (perCpu = new Map()));
    // Numbering starts at 1 in each run of the script: a first record numbered 5 means 4 were lost.
    const last = perCpu.get(cpu) ?? 0n;
    if (seq <= last) return;
    perCpu.set(cpu, seq);
    if (seq > last + 1n) reportLost(slot, cpu, Number(seq - last - 1n));
  };

  /** A record's own number: a gap before it is records lost between the kernel and us (a full perf buffer). */
  const checkSequence = (slot: Slot, decl: PrintfDecl, cpu: string, seqText: string): void => {
    if (/^\d+$/.test(seqText)) advance(slot, decl.tag, cpu, BigInt(seqText));
  };

  /**
   * The counters as printed: records they numbered up to the print before this one should have arrived by now (a
   * second later); any that did not are lost. At the end of the output, the last print settles everything.
   */
  const settle = (slot: Slot, tag: string, upTo: ReadonlyMap<string, bigint>): void => {
    // As if record n + 1 had arrived: everything up to n that did not is lost.
    // (The record n + 1 itself, when it comes, is then not new: advance only moves forward.)
    for (const [cpu, n] of upTo) advance(slot, tag, cpu, n + 1n);
  };
  const onCounter = (slot: Slot, decl: PrintfDecl, value: MapValue): void => {
    if (typeof value === 'number') return;
    const mark = new Map<string, bigint>();
    for (let i = 0; i < value.keys.length; i++) mark.set(value.keys[i]!, BigInt(value.values[i]!));
    const previous = slot.marks.get(decl.tag);
    if (previous) settle(slot, decl.tag, previous);
    slot.marks.set(decl.tag, mark);
  };

  // Event monitors stamp rows from the event's own kernel time: the arrival time is only read if asked for
  // (measured: formatting it for every event cost ~12% of the pipeline).
  const eventCtx: ParseCtx = {
    get timestamp() {
      return clock.now();
    },
    intervalSeconds: 0,
    wallTime: clock.wallTime,
    arch: deps.arch,
    get tracer() {
      return tracer();
    },
  };
  let probes = 0;
  /** A declared record's fields by name (text decoded; see textOf). */
  const fieldsOf = <N extends string>(decl: PrintfDecl<N>, split: readonly string[]): Record<N, string> => {
    const fields = {} as Record<N, string>;
    decl.fields.forEach((f, i) => (fields[f.name] = textOf(split[i]!, f, false)));
    return fields;
  };
  /** A whole number as printed, or null (an operator's edited script may print anything). */
  const countOf = (text: string): bigint | null => (/^\d+$/.test(text) ? BigInt(text) : null);

  /** BEGIN's record: every probe is live; bpftrace's pid as the kernel's rows carry it. */
  const onAttached = (rest: string): void => {
    const { pid } = fieldsOf(attachedDecl, splitFields(rest, attachedDecl.fields.length) ?? ['']);
    if (countOf(pid) !== null) {
      rowPid = Number(pid);
      for (const { rm } of byName.values()) rm.stats.bpftraceRowPid = rowPid;
      const seen = deps.tracer?.();
      if (seen !== undefined && seen !== rowPid) {
        deps.log.info({ bpftracePid: seen, rowPid }, `bpftrace is pid ${seen} here and pid ${rowPid} in the rows (a pid namespace): its own rows are left out by ${rowPid}`);
      }
    }
    deps.onAttached?.(probes);
  };

  const onPrintf = (text: string): void => {
    const body = text.endsWith('\n') ? text.slice(0, -1) : text;
    // "<monitor>\t<tag>\t<fields>": cut with indexOf, the hottest path of an event monitor.
    const t1 = body.indexOf('\t');
    const t2 = t1 < 0 ? -1 : body.indexOf('\t', t1 + 1);
    const name = t1 < 0 ? body : body.slice(0, t1);
    const tag = t1 < 0 ? undefined : body.slice(t1 + 1, t2 < 0 ? undefined : t2);
    const rest = t2 < 0 ? '' : body.slice(t2 + 1);
    if (name === composeRecords && tag === attachedDecl.tag) {
      onAttached(rest);
      return;
    }
    const slot = byName.get(name);
    if (!slot || tag === undefined) {
      problem(undefined, `printf:${name}`, `printf line for no monitor in this process: ${JSON.stringify(body.slice(0, 60))}`);
      return;
    }
    const decl = slot.rm.contract.printfs.find((p) => p.tag === tag);
    if (!decl) {
      problem(slot, `printf:${name}:${tag}`, `${name}: printf tag "${tag}" is not in the output contract; ignored`);
      return;
    }
    slot.rm.stats.records++;
    const split = splitFields(rest, decl.fields.length);
    if (!split || (decl.fields.length === 0 && rest !== '')) {
      problem(slot, `fields:${name}:${tag}`, `${name}: printf "${tag}" has fewer than ${decl.fields.length} fields; ignored`);
      return;
    }
    // Compose's own records of an aggregate monitor (printfsOf adds them to its contract only).
    if (decl === tickDecl) {
      const tick = fieldsOf(tickDecl, split);
      onTick(slot, tickNs(slot, tick.nsecs), countOf(tick.flip));
      return;
    }
    if (decl === retiredDecl) {
      // The tick of this flip arrived: the print and clear before it did too, and what END prints next repeats it.
      const flip = countOf(fieldsOf(retiredDecl, split).flip);
      slot.skipRetired = flip !== null && slot.lastFlip === flip;
      return;
    }
    const fields: Record<string, string> = fieldsOf(decl, split);
    if (decl.joins) {
      // Held until its record arrives; one that never does is replaced by the next of that CPU.
      slot.joining.set(`${decl.joins.tag}:${fields[decl.joins.cpu] ?? ''}`, { seq: fields[decl.joins.seq] ?? '', tag, fields });
      return;
    }
    let joined: { tag: string; fields: Record<string, string> } | undefined;
    if (decl.sequence) {
      const cpu = fields[decl.sequence.cpu] ?? '';
      checkSequence(slot, decl, cpu, fields[decl.sequence.seq] ?? '');
      const key = `${tag}:${cpu}`;
      const held = slot.joining.get(key);
      if (held) {
        slot.joining.delete(key);
        if (held.seq === fields[decl.sequence.seq]) joined = held;
      }
    }
    const rec: EventRecord = {
      kind: 'event',
      tag,
      fields: <N extends string>(p: PrintfDecl<N>) => (p.tag === tag ? (fields as Readonly<Record<N, string>>) : null),
      joined: <N extends string>(p: PrintfDecl<N>) => (joined && p.tag === joined.tag ? (joined.fields as Readonly<Record<N, string>>) : null),
    };
    runParse(slot, rec, eventCtx);
  };

  return {
    line(line: string): void {
      const r = parseLine(line);
      if (!r.ok) {
        problem(undefined, 'line', `unparseable bpftrace output: ${r.reason}`);
        return;
      }
      const rec = r.record;
      switch (rec.type) {
        case 'blank':
        case 'other':
          return;
        case 'attached_probes':
          // Printed before bpftrace attaches; the BEGIN marker says when attaching is done.
          probes = rec.probes;
          return;
        case 'lost_events':
          // Monitors whose records are numbered count their own losses exactly (checkSequence); the others take
          // bpftrace's figure, which does not say whose records were lost.
          log.warn({ lost: rec.events }, 'bpftrace lost events: its event buffer overflowed');
          for (const slot of byName.values()) {
            if (slot.rm.contract.printfs.some((p) => p.sequence)) continue;
            slot.rm.stats.lostEvents += rec.events;
            if (slot.rm.monitor.mode === 'event') deps.onNote(slot.rm.monitor.name, clock.now(), `bpftrace lost ${rec.events} events: its event buffer overflowed`);
          }
          return;
        case 'helper_error': {
          const owner = rec.line === null ? undefined : deps.monitorAtLine?.(rec.line);
          const slot = owner === undefined ? undefined : byName.get(owner);
          // map_update_elem failed: -E2BIG, the map was full; -EEXIST, two CPUs created the same key at once (see
          // Dropped). Either way one update was dropped: counted exactly, per monitor and cause.
          if (rec.helper === 'map_update_elem' && (rec.retcode === -7 || rec.retcode === -17) && slot) {
            // Dropped from a map that folds: the monitor's totals still hold it (its parser folds the difference).
            if (rec.line !== null && deps.foldedAtLine?.(rec.line)) return;
            const race = rec.retcode === -17;
            if (race) slot.dropped.race++;
            else slot.dropped.full++;
            slot.rm.stats.droppedUpdates++;
            if (slot.rm.monitor.mode === 'event' && !warned.has(`dropped:${owner}`)) {
              warned.add(`dropped:${owner}`);
              const why = race ? 'two CPUs created one key at once and one update was lost' : 'a kernel map was full and dropped an update';
              log.warn({ monitor: owner }, `${owner}: ${why} (counted in status and the exporter)`);
            }
            return;
          }
          // -ENOENT from map_delete_elem: a delete of a key that was not there (a probe that fired without its pair).
          if (rec.helper === 'map_delete_elem' && rec.retcode === -2) return;
          problem(slot, `helper:${rec.helper}:${rec.retcode}`, `bpftrace: helper ${rec.helper} failed with ${rec.retcode} at script line ${String(rec.line)}${owner ? ` (${owner})` : ''}`);
          return;
        }
        case 'map':
          onMap(rec.name, rec.value);
          return;
        case 'printf':
          onPrintf(rec.text);
          return;
      }
    },
    end(): void {
      for (const slot of byName.values()) for (const [tag, mark] of slot.marks) settle(slot, tag, mark);
    },
    get unrouted() {
      return unrouted;
    },
  };
}
