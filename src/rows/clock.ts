// Kernel monotonic nanoseconds (bpftrace's `nsecs`) -> wall-clock ISO 8601 UTC with milliseconds.
// Node's hrtime and bpf_ktime_get_ns both read CLOCK_MONOTONIC, so one offset taken now converts both ways.

export interface Clock {
  /** Wall-clock now, ISO 8601 UTC. */
  now(): string;
  /** Kernel monotonic ns -> ISO 8601 UTC. */
  wallTime(ns: bigint): string;
  /** CLOCK_MONOTONIC now, in ns. */
  monotonicNs(): bigint;
}

export function systemClock(): Clock {
  const offsetNs = BigInt(Date.now()) * 1_000_000n - process.hrtime.bigint();
  return {
    now: () => new Date().toISOString(),
    wallTime: (ns) => new Date(Number((ns + offsetNs) / 1_000_000n)).toISOString(),
    monotonicNs: () => process.hrtime.bigint(),
  };
}
