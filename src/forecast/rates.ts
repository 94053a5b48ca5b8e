// Event rates for the cost forecast: kernel counters where the kernel counts the same events (no probe needed),
// else one count-only bpftrace process with one `@<monitor> = count()` per monitor on its main tracepoints.
import { existsSync } from 'node:fs';
import type { KernelCounter } from '../monitors/types.js';
import { readCounter, type Reading } from '../coverage/kernel-counters.js';
import { startShortProbe, type Tracer } from './probe.js';

/** A monitor whose rate comes from a count probe: its name (the map's) and the tracepoints present here. */
export interface ProbeGroup {
  monitor: string;
  tracepoints: readonly string[];
}

/** Whole disks only: a partition's requests are also its disk's (/sys/dev/block/M:m/partition marks partitions). */
const isPartition = (dev: string): boolean => existsSync(`/sys/dev/block/${dev}/partition`);

/** A reading as one number: block requests summed over whole devices. */
export function counterTotal(r: Reading | null, partition: (dev: string) => boolean = isPartition): number | null {
  if (r === null) return null;
  if (typeof r === 'number') return r;
  let n = 0;
  for (const [dev, v] of r) if (!partition(dev)) n += v;
  return n;
}

const readTotal = (c: KernelCounter): number | null => counterTotal(readCounter(c));

/** Per second between two totals; null when either is missing or the counter went backwards (wrapped, reset). */
export function ratePerSecond(before: number | null, after: number | null, seconds: number): number | null {
  if (before === null || after === null || after < before || seconds <= 0) return null;
  return (after - before) / seconds;
}

/** Counter rates over the time `during` takes (a wait of N seconds for check --cost; a workload for the bench). */
export async function counterRates(counters: readonly KernelCounter[], during: () => Promise<unknown>): Promise<Map<KernelCounter, number | null>> {
  const t0 = performance.now();
  const before = new Map(counters.map((c) => [c, readTotal(c)]));
  await during();
  const dt = (performance.now() - t0) / 1000;
  return new Map(counters.map((c) => [c, ratePerSecond(before.get(c) ?? null, readTotal(c), dt)]));
}

/** A wait of `seconds`, as `during`. */
export const waitSeconds = (seconds: number) => (): Promise<void> => new Promise((r) => setTimeout(r, seconds * 1000));

/** The count-only script: one keyless count per monitor, printed by bpftrace at exit. */
export function countScript(groups: readonly ProbeGroup[]): string {
  return groups.map((g) => `${g.tracepoints.map((t) => `tracepoint:${t}`).join(',\n')}\n{ @${g.monitor} = count(); }`).join('\n') + '\n';
}

/**
 * Measures every rate at once: the count probe (when a monitor needs one) is attached first, then the counters are
 * read over the same time (`during`), then bpftrace is stopped and prints its counts (`-f json`; a map never hit prints
 * nothing: 0). Rates by monitor name (probes) and by counter.
 */
export async function measureRates(opts: {
  tracer: Tracer;
  during: () => Promise<unknown>;
  counters: readonly KernelCounter[];
  probes: readonly ProbeGroup[];
}): Promise<{ counters: Map<KernelCounter, number | null>; probes: Map<string, number> }> {
  if (!opts.probes.length) return { counters: await counterRates(opts.counters, opts.during), probes: new Map() };
  const counts = new Map<string, number>(opts.probes.map((g) => [g.monitor, 0]));
  const probe = await startShortProbe(opts.tracer, countScript(opts.probes), 'cost forecast count probe', (r) => {
    if (r.type === 'map' && typeof r.value === 'number') counts.set(r.name.replace(/^@/, ''), r.value);
  });
  const t0 = performance.now();
  let counters: Map<KernelCounter, number | null>;
  let t1: number;
  try {
    counters = await counterRates(opts.counters, opts.during);
  } finally {
    // The span measured ends with `during`: stopping the probe (its stop probe, bpftrace printing its counts and
    // exiting) takes a second or so in which the host's load has already ended; dividing by it too made the rate
    // of a 4-s build 20 % low.
    t1 = performance.now();
    await probe.stop();
  }
  const dt = (t1 - t0) / 1000;
  return { counters, probes: new Map([...counts].map(([m, n]) => [m, n / dt])) };
}
