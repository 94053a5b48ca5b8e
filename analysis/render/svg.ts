// Inline SVG charts for the html view: a rate-over-time area chart and a top-N bar chart. No scripts, no fonts to fetch.
import type { Kind, Series, Table } from '../model.js';
import { fit, formatValue } from './format.js';

export const esc = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

/** 1234 -> 1.2k, 5600000 -> 5.6M: short labels for an axis. */
export function compact(n: number): string {
  const a = Math.abs(n);
  for (const [d, u] of [[1e12, 'T'], [1e9, 'G'], [1e6, 'M'], [1e3, 'k']] as const) {
    if (a >= d) return `${+(n / d).toFixed(a / d < 10 ? 1 : 0)}${u}`;
  }
  return `${+n.toFixed(a < 10 ? 2 : a < 100 ? 1 : 0)}`;
}

/** A round upper bound for an axis of four steps, each 1, 2, 2.5 or 5 times a power of ten. */
function niceMax(v: number): number {
  if (!(v > 0)) return 1;
  const step = v / 4;
  const p = 10 ** Math.floor(Math.log10(step));
  for (const m of [1, 2, 2.5, 5, 10]) if (m * p >= step) return 4 * m * p;
  return 40 * p;
}

export function areaChart(s: Series, color: string, width = 560, height = 220): string {
  const [l, r, t, b] = [52, 14, 14, 30];
  const w = width - l - r;
  const h = height - t - b;
  const pts = s.points;
  const t0 = Date.parse(pts[0]?.t ?? '');
  const last = pts[pts.length - 1];
  const t1 = Date.parse(last?.t ?? '') + (last?.seconds ?? s.bucket_seconds) * 1000;
  const hi = niceMax(Math.max(...pts.map((p) => p.rate)));
  const x = (ms: number): number => l + ((ms - t0) / Math.max(1, t1 - t0)) * w;
  const y = (v: number): number => t + h - (v / hi) * h;
  const out: string[] = [
    `<svg class="chart" data-chart="rate" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${width} ${height}" width="${width}" height="${height}" role="img" aria-label="${esc(`${s.label} per second over time`)}">`,
  ];
  for (let i = 0; i <= 4; i++) {
    const v = (hi * i) / 4;
    out.push(`<line x1="${l}" x2="${l + w}" y1="${y(v).toFixed(1)}" y2="${y(v).toFixed(1)}" class="grid"/>`);
    out.push(`<text x="${l - 6}" y="${(y(v) + 4).toFixed(1)}" text-anchor="end" class="axis">${compact(v)}</text>`);
  }
  const spanDays = (t1 - t0) / 86_400_000;
  const label = (ms: number): string => {
    const iso = new Date(ms).toISOString();
    if (spanDays > 1.5) return `${iso.slice(5, 10)} ${iso.slice(11, 16)}`;
    return t1 - t0 < 360_000 ? iso.slice(11, 19) : iso.slice(11, 16);
  };
  // Time ticks at round UTC times: the smallest step giving at most six of them.
  const steps = [1, 2, 5, 10, 15, 30, 60, 300, 900, 1800, 3600, 7200, 10800, 21600, 43200, 86400, 172800, 604800].map((x) => x * 1000);
  const step = steps.find((st) => (t1 - t0) / st <= 6) ?? 2_592_000_000;
  for (let ms = Math.ceil(t0 / step) * step; ms <= t1; ms += step) {
    const px = x(ms);
    if (px > l + w - 20) break;
    out.push(`<line x1="${px.toFixed(1)}" x2="${px.toFixed(1)}" y1="${t + h}" y2="${t + h + 4}" class="base"/>`);
    out.push(`<text x="${px.toFixed(1)}" y="${height - 10}" text-anchor="${px < l + 30 ? 'start' : 'middle'}" class="axis">${label(ms)}</text>`);
  }
  // Each bucket is drawn as a step across its width, so a single bucket is still visible.
  const line: string[] = [];
  pts.forEach((p, i) => {
    const a = Date.parse(p.t);
    line.push(`${i ? 'L' : 'M'}${x(a).toFixed(1)},${y(p.rate).toFixed(1)}`, `L${x(a + p.seconds * 1000).toFixed(1)},${y(p.rate).toFixed(1)}`);
  });
  const path = line.join(' ');
  out.push(`<path d="${path} L${(l + w).toFixed(1)},${t + h} L${l},${t + h} Z" fill="${color}" fill-opacity="0.18" stroke="none"/>`);
  out.push(`<path d="${path}" fill="none" stroke="${color}" stroke-width="1.6" stroke-linejoin="round"/>`);
  out.push(`<line x1="${l}" x2="${l + w}" y1="${t + h}" y2="${t + h}" class="base"/>`);
  out.push('</svg>');
  return out.join('');
}

export function barChart(table: Table, valueKey: string, color: string, labelKey?: string, width = 560): string {
  const labelCol = table.columns.find((c) => (labelKey ? c.key === labelKey : c.kind === 'text' || c.kind === 'path'));
  const valueCol = table.columns.find((c) => c.key === valueKey);
  const kind: Kind = valueCol?.kind ?? 'int';
  const rows = table.rows.slice(0, 12);
  const bar = 22;
  const [l, r, t] = [170, 96, 6];
  const height = t * 2 + rows.length * bar;
  const hi = Math.max(1e-9, ...rows.map((row) => Number(row[valueKey] ?? 0)));
  const out: string[] = [
    `<svg class="chart" data-chart="bars" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${width} ${height}" width="${width}" height="${height}" role="img" aria-label="${esc(table.title)}">`,
  ];
  rows.forEach((row, i) => {
    const v = Number(row[valueKey] ?? 0);
    const full = String(labelCol ? row[labelCol.key] ?? '' : '');
    const y = t + i * bar;
    const bw = Math.max(1, (v / hi) * (width - l - r));
    out.push(`<text x="${l - 8}" y="${y + 15}" text-anchor="end" class="label"><title>${esc(full)}</title>${esc(fit(full, 24, labelCol?.kind ?? 'text'))}</text>`);
    out.push(`<rect x="${l}" y="${y + 3}" width="${bw.toFixed(1)}" height="${bar - 6}" rx="2" fill="${color}"/>`);
    out.push(`<text x="${(l + bw + 6).toFixed(1)}" y="${y + 15}" class="value">${esc(formatValue(v, kind))}</text>`);
  });
  out.push('</svg>');
  return out.join('');
}
