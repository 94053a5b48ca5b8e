// Event rates for the cost forecast: kernel counters where the kernel counts the same events (no probe needed),
// else one count-only bpftrace process with one `@<monitor> = count()` per monitor on its main tracepoints.
import { existsSync } from 'node:fs';
import { readCounter, type KernelCounter, type Reading } from '../coverage/kernel-counters.js';
import { spawnBpftrace } from '../process/bpftrace.js';
import { parseLine } from '../records/json-line.js';
import { RunFailure } from '../errors.js';

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

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Counter rates over `seconds` (per second of the time actually waited). */
export async function counterRates(counters: readonly KernelCounter[], seconds: number): Promise<Map<KernelCounter, number | null>> {
  const t0 = performance.now();
  const before = new Map(counters.map((c) => [c, readTotal(c)]));
  await sleep(seconds * 1000);
  const dt = (performance.now() - t0) / 1000;
  return new Map(counters.map((c) => [c, ratePerSecond(before.get(c) ?? null, readTotal(c), dt)]));
}

/** The count-only script: one keyless count per monitor, printed by bpftrace at exit. */
export function countScript(groups: readonly ProbeGroup[]): string {
  return groups.map((g) => `${g.tracepoints.map((t) => `tracepoint:${t}`).join(',\n')}\n{ @${g.monitor} = count(); }`).join('\n') + '\n';
}

/**
 * Measures every rate at once: the count probe (when a monitor needs one) is attached first, then the counters are
 * read over the same `seconds`, then bpftrace is stopped and prints its counts (`-f json`; a map never hit prints
 * nothing: 0). Rates by monitor name (probes) and by counter.
 */
export async function measureRates(opts: {
  bpftrace: string;
  seconds: number;
  counters: readonly KernelCounter[];
  probes: readonly ProbeGroup[];
}): Promise<{ counters: Map<KernelCounter, number | null>; probes: Map<string, number> }> {
  if (!opts.probes.length) return { counters: await counterRates(opts.counters, opts.seconds), probes: new Map() };
  const counts = new Map<string, number>(opts.probes.map((g) => [g.monitor, 0]));
  const stderr: string[] = [];
  let onAttached: () => void = () => undefined;
  const attached = new Promise<void>((r) => (onAttached = r));
  const run = spawnBpftrace({
    command: opts.bpftrace,
    args: ['-f', 'json', '-e', countScript(opts.probes)],
    env: {},
    onLine: (line) => {
      const r = parseLine(line);
      if (!r.ok) return;
      if (r.record.type === 'attached_probes') onAttached();
      else if (r.record.type === 'map' && typeof r.record.value === 'number') counts.set(r.record.name.replace(/^@/, ''), r.record.value);
    },
    onStderr: (l) => stderr.push(l),
    killAfterMs: 15_000,
  });
  let stopped = false;
  const early = run.done.then((e) => {
    if (!stopped) throw new RunFailure(`cost forecast: the count probe ended before it attached (${stderr.find((l) => l.trim()) ?? e.spawnError ?? `exit code ${String(e.exitCode)}`})`);
  });
  try {
    await Promise.race([attached, early]);
    const t0 = performance.now();
    const counters = await counterRates(opts.counters, opts.seconds);
    stopped = true;
    run.stop();
    const exit = await run.done;
    const dt = (performance.now() - t0) / 1000;
    // Killed rather than ended: it printed no counts, and zeros would pass for a quiet host.
    if (exit.signal !== null || exit.exitCode !== 0) {
      throw new RunFailure(`cost forecast: the count probe did not end cleanly (${exit.signal ? `killed by ${exit.signal}` : `exit code ${String(exit.exitCode)}`}${stderr.length ? `: ${stderr.filter((l) => l.trim()).slice(-1).join('')}` : ''})`);
    }
    return { counters, probes: new Map([...counts].map(([m, n]) => [m, n / dt])) };
  } finally {
    stopped = true;
    run.stop();
    await run.done;
  }
}
