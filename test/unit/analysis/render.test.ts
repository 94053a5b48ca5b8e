// The three views of one report: text within 80 columns, json with the same numbers, html as one valid,
// self-contained document with a chart per section.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { analyze, renderHtml, renderJson, renderText, type Report } from '../../../analysis/index.js';
import { writeFixtureDir, writeFiles } from './fixtures.js';
import { fit } from '../../../analysis/render/format.js';

let cached: Report | undefined;
const report = async (): Promise<Report> => (cached ??= await analyze({ dir: await writeFixtureDir() }));

const voidTags = new Set(['meta', 'link', 'br', 'img', 'input', 'hr', 'wbr', 'source', 'col']);

/** Every element is closed in order (SVG self-closing elements allowed): a structural validity check. */
function assertBalanced(html: string): void {
  const stack: string[] = [];
  const body = html.replace(/<!DOCTYPE html>/i, '').replace(/<style>[\s\S]*?<\/style>/, '<style></style>');
  for (const m of body.matchAll(/<(\/?)([a-zA-Z][a-zA-Z0-9]*)\b[^>]*?(\/?)>/g)) {
    const [, close, name = '', selfClose] = m;
    const tag = name.toLowerCase();
    if (selfClose || voidTags.has(tag)) continue;
    if (close) {
      const open = stack.pop();
      assert.equal(open, tag, `</${tag}> closes <${open}>`);
    } else stack.push(tag);
  }
  assert.deepEqual(stack, [], 'unclosed elements');
}

test('text: every line fits 80 columns, every section states its time range', async () => {
  const r = await report();
  const text = renderText(r);
  for (const line of text.split('\n')) assert.ok([...line].length <= 80, `too wide (${[...line].length}): ${line}`);
  for (const s of r.sections) {
    assert.match(text, new RegExp(`== ${s.title.replace(/[()]/g, '\\$&')} =`));
  }
  assert.match(text, /2026-11-25 00:00:02 \.\. 2026-11-25 00:01:10 UTC \(1m 10s, interval 2s\), 6 rows/);
  assert.match(text, /gaps: 1 marker row\(s\)/);
  assert.match(text, /read {2,}io {2,}200 {2,}66\.7%/);
});

test('text: long paths are cut in the middle: the tree they are in and the file name stay visible', async () => {
  const long = `/very/long/directory/${'deep/'.repeat(20)}name-that-matters.so`;
  const dir = await writeFiles({
    'open_20261125T000000Z.csv': `timestamp,pid,comm,filename,count,error_count,error_rate,note\n2026-11-25T00:00:02.000Z,1,x,${long},3,0,0,\n`,
  });
  const text = renderText(await analyze({ dir }));
  for (const line of text.split('\n')) assert.ok([...line].length <= 80, line);
  assert.match(text, / \/very\/long\/[a-z]*….*\/name-that-matters\.so /);
  assert.equal(fit('/var/lib/postgresql/15/main/base/16384/2619', 24, 'path'), '/var/li…/base/16384/2619');
  assert.equal(fit('kworker/u16:3-events_unbound', 16, 'text'), 'kworker/u16:3-e…');
});

test('json: parses back, same numbers as the report', async () => {
  const r = await report();
  const j = JSON.parse(renderJson(r)) as { sections: Record<string, { totals: Record<string, unknown> }> };
  assert.equal(j.sections['syscall']?.totals['calls'], 300);
  assert.equal(Object.keys(j.sections).length, r.sections.length);
});

test('html: one valid self-contained document, a rate chart (where rows cover time) and a bar chart per present section', async () => {
  const r = await report();
  const html = renderHtml(r);
  assert.match(html, /^<!DOCTYPE html>\n<html lang="en">/);
  assert.match(html, /<meta charset="utf-8">/);
  assert.match(html, /<title>[^<]+<\/title>/);
  assertBalanced(html);
  assert.doesNotMatch(html, /<script|<link|<img|\bsrc=|@import|url\(/i, 'nothing to load');
  const urls = [...html.matchAll(/https?:\/\/[^\s"'<>]+/g)].map((m) => m[0]);
  assert.deepEqual([...new Set(urls)], ['http://www.w3.org/2000/svg'], 'no network references (only the SVG namespace)');
  const sections = [...html.matchAll(/<section class="monitor" id="m-([a-z_]+)" data-monitor="[a-z_]+">([\s\S]*?)<\/section>/g)];
  assert.deepEqual(sections.map((m) => m[1]), r.sections.map((s) => s.monitor));
  for (const [, monitor, body = ''] of sections) {
    // page_fault's rows are one interval whose length nothing tells: no time covered, no rate to chart.
    const charted = monitor === 'page_fault' ? 0 : 1;
    assert.equal((body.match(/<svg class="chart" data-chart="rate"/g) ?? []).length, charted, `${monitor}: ${charted} rate chart`);
    assert.equal((body.match(/<svg class="chart" data-chart="bars"/g) ?? []).length, 1, `${monitor}: one bar chart`);
    assert.match(body, /<table>/);
  }
  assert.match(html, /we,ird/, 'text is escaped, not dropped');
});

test('html escapes what it shows', async () => {
  const dir = await writeFiles({
    'exec_20261125T000000Z.csv': 'timestamp,uid,pid,ppid,comm,filename,note\n2026-11-25T00:00:02.000Z,0,1,1,<b>,/tmp/<script>alert(1)</script>,\n',
  });
  const html = renderHtml(await analyze({ dir }));
  assert.doesNotMatch(html, /<script>/);
  assert.match(html, /&lt;script&gt;/);
  assertBalanced(html);
});

test('no data: every view says so instead of failing', async () => {
  const dir = await writeFiles({});
  const r = await analyze({ dir });
  assert.match(renderText(r), /No monitor CSV files found/);
  assert.match(renderHtml(r), /No data rows/);
  assert.deepEqual(JSON.parse(renderJson(r)).sections, {});
});
