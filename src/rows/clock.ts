// Kernel monotonic nanoseconds (bpftrace's `nsecs`) -> wall-clock ISO 8601 UTC with milliseconds.
// Node's hrtime and bpf_ktime_get_ns both read CLOCK_MONOTONIC (node's shifted by a time namespace's offset,
// which is taken off); the wall clock can step, so the offset between them is checked again as rows are stamped.
import { readFileSync } from 'node:fs';

export interface Clock {
  /** Wall-clock now, ISO 8601 UTC. */
  now(): string;
  /** Kernel monotonic ns -> ISO 8601 UTC. */
  wallTime(ns: bigint): string;
  /** The kernel's CLOCK_MONOTONIC now, in ns (bpftrace's `nsecs` base). */
  monotonicNs(): bigint;
}

/**
 * Milliseconds since the epoch -> ISO 8601 UTC, as Date#toISOString for years 0000-9999. Events arrive in
 * bursts within a second: that second's "YYYY-MM-DDTHH:MM:SS." is formatted once and only the milliseconds
 * appended (measured: toISOString per exec event was 6% of the pipeline's CPU).
 */
export function isoFormatter(): (ms: number) => string {
  let second = NaN;
  let prefix = '';
  return (ms) => {
    const s = Math.floor(ms / 1000);
    if (s !== second) {
      second = s;
      prefix = new Date(s * 1000).toISOString().slice(0, 20);
    }
    return `${prefix}${String(ms - s * 1000).padStart(3, '0')}Z`;
  };
}

/** Where the time comes from: the real clocks, or a test's. */
export interface TimeSources {
  /** Wall clock, ms since the epoch (Date.now). */
  wallMs(): number;
  /** This process's CLOCK_MONOTONIC, ns (process.hrtime.bigint). */
  monotonicNs(): bigint;
  /**
   * How far this process's CLOCK_MONOTONIC is ahead of the kernel's: a time namespace's offset
   * (/proc/self/timens_offsets), 0 outside one. bpftrace's `nsecs` (bpf_ktime_get_ns) is the kernel's, whatever
   * namespace bpftrace runs in.
   */
  namespaceOffsetNs: bigint;
}

/** The `monotonic` line of /proc/<pid>/timens_offsets ("monotonic <seconds> <nanoseconds>"), in ns; 0 when absent. */
export function parseTimensOffsets(text: string): bigint {
  const m = /^monotonic\s+(-?\d+)\s+(\d+)\s*$/m.exec(text);
  return m ? BigInt(m[1]!) * 1_000_000_000n + BigInt(m[2]!) : 0n;
}

/** The real clocks. A kernel without time namespaces has no timens_offsets file: offset 0. */
export function systemTimeSources(): TimeSources {
  let text = '';
  try {
    text = readFileSync('/proc/self/timens_offsets', 'utf8');
  } catch {
    // no time namespaces in this kernel
  }
  // eslint-disable-next-line no-restricted-properties -- the wall clock rows are dated by (tied to the monotonic one)
  return { wallMs: Date.now, monotonicNs: () => process.hrtime.bigint(), namespaceOffsetNs: parseTimensOffsets(text) };
}

/** A difference this large between the wall clock and the offset in use is a step (settimeofday, NTP's first sync). */
export const stepNs = 500_000_000n;
/** Smaller differences above this are drift (NTP slewing): adopted silently. Below it, Date.now's 1 ms grain. */
const driftNs = 2_000_000n;
/** The offset is checked again when this much monotonic time passed since the last check. */
const recheckNs = 200_000_000n;

/**
 * Kernel monotonic ns -> wall time. The offset between the two is checked again every 0.2 s of monotonic time
 * while rows are stamped (two clock reads), so a step of the wall clock in either direction moves the stamps
 * with it within that time, and `onStep` is called once per step (seconds, signed). Monotonic ns are the
 * kernel's: inside a time namespace, node's CLOCK_MONOTONIC is shifted by the namespace's offset and
 * bpftrace's `nsecs` is not, so that offset is taken off.
 */
export function systemClock(opts: { onStep?: (seconds: number) => void; sources?: TimeSources } = {}): Clock {
  const src = opts.sources ?? systemTimeSources();
  const kernelNs = (): bigint => src.monotonicNs() - src.namespaceOffsetNs;
  const measure = (): { offset: bigint; at: bigint } => {
    const at = kernelNs();
    return { offset: BigInt(src.wallMs()) * 1_000_000n - at, at };
  };
  let { offset: offsetNs, at: checkedAt } = measure();
  /** `at`: the event time that triggered the check (events lagging behind now recheck once per 0.2 s of theirs). */
  const recheck = (at?: bigint): void => {
    const m = measure();
    checkedAt = at ?? m.at;
    const d = m.offset - offsetNs;
    const abs = d < 0n ? -d : d;
    if (abs <= driftNs) return;
    offsetNs = m.offset;
    if (abs > stepNs) opts.onStep?.(Number(d / 1_000_000n) / 1000);
  };
  const iso = isoFormatter();
  return {
    now: () => {
      recheck();
      return new Date(src.wallMs()).toISOString();
    },
    wallTime: (ns) => {
      const d = ns - checkedAt;
      if (d > recheckNs || d < -recheckNs) recheck(ns);
      return iso(Number((ns + offsetNs) / 1_000_000n));
    },
    monotonicNs: kernelNs,
  };
}
