// What a hostile process or a damaged file can put in the CSVs (issue 24): counts that are not whole numbers,
// terminal control bytes in names, broken gzip, endless lines. Each is damage, counted and shown, never a number.
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { chmod, lchown, mkdir, readdir, readFile, symlink } from 'node:fs/promises';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { test } from 'node:test';
import { promisify } from 'node:util';
import { gzipSync } from 'node:zlib';
import assert from 'node:assert/strict';
import { analyze, renderText, toJsonReport, type CsvParser } from '../../../analysis/index.js';
import { capLines, maxLineBytes, overlongMark } from '../../../analysis/read-csv.js';
import { runAnalyze } from '../../../src/cli/commands/analyze.js';
import { UsageError } from '../../../src/errors.js';
import { csvFormat } from '../../../src/sinks/csv.js';
import { writeFiles } from './fixtures.js';

const run = promisify(execFile);
const parsers = ['fast', 'csv-parse'] as const satisfies readonly CsvParser[];

const syscallHeader = 'timestamp,pid,comm,syscall_nr,syscall,category,count,error_count,error_rate,avg_latency_us,max_latency_us,note';
const sys = (count: string, errors = '0', avg = '', max = ''): string => `2026-11-25T00:00:02.000Z,1,app,0,read,io,${count},${errors},0,${avg},${max},`;

for (const parser of parsers) {
  test(`counts must be whole non-negative decimals; anything else is a damaged row, counted nowhere (${parser} parser)`, async () => {
    const bad = ['1e308', '1e308', '2.5', '0x10', '0b11', '" 7"', '+5', 'Infinity', '', '-3', '9007199254740993'];
    const lines = [syscallHeader, sys('10', '2', '1.5', '4'), ...bad.map((c) => sys(c)), sys('5', '6'), sys('3', '0x1'), sys('4', '0', '1e3'), sys('4', '0', '', 'Infinity'), sys('7')];
    const dir = await writeFiles({ 'syscall_20261125T000000Z.csv': lines.join('\n') + '\n' }, 'counts');
    const r = await analyze({ dir, parser });
    const j = toJsonReport(r);
    const s = j.sections['syscall'];
    assert.ok(s);
    assert.equal(s.totals['calls'], 17, 'only 10 and 7');
    assert.equal(s.totals['errors'], 2);
    assert.equal(s.totals['error_rate'], Math.round((2 / 17) * 1e6) / 1e6);
    assert.equal(s.totals['avg_latency_us'], Math.round(((1.5 * 10) / 10) * 1000) / 1000);
    assert.equal(s.totals['max_latency_us'], 4);
    assert.equal(j.rows, 2);
    assert.equal(j.damaged_rows, bad.length + 4, 'each bad count, errors above count, a hex error count, an exponent latency, an Infinity max');
    assert.deepEqual(r.files[0]?.damaged, { bad_number: bad.length + 4 });
    const text = renderText(r);
    assert.doesNotMatch(text, /Infinity|NaN/);
    for (const m of text.matchAll(/([\d.]+)%/g)) assert.ok(Number(m[1]) <= 100, `no share above 100 %: ${m[0]}`);
  });
}

test('every monitor refuses counts that are not whole, and secondary counts above the main one', async () => {
  const files = {
    'open_20261125T020000Z.csv': [
      'timestamp,pid,comm,filename,count,error_count,error_rate,note',
      '2026-11-25T02:00:05.000Z,1,cat,/etc/passwd,10,1,0.1,',
      '2026-11-25T02:00:05.000Z,2,cat,/nope,4,8,2,',
      '2026-11-25T02:00:05.000Z,2,cat,/nope,1e308,0,0,',
    ].join('\n') + '\n',
    'bio_20261125T030000Z.csv': [
      'timestamp,pid,comm,device,io_type,count,total_bytes,avg_latency_us,min_latency_us,max_latency_us,throughput_mbps,note',
      '2026-11-25T03:00:05.000Z,1,pg,sda,read,10,40960,100,50,300,0.008192,',
      '2026-11-25T03:00:05.000Z,1,pg,sda,read,2.5,4096,100,50,300,0.008192,',
      '2026-11-25T03:00:05.000Z,1,pg,sda,read,1,0x1000,100,50,300,0.008192,',
      '2026-11-25T03:00:05.000Z,1,pg,sda,read,1,4096,100,50,300,1e308,',
    ].join('\n') + '\n',
    'func_20261125T040000Z.csv': ['timestamp,pid,comm,function,count,note', '2026-11-25T04:00:02.000Z,1,a,vfs_read,10,', '2026-11-25T04:00:02.000Z,1,a,vfs_read, 7,'].join('\n') + '\n',
    'interrupt_20261125T050000Z.csv': [
      'timestamp,type,name,cpu,count,total_time_us,avg_time_us,max_time_us,note',
      '2026-11-25T05:00:02.000Z,hardirq,nvme0q1,0,100,200,2,9,',
      '2026-11-25T05:00:02.000Z,hardirq,nvme0q1,0,+5,200,2,9,',
      '2026-11-25T05:00:02.000Z,hardirq,nvme0q1,0,5,-1,2,9,',
    ].join('\n') + '\n',
    'page_fault_20261125T060000Z.csv': ['timestamp,pid,comm,fault_type,cpu,numa_node,count,note', '2026-11-25T06:00:01.000Z,1,java,user,0,0,100,', '2026-11-25T06:00:01.000Z,1,java,user,0,0,0b11,'].join('\n') + '\n',
    'context_switch_20261125T070000Z.csv': [
      'timestamp,pid,comm,cpu,switches,voluntary,involuntary,note',
      '2026-11-25T07:00:02.000Z,1,pg,0,100,90,10,',
      '2026-11-25T07:00:02.000Z,1,pg,0,10,20,0,',
      '2026-11-25T07:00:02.000Z,1,pg,0,Infinity,0,0,',
    ].join('\n') + '\n',
  };
  const j = toJsonReport(await analyze({ dir: await writeFiles(files, 'counts-all') }));
  assert.equal(j.sections['open']?.totals['opens'], 10);
  assert.equal(j.sections['open']?.totals['error_rate'], 0.1);
  assert.equal(j.sections['bio']?.totals['ios'], 10);
  assert.equal(j.sections['bio']?.totals['bytes'], 40960);
  assert.equal(j.sections['bio']?.totals['peak_interval_mbps'], 0.008192);
  assert.equal(j.sections['func']?.totals['calls'], 10);
  assert.equal(j.sections['interrupt']?.totals['interrupts'], 100);
  assert.equal(j.sections['page_fault']?.totals['faults'], 100);
  assert.equal(j.sections['context_switch']?.totals['switches'], 100);
  assert.equal(j.rows, 6);
  assert.equal(j.damaged_rows, 2 + 3 + 1 + 2 + 1 + 2);
});

test('a total that would pass 2^53 - 1 refuses the row that would carry it there: every total stays exact', async () => {
  const max = Number.MAX_SAFE_INTEGER; // 9007199254740991
  const lines = [syscallHeader, sys(String(max - 10)), sys('10'), sys('1'), sys('5')];
  const j = toJsonReport(await analyze({ dir: await writeFiles({ 'syscall_20261125T000000Z.csv': lines.join('\n') + '\n' }, 'overflow') }));
  assert.equal(j.sections['syscall']?.totals['calls'], max);
  assert.equal(j.damaged_rows, 2);
  assert.ok(Number.isSafeInteger(j.sections['syscall']?.totals['calls']));
});

// Everything but the line breaks between report lines: C0 (ESC, BEL, CR, ...), DEL, C1, bidi overrides.
// Built from a string: matching controls is the point here.
const unsafeClass = '[\\u0000-\\u0009\\u000b-\\u001f\\u007f-\\u009f\\u202a-\\u202e\\u2066-\\u2069]';
const unsafeInText = new RegExp(unsafeClass);
const pwn = '\x1b]0;PWN\x07\x1b[2J';

test('terminal control bytes in names are shown as visible escapes in the text report, never sent to the terminal', async () => {
  const q = (s: string): string => `"${s.replace(/"/g, '""')}"`;
  const files: Record<string, string> = {
    'exec_20261125T010000Z.csv': [
      'timestamp,uid,pid,ppid,comm,filename,note',
      `2026-11-25T01:00:00.000Z,0,10,1,${pwn},/tmp/${pwn},`,
      `2026-11-25T01:00:01.000Z,0,11,1,${q('x\nFAKE: calls 999')},${q('/bin/ok\r')},`,
      `2026-11-25T01:00:02.000Z,,,,,,bpftrace restarted ${pwn}`,
    ].join('\n') + '\n',
    'bio_20261125T030000Z.csv': [
      'timestamp,pid,comm,device,io_type,count,total_bytes,avg_latency_us,min_latency_us,max_latency_us,throughput_mbps,note',
      `2026-11-25T03:00:05.000Z,1,pg,sd\x9b2J,read\u202e,10,40960,100,50,300,0.008192,`,
    ].join('\n') + '\n',
    'func_20261125T040000Z.csv': ['timestamp,pid,comm,function,count,note', `2026-11-25T04:00:02.000Z,1,a\x7f,vfs_${pwn},10,`].join('\n') + '\n',
    // A header quoting a control sequence: the reason the file is skipped repeats its cells.
    'open_20261125T020000Z.csv': `timestamp,${pwn},count\n`,
    [`x${pwn}.csv`]: 'not a monitor file\n',
  };
  const dir = await writeFiles(files, 'controls');
  const r = await analyze({ dir });
  const text = renderText(r);
  assert.doesNotMatch(text, unsafeInText);
  assert.ok(text.includes('\\x1b]0;PWN\\x07\\x1b[2J'), 'shown as an escape');
  assert.ok(text.includes('x\\nFAKE: calls 999'), 'a newline in a comm stays on its line');
  assert.ok(!text.split('\n').some((l) => l.startsWith('FAKE')), 'no forged line');
  assert.ok(text.includes('sd\\x9b2J') && text.includes('read\\u202e') && text.includes('a\\x7f'), 'C1, bidi and DEL too');
  assert.ok(text.includes('vfs_\\x1b]0;PWN'), 'a function name, also as a column label');
  assert.ok(text.includes(`Skipped file open_20261125T020000Z.csv: the header has columns the open monitor does not write: \\x1b]0;PWN`));
  assert.ok(text.includes('x\\x1b]0;PWN\\x07\\x1b[2J.csv'), 'a file name in the ignored list');
  for (const l of text.split('\n').filter((x) => x.startsWith('  '))) assert.ok(l.length <= 80, `a table line fits 80 columns: ${l}`);
  // With json, html or --out the files skipped whole are warned about on stderr: escaped too.
  const { warnings } = await runAnalyze(dir, { format: 'json' });
  assert.equal(warnings.length, 1);
  assert.doesNotMatch(warnings.join(''), unsafeInText);
  assert.ok(warnings[0]?.includes('\\x1b]0;PWN'));
});

test('json: DEL, C1 and bidi overrides are \\u escapes (JSON.stringify escapes only C0); the data reads back exact', async () => {
  const comm = `a\x7fb\x9bc\u202ed${pwn}`;
  const files = { 'exec_20261125T010000Z.csv': `timestamp,uid,pid,ppid,comm,filename,note\n2026-11-25T01:00:00.000Z,0,10,1,${comm},/bin/x,\n` };
  const { renderJson } = await import('../../../analysis/index.js');
  const out = renderJson(await analyze({ dir: await writeFiles(files, 'json-controls') }));
  assert.doesNotMatch(out.replace(/\n/g, ''), unsafeInText);
  const j = JSON.parse(out) as { sections: Record<string, { tables: Record<string, { rows: { comm?: string }[] }> }> };
  assert.equal(j.sections['exec']?.tables['top_processes']?.rows[0]?.comm, comm);
});

for (const parser of parsers) {
  test(`a truncated or corrupt .gz counts none of its rows and says why; garbage named .gz is "not gzip", not empty (${parser} parser)`, async () => {
    const rows = Array.from({ length: 20_000 }, (_, i) => sys(String((i % 7) + 1)));
    const csv = [syscallHeader, ...rows].join('\n') + '\n';
    const gz = gzipSync(Buffer.from(csv), { level: 1 });
    const total = rows.reduce((s, r) => s + Number(r.split(',')[6]), 0);
    const flipped = Buffer.from(gz);
    flipped[Math.floor(gz.length / 2)]! ^= 0xff;
    const files: Record<string, string | Buffer> = {
      'syscall_20261125T000000Z.csv.gz': gz, // whole: counted
      'syscall_20261125T010000Z.csv.gz': gz.subarray(0, Math.floor(gz.length * 0.8)), // cut short
      'syscall_20261125T020000Z.csv.gz': flipped, // a damaged block or CRC
      'syscall_20261125T030000Z.csv.gz': Buffer.concat([gz, Buffer.from('trailing garbage\n')]),
      'syscall_20261125T040000Z.csv.gz': randomBytes(3000), // not gzip at all
      'syscall_20261125T050000Z.csv.gz': Buffer.alloc(0), // created, never written: empty
    };
    const r = await analyze({ dir: await writeFiles(files, 'gz'), parser });
    const j = toJsonReport(r);
    assert.equal(j.sections['syscall']?.totals['calls'], total, 'the whole file, and nothing of the damaged ones');
    assert.equal(j.rows, rows.length);
    assert.equal(j.skipped_files, 4);
    const by = new Map(r.files.map((f) => [f.file.slice(17, 19), f]));
    assert.equal(by.get('00')?.skipped, null);
    assert.match(by.get('01')?.skipped ?? '', /^damaged gzip: it ends early \(truncated/);
    assert.match(by.get('02')?.skipped ?? '', /^damaged gzip: /);
    assert.match(by.get('03')?.skipped ?? '', /^damaged gzip: /);
    assert.match(by.get('04')?.skipped ?? '', /^not gzip \(no gzip header\)/);
    for (const k of ['01', '02', '03', '04']) {
      assert.equal(by.get(k)?.rows, 0, k);
      assert.equal(by.get(k)?.empty, false, `${k} is not listed as empty`);
    }
    assert.equal(by.get('05')?.empty, true);
    assert.equal(by.get('05')?.skipped, null);
    const text = renderText(r);
    assert.match(text, /Skipped file syscall_20261125T040000Z\.csv\.gz: not gzip/);
    assert.match(text, /Empty files: syscall_20261125T050000Z\.csv\.gz\n/);
  });
}

test('capLines: whole lines pass as they are, whatever the chunking; a line over 1 MiB becomes one mark line', async () => {
  const cap = maxLineBytes;
  const lines = ['a,b', 'x'.repeat(cap), 'y'.repeat(cap + 1), '', 'z'.repeat(3 * cap + 5), 'short', 'w'.repeat(cap - 1), 'end without newline'];
  const input = Buffer.from(lines.join('\n'), 'latin1');
  const expected = lines.map((l) => (l.length > cap ? overlongMark : l)).join('\n');
  for (const size of [1, 7, 4096, 65_536, cap - 3, cap, cap + 17, 3 * cap]) {
    if (size === 1 && input.length > 1e6) {
      // One byte at a time over megabytes is slow: a shorter input keeps the point (marks between tiny chunks).
      const small = Buffer.from('ok\nfine\n', 'latin1');
      assert.equal(await throughCap(small, 1), 'ok\nfine\n');
      continue;
    }
    assert.equal(await throughCap(input, size), expected, `chunks of ${size}`);
  }
});

async function throughCap(input: Buffer, size: number): Promise<string> {
  const chunks: Buffer[] = [];
  for (let i = 0; i < input.length; i += size) chunks.push(input.subarray(i, i + size));
  const out: Buffer[] = [];
  const t = capLines();
  t.on('data', (b: Buffer) => out.push(b));
  await pipeline(Readable.from(chunks), t);
  return Buffer.concat(out).toString('latin1');
}

for (const parser of parsers) {
  test(`a line over 1 MiB is skipped as damage at its line number; the rows around it count (${parser} parser)`, async () => {
    const lines = [syscallHeader, sys('5'), `2026-11-25T00:00:02.000Z,1,${'a'.repeat(3 << 20)},0,read,io,9,0,0,,,`, sys('6'), 'b'.repeat((1 << 20) + 1), sys('7')];
    const r = await analyze({ dir: await writeFiles({ 'syscall_20261125T000000Z.csv': lines.join('\n') }, 'long'), parser });
    assert.equal(toJsonReport(r).sections['syscall']?.totals['calls'], 18);
    assert.deepEqual(r.files[0]?.damaged, { line_too_long: 2 });
    assert.deepEqual(r.files[0]?.first_damaged_lines, [3, 5]);
    assert.match(renderText(r), /line over 1 MiB 2 \(line 3, 5\)/);
  });
}

test('memory stays bounded: a 48 MiB line is read by a process whose heap is capped at 40 MB', async () => {
  const dir = await writeFiles({ 'syscall_20261125T000000Z.csv': [syscallHeader, sys('5'), 'a'.repeat(48 << 20), sys('6')].join('\n') + '\n' }, 'huge');
  const script = `const { analyze } = await import(${JSON.stringify(new URL('../../../analysis/index.js', import.meta.url).href)});
    const r = await analyze({ dir: ${JSON.stringify(dir)} });
    process.stdout.write(JSON.stringify({ rows: r.rows, damaged: r.files[0].damaged }));`;
  const { stdout } = await run(process.execPath, ['--max-old-space-size=40', '--input-type=module', '-e', script], { maxBuffer: 1 << 20 });
  assert.deepEqual(JSON.parse(stdout), { rows: 2, damaged: { line_too_long: 1 } });
});

test('analyze --out follows the path rule of -o: a directory symlink another user planted is refused in one line, nothing written through it', { skip: process.geteuid?.() !== 0 && 'needs root (lchown)' }, async () => {
  const dir = await writeFiles({ 'syscall_20261125T000000Z.csv': [syscallHeader, sys('5')].join('\n') + '\n' }, 'out-rule');
  const etc = path.join(dir, 'etc');
  await mkdir(etc);
  await symlink(etc, path.join(dir, 'planted'));
  await lchown(path.join(dir, 'planted'), 65534, 65534);
  const refused = (e: unknown): boolean =>
    e instanceof UsageError && /^--out directory .*\/planted: .*\/planted is a symbolic link owned by uid 65534, not root; refusing to follow it$/.test(e.message) && !e.message.includes('\n');
  await assert.rejects(runAnalyze(dir, { out: path.join(dir, 'planted/report.txt') }), refused);
  assert.deepEqual(await readdir(etc), [], 'nothing written through the link');
  // A directory others can write, on the way.
  await mkdir(path.join(dir, 'open'));
  await chmod(path.join(dir, 'open'), 0o777);
  await assert.rejects(runAnalyze(dir, { out: path.join(dir, 'open/report.txt') }), (e: unknown) => e instanceof UsageError && /open is writable by others \(mode 777\)/.test(e.message));
  // A root-owned symlink to a safe directory is fine, as for --pid-file.
  await symlink(etc, path.join(dir, 'ours'));
  const r = await runAnalyze(dir, { out: path.join(dir, 'ours/report.txt') });
  assert.equal(r.wrote, path.join(dir, 'ours/report.txt'));
  assert.match(await readFile(path.join(etc, 'report.txt'), 'utf8'), /calls: 5/);
});

test('cells starting with =, +, -, @ stay byte-exact data: written as they are, read back as they are; the documentation says how to open them safely', async () => {
  const names = ['=HYPERLINK("http://x","y")', "+cmd|' /C calc'!A0", '-2+3', '@SUM(A1)'];
  const columns = ['timestamp', 'uid', 'pid', 'ppid', 'comm', 'filename', 'note'];
  const text = csvFormat.header(columns) + csvFormat.rows(columns, names.map((n, i) => ({ timestamp: `2026-11-25T01:00:0${i}.000Z`, uid: 0, pid: i, ppid: 1, comm: n, filename: `/bin/${n}`, note: '' })));
  for (const n of names) assert.ok(text.includes(`,${n.includes('"') || n.includes(',') ? `"${n.replace(/"/g, '""')}"` : n},`), `${n} written as it is (no ' prefix, no tab)`);
  const j = toJsonReport(await analyze({ dir: await writeFiles({ 'exec_20261125T010000Z.csv': text }, 'formula') }));
  assert.deepEqual(j.sections['exec']?.tables['top_processes']?.rows.map((r) => r['comm']).sort(), [...names].sort());
  const doc = readFileSync(new URL('../../../../docs/integrity.md', import.meta.url), 'utf8');
  const section = doc.slice(doc.indexOf('### The analyzer and damaged or hostile files'));
  assert.ok(section.startsWith('### The analyzer'), 'docs/integrity.md has the section');
  assert.match(section, /The CSV is data, byte-exact\..*`=`, `\+`, `-` or `@`/s);
  assert.match(section, /import dialog and set every column's type to Text/);
});
