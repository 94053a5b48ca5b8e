// The user documentation stays navigable and true: every relative link and #anchor of README.md, CHANGELOG.md and
// docs/*.md resolves; the README opens with the two commands a new user runs, and the monitors it says the default
// config enables are the ones config/monitor_config.yaml enables.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { anchors, brokenLinks, docFiles, slug } from '../../scripts/docs/links.js';
import { parseConfig, selectedMonitors } from '../../src/config/load.js';
import { repoRoot } from '../helpers/paths.js';

test('GitHub heading anchors: lower case, punctuation dropped, spaces as -, repeats numbered', () => {
  assert.equal(slug('Live view: `ebpfmon top`'), 'live-view-ebpfmon-top');
  assert.equal(slug('Cost forecast: check --cost'), 'cost-forecast-check---cost');
  assert.equal(slug('What watching costs: `self_stats` and budgets'), 'what-watching-costs-self_stats-and-budgets');
  assert.deepEqual([...anchors('# A\n## A\n```\n# not a heading\n```\n### A b.\n')], ['a', 'a-1', 'a-b']);
});

test('the link check finds a missing file, a missing anchor, and ignores code and URLs', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'ebpfmon-links-'));
  const file = path.join(dir, 'a.md');
  writeFileSync(path.join(dir, 'b.md'), '# Title here\n');
  writeFileSync(file, [
    '# A', '[ok](b.md#title-here) [ok](#a) [web](https://example.com/x#y) `[code](nowhere.md)`',
    '[gone](c.md) [bad anchor](b.md#nope) ![img](missing.png)', '```', '[in a fence](nowhere.md)', '```',
  ].join('\n'));
  assert.deepEqual(brokenLinks(file).map((b) => `${b.line} ${b.target}`), ['3 c.md', '3 b.md#nope', '3 missing.png']);
});

test('every relative link and anchor in README.md, CHANGELOG.md and docs/*.md resolves', () => {
  const files = docFiles(repoRoot);
  assert.ok(files.some((f) => f.endsWith('docs/configuration.md')), 'docs/*.md are checked');
  const broken = files.flatMap(brokenLinks).map((b) => `${path.relative(repoRoot, b.file)}:${b.line}: ${b.target}: ${b.reason}`);
  assert.deepEqual(broken, []);
});

test('the README opens with the two commands, and names the monitors the default config enables', () => {
  const readme = readFileSync(path.join(repoRoot, 'README.md'), 'utf8');
  const first = readme.split('\n').slice(0, 12).join('\n');
  assert.match(first, /^sudo \.\/scripts\/setup\.sh start\b/m);
  assert.match(first, /^sudo \.\/scripts\/setup\.sh test\b/m);
  const setup = readFileSync(path.join(repoRoot, 'scripts/setup.sh'), 'utf8');
  assert.match(setup, /start\)/, 'setup.sh has a start mode');
  const named = /the monitors it\s+enables \(([^)]+)\)/.exec(readme)?.[1]?.split(',').map((s) => s.trim());
  const config = parseConfig(readFileSync(path.join(repoRoot, 'config/monitor_config.yaml'), 'utf8'), 'default');
  assert.deepEqual(named, selectedMonitors(config));
});
