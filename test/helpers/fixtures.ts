// Real bpftrace output captured by scripts/capture-fixture.ts, and a router fed with it.
import { assumedFeatures, type BpftraceFeatures } from '../../src/bt/features.js';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fixturesDir } from './paths.js';
import { createRouter, type RoutedMonitor } from '../../src/records/router.js';
import { newStats } from '../../src/records/stats.js';
import type { BaseOptions, Entry, IntervalRecord, Monitor, MonitorPlan, Row } from '../../src/monitors/types.js';
import { tickDecl } from '../../src/bt/contract.js';
import { contractOf } from '../../src/script/compose.js';
import { printfRecord } from '../../src/records/json-line.js';
import { monitorLayout, renderFinalFlush, renderFlush, renderProbe, type Layout } from '../../src/bt/render.js';
import type { Clock } from '../../src/rows/clock.js';
import { silentLogger } from '../../src/log.js';

export const fixtureLines = (monitor: string, name: string): string[] =>
  readFileSync(path.join(fixturesDir, 'bpftrace-0.17', monitor, `${name}.ndjson`), 'utf8').split('\n');

/** The tick that closes an interval of `monitor` at kernel time `nsecs`, after `flip` flips of its double buffer. */
export const tickLine = (monitor: string, nsecs: bigint | number | string, flip = 1): string => printfRecord(monitor, tickDecl, { nsecs, flip });

/** Wall time = 2026-01-01T00:00:00Z + ns; fixed "now". */
export const fakeClock: Clock = {
  now: () => '2026-01-01T00:00:00.000Z',
  wallTime: (ns) => new Date(Date.UTC(2026, 0, 1) + Number(ns / 1_000_000n)).toISOString(),
  monotonicNs: () => 0n,
};

/**
 * fakeClock whose monotonic now moves to each tick's kernel time as its line is fed: every tick arrives on time, as
 * when the fixtures were captured (a tick ahead of now is not a kernel time of the run: the router replaces it).
 */
export function tickClock(base: Clock = fakeClock): { clock: Clock; feed(line: string): void } {
  let now = 0n;
  return {
    clock: { now: base.now, wallTime: base.wallTime, monotonicNs: () => now },
    feed(line) {
      const m = /\\ttick\\t(\d+)/.exec(line);
      if (m && BigInt(m[1]!) > now) now = BigInt(m[1]!);
    },
  };
}

export function plannedFor(variant: string, interval = 2, bt: BpftraceFeatures = assumedFeatures): MonitorPlan {
  return { variant, interval, symbols: {}, tracepointFields: {}, bt };
}

/** The layout the fixtures were captured with: double-buffered maps, no shards (bpftrace itself). */
export const fixtureLayout: Layout = { double: true, shards: 1 };

/** A monitor's fragment rendered as a script would hold it: probes, interval flush, END flush, helper names. */
export function rendered(
  monitor: Monitor<BaseOptions, Row>,
  opts: BaseOptions,
  plan: MonitorPlan,
  layout: Layout = { double: false, shards: 1 },
): { probes: string; flush: string; finalFlush: string; helpers: string[]; results: string[] } {
  const f = monitor.generate(opts, plan);
  layout = monitorLayout(f, layout);
  return {
    probes: f.probes.map((p) => renderProbe(p, { monitor: monitor.name, layout })).join('\n'),
    flush: renderFlush(monitor.name, f.results, layout).join('\n'),
    finalFlush: renderFinalFlush(monitor.name, f.results, layout).join('\n'),
    helpers: f.helpers.map((h) => h.name),
    results: f.results.map((m) => m.name),
  };
}

/** Runs lines through a router holding one monitor; returns its rows, marker notes and stats. */
export function route(
  monitor: Monitor<BaseOptions, Row>,
  opts: BaseOptions,
  plan: MonitorPlan,
  lines: readonly string[],
  arch = 'x64',
  o: {
    mapCapacity?: number;
    stallKeysMax?: number;
    strlen?: number;
    layout?: Layout;
    clock?: Clock;
    end?: boolean;
    tracer?: number;
    /** What a script line is (bpftrace 0.23+'s helper_error records name one). */
    lines?: { monitorAt(line: number): string | undefined; foldedAt?(line: number): boolean };
  } = {},
): { rows: Row[]; rm: RoutedMonitor; unrouted: number; notes: string[] } {
  const contract = contractOf(monitor, monitor.generate(opts, plan), o.layout ?? fixtureLayout);
  const rm: RoutedMonitor = { monitor, opts, contract, interval: plan.interval, stats: newStats() };
  const rows: Row[] = [];
  const notes: string[] = [];
  const ticks = tickClock();
  const router = createRouter({
    monitors: [rm],
    onRows: (_m, r) => rows.push(...r),
    onNote: (_m, ts, text) => notes.push(`${ts} ${text}`),
    log: silentLogger(),
    clock: o.clock ?? ticks.clock,
    arch,
    mapCapacity: o.mapCapacity ?? 16384,
    ...(o.stallKeysMax === undefined ? {} : { stallKeysMax: o.stallKeysMax }),
    strlen: o.strlen ?? 64,
    tracer: () => o.tracer,
    ...(o.lines ? { monitorAtLine: o.lines.monitorAt, ...(o.lines.foldedAt ? { foldedAtLine: o.lines.foldedAt } : {}) } : {}),
  });
  for (const l of lines) {
    ticks.feed(l);
    router.line(l);
  }
  if (o.end) router.end();
  return { rows, rm, unrouted: router.unrouted, notes };
}

/** An interval record from literal entries, by map name (keys by part name), for parsers tested without a router. */
export function intervalOf(maps: Record<string, { key: Record<string, string>; value: number }[]>): IntervalRecord {
  return {
    kind: 'interval',
    // The id stands for the key as printed: equal exactly when the parts are.
    entries: <N extends string>(map: { name: string }) =>
      (maps[map.name] ?? []).map((e) => ({ ...e, id: JSON.stringify(Object.entries(e.key).sort()) })) as unknown as readonly Entry<N>[],
  };
}
