// The html view: one self-contained file (inline CSS and SVG, no script, nothing fetched) with, per monitor,
// its totals, a rate-over-time chart, a top-N bar chart and the same tables as the text view.
import type { Report, Section, Table } from '../model.js';
import { coverageLines, decimal, duration, formatValue, isNumeric, shortTime } from './format.js';
import { areaChart, barChart, esc } from './svg.js';
import { damageLines, rangeLine } from './text.js';

const colors: Record<string, string> = {
  exec: '#2f6fb3',
  syscall: '#7a4fb5',
  open: '#2e8b57',
  bio: '#c0632b',
  func: '#8a6d1f',
  interrupt: '#b53a5a',
  page_fault: '#1f8a8a',
  context_switch: '#5a6b7d',
};

const style = `
*{box-sizing:border-box}
body{margin:0;font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"DejaVu Sans",sans-serif;color:#1d2330;background:#f3f5f8}
header{background:#1d2330;color:#f3f5f8;padding:18px 28px}
header h1{margin:0 0 4px;font-size:20px;font-weight:600}
header p{margin:2px 0;color:#c3cad6}
nav{margin-top:8px}nav a{color:#9cc3ff;margin-right:14px;text-decoration:none}
main{padding:18px 28px;max-width:1240px;margin:0 auto}
section.monitor{background:#fff;border:1px solid #dde2ea;border-radius:8px;padding:16px 20px;margin:0 0 18px}
section h2{margin:0;font-size:17px;display:flex;align-items:center;gap:8px}
section h2 .dot{width:10px;height:10px;border-radius:50%;display:inline-block}
.range{color:#5b6577;margin:2px 0 10px;font-size:13px}
.totals{display:flex;flex-wrap:wrap;gap:8px;margin:0 0 12px}
.tile{border:1px solid #e3e7ee;border-radius:6px;padding:6px 10px;min-width:110px;background:#fafbfc}
.tile .v{display:block;font-size:16px;font-weight:600;font-variant-numeric:tabular-nums}
.tile .k{display:block;color:#5b6577;font-size:12px}
.charts{display:flex;flex-wrap:wrap;gap:14px;margin-bottom:6px}
figure{margin:0;flex:1 1 520px;max-width:580px}
figcaption{font-size:12.5px;color:#5b6577;margin-bottom:2px}
svg.chart{display:block;max-width:100%;height:auto}
svg .grid{stroke:#e6e9ef;stroke-width:1}svg .base{stroke:#9aa3b2;stroke-width:1}
svg text{font:11px system-ui,"DejaVu Sans",sans-serif;fill:#4a5366}svg .value{fill:#1d2330}
.tables{display:grid;grid-template-columns:repeat(auto-fit,minmax(min(520px,100%),1fr));gap:10px 22px;align-items:start}
.tw{min-width:0;overflow-x:auto}.tw.wide{grid-column:1/-1}
table{border-collapse:collapse;width:100%;font-size:12.5px;font-variant-numeric:tabular-nums}
caption{text-align:left;font-weight:600;padding:8px 0 4px}
th,td{padding:3px 8px;border-bottom:1px solid #eef0f4;text-align:left;white-space:nowrap}
td.p{white-space:normal;word-break:break-all;min-width:12em}
th{color:#5b6577;font-weight:500;border-bottom:1px solid #cfd5df}
td.n,th.n{text-align:right}
.note{color:#8a5a00;font-size:12.5px}
section.damage{background:#fff8e6;border:1px solid #f0dca8;border-radius:8px;padding:10px 20px;margin-bottom:18px}
section.damage pre{margin:4px 0;white-space:pre-wrap;font-size:12.5px}
footer{color:#8a93a3;font-size:12px;padding:0 28px 24px}
`;

function table(t: Table): string {
  const head = t.columns.map((c) => `<th${isNumeric(c.kind) ? ' class="n"' : ''}>${esc(c.label)}</th>`).join('');
  const body = t.rows
    .map((r) => `<tr>${t.columns.map((c) => {
      const v = formatValue(r[c.key] ?? null, c.kind);
      return `<td${isNumeric(c.kind) ? ' class="n"' : c.kind === 'path' ? ' class="p"' : ''}>${esc(v)}</td>`;
    }).join('')}</tr>`)
    .join('');
  const note = t.approximate ? ' <span class="note">(approximate)</span>' : '';
  return `<div class="tw${t.columns.length >= 7 ? ' wide' : ''}"><table><caption>${esc(t.title)}${note}</caption><thead><tr>${head}</tr></thead><tbody>${body || `<tr><td colspan="${t.columns.length}">(none)</td></tr>`}</tbody></table></div>`;
}

function section(s: Section): string {
  const color = colors[s.monitor] ?? '#2f6fb3';
  const tiles = s.totals.map((m) => `<div class="tile"><span class="v">${esc(formatValue(m.value, m.kind))}</span><span class="k">${esc(m.label)}</span></div>`).join('');
  const charts: string[] = [];
  if (s.series) {
    charts.push(`<figure><figcaption>${esc(`${s.series.label}: ${s.series.unit}, ${duration(s.series.bucket_seconds)} buckets`)}</figcaption>${areaChart(s.series, color)}</figure>`);
  }
  const barTable = s.bars ? s.tables.find((t) => t.id === s.bars?.table) : undefined;
  if (s.bars && barTable && barTable.rows.length) {
    charts.push(`<figure><figcaption>${esc(`${barTable.title}: ${s.bars.value}`)}</figcaption>${barChart(barTable, s.bars.value, color, s.bars.label)}</figure>`);
  }
  const gaps = s.markers.total
    ? `<p class="note">${s.markers.total} gap marker(s): ${s.markers.first.slice(0, 2).map((m) => esc(`${shortTime(m.timestamp)} ${m.note}`)).join('; ')}${s.markers.total > 2 ? ' …' : ''}</p>`
    : '';
  const coverage = `<p class="note">${coverageLines(s.coverage).map(esc).join('<br>')}</p>`;
  return `<section class="monitor" id="m-${esc(s.monitor)}" data-monitor="${esc(s.monitor)}">
<h2><span class="dot" style="background:${color}"></span>${esc(s.title)}</h2>
<p class="range">${esc(rangeLine(s))}</p>
<div class="totals">${tiles}</div>${gaps}${coverage}
<div class="charts">${charts.join('')}</div>
<div class="tables">${s.tables.map(table).join('')}</div>
</section>`;
}

export function renderHtml(r: Report): string {
  const win = r.window.since || r.window.until ? `${shortTime(r.window.since)} .. ${shortTime(r.window.until)} UTC` : 'everything';
  const nav = r.sections.map((s) => `<a href="#m-${esc(s.monitor)}">${esc(s.monitor)}</a>`).join('');
  const damage = damageLines(r);
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>ebpfmon report: ${esc(r.directory)}</title>
<style>${style}</style>
</head>
<body>
<header>
<h1>ebpfmon analyze</h1>
<p>${esc(r.directory)}</p>
<p>window: ${esc(win)} · ${r.files.length} files${r.skipped_files ? ` (${r.skipped_files} skipped)` : ''} · ${esc(decimal(r.rows))} rows · ${esc(decimal(r.damaged_rows))} skipped rows</p>
<nav>${nav}</nav>
</header>
<main>
${r.sections.length ? r.sections.map(section).join('\n') : '<p>No data rows in the window.</p>'}
${damage.length ? `<section class="damage"><h2>Skipped data</h2><pre>${esc(damage.join('\n'))}</pre></section>` : ''}
</main>
<footer>Generated by ebpfmon analyze. Times are UTC. Rates are per second: a total over the time its rows cover (a partial first or last bucket over the part it covers); aggregate rows are stamped at the end of their interval.</footer>
</body>
</html>
`;
}
