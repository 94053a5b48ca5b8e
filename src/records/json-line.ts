// One line of `bpftrace -f json` -> a typed record, or the reason it is not one. Never throws.

export type MapValue = number | Record<string, number>;

export type BpftraceRecord =
  | { type: 'blank' }
  | { type: 'map'; name: string; value: MapValue }
  | { type: 'printf'; text: string }
  | { type: 'attached_probes'; probes: number }
  | { type: 'lost_events'; events: number }
  /** Valid JSON of a type we do not use (hist, stats, time, ...). */
  | { type: 'other'; kind: string };

export type LineResult = { ok: true; record: BpftraceRecord } | { ok: false; reason: string };

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** The map's values, checked in place: a map record can hold thousands of entries, and a copy is garbage. */
function mapValue(v: unknown): MapValue | null {
  if (typeof v === 'number') return v;
  if (!isObject(v)) return null;
  for (const k in v) if (typeof v[k] !== 'number') return null;
  return v as Record<string, number>;
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
