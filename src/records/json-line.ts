// One line of `bpftrace -f json` -> a typed record, or the reason it is not one. Never throws.
import type { PrintfDecl } from '../bt/ir.js';
/** A keyed map's entries, in the order printed: keys[i] holds values[i]. */
export interface MapEntries {
  readonly keys: readonly string[];
  readonly values: readonly number[];
}
export type MapValue = number | MapEntries;

export type BpftraceRecord =
  | { type: 'blank' }
  | { type: 'map'; name: string; value: MapValue }
  | { type: 'printf'; text: string }
  | { type: 'attached_probes'; probes: number }
  | { type: 'lost_events'; events: number }
  /** A BPF helper failed (bpftrace 0.23+): `map_update_elem` with -E2BIG is an update a full map dropped. */
  | { type: 'helper_error'; helper: string; retcode: number; line: number | null }
  /** Valid JSON of a type we do not use (hist, stats, time, ...). */
  | { type: 'other'; kind: string };

export type LineResult = { ok: true; record: BpftraceRecord } | { ok: false; reason: string };

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** The map's values, checked: a number (keyless map) or numbers by key. */
function mapValue(v: unknown): MapValue | null {
  if (typeof v === 'number') return v;
  if (typeof v === 'string' && /^-?\d+$/.test(v)) return Number(v);
  if (!isObject(v)) return null;
  const keys: string[] = [];
  const values: number[] = [];
  for (const k in v) {
    const n = v[k];
    // bpftrace 0.24+ prints an integer a double cannot hold as a string.
    const num = typeof n === 'number' ? n : typeof n === 'string' && /^-?\d+$/.test(n) ? Number(n) : null;
    if (num === null) return null;
    keys.push(k);
    values.push(num);
  }
  return { keys, values };
}

/** How bpftrace 0.17 begins every map record; the map's name follows. */
const mapPrefix = '{"type": "map", "data": {"';
const quote = 34;
const backslash = 92;

/** The end of a JSON number starting at `i` (integers, as bpftrace prints count/sum/min/max), or -1. */
function numberEnd(s: string, i: number): number {
  let j = i;
  if (s.charCodeAt(j) === 45) j++;
  const digits = j;
  for (let c = s.charCodeAt(j); c >= 48 && c <= 57; c = s.charCodeAt(++j));
  return j > digits ? j : -1;
}

/** The index of the quote closing the JSON string whose opening quote is at `open`, or -1. */
function stringEnd(s: string, open: number): number {
  let q = s.indexOf('"', open + 1);
  while (q > 0) {
    let b = q - 1;
    while (s.charCodeAt(b) === backslash) b--;
    // An even run of backslashes before it escapes only themselves: the quote closes the string.
    if ((q - 1 - b) % 2 === 0) return q;
    q = s.indexOf('"', q + 1);
  }
  return -1;
}

/**
 * A map record read straight from bpftrace 0.17's layout, without JSON.parse: a map of thousands of keys parsed
 * into an object interns every key as a property name, which was the largest part of the supervisor's CPU on a
 * busy host (replay bench). A key is decoded as JSON.parse would (only when it holds an escape). Null when the line
 * is not exactly that layout: the full parse decides then.
 */
function scanMap(s: string): { name: string; value: MapValue } | null {
  const nameEnd = s.indexOf('"', mapPrefix.length);
  if (nameEnd < 0) return null;
  const name = s.slice(mapPrefix.length, nameEnd);
  if (name.includes('\\') || !s.startsWith('": ', nameEnd)) return null;
  let i = nameEnd + 3;
  if (s.charCodeAt(i) !== 123) {
    const end = numberEnd(s, i);
    return end > 0 && end === s.length - 2 && s.endsWith('}}') ? { name, value: Number(s.slice(i, end)) } : null;
  }
  i++;
  const keys: string[] = [];
  const values: number[] = [];
  if (s.startsWith('}}}', i)) return i + 3 === s.length ? { name, value: { keys, values } } : null;
  for (;;) {
    if (s.charCodeAt(i) !== quote) return null;
    const close = stringEnd(s, i);
    if (close < 0 || !s.startsWith(': ', close + 1)) return null;
    const raw = s.slice(i + 1, close);
    let key = raw;
    if (raw.includes('\\')) {
      try {
        key = JSON.parse(s.slice(i, close + 1)) as string;
      } catch {
        return null;
      }
    }
    const from = close + 3;
    const end = numberEnd(s, from);
    if (end < 0) return null;
    keys.push(key);
    values.push(Number(s.slice(from, end)));
    if (s.startsWith(', ', end)) i = end + 2;
    else return s.startsWith('}}}', end) && end + 3 === s.length ? { name, value: { keys, values } } : null;
  }
}

/** How bpftrace 0.17 begins every printf record; its data string runs from there to the closing brace. */
const printfPrefix = '{"type": "printf", "data": ';

export function parseLine(line: string): LineResult {
  const trimmed = line.trim();
  if (trimmed === '') return { ok: true, record: { type: 'blank' } };
  // Event monitors print one printf record per event: decode only its data string, not the whole object.
  // JSON.parse on the cut is the same decoding, and anything else there (another key, a bad escape) throws
  // and falls through to the full parse below.
  if (trimmed.startsWith(printfPrefix) && trimmed.endsWith('"}')) {
    try {
      const text: unknown = JSON.parse(trimmed.slice(printfPrefix.length, -1));
      if (typeof text === 'string') return { ok: true, record: { type: 'printf', text } };
    } catch {
      // not the plain shape: the full parse decides
    }
  }
  if (trimmed.startsWith(mapPrefix)) {
    const map = scanMap(trimmed);
    if (map) return { ok: true, record: { type: 'map', ...map } };
  }
  let json: unknown;
  try {
    json = JSON.parse(trimmed);
  } catch {
    return { ok: false, reason: `not JSON: ${trimmed.slice(0, 80)}` };
  }
  if (!isObject(json) || typeof json['type'] !== 'string') return { ok: false, reason: 'JSON without a "type"' };
  const data = json['data'];
  switch (json['type']) {
    case 'map': {
      if (!isObject(data)) return { ok: false, reason: 'map record without an object "data"' };
      const entries = Object.entries(data);
      if (entries.length !== 1 || !entries[0]) return { ok: false, reason: 'map record with other than one map' };
      const [name, raw] = entries[0];
      const value = mapValue(raw);
      if (value === null) return { ok: false, reason: `map ${name}: values are not numbers` };
      return { ok: true, record: { type: 'map', name, value } };
    }
    case 'printf':
      if (typeof data !== 'string') return { ok: false, reason: 'printf record without a string "data"' };
      return { ok: true, record: { type: 'printf', text: data } };
    case 'attached_probes': {
      const probes = isObject(data) ? data['probes'] : undefined;
      return typeof probes === 'number'
        ? { ok: true, record: { type: 'attached_probes', probes } }
        : { ok: false, reason: 'attached_probes without a count' };
    }
    case 'lost_events': {
      const events = isObject(data) ? data['events'] : undefined;
      return typeof events === 'number'
        ? { ok: true, record: { type: 'lost_events', events } }
        : { ok: false, reason: 'lost_events without a count' };
    }
    case 'helper_error': {
      const retcode = json['retcode'];
      const line = json['line'];
      return typeof retcode === 'number'
        ? { ok: true, record: { type: 'helper_error', helper: String(json['helper'] ?? ''), retcode, line: typeof line === 'number' ? line : null } }
        : { ok: false, reason: 'helper_error without a retcode' };
    }
    default:
      return { ok: true, record: { type: 'other', kind: json['type'] } };
  }
}

/** Split `text` on `sep` into exactly `arity` parts, the last keeping any further separators; null if too few. */
export function splitLimit(text: string, sep: string, arity: number): string[] | null {
  if (arity <= 1) return [text];
  const parts: string[] = [];
  let from = 0;
  for (let i = 0; i < arity - 1; i++) {
    const at = text.indexOf(sep, from);
    if (at < 0) return null;
    parts.push(text.slice(from, at));
    from = at + sep.length;
  }
  parts.push(text.slice(from));
  return parts;
}

/** A map key joined by "," (bpftrace 0.17 JSON) -> its parts; the last (free text) keeps its commas. */
export const splitKey = (key: string, arity: number): string[] | null => splitLimit(key, ',', arity);

/** A printf line's tab-separated fields; the last (free text) keeps its tabs. */
export const splitFields = (text: string, arity: number): string[] | null => splitLimit(text, '\t', arity);

/**
 * The line `bpftrace -f json` prints for one record of `decl` from `owner` (a monitor, or compose's own records):
 * input built from the declaration the script prints it by, field by field, not by position.
 */
export function printfRecord<N extends string>(owner: string, decl: PrintfDecl<N>, values: Readonly<Record<N, string | number | bigint>>): string {
  const data = `${[owner, decl.tag, ...decl.fields.map((f) => String(values[f.name]))].join('\t')}\n`;
  // Spaced as bpftrace prints it.
  return `{"type": "printf", "data": ${JSON.stringify(data)}}`;
}
