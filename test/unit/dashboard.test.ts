// config/deploy/grafana-dashboard.json: every query names a metric the exporter really serves.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { createPrometheusSink } from '../../src/sinks/prometheus.js';
import { monitors } from '../../src/monitors/registry.js';
import { newStats } from '../../src/records/stats.js';
import { repoRoot } from '../helpers/paths.js';

interface Panel {
  title: string;
  targets?: { expr: string }[];
}

test('every query of the Grafana dashboard names metrics the exporter serves', async () => {
  const dashboard = JSON.parse(readFileSync(path.join(repoRoot, 'config/deploy/grafana-dashboard.json'), 'utf8')) as { panels: Panel[]; templating: { list: { query: unknown }[] } };
  const sink = await createPrometheusSink({
    listen: '127.0.0.1:0',
    path: '/metrics',
    maxCommSeries: 10,
    metrics: new Map(monitors.map((m) => [m.name, m.metrics ?? []])),
    health: () => [{ monitor: 'syscall', stats: newStats(), bpf: null }],
    usage: () => Promise.resolve(null),
  });
  let served: Set<string>;
  try {
    served = new Set([...(await sink.scrape()).matchAll(/^# TYPE (\S+) (\S+)$/gm)].flatMap((m) => (m[2] === 'histogram' ? [`${m[1]}_bucket`, `${m[1]}_sum`, `${m[1]}_count`] : [m[1]!])));
  } finally {
    await sink.close();
  }
  const exprs = dashboard.panels.flatMap((p) => (p.targets ?? []).map((t) => ({ panel: p.title, expr: t.expr })));
  exprs.push(...dashboard.templating.list.flatMap((v) => (typeof v.query === 'string' && v.query.includes('ebpfmon_') ? [{ panel: 'templating', expr: v.query }] : [])));
  assert.ok(exprs.length >= 20, `${exprs.length} queries`);
  for (const { panel, expr } of exprs) {
    const names = [...expr.matchAll(/\bebpfmon_[a-z_]+/g)].map((m) => m[0]);
    assert.ok(names.length, `${panel}: a query without an ebpfmon metric: ${expr}`);
    for (const n of names) assert.ok(served.has(n), `${panel}: ${n} is not served by the exporter`);
  }
  // The rows the issue asks for are there.
  const titles = dashboard.panels.map((p) => p.title).join('\n');
  for (const want of [/Busiest commands/, /Busiest syscalls/, /error rate/, /latency \(heatmap\)/, /Page faults/, /Context switches/, /Coverage/, /Lost events/, /BPF cost/, /memory/, /Restarts/]) {
    assert.match(titles, want);
  }
});
