// What the kernel itself counted, for checking a monitor's totals against (coverage). Each reader returns the
// counter's value now, or null when this kernel does not have it; only deltas between two reads are compared.
import { readFileSync } from 'node:fs';
import type { KernelCounter } from '../monitors/types.js';

const read = (file: string): string | null => {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return null;
  }
};

/** `ctxt` of /proc/stat: context switches since boot, all CPUs. */
export function contextSwitches(stat = read('/proc/stat')): number | null {
  const m = stat === null ? null : /^ctxt (\d+)$/m.exec(stat);
  return m ? Number(m[1]) : null;
}

/** `pgfault` of /proc/vmstat: faults handled by handle_mm_fault since boot. */
export function pageFaults(vmstat = read('/proc/vmstat')): number | null {
  const m = vmstat === null ? null : /^pgfault (\d+)$/m.exec(vmstat);
  return m ? Number(m[1]) : null;
}

/**
 * Device interrupts (the numbered lines of /proc/interrupts, every CPU column) plus softirq runs (/proc/softirqs,
 * every vector and CPU): what irq_handler_entry and softirq_entry see. Local timer and IPI lines (LOC, RES, ...)
 * have no irq_handler tracepoint and are left out.
 */
export function interrupts(irqs = read('/proc/interrupts'), softirqs = read('/proc/softirqs')): number | null {
  if (irqs === null || softirqs === null) return null;
  const cpus = (irqs.split('\n')[0] ?? '').trim().split(/\s+/).length;
  let n = 0;
  for (const line of irqs.split('\n')) {
    const m = /^\s*\d+:\s+(.*)$/.exec(line);
    if (!m) continue;
    for (const v of m[1]!.trim().split(/\s+/).slice(0, cpus)) n += Number(v) || 0;
  }
  for (const line of softirqs.split('\n').slice(1)) {
    for (const v of line.trim().split(/\s+/).slice(1)) n += Number(v) || 0;
  }
  return n;
}

/**
 * Requests completed per device ("major:minor") from /proc/diskstats: reads, writes, discards and flushes
 * (fields 4, 8, 15 and 19 of a line, where the kernel has them).
 */
export function blockRequests(diskstats = read('/proc/diskstats')): Map<string, number> | null {
  if (diskstats === null) return null;
  const out = new Map<string, number>();
  for (const line of diskstats.split('\n')) {
    const f = line.trim().split(/\s+/);
    if (f.length < 14) continue;
    const n = [3, 7, 14, 18].reduce((s, i) => s + (Number(f[i]) || 0), 0);
    out.set(`${f[0]}:${f[1]}`, n);
  }
  return out;
}

/** A reading of one counter: a number, or per device for block requests. */
export type Reading = number | Map<string, number>;

export function readCounter(c: KernelCounter): Reading | null {
  switch (c) {
    case 'context_switches':
      return contextSwitches();
    case 'page_faults':
      return pageFaults();
    case 'interrupts':
      return interrupts();
    case 'block_requests':
      return blockRequests();
  }
}
