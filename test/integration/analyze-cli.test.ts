// `ebpfmon analyze` as an operator runs it: json on stdout, html to a file, one-line usage errors with exit 2.
// Needs no root and no bpftrace.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { lchown, mkdir, readdir, readFile, symlink } from 'node:fs/promises';
import path from 'node:path';
import { runCli } from '../helpers/cli.js';
import { writeFiles, writeFixtureDir } from '../unit/analysis/fixtures.js';

test('analyze DIR --format json prints the report', async () => {
  const dir = await writeFixtureDir();
  const r = await runCli(['analyze', dir, '--format', 'json']);
  assert.equal(r.exitCode, 0, r.stderr);
  assert.equal(r.stderr, '', 'no progress when stderr is not a terminal');
  const j = JSON.parse(r.stdout) as { format: string; sections: Record<string, { totals: Record<string, number> }> };
  assert.equal(j.format, 'ebpfmon-analyze/1');
  assert.equal(j.sections['syscall']?.totals['calls'], 300);
  assert.equal(Object.keys(j.sections).length, 8);
});

test('analyze text by default; --monitor, --date and --top narrow it', async () => {
  const dir = await writeFixtureDir();
  const r = await runCli(['analyze', dir, '-m', 'syscall', '--date', '2026-11-25', '--top', '2']);
  assert.equal(r.exitCode, 0, r.stderr);
  assert.match(r.stdout, /== System calls \(syscall\) =/);
  assert.doesNotMatch(r.stdout, /exec/);
  assert.match(r.stdout, /calls: 300/);
});

test('analyze --format html --out FILE writes one document', async () => {
  const dir = await writeFixtureDir();
  const file = path.join(dir, 'report.html');
  const r = await runCli(['analyze', dir, '--format', 'html', '--out', file]);
  assert.equal(r.exitCode, 0, r.stderr);
  assert.equal(r.stdout, '');
  assert.equal(r.stderr, `ebpfmon: wrote ${file}`);
  assert.match(await readFile(file, 'utf8'), /^<!DOCTYPE html>/);
});

test('bad input: exit 2 and one line on stderr, no stack trace', async () => {
  const dir = await writeFixtureDir();
  const cases: [string[], RegExp][] = [
    [['analyze', dir, '--date', '2026-13-45'], /^ebpfmon: --date: expected a date YYYY-MM-DD, got "2026-13-45"$/],
    [['analyze', path.join(dir, 'missing')], /^ebpfmon: no such directory: .*missing$/],
    [['analyze', dir, '--since', 'noon'], /^ebpfmon: --since: /],
    [['analyze', dir, '--top', '0'], /^ebpfmon: --top: expected a positive integer, got "0"$/],
    [['analyze', dir, '-m', 'nosuch'], /^ebpfmon: unknown monitor "nosuch"/],
    [['analyze', dir, '--date', '2026-11-25', '--since', '2026-11-25'], /^ebpfmon: --date cannot be combined/],
  ];
  for (const [args, stderr] of cases) {
    const r = await runCli(args);
    assert.equal(r.exitCode, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, stderr);
    assert.equal(r.stderr.split('\n').length, 1, r.stderr);
    assert.doesNotMatch(r.stderr, /\s+at /, 'no stack trace');
    assert.equal(r.stdout, '');
  }
});

test('analyze --out: a directory symlink another user planted is refused with one line (exit 2), nothing written through it', { skip: process.geteuid?.() !== 0 && 'needs root (lchown)' }, async () => {
  const dir = await writeFixtureDir();
  const etc = path.join(dir, 'etc');
  await mkdir(etc);
  await symlink(etc, path.join(dir, 'planted'));
  await lchown(path.join(dir, 'planted'), 65534, 65534);
  const r = await runCli(['analyze', dir, '--out', path.join(dir, 'planted/report.txt')]);
  assert.equal(r.exitCode, 2, r.stderr);
  assert.equal(r.stderr, `ebpfmon: --out directory ${dir}/planted: ${dir}/planted is a symbolic link owned by uid 65534, not root; refusing to follow it`);
  assert.deepEqual(await readdir(etc), []);
});

test('analyze: a hostile comm reaches the terminal as visible escapes, a newline in it forges no line', async () => {
  const dir = await writeFiles({
    'exec_20261125T010000Z.csv': 'timestamp,uid,pid,ppid,comm,filename,note\n2026-11-25T01:00:00.000Z,0,10,1,\x1b]0;PWN\x07\x1b[2J,/bin/x,\n2026-11-25T01:00:01.000Z,0,11,1,"a\nFAKE LINE",/bin/y,\n',
  });
  const r = await runCli(['analyze', dir]);
  assert.equal(r.exitCode, 0, r.stderr);
  assert.ok(!r.stdout.includes('\x1b') && !r.stdout.includes('\x07'), 'no raw ESC or BEL');
  assert.ok(r.stdout.includes('\\x1b]0;PWN\\x07\\x1b[2J'));
  assert.ok(!r.stdout.split('\n').some((l) => l.startsWith('FAKE')));
});
