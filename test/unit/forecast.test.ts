// The cost forecast's pure parts: arithmetic, the calibration cache (valid, another key, corrupt), totals, rendering.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { cpuShare, excludes, forecastMonitor, overBudget, renderForecast, totalOf, type Forecast } from '../../src/forecast/forecast.js';
import { parseCalibration, readCalibration, referenceFloorNs, scaleOf, writeCalibration, type Calibration } from '../../src/forecast/calibration.js';
import { counterTotal, countScript, ratePerSecond } from '../../src/forecast/rates.js';
import { monitors } from '../../src/monitors/registry.js';

const key = { kernel: '6.18.44', bpftrace: '0.17.0' };
const cal: Calibration = { ...key, floorNs: 2 * referenceFloorNs, referenceNs: referenceFloorNs, measuredAt: '2026-11-29T10:00:00.000Z' };

test('share of one CPU = rate x ns x scale / 1e9 x 100; slowdown = share / CPUs', () => {
  assert.ok(Math.abs(cpuShare(100_000, 387, 1) - 3.87) < 1e-9);
  assert.equal(scaleOf(cal), 2);
  const f = forecastMonitor({ name: 'syscall', cost: { nsPerEvent: 387, event: 'syscall' } }, { eventsPerSecond: 100_000, from: { kind: 'probe', tracepoints: ['raw_syscalls:sys_exit'] } }, { scale: 2, cpus: 2 }, 5);
  assert.equal(f.cpuPercent, 7.74);
  assert.equal(f.slowdownPercent, 3.87);
  assert.equal(f.nsPerEventHere, 774);
  assert.deepEqual(overBudget([f]).map((m) => m.monitor), ['syscall'], 'above max_cpu_percent 5');
  const none = forecastMonitor({ name: 'func', cost: { nsPerEvent: null, event: 'function call' } }, { eventsPerSecond: null, from: { kind: 'none', why: 'not forecast (kprobes)' } }, { scale: 2, cpus: 2 });
  assert.equal(none.cpuPercent, null);
  assert.equal(none.slowdownPercent, null);
  assert.deepEqual(overBudget([none]), []);
  assert.deepEqual(totalOf([f, none], 2), { cpuPercent: 7.74, slowdownPercent: 3.87 });
});

test('every monitor declares ns per event and a rate source (func: neither, it needs kprobes)', () => {
  for (const m of monitors) {
    if (m.name === 'func') {
      assert.equal(m.cost.nsPerEvent, null);
      assert.equal(m.cost.rate, null);
      continue;
    }
    assert.ok(typeof m.cost.nsPerEvent === 'number' && m.cost.nsPerEvent > 0, m.name);
    assert.ok(m.cost.rate !== null, m.name);
    assert.ok(m.cost.event.length > 0, m.name);
  }
});

test('rates: counters per second, partitions left out of block requests, a counter going backwards is no rate', () => {
  assert.equal(ratePerSecond(100, 300, 2), 100);
  assert.equal(ratePerSecond(300, 100, 2), null);
  assert.equal(ratePerSecond(null, 100, 2), null);
  assert.equal(counterTotal(new Map([['254:0', 10], ['254:1', 7], ['7:0', 1]]), (d) => d === '254:1'), 11);
  assert.equal(counterTotal(42), 42);
  assert.equal(countScript([{ monitor: 'open', tracepoints: ['syscalls:sys_exit_open', 'syscalls:sys_exit_openat'] }]), 'tracepoint:syscalls:sys_exit_open,\ntracepoint:syscalls:sys_exit_openat\n{ @open = count(); }\n');
});

test('calibration cache: valid for its key only; corrupt, implausible or another reference is ignored', () => {
  const text = JSON.stringify(cal);
  assert.deepEqual(parseCalibration(text, key), cal);
  assert.equal(parseCalibration(text, { ...key, kernel: '6.19.0' }), null, 'another kernel');
  assert.equal(parseCalibration(text, { ...key, bpftrace: '0.21.0' }), null, 'another bpftrace');
  assert.equal(parseCalibration('{"kernel": "6.18', key), null, 'truncated');
  assert.equal(parseCalibration('[]', key), null);
  assert.equal(parseCalibration(JSON.stringify({ ...cal, floorNs: -1 }), key), null);
  assert.equal(parseCalibration(JSON.stringify({ ...cal, floorNs: String(2 * referenceFloorNs) }), key), null);
  assert.equal(parseCalibration(JSON.stringify({ ...cal, referenceNs: 120 }), key), null, 'made against another reference');
  assert.equal(parseCalibration(JSON.stringify({ ...cal, measuredAt: 'yesterday' }), key), null);
});

test('calibration cache: written in a 0700 directory as 0600, read back; a corrupt file reads as none', async () => {
  const base = await mkdtemp(path.join(os.tmpdir(), 'ebpfmon-forecast-'));
  try {
    const file = path.join(base, 'cache', 'calibration.json');
    assert.equal(await readCalibration(key, file), null, 'missing');
    await writeCalibration(cal, file);
    assert.equal((await stat(path.dirname(file))).mode & 0o777, 0o700);
    assert.equal((await stat(file)).mode & 0o777, 0o600);
    assert.deepEqual(await readCalibration(key, file), cal);
    assert.deepEqual(JSON.parse(await readFile(file, 'utf8')), cal);
    await writeFile(file, '\0\0garbage');
    assert.equal(await readCalibration(key, file), null);
  } finally {
    await rm(base, { recursive: true, force: true });
  }
});

test('rendering: says it is an estimate, what it leaves out, one line per monitor and a total', () => {
  const ms = [
    forecastMonitor({ name: 'page_fault', cost: { nsPerEvent: 449, event: 'page fault' } }, { eventsPerSecond: 20_000, from: { kind: 'counter', counter: 'page_faults' } }, { scale: 1, cpus: 2 }, 0.5),
    forecastMonitor({ name: 'func', cost: { nsPerEvent: null, event: 'function call' } }, { eventsPerSecond: null, from: { kind: 'none', why: 'not forecast (kprobes)' } }, { scale: 1, cpus: 2 }),
  ];
  const f: Forecast = { estimate: true, seconds: 5, cpus: 2, calibration: { ...cal, floorNs: 95, scale: 1, cached: true, file: '/var/cache/ebpfmon/calibration.json' }, monitors: ms, total: totalOf(ms, 2), excludes };
  const text = renderForecast(f);
  assert.match(text, /an estimate/);
  assert.match(text, /not included: .*user-space cost of bpftrace printing/);
  assert.match(text, /scale x1\.00 \(cached /);
  assert.match(text, /page_fault +20,000 +449 +0\.90 +0\.45 % +kernel counter page_faults +above max_cpu_percent 0\.5/);
  assert.match(text, /func +- +- +- +- % +not forecast \(kprobes\)/);
  assert.match(text, /total +0\.90 +0\.45 %/);
});

test("check --cost's short probes store bpftrace's host pid as the version names it (0.22+ inside a pid namespace: curtask->tgid)", async () => {
  const { shortProbeScript } = await import('../../src/forecast/probe.js');
  const { featuresOf, parseVersion } = await import('../../src/bt/features.js');
  const begin = (v: string): string => shortProbeScript({ path: 'bpftrace', selfPid: featuresOf(parseVersion(v)!).selfPid }, 'x').split('\n')[0]!;
  assert.match(begin('0.17.0'), /^BEGIN \{ @\S+ = pid; \}$/);
  assert.match(begin('0.23.2'), /^BEGIN \{ @\S+ = curtask->tgid; \}$/);
  assert.match(begin('0.27.1'), /^BEGIN \{ @\S+ = curtask->tgid; \}$/);
});
