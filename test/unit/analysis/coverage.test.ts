// The analyzer's coverage per section: intervals, the ones marker rows flag, the lowest coverage the run reported,
// and the worst moments, from the rows and markers a run wrote.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { analyze, renderText, toJsonReport } from '../../../analysis/index.js';
import { coverageCounter, reportedRatio } from '../../../analysis/coverage.js';
import { writeFiles } from './fixtures.js';

const header = 'timestamp,pid,comm,cpu,switches,voluntary,involuntary,note';
const row = (ts: string, pid: number): string => `${ts},${pid},bash,0,10,8,2,`;
const marker = (ts: string, note: string): string => `${ts},,,,,,,"${note}"`;
const at = (s: number): string => new Date(Date.parse('2026-11-25T00:00:00.000Z') + s * 1000).toISOString();

test('coverage per section: 20 intervals, 3 flagged, the lowest reported ratio first among the worst', async () => {
  const lines = [header];
  for (let i = 1; i <= 20; i++) lines.push(row(at(2 * i), 1), row(at(2 * i), 2));
  lines.push(
    marker(at(10), 'incomplete: @context_switch_count held 4096 keys, as many as a kernel map can; updates beyond were dropped in the kernel'),
    marker(at(20), 'coverage below 0.99: 0.9312 of the kernel\'s count (context switches) over the last 10 intervals'),
    marker(at(24), 'coverage below 0.99: 0.85 of the kernel\'s count (context switches) over the last 10 intervals'),
    marker(at(30), 'coverage back at 0.995 of the kernel\'s count (context switches)'),
  );
  const dir = await writeFiles({ 'context_switch_20261125T000000Z.csv': lines.join('\n') + '\n' }, 'coverage');
  const report = await analyze({ dir });
  const s = report.sections.find((x) => x.monitor === 'context_switch');
  assert.ok(s);
  assert.equal(s.rows, 40);
  assert.deepEqual(
    { ...s.coverage, worst: s.coverage.worst.map((w) => [w.timestamp, w.ratio]) },
    {
      intervals: 20,
      flagged: 3,
      complete_ratio: 0.85,
      lowest_reported: 0.85,
      worst: [
        [at(24), 0.85],
        [at(20), 0.9312],
        [at(10), null],
      ],
    },
  );
  assert.deepEqual(toJsonReport(report).sections['context_switch']?.coverage, s.coverage);
  const text = renderText(report);
  assert.match(text, /coverage: 20 intervals, 3 flagged \(85\.00 % complete\), lowest reported 0\.85/);
  assert.match(text, /worst: 2026-11-25 00:00:24 coverage below 0\.99: 0\.85 /);
});

test('a clean section: its intervals, nothing flagged, complete; an event monitor has no intervals', () => {
  const agg = coverageCounter(true);
  for (const ts of ['a', 'a', 'b', 'c']) agg.row(ts);
  assert.deepEqual(agg.finish(), { intervals: 3, flagged: 0, complete_ratio: 1, lowest_reported: null, worst: [] });
  const ev = coverageCounter(false);
  ev.row('a');
  ev.marker('a', '3 events lost on CPU 1 before this point (bpftrace\'s event buffer overflowed)');
  assert.deepEqual(ev.finish(), { intervals: null, flagged: 1, complete_ratio: null, lowest_reported: null, worst: [{ timestamp: 'a', ratio: null, note: '3 events lost on CPU 1 before this point (bpftrace\'s event buffer overflowed)' }] });
  assert.equal(reportedRatio('coverage below 0.8: 0.7712 of the kernel\'s count (block requests) over the last 10 intervals'), 0.7712);
  assert.equal(reportedRatio('coverage back at 0.99 of intervals known complete'), null);
});
