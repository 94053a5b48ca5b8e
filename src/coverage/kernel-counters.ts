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

const isDigit = (c: number): boolean => c >= 48 && c <= 57;
const isBlank = (c: number): boolean => c === 32 || c === 9;

/**
 * The sum of the first `max` numbers of `text` between `from` and `to`, separated by blanks; a word ends them.
 * Scanned in place: these files are read every interval, and splitting them into lines and words was most of the
 * readers' own CPU at idle.
 */
export function sumNumbers(text: string, from: number, to: number, max = Infinity): number {
  let sum = 0;
  let i = from;
  for (let k = 0; k < max; k++) {
    while (i < to && isBlank(text.charCodeAt(i))) i++;
    const start = i;
    let v = 0;
    for (let c = text.charCodeAt(i); i < to && isDigit(c); c = text.charCodeAt(++i)) v = v * 10 + (c - 48);
    if (i === start || (i < to && !isBlank(text.charCodeAt(i)))) break;
    sum += v;
  }
  return sum;
}

/** Each line of `text` after the first, as [start, end) offsets. */
function* linesAfterFirst(text: string): Generator<[number, number]> {
  for (let at = text.indexOf('\n') + 1; at > 0 && at < text.length; ) {
    const nl = text.indexOf('\n', at);
    const end = nl < 0 ? text.length : nl;
    yield [at, end];
    at = end + 1;
  }
}

/**
 * Device interrupts (the numbered lines of /proc/interrupts, every CPU column) plus softirq runs (/proc/softirqs,
 * every vector and CPU): what irq_handler_entry and softirq_entry see. Local timer and IPI lines (LOC, RES, ...)
 * have no irq_handler tracepoint and are left out.
 */
export function interrupts(irqs = read('/proc/interrupts'), softirqs = read('/proc/softirqs')): number | null {
  if (irqs === null || softirqs === null) return null;
  const nl = irqs.indexOf('\n');
  const header = nl < 0 ? irqs : irqs.slice(0, nl);
  const cpus = header.trim().split(/\s+/).length;
  let n = 0;
  for (const [at, end] of linesAfterFirst(irqs)) {
    let i = at;
    while (i < end && isBlank(irqs.charCodeAt(i))) i++;
    const digits = i;
    while (i < end && isDigit(irqs.charCodeAt(i))) i++;
    if (i > digits && irqs.charCodeAt(i) === 58) n += sumNumbers(irqs, i + 1, end, cpus);
  }
  for (const [at, end] of linesAfterFirst(softirqs)) {
    const colon = softirqs.indexOf(':', at);
    if (colon >= 0 && colon < end) n += sumNumbers(softirqs, colon + 1, end);
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
