// The json view: the same numbers as the text report, as a stable document. Shape "ebpfmon-analyze/1":
// sections are keyed by monitor, totals by metric key, tables by id (each a list of row objects).
import type { Report, Section, Value } from '../model.js';

export interface JsonSection {
  title: string;
  range: Section['range'];
  rows: number;
  markers: Section['markers'];
  coverage: Section['coverage'];
  totals: Record<string, Value>;
  tables: Record<string, { title: string; approximate: boolean; rows: Record<string, Value>[] }>;
  series: Section['series'];
}

export interface JsonReport extends Omit<Report, 'sections'> {
  sections: Record<string, JsonSection>;
}

export function toJsonReport(r: Report): JsonReport {
  const sections: Record<string, JsonSection> = {};
  for (const s of r.sections) {
    sections[s.monitor] = {
      title: s.title,
      range: s.range,
      rows: s.rows,
      markers: s.markers,
      coverage: s.coverage,
      totals: Object.fromEntries(s.totals.map((m) => [m.key, m.value])),
      tables: Object.fromEntries(s.tables.map((t) => [t.id, { title: t.title, approximate: t.approximate ?? false, rows: t.rows }])),
      series: s.series,
    };
  }
  return { ...r, sections };
}

// JSON.stringify escapes C0 controls but leaves DEL, C1 controls and bidi overrides raw, which a terminal showing
// the document may act on. They can only stand inside strings, so \uXXXX there is the same document, byte-exact data.
const rawInJson = /[\u007f-\u009f\u202a-\u202e\u2066-\u2069]/g;

export const renderJson = (r: Report): string =>
  JSON.stringify(toJsonReport(r), null, 2).replace(rawInJson, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`) + '\n';
