// config/deploy/grafana-dashboard.json: every query names metrics the exporter really serves, with labels those
// metrics carry; ratios are drawn on an axis of their own; the panels the issues asked for are there.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { createPrometheusSink } from '../../src/sinks/prometheus.js';
import { monitors } from '../../src/monitors/registry.js';
import { newStats } from '../../src/records/stats.js';
import { repoRoot } from '../helpers/paths.js';

interface Target {
  refId: string;
  expr: string;
}
interface Override {
  matcher: { id: string; options: string };
  properties: { id: string; value: unknown }[];
}
interface Panel {
  title: string;
  description?: string;
  targets?: Target[];
  fieldConfig?: { defaults: { unit?: string }; overrides: Override[] };
}
interface Dashboard {
  panels: Panel[];
  templating: { list: { name: string; query: unknown }[] };
}

const dashboard = JSON.parse(readFileSync(path.join(repoRoot, 'config/deploy/grafana-dashboard.json'), 'utf8')) as Dashboard;
/** Labels every series has once scraped, and the histogram bucket's. */
const scrapeLabels = ['instance', 'job'];

/** Metric name -> its label names, from what a scrape serves and from every monitor's declared specs. */
async function servedLabels(): Promise<Map<string, Set<string>>> {
  const sink = await createPrometheusSink({
    listen: '127.0.0.1:0',
    path: '/metrics',
    maxCommSeries: 10,
    metrics: new Map(monitors.map((m) => [m.name, m.metrics ?? []])),
    health: () => [
      {
        monitor: 'syscall',
        stats: { ...newStats(), state: 'running', bpftracePid: process.pid, coverage: { ratio: 1, basis: 'kernel', low: false } },
        bpf: { programs: 1, runTimeNs: 1, runCount: 1, recursionMisses: 0 },
        process: 'main',
      },
    ],
    usage: () => Promise.resolve({ cpuSeconds: 1, rssBytes: 1 }),
  });
  const out = new Map<string, Set<string>>();
  const add = (name: string, labels: Iterable<string>): void => {
    const set = out.get(name) ?? new Set<string>(scrapeLabels);
    for (const l of labels) set.add(l);
    out.set(name, set);
  };
  try {
    const text = await sink.scrape();
    for (const m of text.matchAll(/^# TYPE (\S+) (\S+)$/gm)) {
      if (m[2] === 'histogram') for (const s of ['_bucket', '_sum', '_count']) add(m[1]! + s, s === '_bucket' ? ['le'] : []);
      else add(m[1]!, []);
    }
    for (const m of text.matchAll(/^([a-z_]+)\{([^}]*)\}/gm)) add(m[1]!, [...m[2]!.matchAll(/([a-z_]+)="/g)].map((x) => x[1]!));
  } finally {
    await sink.close();
  }
  for (const spec of monitors.flatMap((m) => m.metrics ?? [])) {
    const names = [...Object.keys(spec.labels), ...Object.keys(spec.fixed ?? {})];
    if (spec.histogram) for (const s of ['_bucket', '_sum', '_count']) add(spec.name + s, s === '_bucket' ? [...names, 'le'] : names);
    else add(spec.name, names);
  }
  return out;
}

const queries = (): { panel: string; expr: string }[] => [
  ...dashboard.panels.flatMap((p) => (p.targets ?? []).map((t) => ({ panel: p.title, expr: t.expr }))),
  ...dashboard.templating.list.flatMap((v) => (typeof v.query === 'string' && v.query.includes('ebpfmon_') ? [{ panel: `variable ${v.name}`, expr: v.query }] : [])),
];

test('every query of the Grafana dashboard names metrics the exporter serves, and only labels they carry', async () => {
  const served = await servedLabels();
  const exprs = queries();
  assert.ok(exprs.length >= 20, `${exprs.length} queries`);
  for (const { panel, expr } of exprs) {
    const names = [...expr.matchAll(/\bebpfmon_[a-z_]+/g)].map((m) => m[0]);
    assert.ok(names.length, `${panel}: a query without an ebpfmon metric: ${expr}`);
    for (const n of names) assert.ok(served.has(n), `${panel}: ${n} is not served by the exporter`);
    // A selector's matchers: labels of its own metric.
    for (const m of expr.matchAll(/\b(ebpfmon_[a-z_]+)\{([^}]*)\}/g)) {
      for (const l of [...m[2]!.matchAll(/([a-z_]+)\s*(?:=~|!~|!=|=)/g)].map((x) => x[1]!)) {
        assert.ok(served.get(m[1]!)?.has(l), `${panel}: ${m[1]!} has no label "${l}": ${expr}`);
      }
    }
    // by (...), on (...), label_values(..., l): a label of some metric of the query (sum by (monitor) over a metric
    // without it would draw one line of everything).
    const grouped = [...expr.matchAll(/\b(?:by|on|without|ignoring)\s*\(([^)]*)\)/g)].flatMap((m) => m[1]!.split(',').map((s) => s.trim()).filter(Boolean));
    const lv = /label_values\([^,]+,\s*([a-z_]+)\)/.exec(expr);
    for (const l of [...grouped, ...(lv ? [lv[1]!] : [])]) {
      assert.ok(names.some((n) => served.get(n)?.has(l)), `${panel}: no metric of the query has label "${l}": ${expr}`);
    }
  }
});

test('the dashboard: ratios on an axis of their own, per-process bpftrace lines, self_stats said, variables for instance, comm and monitor', () => {
  for (const p of dashboard.panels) {
    const unitOf = (t: Target): string | undefined =>
      (p.fieldConfig?.overrides ?? []).find((o) => o.matcher.id === 'byFrameRefID' && o.matcher.options === t.refId)?.properties.find((x) => x.id === 'unit')?.value as string | undefined ??
      p.fieldConfig?.defaults.unit;
    const placement = (t: Target): unknown =>
      (p.fieldConfig?.overrides ?? []).find((o) => o.matcher.id === 'byFrameRefID' && o.matcher.options === t.refId)?.properties.find((x) => x.id === 'custom.axisPlacement')?.value ?? 'auto';
    const targets = p.targets ?? [];
    // A ratio of two rates (x / y of the same thing) is 0-1: percentunit, never on an axis of events per second.
    const ratio = (t: Target): boolean => / \/ /.test(t.expr) && !/_sum\b/.test(t.expr);
    for (const t of targets) if (ratio(t)) assert.equal(unitOf(t), 'percentunit', `${p.title}: ${t.expr}`);
    const ratios = targets.filter(ratio);
    const counts = targets.filter((t) => !ratio(t));
    if (ratios.length && counts.length) {
      for (const c of counts) assert.notEqual(unitOf(c), 'percentunit', `${p.title}: counts on the ratio's axis`);
      assert.ok(ratios.every((r) => counts.every((c) => placement(r) !== placement(c))), `${p.title}: the ratio needs an axis of its own`);
    }
  }
  const byTitle = (re: RegExp): Panel => {
    const p = dashboard.panels.find((x) => re.test(x.title));
    assert.ok(p, String(re));
    return p;
  };
  const bpf = byTitle(/BPF cost/);
  assert.match(`${bpf.title} ${bpf.description ?? ''}`, /self_stats/);
  for (const re of [/BPF cost/, /bpftrace CPU/, /bpftrace memory/]) {
    for (const t of byTitle(re).targets ?? []) assert.match(t.expr, /by \(process\)/, `${re}: one line per bpftrace process`);
  }
  const vars = dashboard.templating.list.map((v) => v.name);
  for (const v of ['instance', 'comm', 'monitor']) assert.ok(vars.includes(v), `variable ${v}`);
  // Every per-command query follows $comm, every per-monitor one $monitor.
  for (const { panel, expr } of queries()) {
    if (/by \(comm\)/.test(expr)) assert.match(expr, /comm=~"\$comm"/, panel);
    if (/by \((?:[a-z_]+, )*monitor\b/.test(expr)) assert.match(expr, /monitor=~"\$monitor"/, panel);
  }
  // The rows the issue asks for are there.
  const titles = dashboard.panels.map((p) => p.title).join('\n');
  for (const want of [/Busiest commands/, /Busiest syscalls/, /error rate/, /latency \(heatmap\)/, /Page faults/, /Context switches/, /Coverage/, /Lost events/, /BPF cost/, /memory/, /Restarts/]) {
    assert.match(titles, want);
  }
});
