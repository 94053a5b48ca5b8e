// The text view: one block per monitor with its time range, totals, a sparkline of the rate and aligned
// tables, all within 80 columns; then what was skipped and why. Names (comm, paths, functions, devices, notes,
// file names, header cells) come from whoever ran on the machine or wrote the files, so everything shown passes
// the console's terminalSafe: a comm of "\x1b]0;PWN\x07\x1b[2J" cannot set the title or clear root's screen, and a
// "\n" in a name cannot forge a report line.
import { terminalSafe } from '../../src/sinks/console.js';
import type { DamageReason, Report, Section, Series, Table } from '../model.js';
import { coverageLines, decimal, duration, fit, formatValue, isNumeric, shortTime } from './format.js';

export const textWidth = 80;
const indent = '  ';
const gap = '  ';
const minTextWidth = 8;

export function renderTable(t: Table, width = textWidth): string[] {
  // Escaped before the widths are taken: an escape is wider than the byte it shows.
  const cells = t.rows.map((r) => t.columns.map((c) => terminalSafe(formatValue(r[c.key] ?? null, c.kind))));
  const labels = t.columns.map((c) => terminalSafe(c.label));
  const widths = t.columns.map((_, i) => Math.max(labels[i]?.length ?? 0, ...cells.map((row) => row[i]?.length ?? 0)));
  const total = (): number => indent.length + widths.reduce((s, w) => s + w, 0) + gap.length * (widths.length - 1);
  // Too wide: shrink the widest text column, again and again, never below minTextWidth.
  while (total() > width) {
    let widest = -1;
    t.columns.forEach((c, i) => {
      if (!isNumeric(c.kind) && (widths[i] ?? 0) > minTextWidth && (widest < 0 || (widths[i] ?? 0) > (widths[widest] ?? 0))) widest = i;
    });
    if (widest < 0) break;
    widths[widest] = Math.max(minTextWidth, (widths[widest] ?? 0) - (total() - width));
  }
  const line = (values: string[], header: boolean): string =>
    indent +
    values
      .map((v, i) => {
        const c = t.columns[i];
        const w = widths[i] ?? 0;
        if (!c) return v;
        const s = fit(v, w, header ? 'text' : c.kind);
        return isNumeric(c.kind) ? s.padStart(w) : s.padEnd(w);
      })
      .join(gap)
      .trimEnd();
  const out = [`${t.title}${t.approximate ? ' (approximate: too many distinct keys, smallest dropped)' : ''}`];
  out.push(line(labels, true));
  out.push(indent + widths.map((w) => '-'.repeat(w)).join(gap));
  for (const row of cells) out.push(line(row, false));
  if (!t.rows.length) out.push(`${indent}(none)`);
  return out;
}

const sparks = '▁▂▃▄▅▆▇█';

/** The rate as one line of block characters, at most `width` wide, with its peak and mean. */
export function sparkline(s: Series, width = 50): string[] {
  const pts = s.points;
  const per = Math.ceil(pts.length / width);
  const vals: number[] = [];
  for (let i = 0; i < pts.length; i += per) {
    const chunk = pts.slice(i, i + per);
    vals.push(chunk.reduce((a, p) => a + p.rate, 0) / chunk.length);
  }
  const hi = Math.max(...vals);
  const line = vals.map((v) => (hi > 0 ? sparks[Math.min(7, Math.floor((v / hi) * 7.999))] : sparks[0])).join('');
  const peak = pts.reduce((a, p) => (p.rate > a.rate ? p : a), pts[0] ?? { t: '', rate: 0, total: 0, seconds: 0 });
  // The section's mean rate: its total over the seconds its buckets cover (a partial bucket counts what it covers).
  const covered = pts.reduce((a, p) => a + p.seconds, 0);
  const mean = covered > 0 ? pts.reduce((a, p) => a + p.total, 0) / covered : 0;
  return [
    `rate (${s.unit}, ${duration(s.bucket_seconds)} buckets)  peak ${decimal(peak.rate)} at ${shortTime(peak.t).slice(5, s.bucket_seconds < 60 ? 19 : 16)}, mean ${decimal(mean)}`,
    `${indent}${line}`,
  ];
}

function wrapPairs(pairs: string[], width = textWidth): string[] {
  const lines: string[] = [];
  let cur = '';
  for (const p of pairs) {
    if (cur && cur.length + 3 + p.length > width) {
      lines.push(cur);
      cur = '';
    }
    cur = cur ? `${cur}   ${p}` : p;
  }
  if (cur) lines.push(cur);
  return lines;
}

export function rangeLine(s: Section): string {
  const r = s.range;
  const extra = [duration(r.covered_seconds), r.interval_seconds !== null ? `interval ${duration(r.interval_seconds)}` : ''].filter(Boolean).join(', ');
  return `${shortTime(r.from)} .. ${shortTime(r.to)} UTC (${extra}), ${decimal(s.rows)} rows`;
}

function renderSection(s: Section): string[] {
  const head = `== ${s.title} `;
  const out = [head + '='.repeat(Math.max(3, textWidth - head.length)), rangeLine(s)];
  out.push(...wrapPairs(s.totals.map((m) => `${m.label}: ${formatValue(m.value, m.kind)}`)));
  if (s.markers.total) {
    const first = s.markers.first[0];
    out.push(fit(`gaps: ${s.markers.total} marker row(s), first at ${shortTime(first?.timestamp ?? null)}: ${terminalSafe(first?.note ?? '')}`, textWidth, 'text'));
  }
  out.push(...coverageLines(s.coverage).map((l) => fit(terminalSafe(l), textWidth, 'text')));
  if (s.series && s.series.points.length > 1) out.push(...sparkline(s.series));
  for (const t of s.tables) out.push('', ...renderTable(t));
  return out;
}

const reasonText: Record<DamageReason, string> = {
  wrong_field_count: 'wrong field count',
  repeated_header: 'repeated header',
  bad_timestamp: 'bad timestamp',
  bad_number: 'unreadable number',
  malformed_quotes: 'malformed quoting',
  line_too_long: 'line over 1 MiB',
  other_monitor: "another monitor's row",
  bad_marker: 'marker row with data',
};

export function damageLines(r: Report): string[] {
  const out: string[] = [];
  const damaged = r.files.filter((f) => Object.keys(f.damaged).length);
  if (r.damaged_rows) {
    out.push(`Skipped rows: ${decimal(r.damaged_rows)} (damaged, not counted above)`);
    for (const f of damaged) {
      const what = Object.entries(f.damaged).map(([k, n]) => `${reasonText[k as DamageReason]} ${n}`).join(', ');
      out.push(`${indent}${f.file}: ${what} (line ${f.first_damaged_lines.join(', ')})`);
    }
  }
  const empty = r.files.filter((f) => f.empty);
  if (empty.length) out.push(`Empty files: ${empty.map((f) => f.file).join(', ')}`);
  for (const f of r.files.filter((x) => x.skipped)) out.push(`Skipped file ${f.file}: ${f.skipped}`);
  if (r.ignored.length) out.push(`Ignored (not a monitor CSV, or a day part of a file present): ${r.ignored.join(', ')}`);
  return out;
}

export function renderText(r: Report): string {
  const win = r.window.since || r.window.until ? `${shortTime(r.window.since)} .. ${shortTime(r.window.until)} UTC` : 'everything';
  const out = [
    `ebpfmon analyze: ${r.directory}`,
    `window: ${win}   files: ${r.files.length}${r.skipped_files ? ` (${r.skipped_files} skipped)` : ''}   rows: ${decimal(r.rows)}   skipped rows: ${decimal(r.damaged_rows)}`,
  ];
  if (!r.sections.length) out.push('', r.files.length ? 'No data rows in the window.' : 'No monitor CSV files found.');
  for (const s of r.sections) out.push('', ...renderSection(s));
  const d = damageLines(r);
  if (d.length) out.push('', ...d);
  // Every line once more (escaping what is already escaped changes nothing): file names, skip reasons quoting a
  // header, the directory.
  return out.map(terminalSafe).join('\n') + '\n';
}
