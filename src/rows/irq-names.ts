// Hard IRQ numbers -> the names of their handlers, as /proc/interrupts lists them. For a bpftrace that reads the
// irq_handler_entry tracepoint's own `name` as "" (0.23, see src/bt/features.ts dataLocStrings). A shared line lists
// every handler ("i8042, serial"): the row then names them all.
import { readFileSync } from 'node:fs';

/** /proc/interrupts -> IRQ number -> handler names; lines without a number (NMI, LOC, ...) are left out. */
export function parseInterrupts(text: string): Map<string, string> {
  const names = new Map<string, string>();
  for (const line of text.split('\n')) {
    const m = /^\s*(\d+):/.exec(line);
    if (!m?.[1]) continue;
    // The handlers' names follow the chip, the hardware IRQ and its trigger type ("5-edge", "40-fasteoi"); a line
    // with no handler ends at the trigger type.
    const name = /\s\d+-[A-Za-z]+ {2,}(\S.*)$/.exec(line)?.[1]?.trim();
    if (name) names.set(m[1], name);
  }
  return names;
}

/** A reader of /proc/interrupts, read again at most every `refreshMs` (handlers come and go with devices). */
export function createIrqNames(read: () => string = () => readFileSync('/proc/interrupts', 'utf8'), now: () => number = Date.now, refreshMs = 10_000): () => ReadonlyMap<string, string> {
  let cached = new Map<string, string>();
  let at = -Infinity;
  return () => {
    if (now() - at < refreshMs) return cached;
    at = now();
    try {
      cached = parseInterrupts(read());
    } catch {
      // unreadable: names stay as last read
    }
    return cached;
  };
}
