// Benchmark of `ebpfmon analyze`: writes a realistic multi-day CSV set (all eight monitors, default ~1 GB),
// then analyzes it in a child process and prints rows per second and the child's peak RSS.
//
//   npx tsc -p tsconfig.json && node dist/scripts/analyze-bench.js [--size 1G] [--days 3] [--dir DIR] [--keep] [--parser fast|csv-parse]
//   node dist/scripts/analyze-bench.js --size 200M            a quick run
//   node dist/scripts/analyze-bench.js --dir /var/tmp/b --reuse   analyze an already generated set again
//
// Targets (issue 6): peak RSS well under 500 MB whatever the size, at least 500,000 rows/s on one core.
import { execFileSync } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { mkdir, mkdtemp, readdir, rm, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { analyze, renderText, type CsvParser } from '../analysis/index.js';

const self = fileURLToPath(import.meta.url);

interface MonitorSpec {
  name: string;
  header: string;
  /** Share of the total size. */
  weight: number;
  /** Seconds between rows' timestamps (0: an event monitor). */
  interval: number;
  row(ts: string, i: number, rnd: () => number): string;
}

const comms = ['nginx', 'postgres', 'node', 'java', 'bash', 'sshd', 'systemd', 'containerd', 'python3', 'redis-server', 'kworker/0:1', 'chrome', 'rsyslogd', 'cron', 'dockerd'];
const syscalls: [number, string, string][] = [
  [0, 'read', 'io'], [1, 'write', 'io'], [2, 'open', 'file'], [3, 'close', 'file'], [9, 'mmap', 'memory'], [7, 'poll', 'io'],
  [232, 'epoll_wait', 'io'], [202, 'futex', 'sync'], [257, 'openat', 'file'], [262, 'newfstatat', 'file'], [44, 'sendto', 'network'],
  [45, 'recvfrom', 'network'], [228, 'clock_gettime', 'time'], [56, 'clone', 'process'], [59, 'execve', 'process'], [11, 'munmap', 'memory'],
];
const files = ['/etc/ld.so.cache', '/lib/x86_64-linux-gnu/libc.so.6', '/proc/self/stat', '/etc/passwd', '/var/lib/postgresql/15/main/base/16384/2619', '/usr/share/zoneinfo/UTC', '/tmp/.X11-unix', '/etc/hosts', '/dev/null', '/sys/fs/cgroup/cpu.max'];
const funcs = ['vfs_read', 'vfs_write', 'tcp_sendmsg', 'tcp_recvmsg', 'do_sys_openat2', 'schedule'];
const irqs: [string, string][] = [['hardirq', 'nvme0q1'], ['hardirq', 'eth0-rx-0'], ['hardirq', 'LOC'], ['softirq', 'NET_RX'], ['softirq', 'TIMER'], ['softirq', 'SCHED'], ['softirq', 'RCU'], ['softirq', 'BLOCK']];
const pick = <T>(a: readonly T[], rnd: () => number): T => a[Math.floor(rnd() * rnd() * a.length)] as T;
const pid = (rnd: () => number): number => 1000 + Math.floor(rnd() * 400);

const specs: MonitorSpec[] = [
  {
    name: 'exec', weight: 0.03, interval: 0,
    header: 'timestamp,uid,pid,ppid,comm,filename,note',
    row: (ts, i, rnd) => {
      const bin = pick(['/usr/bin/ls', '/usr/bin/grep', '/bin/sh', '/usr/bin/python3', '/usr/sbin/cron', '/usr/bin/git', '/usr/bin/curl'], rnd);
      return `${ts},${pick([0, 0, 1000, 33], rnd)},${20000 + i},${pid(rnd)},${bin.slice(bin.lastIndexOf('/') + 1)},${bin},\n`;
    },
  },
  {
    name: 'syscall', weight: 0.4, interval: 2,
    header: 'timestamp,pid,comm,syscall_nr,syscall,category,count,error_count,error_rate,avg_latency_us,max_latency_us,note',
    row: (ts, _i, rnd) => {
      const [nr, name, cat] = pick(syscalls, rnd);
      const count = 1 + Math.floor(rnd() * 5000);
      const errs = rnd() < 0.2 ? Math.floor(rnd() * count * 0.1) : 0;
      return `${ts},${pid(rnd)},${pick(comms, rnd)},${nr},${name},${cat},${count},${errs},${(errs / count).toFixed(4)},${(rnd() * 30).toFixed(2)},${(rnd() * 900).toFixed(2)},\n`;
    },
  },
  {
    name: 'open', weight: 0.14, interval: 2,
    header: 'timestamp,pid,comm,filename,count,error_count,error_rate,note',
    row: (ts, _i, rnd) => {
      const count = 1 + Math.floor(rnd() * 200);
      const errs = rnd() < 0.15 ? Math.floor(rnd() * count) : 0;
      return `${ts},${pid(rnd)},${pick(comms, rnd)},${pick(files, rnd)},${count},${errs},${(errs / count).toFixed(4)},\n`;
    },
  },
  {
    name: 'bio', weight: 0.07, interval: 5,
    header: 'timestamp,pid,comm,device,io_type,count,total_bytes,avg_latency_us,min_latency_us,max_latency_us,throughput_mbps,note',
    row: (ts, _i, rnd) => {
      const count = 1 + Math.floor(rnd() * 300);
      const bytes = count * 4096 * (1 + Math.floor(rnd() * 16));
      return `${ts},${pid(rnd)},${pick(comms, rnd)},${pick(['nvme0n1', 'sda', 'dm-0'], rnd)},${pick(['read', 'write', 'flush', 'discard'], rnd)},${count},${bytes},${(50 + rnd() * 400).toFixed(2)},${(5 + rnd() * 40).toFixed(2)},${(500 + rnd() * 9000).toFixed(2)},${(bytes / 5 / 1e6).toFixed(3)},\n`;
    },
  },
  {
    name: 'func', weight: 0.08, interval: 2,
    header: 'timestamp,pid,comm,function,count,note',
    row: (ts, _i, rnd) => `${ts},${pid(rnd)},${pick(comms, rnd)},${pick(funcs, rnd)},${1 + Math.floor(rnd() * 3000)},\n`,
  },
  {
    name: 'interrupt', weight: 0.1, interval: 2,
    header: 'timestamp,type,name,cpu,count,total_time_us,avg_time_us,max_time_us,note',
    row: (ts, _i, rnd) => {
      const [type, name] = pick(irqs, rnd);
      const count = 1 + Math.floor(rnd() * 4000);
      const avg = 0.5 + rnd() * 8;
      return `${ts},${type},${name},${Math.floor(rnd() * 16)},${count},${(avg * count).toFixed(2)},${avg.toFixed(2)},${(avg * 6).toFixed(2)},\n`;
    },
  },
  {
    name: 'page_fault', weight: 0.1, interval: 2,
    header: 'timestamp,pid,comm,fault_type,cpu,numa_node,count,access,cause,note',
    row: (ts, _i, rnd) => {
      const cpu = Math.floor(rnd() * 16);
      return `${ts},${pid(rnd)},${pick(comms, rnd)},${rnd() < 0.8 ? 'user' : 'kernel'},${cpu},${cpu >> 3},${1 + Math.floor(rnd() * 900)},${pick(['read', 'write', 'exec'], rnd)},${pick(['not_present', 'protection'], rnd)},\n`;
    },
  },
  {
    name: 'context_switch', weight: 0.08, interval: 2,
    header: 'timestamp,pid,comm,cpu,switches,voluntary,involuntary,note',
    row: (ts, _i, rnd) => {
      const vol = Math.floor(rnd() * 2000);
      const invol = Math.floor(rnd() * 300);
      return `${ts},${pid(rnd)},${pick(comms, rnd)},${Math.floor(rnd() * 16)},${vol + invol},${vol},${invol},\n`;
    },
  },
];

/** A small deterministic PRNG (mulberry32), so two runs of one size write the same data. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

async function writeMonitor(dir: string, spec: MonitorSpec, bytes: number, days: number, start: number): Promise<number> {
  const stamp = new Date(start).toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z');
  const out = createWriteStream(path.join(dir, `${spec.name}_${stamp}.csv`));
  const rnd = prng(spec.name.length * 7919);
  const sample = spec.row(new Date(start).toISOString(), 0, rnd);
  const rows = Math.max(1, Math.floor(bytes / sample.length));
  const spanMs = days * 86_400_000;
  const intervals = spec.interval ? Math.floor(spanMs / (spec.interval * 1000)) : rows;
  const perInterval = rows / intervals;
  // Load follows the time of day: twice the mean at 14:00 UTC, a third of it at 02:00, with some noise.
  const load = (t: number): number => 1 + 0.67 * Math.sin(((t % 86_400_000) / 86_400_000) * 2 * Math.PI - (2 * Math.PI * 8) / 24);
  out.write(spec.header + '\n');
  let written = 0;
  let batch: string[] = [];
  let t = start;
  for (let k = 0; written < rows; k++) {
    // Event monitors: one row per event, the gaps shorter when the load is high.
    t = spec.interval ? start + (k + 1) * spec.interval * 1000 : t + Math.max(1, Math.round(((spanMs / rows) * (0.2 + 1.6 * rnd())) / load(t)));
    if (t > start + spanMs) break;
    const ts = new Date(t).toISOString();
    const x = perInterval * load(t) * (0.8 + 0.4 * rnd());
    const n = spec.interval ? Math.floor(x) + (rnd() < x - Math.floor(x) ? 1 : 0) : 1;
    for (let j = 0; j < n && written < rows; j++, written++) batch.push(spec.row(ts, written, rnd));
    if (batch.length >= 5000) {
      if (!out.write(batch.join(''))) await new Promise<void>((r) => out.once('drain', () => r()));
      batch = [];
    }
    // A restart marker now and then, as `start` writes after a bpftrace crash.
    if (spec.interval && k % 20000 === 19999) batch.push(`${ts}${','.repeat(spec.header.split(',').length - 1)}bpftrace restarted: counts of one interval lost\n`);
  }
  // A crash leaves a truncated last line.
  batch.push(spec.row(new Date(start + spanMs).toISOString(), written, rnd).slice(0, 30));
  out.end(batch.join(''));
  await new Promise<void>((r) => out.on('close', () => r()));
  return written;
}

const units: Record<string, number> = { '': 1, K: 1e3, M: 1e6, G: 1e9 };
function parseSize(s: string): number {
  const m = /^(\d+(?:\.\d+)?)([KMG]?)B?$/i.exec(s.trim());
  if (!m) throw new Error(`bad --size ${s} (e.g. 300M, 1G)`);
  return Number(m[1]) * (units[(m[2] ?? '').toUpperCase()] ?? 1);
}

async function dirBytes(dir: string): Promise<number> {
  let n = 0;
  for (const f of await readdir(dir)) n += (await stat(path.join(dir, f))).size;
  return n;
}

/** Child mode: analyze DIR once and print what it cost as one JSON line. */
async function runChild(dir: string, parser: CsvParser): Promise<void> {
  const t0 = performance.now();
  const report = await analyze({ dir, parser });
  renderText(report);
  const seconds = (performance.now() - t0) / 1000;
  const markers = report.sections.reduce((s, x) => s + x.markers.total, 0);
  process.stdout.write(JSON.stringify({ rows: report.rows, damaged: report.damaged_rows, markers, seconds, maxRssKb: process.resourceUsage().maxRSS }) + '\n');
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      size: { type: 'string', default: '1G' },
      days: { type: 'string', default: '3' },
      dir: { type: 'string' },
      keep: { type: 'boolean', default: false },
      reuse: { type: 'boolean', default: false },
      parser: { type: 'string', default: 'fast' },
      run: { type: 'string' },
    },
  });
  const parser = values.parser === 'csv-parse' ? 'csv-parse' : 'fast';
  if (values.run) return runChild(values.run, parser);

  const size = parseSize(values.size);
  const days = Number(values.days);
  const dir = values.dir ?? (await mkdtemp(path.join(os.tmpdir(), 'ebpfmon-bench-')));
  await mkdir(dir, { recursive: true });
  if (!values.reuse) {
    const t0 = performance.now();
    const start = Date.parse('2026-11-20T00:00:00.000Z');
    let rows = 0;
    for (const spec of specs) rows += await writeMonitor(dir, spec, size * spec.weight, days, start);
    console.log(`generated ${rows.toLocaleString('en-US')} rows, ${(await dirBytes(dir) / 1e6).toFixed(0)} MB over ${days} days in ${dir} (${((performance.now() - t0) / 1000).toFixed(1)} s)`);
  }
  const bytes = await dirBytes(dir);
  const out = execFileSync(process.execPath, [self, '--run', dir, '--parser', parser], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
  const r = JSON.parse(out) as { rows: number; damaged: number; markers: number; seconds: number; maxRssKb: number };
  console.log(`analyze (${parser} parser): ${(bytes / 1e6).toFixed(0)} MB, ${r.rows.toLocaleString('en-US')} rows (+${r.markers} markers, ${r.damaged} damaged) in ${r.seconds.toFixed(2)} s`);
  console.log(`  ${Math.round(r.rows / r.seconds).toLocaleString('en-US')} rows/s, ${(bytes / 1e6 / r.seconds).toFixed(1)} MB/s, peak RSS ${(r.maxRssKb / 1024).toFixed(0)} MB`);
  if (!values.keep && !values.dir) await rm(dir, { recursive: true, force: true });
}

await main();
