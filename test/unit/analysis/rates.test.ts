// Rates on synthetic runs with a known rate: the time covered is the first row's interval start to the last row's
// end, the interval is the configured one (not the final partial one), buckets follow the window, partial buckets
// are divided by the time they cover, and every card agrees with its chart.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { analyze, renderText, toJsonReport } from '../../../analysis/index.js';
import { mkdir, symlink } from 'node:fs/promises';
import path from 'node:path';
import { writeFiles } from './fixtures.js';

const iso = (ms: number): string => new Date(ms).toISOString();
/** A run started at 10:00:47.300 with a 2 s interval, stopped 58.723 s later: 29 full intervals and one of 0.723 s. */
const t0 = Date.parse('2026-11-25T10:00:47.300Z');
const ends = [...Array.from({ length: 29 }, (_, i) => t0 + (i + 1) * 2000), t0 + 58_723];
const seconds = (i: number): number => ((ends[i] ?? 0) - (i ? (ends[i - 1] ?? 0) : t0)) / 1000;
/** `perSecond` over interval i, as a whole count. */
const over = (i: number, perSecond: number): number => Math.round(seconds(i) * perSecond);

/** 1000 calls a second, split over two processes, in every interval including the partial last one. */
const syscallCsv = [
  'timestamp,pid,comm,syscall_nr,syscall,category,count,error_count,error_rate,avg_latency_us,max_latency_us,note',
  ...ends.flatMap((t, i) => [`${iso(t)},1,a,0,read,io,${over(i, 600)},0,0,,,`, `${iso(t)},2,b,1,write,io,${over(i, 1000) - over(i, 600)},0,0,,,`]),
].join('\n') + '\n';

/** 4 MB/s over the same intervals. */
const bioCsv = [
  'timestamp,pid,comm,device,io_type,count,total_bytes,avg_latency_us,min_latency_us,max_latency_us,throughput_mbps,note',
  ...ends.flatMap((t, i) => [`${iso(t)},1,a,254:0,write,1,${over(i, 3e6)},,,,3,`, `${iso(t)},2,b,254:0,read,1,${over(i, 1e6)},,,,1,`]),
].join('\n') + '\n';

/** An exec every 0.5 s for 60 s: 121 executions over 60 s. */
const execCsv = ['timestamp,uid,pid,ppid,comm,filename,note', ...Array.from({ length: 121 }, (_, i) => `${iso(t0 + i * 500)},0,${i + 10},1,sh,/bin/sh,`)].join('\n') + '\n';

async function run(): Promise<ReturnType<typeof toJsonReport>> {
  const dir = await writeFiles({ 'syscall_20261125T100047Z.csv': syscallCsv, 'bio_20261125T100047Z.csv': bioCsv, 'exec_20261125T100047Z.csv': execCsv }, 'rates');
  return toJsonReport(await analyze({ dir }));
}

test('the interval is the configured one, and the covered time runs from the first interval start to the last end', async () => {
  const s = (await run()).sections['syscall'];
  assert.equal(s?.range.interval_seconds, 2, 'not 0.723, the final partial interval');
  assert.equal(s?.range.covered_seconds, 58.723);
  assert.equal(s?.totals['calls'], 58_723);
});

test('a 60 s run is charted in 2 s buckets (the interval), each at its own rate, the partial last one too', async () => {
  const s = (await run()).sections['syscall'];
  assert.equal(s?.series?.bucket_seconds, 2);
  assert.equal(s?.series?.points.length, 30);
  assert.deepEqual(s?.series?.points[0], { t: iso(t0), total: 2000, seconds: 2, rate: 1000 });
  assert.deepEqual(s?.series?.points.at(-1), { t: iso(t0 + 58_000), total: 723, seconds: 0.723, rate: 1000 });
  for (const p of s?.series?.points ?? []) assert.equal(p.rate, 1000, p.t);
  assert.equal(s?.totals['rate'], 1000, 'the card: calls over covered seconds');
});

test('bio: the mean MB/s card, the peak interval and the chart agree', async () => {
  const s = (await run()).sections['bio'];
  assert.equal(s?.totals['throughput_mbps'], 4);
  assert.equal(s?.totals['peak_interval_mbps'], 4, 'the sum of an interval\'s rows, not its biggest row');
  for (const p of s?.series?.points ?? []) assert.equal(p.rate, 4, p.t);
});

test('exec: the mean exec/s card is the chart\'s mean, and per minute is the same rate', async () => {
  const s = (await run()).sections['exec'];
  assert.equal(s?.range.covered_seconds, 60);
  assert.equal(s?.totals['rate'], Math.round((121 / 60) * 1e6) / 1e6);
  assert.equal(s?.totals['per_minute'], 121);
  const pts = s?.series?.points ?? [];
  const mean = pts.reduce((a, p) => a + p.total, 0) / pts.reduce((a, p) => a + p.seconds, 0);
  assert.equal(Math.round(mean * 1e6) / 1e6, s?.totals['rate']);
  assert.ok(pts.length >= 10, `${pts.length} points for a minute of events`);
});

test('text: the interval shown is 2s, the sparkline mean is the card\'s rate', async () => {
  const dir = await writeFiles({ 'syscall_20261125T100047Z.csv': syscallCsv }, 'rates-text');
  const text = renderText(await analyze({ dir }));
  assert.match(text, /\(58\.723s, interval 2s\)/);
  assert.match(text, /rate \(calls\/s, 2s buckets\) {2}peak 1,000 at .*, mean 1,000/);
});

test('buckets follow the window: an hour at 2 s is 120 buckets of 30 s', async () => {
  const start = Date.parse('2026-11-20T00:00:00.000Z');
  const hour = ['timestamp,pid,comm,function,count,note', ...Array.from({ length: 1800 }, (_, i) => `${iso(start + (i + 1) * 2000)},1,x,f,2,`)].join('\n') + '\n';
  const dir = await writeFiles({ 'func_20261120T000000Z.csv': hour }, 'rates-hour');
  const s = toJsonReport(await analyze({ dir })).sections['func'];
  assert.equal(s?.series?.bucket_seconds, 30);
  assert.equal(s?.series?.points.length, 120);
  assert.ok(s?.series?.points.every((p) => p.rate === 1));
});

test('bio: disks are shown by the kernel\'s name from /sys/dev/block/MAJ:MIN (as ebpfmon resolves them), beside the number; unknown ones by the number', async () => {
  const dir = await writeFiles({ 'bio_20261125T100047Z.csv': bioCsv.replace(/,254:0,read,/g, ',8:99,read,') }, 'rates-disks');
  const sys = path.join(dir, 'sys');
  await mkdir(sys, { recursive: true });
  await symlink('../../devices/pci0000:00/0000:00:02.0/virtio1/block/vda', path.join(sys, '254:0'));
  const s = toJsonReport(await analyze({ dir, sysDevBlock: sys })).sections['bio'];
  assert.deepEqual(s?.tables['top_devices']?.rows.map((r) => [r['disk'], r['device']]), [
    ['vda', '254:0'],
    ['8:99', '8:99'],
  ]);
  const none = toJsonReport(await analyze({ dir, sysDevBlock: null })).sections['bio'];
  assert.equal(none?.tables['top_devices']?.rows[0]?.['disk'], '254:0');
  const text = renderText(await analyze({ dir, sysDevBlock: sys }));
  assert.match(text, /\n {2}vda {2,}254:0 /);
});

test('bio: a file\'s own disk column (the monitored host\'s names) comes before this machine\'s; files without it still read', async () => {
  // The monitored host called 254:0 "sdz"; this machine calls it vda. 8:99 has a name only in the file; 9:1 has a
  // MAJ:MIN in the column (ebpfmon found no name) and one that is no kernel name is ignored.
  const withDisk = bioCsv
    .replace('timestamp,pid,comm,device,io_type,', 'timestamp,pid,comm,device,disk,io_type,')
    .replace(/,254:0,(read|write),/g, ',254:0,sdz,$1,')
    .replace(/(\n[^\n]*),254:0,sdz,read,/, '$1,8:99,nvme0n1,read,');
  const extra = ['timestamp,pid,comm,device,disk,io_type,count,total_bytes,avg_latency_us,min_latency_us,max_latency_us,throughput_mbps,note', `${bioCsv.split('\n')[1]!.split(',')[0]!},3,c,9:1,9:1,read,1,10,,,,0,`, `${bioCsv.split('\n')[1]!.split(',')[0]!},3,c,9:2,../etc,read,1,5,,,,0,`].join('\n') + '\n';
  const dir = await writeFiles({ 'bio_20261125T100047Z.csv': withDisk, 'bio_20261125T100048Z.csv': extra }, 'rates-disk-column');
  const sys = path.join(dir, 'sys');
  await mkdir(sys, { recursive: true });
  await symlink('../../devices/pci0000:00/0000:00:02.0/virtio1/block/vda', path.join(sys, '254:0'));
  const s = toJsonReport(await analyze({ dir, sysDevBlock: sys })).sections['bio'];
  assert.deepEqual(s?.tables['top_devices']?.rows.map((r) => [r['disk'], r['device']]), [
    ['sdz', '254:0'],
    ['nvme0n1', '8:99'],
    ['9:1', '9:1'],
    ['9:2', '9:2'],
  ]);
});
