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

export const renderJson = (r: Report): string => JSON.stringify(toJsonReport(r), null, 2) + '\n';
