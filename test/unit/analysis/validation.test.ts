// What the analyzer trusts: timestamps exactly as ebpfmon writes them, and headers that are the monitor's own.
// A damaged timestamp is a damaged row (it can no longer wipe out a section's time range), and a file or a part
// of a file holding another monitor's rows is not counted as this monitor's.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { analyze, renderText, toJsonReport, type CsvParser } from '../../../analysis/index.js';
import { timestampChecker } from '../../../analysis/timestamp.js';
import { checkHeader } from '../../../analysis/header.js';
import { runAnalyze } from '../../../src/cli/commands/analyze.js';
import { monitors } from '../../../src/monitors/registry.js';
import { writeFiles } from './fixtures.js';

const now = new Date('2026-11-29T19:00:00.000Z');

test('timestamps: only YYYY-MM-DDTHH:MM:SS.mmmZ of a real, plausible instant', () => {
  const ok = timestampChecker(now);
  for (const good of ['2026-11-29T18:26:42.892Z', '2026-11-30T18:00:00.000Z', '2024-02-29T23:59:59.999Z', '2015-01-01T00:00:00.000Z']) assert.equal(ok(good), true, good);
  for (const bad of [
    'openst2026-11-29T18:26:42.892Z', // the tail of a cut row fused with the next one
    '2026-11-29T18:26:4openst2026-11-29T18:26:42.892Z',
    '2026-11-29T18:26:4', // cut
    '2026-11-29T18:26:42.8',
    '2026-11-29T18:26:42.892', // no zone
    '2026-11-29T18:26:42.892+01:00',
    '2026-11-29 18:26:42.892Z',
    '2026-11-29T18:26:42Z',
    '2026-02-30T00:00:00.000Z', // Date.parse takes it as 2 March
    '2025-02-29T00:00:00.000Z',
    '2026-11-29T24:00:00.000Z',
    '2026-11-29T18:60:00.000Z',
    '2026-11-29T18:26:60.000Z',
    '2026-13-01T00:00:00.000Z',
    '1970-01-01T00:00:00.000Z', // a clock that was not set
    '2026-12-01T00:00:00.000Z', // two days after "now"
    '9026-11-29T18:26:42.892Z',
    '２026-11-29T18:26:42.892Z',
    '',
  ]) {
    assert.equal(ok(bad), false, bad);
  }
  // The per-day cache does not let a bad day through after a good one, or the reverse.
  assert.equal(ok('2026-11-28T00:00:00.000Z'), true);
  assert.equal(ok('2026-02-30T00:00:00.000Z'), false);
  assert.equal(ok('2026-11-28T00:00:01.000Z'), true);
});

const header = 'timestamp,pid,comm,syscall_nr,syscall,category,count,error_count,error_rate,avg_latency_us,max_latency_us,cgroup,note';
const row = (ts: string, count: number): string => `${ts},1,app,0,read,io,${count},0,0,,,,`;

for (const parser of ['fast', 'csv-parse'] as const satisfies readonly CsvParser[]) {
  test(`a damaged timestamp is a damaged row and cannot wipe out the time range (${parser} parser)`, async () => {
    const dir = await writeFiles(
      {
        'syscall_20261125T000000Z.csv': [
          header,
          row('2026-11-25T00:00:02.000Z', 10),
          // A short write: the rest of the row went missing and the next row was appended to what was left.
          row('2026-11-25T00:00:4openst2026-11-25T00:00:06.000Z', 1000),
          row('openst2026-11-25T00:00:06.000Z', 1000),
          row('2026-11-25T00:00:06.0', 1000),
          row('2026-02-30T00:00:00.000Z', 1000),
          row('2026-11-25T24:00:00.000Z', 1000),
          row('9026-11-25T00:00:00.000Z', 1000),
          row('1970-01-01T00:00:00.000Z', 1000),
          row('2026-11-25T00:00:04.000Z', 20),
        ].join('\n') + '\n',
      },
      'timestamps',
    );
    const r = await analyze({ dir, parser, now });
    const s = toJsonReport(r).sections['syscall'];
    assert.deepEqual(s?.range, { from: '2026-11-25T00:00:02.000Z', to: '2026-11-25T00:00:04.000Z', span_seconds: 2, interval_seconds: 2, covered_seconds: 4 });
    assert.equal(s?.totals['calls'], 30, 'only the two good rows');
    assert.deepEqual(r.files[0]?.damaged, { bad_timestamp: 7 });
    assert.equal(r.damaged_rows, 7);
    assert.doesNotMatch(renderText(r), /- \.\. -/);
  });

  test(`a file whose header is another monitor's is skipped, warned about and counted (${parser} parser)`, async () => {
    const syscallRows = [header, row('2026-11-25T00:00:02.000Z', 10), row('2026-11-25T00:00:04.000Z', 20)].join('\n') + '\n';
    const dir = await writeFiles(
      {
        // exec needs no column but timestamp: without the header check these two rows became two executions.
        'exec_20261125T000000Z.csv': syscallRows,
        'syscall_20261125T000000Z.csv': syscallRows,
        // A header no monitor writes.
        'open_20261125T000000Z.csv': 'timestamp,pid,comm,filename,count,bytes,note\n2026-11-25T00:00:02.000Z,1,a,/x,1,5,\n',
        // A data row where the header should be.
        'func_20261125T000000Z.csv': '2026-11-25T00:00:02.000Z,1,a,vfs_read,1,,\n',
      },
      'foreign',
    );
    const r = await analyze({ dir, parser, now });
    const j = toJsonReport(r);
    assert.deepEqual(Object.keys(j.sections), ['syscall']);
    assert.equal(j.sections['syscall']?.totals['calls'], 30);
    assert.equal(r.skipped_files, 3);
    const skipped = Object.fromEntries(r.files.map((f) => [f.monitor, f.skipped]));
    assert.equal(skipped['exec'], "the header is the syscall monitor's, not exec's (syscall_nr, syscall, category, count, error_count, ... are not exec columns)");
    assert.equal(skipped['open'], 'the header has columns the open monitor does not write: bytes');
    assert.equal(skipped['func'], 'no header: the first line does not start with "timestamp"');
    assert.equal(skipped['syscall'], null);
    const text = renderText(r);
    assert.match(text, /files: 4 \(3 skipped\)/);
    assert.match(text, /Skipped file exec_20261125T000000Z\.csv: the header is the syscall monitor's/);
  });
}

test("rows after another monitor's header in the middle of a file are damage, until this monitor's header returns", async () => {
  const exec = 'timestamp,uid,pid,ppid,comm,filename,cgroup,note';
  const dir = await writeFiles(
    {
      'exec_20261125T000000Z.csv': [
        exec,
        '2026-11-25T00:00:01.000Z,0,10,1,ls,/usr/bin/ls,,',
        // Another monitor's output appended to this file: its header, then its rows.
        header,
        row('2026-11-25T00:00:02.000Z', 10),
        row('2026-11-25T00:00:04.000Z', 20),
        // Back to exec (an older version, without the cgroup column: still exec's).
        'timestamp,uid,pid,ppid,comm,filename,note',
        '2026-11-25T00:00:05.000Z,0,11,1,sh,/bin/sh,',
      ].join('\n') + '\n',
    },
    'appended',
  );
  const r = await analyze({ dir, now });
  assert.equal(toJsonReport(r).sections['exec']?.totals['executions'], 2);
  assert.deepEqual(r.files[0]?.damaged, { repeated_header: 2, other_monitor: 2 });
  assert.deepEqual(r.files[0]?.first_damaged_lines, [3, 4, 5, 6]);
  assert.match(renderText(r), /another monitor's row 2/);
});

test('marker rows (timestamp and note only) are not damage; a note on a row with data is', async () => {
  const dir = await writeFiles(
    {
      'syscall_20261125T000000Z.csv': [
        header,
        row('2026-11-25T00:00:02.000Z', 10),
        `2026-11-25T00:00:04.000Z${','.repeat(12)}bpftrace restarted: counts of one interval lost`,
        '2026-11-25T00:00:06.000Z,1,app,0,read,io,5,0,0,,,,a note on a data row',
        row('2026-11-25T00:00:08.000Z', 20),
      ].join('\n') + '\n',
    },
    'markers',
  );
  const r = await analyze({ dir, now });
  const s = toJsonReport(r).sections['syscall'];
  assert.equal(s?.markers.total, 1);
  assert.equal(s?.markers.first[0]?.note, 'bpftrace restarted: counts of one interval lost');
  assert.equal(s?.totals['calls'], 30);
  assert.deepEqual(r.files[0]?.damaged, { bad_marker: 1 });
});

test("headers: every monitor's own header passes, older ones without later columns too; another's does not", () => {
  for (const m of monitors) {
    assert.deepEqual(checkHeader(m.name, [...m.columns, 'note'], []), { ok: true }, m.name);
    assert.deepEqual(checkHeader(m.name, m.columns.filter((c) => c !== 'cgroup'), []), { ok: true }, `${m.name} without cgroup`);
    for (const other of monitors) {
      if (other === m) continue;
      const v = checkHeader(m.name, [...other.columns, 'note'], []);
      assert.equal(v.ok, false, `${other.name}'s header passed as ${m.name}'s`);
    }
  }
  assert.deepEqual(checkHeader('syscall', ['timestamp', 'count', 'count'], ['count']), { ok: false, reason: 'column count appears twice in the header' });
  assert.deepEqual(checkHeader('syscall', ['pid', 'timestamp', 'count'], ['count']), { ok: false, reason: 'the header does not start with timestamp' });
});

test('analyze command: files skipped whole are warned about when the report is json, html or a file', async () => {
  const dir = await writeFiles({ 'exec_20261125T000000Z.csv': `${header}\n${row('2026-11-25T00:00:02.000Z', 10)}\n` }, 'warn');
  const json = await runAnalyze(dir, { format: 'json' });
  assert.deepEqual(json.warnings, ["warning: skipped exec_20261125T000000Z.csv: the header is the syscall monitor's, not exec's (syscall_nr, syscall, category, count, error_count, ... are not exec columns)"]);
  assert.equal((JSON.parse(json.stdout ?? '') as { skipped_files: number }).skipped_files, 1);
  const text = await runAnalyze(dir, {});
  assert.deepEqual(text.warnings, [], 'the text report lists them itself');
});
