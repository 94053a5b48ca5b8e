// Real bpftrace output captured by scripts/capture-fixture.ts, and a router fed with it.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fixturesDir } from './paths.js';
import { createRouter, type RoutedMonitor } from '../../src/records/router.js';
import { newStats } from '../../src/records/stats.js';
import type { BaseOptions, Monitor, MonitorPlan, Row } from '../../src/monitors/types.js';
import type { Clock } from '../../src/rows/clock.js';
import { silentLogger } from '../../src/log.js';

export const fixtureLines = (monitor: string, name: string): string[] =>
  readFileSync(path.join(fixturesDir, 'bpftrace-0.17', monitor, `${name}.ndjson`), 'utf8').split('\n');

/** Wall time = 2026-01-01T00:00:00Z + ns; fixed "now". */
export const fakeClock: Clock = {
  now: () => '2026-01-01T00:00:00.000Z',
  wallTime: (ns) => new Date(Date.UTC(2026, 0, 1) + Number(ns / 1_000_000n)).toISOString(),
  monotonicNs: () => 0n,
};

export function plannedFor(variant: string, interval = 2): MonitorPlan {
  return { variant, interval, symbols: {}, tracepointFields: {} };
}

/** Runs lines through a router holding one monitor; returns its rows and stats. */
export function route(
  monitor: Monitor<BaseOptions, Row>,
  opts: BaseOptions,
  plan: MonitorPlan,
  lines: readonly string[],
  arch = 'x64',
): { rows: Row[]; rm: RoutedMonitor; unrouted: number } {
  const rm: RoutedMonitor = { monitor, opts, contract: monitor.generate(opts, plan).contract, interval: plan.interval, stats: newStats() };
  const rows: Row[] = [];
  const router = createRouter({ monitors: [rm], onRows: (_m, r) => rows.push(...r), log: silentLogger(), clock: fakeClock, arch });
  for (const l of lines) router.line(l);
  return { rows, rm, unrouted: router.unrouted };
}
