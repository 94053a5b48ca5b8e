// Whether a CSV header is one ebpfmon writes for a monitor: its columns come from the monitor modules themselves
// (`columns`, plus the note column every output ends with), so the analyzer cannot drift from the writer.
// Older files lack columns added since (cgroup, latency_buckets): a header may omit any column but the ones
// the analyzer needs. It may not hold another monitor's columns: such a file is not this monitor's data.
import { monitors } from '../src/monitors/registry.js';
import { timestampColumn } from '../src/monitors/types.js';
import { noteColumn } from '../src/sinks/sink.js';

/**
 * The last column of every output file (the writers' own constant): empty on data rows, a message on marker rows.
 * The first, of every file: the monitor contract's (defineMonitor puts it first in every monitor's columns).
 */
export { noteColumn, timestampColumn };

const expected = new Map<string, ReadonlySet<string>>(monitors.map((m) => [m.name, new Set<string>([...m.columns, noteColumn])]));

export type HeaderCheck = { ok: true } | { ok: false; reason: string };

/** Header cells as written: a byte order mark and spaces around names dropped. */
export const cleanHeader = (fields: readonly string[]): string[] => fields.map((c, i) => (i === 0 ? c.replace(/^\uFEFF/, '') : c).trim());

/** The monitor (other than `monitor`) whose columns hold every header column, preferring the closest fit. */
function ownerOf(header: readonly string[], monitor: string): string | null {
  let best: string | null = null;
  let bestExtra = Infinity;
  for (const [name, cols] of expected) {
    if (name === monitor || !header.every((c) => cols.has(c))) continue;
    const extra = cols.size - header.length;
    if (extra < bestExtra) {
      best = name;
      bestExtra = extra;
    }
  }
  return best;
}

/** Checks a header against what ebpfmon writes for `monitor`; `required` are the columns the analyzer reads. */
export function checkHeader(monitor: string, header: readonly string[], required: readonly string[]): HeaderCheck {
  const cols = expected.get(monitor);
  if (!cols) return { ok: false, reason: `no monitor named ${monitor}` };
  if (header[0] !== timestampColumn) {
    return {
      ok: false,
      reason: header.includes(timestampColumn) ? `the header does not start with ${timestampColumn}` : `no header: the first line does not start with "${timestampColumn}"`,
    };
  }
  const seen = new Set<string>();
  for (const c of header) {
    if (seen.has(c)) return { ok: false, reason: `column ${c || '(empty)'} appears twice in the header` };
    seen.add(c);
  }
  const unknown = header.filter((c) => !cols.has(c));
  if (unknown.length) {
    const owner = ownerOf(header, monitor);
    const list = unknown.slice(0, 5).join(', ') + (unknown.length > 5 ? ', ...' : '');
    return {
      ok: false,
      reason: owner
        ? `the header is the ${owner} monitor's, not ${monitor}'s (${list} ${unknown.length === 1 ? 'is not a' : 'are not'} ${monitor} column${unknown.length === 1 ? '' : 's'})`
        : `the header has columns the ${monitor} monitor does not write: ${list}`,
    };
  }
  const missing = required.filter((c) => !seen.has(c));
  if (missing.length) return { ok: false, reason: `no ${missing.join(', ')} column in the header` };
  return { ok: true };
}
