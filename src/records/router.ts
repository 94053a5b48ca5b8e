// Records of one bpftrace process -> rows of its monitors. Checks each record against the output contract;
// anything unexpected is counted and logged (once per kind), never thrown.
import type { Logger } from '../log.js';
import type { BaseOptions, Fragment, MapEntry, Monitor, ParseCtx, Row } from '../monitors/types.js';
import type { Clock } from '../rows/clock.js';
import { parseLine, splitFields, splitKey, type MapValue } from './json-line.js';
import { secondCopySuffix } from '../script/double-buffer.js';
import type { MonitorStats } from './stats.js';

export interface RoutedMonitor {
  monitor: Monitor<BaseOptions, Row>;
  opts: BaseOptions;
  contract: Fragment['contract'];
  interval: number;
  stats: MonitorStats;
}

export interface RouterDeps {
  monitors: readonly RoutedMonitor[];
  onRows(monitor: string, rows: Row[]): void;
  /** The script's BEGIN printed `ebpfmon\tattached`: every probe is live. */
  onAttached?(probes: number): void;
  log: Logger;
  clock: Clock;
  arch: string;
}

export interface Router {
  line(line: string): void;
  /** Records that belonged to no monitor or could not be parsed. */
  readonly unrouted: number;
}

interface Slot {
  rm: RoutedMonitor;
  pending: Map<string, MapEntry[]>;
  lastTickNs: bigint | null;
}

/** How two values of one key combine, from the contract's aggregate: min() and max() keep theirs, the rest add. */
function combinerOf(value: string): (a: number, b: number) => number {
  if (value.startsWith('min(')) return Math.min;
  if (value.startsWith('max(')) return Math.max;
  return (a, b) => a + b;
}

/**
 * A map printed twice before its tick (END prints both copies of a double-buffered map): keys already pending
 * are combined, the others appended. A loop, not push(...more): spreading a map of a few hundred thousand keys
 * overflows the call stack.
 */
function mergeEntries(list: MapEntry[], more: readonly MapEntry[], combine: (a: number, b: number) => number): void {
  const at = new Map<string, number>();
  list.forEach((e, i) => at.set(e.key.join('\u0000'), i));
  for (const e of more) {
    const i = at.get(e.key.join('\u0000'));
    if (i === undefined) list.push(e);
    else list[i] = { key: e.key, value: combine(list[i]!.value, e.value) };
  }
}

export function createRouter(deps: RouterDeps): Router {
  const { log, clock } = deps;
  const byMap = new Map<string, { slot: Slot; arity: number; combine: (a: number, b: number) => number }>();
  const byName = new Map<string, Slot>();
  for (const rm of deps.monitors) {
    const slot: Slot = { rm, pending: new Map(), lastTickNs: null };
    byName.set(rm.monitor.name, slot);
    for (const m of rm.contract.maps) byMap.set(m.name, { slot, arity: m.keys.length, combine: combinerOf(m.value) });
  }
  const warned = new Set<string>();
  let unrouted = 0;

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

  const emit = (slot: Slot, rows: Row[]): void => {
    slot.rm.stats.rows += rows.length;
    if (rows.length) deps.onRows(slot.rm.monitor.name, rows);
  };

  const runParse = (slot: Slot, rec: Parameters<Monitor['parse']>[0], ctx: ParseCtx): void => {
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
    // The second copy of a double-buffered map (@x_b) carries the same contract as @x.
    const hit = byMap.get(name) ?? (name.endsWith(secondCopySuffix) ? byMap.get(name.slice(0, -secondCopySuffix.length)) : undefined);
    if (hit && !byMap.has(name)) name = name.slice(0, -secondCopySuffix.length);
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
    const { slot, arity, combine } = hit;
    slot.rm.stats.records++;
    const entries: MapEntry[] = [];
    if (typeof value === 'number') {
      problem(slot, `arity:${name}`, `${slot.rm.monitor.name}: map ${name} has no key, contract expects [${arity} parts]; ignored`);
      return;
    }
    for (const [k, v] of Object.entries(value)) {
      const key = splitKey(k, arity);
      if (!key) {
        problem(slot, `arity:${name}`, `${slot.rm.monitor.name}: map ${name} key "${k}" has fewer than ${arity} parts; entry ignored`);
        continue;
      }
      entries.push({ key, value: v });
    }
    const list = slot.pending.get(name);
    if (list) mergeEntries(list, entries, combine);
    else slot.pending.set(name, entries);
  };

  // Event monitors stamp rows from the event's own kernel time: the arrival time is only read if asked for
  // (measured: formatting it for every event cost ~12% of the pipeline). One context serves every event.
  const eventCtx: ParseCtx = {
    get timestamp() {
      return clock.now();
    },
    intervalSeconds: 0,
    wallTime: clock.wallTime,
    arch: deps.arch,
  };
  let probes = 0;
  const onPrintf = (text: string): void => {
    const body = text.endsWith('\n') ? text.slice(0, -1) : text;
    // "<monitor>\t<tag>\t<fields>": cut with indexOf, the hottest path of an event monitor.
    const t1 = body.indexOf('\t');
    const t2 = t1 < 0 ? -1 : body.indexOf('\t', t1 + 1);
    const name = t1 < 0 ? body : body.slice(0, t1);
    const tag = t1 < 0 ? undefined : body.slice(t1 + 1, t2 < 0 ? undefined : t2);
    if (name === 'ebpfmon' && tag === 'attached') {
      deps.onAttached?.(probes);
      return;
    }
    const slot = byName.get(name);
    if (!slot || tag === undefined) {
      problem(undefined, `printf:${name}`, `printf line for no monitor in this process: ${JSON.stringify(body.slice(0, 60))}`);
      return;
    }
    const contract = slot.rm.contract.printfs.find((p) => p.tag === tag);
    if (!contract) {
      problem(slot, `printf:${name}:${tag}`, `${name}: printf tag "${tag}" is not in the output contract; ignored`);
      return;
    }
    slot.rm.stats.records++;
    const rest = t2 < 0 ? '' : body.slice(t2 + 1);
    const fields = splitFields(rest, contract.fields.length);
    if (!fields || (contract.fields.length === 0 && rest !== '')) {
      problem(slot, `fields:${name}:${tag}`, `${name}: printf "${tag}" has fewer than ${contract.fields.length} fields; ignored`);
      return;
    }
    if (tag === 'tick') {
      const ns = /^\d+$/.test(fields[0] ?? '') ? BigInt(fields[0]!) : clock.monotonicNs();
      const seconds = slot.lastTickNs === null ? slot.rm.interval : Number(ns - slot.lastTickNs) / 1e9;
      slot.lastTickNs = ns;
      const maps = slot.pending;
      slot.pending = new Map();
      runParse(slot, { kind: 'interval', maps }, {
        timestamp: clock.wallTime(ns),
        intervalSeconds: seconds,
        wallTime: clock.wallTime,
        arch: deps.arch,
      });
      return;
    }
    runParse(slot, { kind: 'event', tag, fields }, eventCtx);
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
          for (const slot of byName.values()) slot.rm.stats.lostEvents += rec.events;
          log.warn({ lost: rec.events }, 'bpftrace lost events: its event buffer overflowed');
          return;
        case 'map':
          onMap(rec.name, rec.value);
          return;
        case 'printf':
          onPrintf(rec.text);
          return;
      }
    },
    get unrouted() {
      return unrouted;
    },
  };
}
