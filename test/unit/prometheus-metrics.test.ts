// What the exporter makes of rows: per-process metrics show the busiest commands of each scrape window plus "other",
// the cpu label only when asked for, interrupts and softirqs with node_exporter's label names, and the health
// series the estimate counts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { selectShown } from '../../src/sinks/busiest.js';
import { createPrometheusSink, type HealthSnapshot, type PrometheusOptions } from '../../src/sinks/prometheus.js';
import { healthSeriesPerMonitor, healthSeriesPerProcess, selfSeries } from '../../src/plan/series.js';
import { monitors } from '../../src/monitors/registry.js';
import type { MetricSpec, Row } from '../../src/monitors/types.js';
import { newStats } from '../../src/records/stats.js';

test('selectShown: the busiest of the window, then earlier ones while there is room', () => {
  const cases: { name: string; totals: [string, number][]; before: [string, number][]; window: number; limit: number; shown: [string, number][]; dropped: string[] }[] = [
    { name: 'first window: the two busiest', totals: [['a', 5], ['b', 3], ['c', 1]], before: [], window: 1, limit: 2, shown: [['a', 1], ['b', 1]], dropped: [] },
    { name: 'ties go by name', totals: [['z', 1], ['y', 1], ['x', 1]], before: [], window: 1, limit: 2, shown: [['x', 1], ['y', 1]], dropped: [] },
    { name: 'an earlier one stays while there is room', totals: [['c', 9]], before: [['a', 1], ['b', 1]], window: 2, limit: 3, shown: [['c', 2], ['a', 1], ['b', 1]], dropped: [] },
    { name: 'no room: the longest ago among the busiest is dropped', totals: [['c', 9]], before: [['a', 1], ['b', 2]], window: 3, limit: 2, shown: [['c', 3], ['b', 2]], dropped: ['a'] },
    { name: 'a new top-N replaces all', totals: [['c', 9], ['d', 8]], before: [['a', 1], ['b', 1]], window: 2, limit: 2, shown: [['c', 2], ['d', 2]], dropped: ['a', 'b'] },
    { name: 'a shown one busy again is refreshed', totals: [['a', 1], ['c', 9]], before: [['a', 1], ['b', 1]], window: 2, limit: 2, shown: [['c', 2], ['a', 2]], dropped: ['b'] },
  ];
  for (const c of cases) {
    const r = selectShown(new Map(c.totals), new Map(c.before), c.window, c.limit);
    assert.deepEqual([...r.shown], c.shown, c.name);
    assert.deepEqual(r.dropped, c.dropped, c.name);
  }
});

/** Samples of an exposition: `name{labels}` -> value, labels sorted. */
function samples(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const i = line.lastIndexOf(' ');
    const m = /^([a-z_]+)(?:\{(.*)\})?$/.exec(line.slice(0, i));
    if (!m) continue;
    const labels = (m[2] ?? '').split(/,(?=[a-z_]+=")/).filter(Boolean).sort().join(',');
    out.set(`${m[1]}{${labels}}`, Number(line.slice(i + 1)));
  }
  return out;
}
const of = (s: Map<string, number>, metric: string): Map<string, number> => new Map([...s].filter(([k]) => k.startsWith(`${metric}{`)));

async function sink(t: { after(fn: () => Promise<void>): void }, metrics: [string, readonly MetricSpec[]][], extra: Partial<PrometheusOptions> = {}) {
  const p = await createPrometheusSink({
    listen: '127.0.0.1:0',
    path: '/metrics',
    maxCommSeries: 2,
    metrics: new Map(metrics),
    health: () => [],
    usage: () => Promise.resolve(null),
    ...extra,
  });
  t.after(() => p.close());
  return p;
}
const specsOf = (name: string): readonly MetricSpec[] => monitors.find((m) => m.name === name)?.metrics ?? [];
const execRow = (comm: string): Row => ({ timestamp: 't', uid: 0, pid: 1, ppid: 0, comm, filename: '/bin/x', cgroup: null });

test('a per-process metric shows the busiest commands of each scrape window; the rest add to comm="other"', async (t) => {
  const p = await sink(t, [['exec', specsOf('exec')]]);
  p.write('exec', [...Array<Row>(5).fill(execRow('a')), ...Array<Row>(3).fill(execRow('b')), execRow('c')]);
  let s = of(samples(await p.scrape()), 'ebpfmon_exec_total');
  assert.deepEqual(Object.fromEntries(s), { 'ebpfmon_exec_total{comm="a"}': 5, 'ebpfmon_exec_total{comm="b"}': 3, 'ebpfmon_exec_total{comm="other"}': 1 });
  // Nothing new: a scrape changes nothing.
  assert.deepEqual(of(samples(await p.scrape()), 'ebpfmon_exec_total'), s);
  // The next window's busiest are c and a: b's series ends (no room), c gets its own from now on.
  p.write('exec', [...Array<Row>(10).fill(execRow('c')), execRow('a'), execRow('d')]);
  const text = await p.scrape();
  s = of(samples(text), 'ebpfmon_exec_total');
  assert.deepEqual(Object.fromEntries(s), { 'ebpfmon_exec_total{comm="a"}': 6, 'ebpfmon_exec_total{comm="c"}': 10, 'ebpfmon_exec_total{comm="other"}': 2 });
  assert.equal(samples(text).get('ebpfmon_label_values_folded_total{label="comm",metric="ebpfmon_exec_total"}'), 2);
});

test('with cgroup, the busiest (comm, cgroup) pairs are shown; both labels fold into "other"', async (t) => {
  const p = await sink(t, [['exec', specsOf('exec')]], { maxCommSeries: 1 });
  p.write('exec', [{ ...execRow('a'), cgroup: '/x' }, { ...execRow('a'), cgroup: '/x' }, { ...execRow('a'), cgroup: '/y' }]);
  const s = samples(await p.scrape());
  assert.equal(s.get('ebpfmon_exec_total{cgroup="/x",comm="a"}'), 2);
  assert.equal(s.get('ebpfmon_exec_total{cgroup="other",comm="other"}'), 1);
  assert.equal(s.get('ebpfmon_label_values_folded_total{label="comm,cgroup",metric="ebpfmon_exec_total"}'), 1);
});

test('context switches: both kinds of a command share its place among the busiest', async (t) => {
  const p = await sink(t, [['context_switch', specsOf('context_switch')]], { maxCommSeries: 1 });
  const row = (comm: string, voluntary: number, involuntary: number): Row => ({ timestamp: 't', pid: 1, comm, cpu: 0, switches: voluntary + involuntary, voluntary, involuntary, cgroup: null });
  p.write('context_switch', [row('a', 1, 50), row('b', 40, 0)]);
  const s = of(samples(await p.scrape()), 'ebpfmon_context_switches_total');
  assert.deepEqual(Object.fromEntries(s), {
    'ebpfmon_context_switches_total{comm="a",kind="voluntary"}': 1,
    'ebpfmon_context_switches_total{comm="a",kind="involuntary"}': 50,
    'ebpfmon_context_switches_total{comm="other",kind="voluntary"}': 40,
  });
});

const irqRow = (type: 'hardirq' | 'softirq', irq: number, name: string, cpu: number, count: number): Row => ({
  timestamp: 't', type, name, cpu, count, total_time_us: count * 2, avg_time_us: 2, max_time_us: 3, irq,
});

test('interrupts: node_exporter label names; the cpu label only with per_cpu, else CPUs are summed', async (t) => {
  const rows = [irqRow('hardirq', 24, 'virtio0-input.0', 0, 7), irqRow('hardirq', 24, 'virtio0-input.0', 1, 3), irqRow('softirq', 1, 'timer', 0, 100), irqRow('softirq', 1, 'timer', 1, 50)];
  const summed = await sink(t, [['interrupt', specsOf('interrupt')]]);
  summed.write('interrupt', rows);
  let s = samples(await summed.scrape());
  assert.equal(s.get('ebpfmon_interrupts_total{devices="virtio0-input.0",type="24"}'), 10);
  const near = (a: number | undefined, b: number): boolean => a !== undefined && Math.abs(a - b) < 1e-12;
  assert.ok(near(s.get('ebpfmon_interrupt_handler_seconds_total{devices="virtio0-input.0",type="24"}'), 20e-6));
  assert.equal(s.get('ebpfmon_softirqs_total{vector="timer"}'), 150);
  assert.ok(near(s.get('ebpfmon_softirq_seconds_total{vector="timer"}'), 300e-6));
  assert.equal(of(s, 'ebpfmon_interrupts_total').size, 1, 'softirqs do not feed the hard interrupt counter');
  const perCpu = await sink(t, [['interrupt', specsOf('interrupt')]], { perCpu: true });
  perCpu.write('interrupt', rows);
  s = samples(await perCpu.scrape());
  assert.equal(s.get('ebpfmon_interrupts_total{cpu="0",devices="virtio0-input.0",type="24"}'), 7);
  assert.equal(s.get('ebpfmon_softirqs_total{cpu="1",vector="timer"}'), 50);
});

test('syscalls: per syscall without comm, per command in total', async (t) => {
  const p = await sink(t, [['syscall', specsOf('syscall')]]);
  const row = (comm: string, syscall: string, count: number, errors: number): Row => ({
    timestamp: 't', pid: 1, comm, syscall_nr: 0, syscall, category: 'file', count, error_count: errors, error_rate: 0, avg_latency_us: null, max_latency_us: null, cgroup: null,
  });
  p.write('syscall', [row('a', 'read', 10, 1), row('b', 'read', 5, 0), row('b', 'close', 2, 2)]);
  const s = samples(await p.scrape());
  assert.equal(s.get('ebpfmon_syscalls_total{category="file",syscall="read"}'), 15);
  assert.equal(s.get('ebpfmon_syscall_errors_total{category="file",syscall="close"}'), 2);
  assert.equal(s.get('ebpfmon_process_syscalls_total{comm="b"}'), 7);
  assert.equal(s.get('ebpfmon_process_syscall_errors_total{comm="b"}'), 2);
  assert.ok(![...s.keys()].some((k) => k.startsWith('ebpfmon_syscalls_total{') && k.includes('comm=')));
});

test('func without per_process: no per-process series (its rows carry no comm)', async (t) => {
  const p = await sink(t, [['func', specsOf('func')]]);
  p.write('func', [{ timestamp: 't', pid: 0, comm: '', function: 'vfs_read', count: 9, cgroup: null }]);
  const s = samples(await p.scrape());
  assert.equal(s.get('ebpfmon_function_calls_total{function="vfs_read"}'), 9);
  assert.equal(of(s, 'ebpfmon_process_function_calls_total').size, 0);
});

test('a monitor adds healthSeriesPerMonitor health series, a bpftrace process healthSeriesPerProcess, as the estimate counts', async (t) => {
  const health: HealthSnapshot[] = [{ monitor: 'exec', stats: { ...newStats(), state: 'running', bpftracePid: 1, skippedTicks: 3 }, bpf: { programs: 1, runTimeNs: 1, runCount: 1, recursionMisses: 0 }, process: 'main' }];
  const p = await sink(t, [], { health: () => health, usage: () => Promise.resolve({ cpuSeconds: 1, rssBytes: 1 }) });
  const s = samples(await p.scrape());
  assert.equal([...s.keys()].filter((k) => k.includes('monitor="exec"')).length, healthSeriesPerMonitor);
  assert.equal([...s.keys()].filter((k) => k.includes('process="main"') && !k.includes('monitor=')).length, healthSeriesPerProcess);
  assert.equal(s.get('ebpfmon_skipped_ticks_total{monitor="exec"}'), 3);
});

test('bpftrace CPU, memory and BPF cost: one series per bpftrace process, not one per monitor it serves', async (t) => {
  const cost = { programs: 3, runTimeNs: 2e9, runCount: 50, recursionMisses: 1 };
  const running = (pid: number) => ({ ...newStats(), state: 'running' as const, bpftracePid: pid });
  // Three monitors in "main" (pid 10), one in "paths" (pid 20): as a session reports them.
  const health: HealthSnapshot[] = [
    { monitor: 'syscall', stats: running(10), bpf: cost, process: 'main' },
    { monitor: 'exec', stats: running(10), bpf: cost, process: 'main' },
    { monitor: 'bio', stats: running(10), bpf: cost, process: 'main' },
    { monitor: 'open', stats: running(20), bpf: null, process: 'paths' },
  ];
  const usage = (pid: number) => Promise.resolve({ cpuSeconds: pid === 10 ? 4 : 1, rssBytes: pid === 10 ? 20e6 : 8.8e6 });
  const p = await sink(t, [], { health: () => health, usage });
  const s = samples(await p.scrape());
  assert.deepEqual(Object.fromEntries(of(s, 'ebpfmon_bpftrace_rss_bytes')), { 'ebpfmon_bpftrace_rss_bytes{process="main"}': 20e6, 'ebpfmon_bpftrace_rss_bytes{process="paths"}': 8.8e6 });
  // sum() is the memory bpftrace really holds.
  assert.equal([...of(s, 'ebpfmon_bpftrace_rss_bytes').values()].reduce((a, b) => a + b, 0), 28.8e6);
  assert.deepEqual(Object.fromEntries(of(s, 'ebpfmon_bpftrace_cpu_seconds_total')), { 'ebpfmon_bpftrace_cpu_seconds_total{process="main"}': 4, 'ebpfmon_bpftrace_cpu_seconds_total{process="paths"}': 1 });
  assert.deepEqual(Object.fromEntries(of(s, 'ebpfmon_bpf_run_seconds_total')), { 'ebpfmon_bpf_run_seconds_total{process="main"}': 2 });
  assert.equal(of(s, 'ebpfmon_monitor_process').size, 4);
  assert.equal(s.get('ebpfmon_monitor_process{monitor="bio",process="main"}'), 1);
  assert.equal(s.get('ebpfmon_monitor_process{monitor="open",process="paths"}'), 1);
  // bio isolated into its own process (pid 30): main's figures stay main's; no stale series of the old mapping.
  health[2] = { monitor: 'bio', stats: running(30), bpf: null, process: 'bio' };
  const after = samples(await p.scrape());
  assert.equal(of(after, 'ebpfmon_bpftrace_rss_bytes').size, 3);
  assert.equal(after.get('ebpfmon_monitor_process{monitor="bio",process="main"}'), undefined);
  assert.equal(after.get('ebpfmon_monitor_process{monitor="bio",process="bio"}'), 1);
});

test('ebpfmon_build_info, and the supervisor\'s own process metrics read at scrape time (no event-loop timer)', async (t) => {
  const p = await sink(t, [], { buildInfo: { version: '1.2.3', bpftraceVersion: '0.17.0' } });
  const text = await p.scrape();
  const s = samples(text);
  assert.equal(s.get(`ebpfmon_build_info{bpftrace_version="0.17.0",node_version="${process.versions.node}",version="1.2.3"}`), 1);
  for (const name of ['process_cpu_seconds_total', 'process_resident_memory_bytes', 'process_start_time_seconds', 'process_open_fds', 'nodejs_heap_size_used_bytes']) {
    assert.ok(of(s, name).size === 1 || s.has(`${name}{}`), `${name} is served`);
  }
  assert.ok((s.get('process_resident_memory_bytes{}') ?? 0) > 10e6);
  // collectDefaultMetrics' event-loop lag histogram samples every 10 ms (a timer that keeps waking the process).
  assert.doesNotMatch(text, /nodejs_eventloop_lag/);
  assert.ok([...s.keys()].filter((k) => !k.startsWith('ebpfmon_')).length <= selfSeries - 1);
  const off = await sink(t, [], { processMetrics: false });
  assert.doesNotMatch(await off.scrape(), /^process_/m);
});

test('bio: device is the kernel\'s name (node_exporter\'s label), devno the MAJ:MIN', async (t) => {
  const p = await sink(t, [['bio', specsOf('bio')]]);
  const row: Row = { timestamp: 't', pid: 1, comm: 'dd', device: '254:0', disk: 'vda', io_type: 'write', count: 3, total_bytes: 12288, avg_latency_us: 150, min_latency_us: 100, max_latency_us: 200, throughput_mbps: 0, latency_buckets: '250:3', cgroup: null };
  p.write('bio', [row]);
  const s = samples(await p.scrape());
  assert.equal(s.get('ebpfmon_bio_requests_total{device="vda",devno="254:0",io_type="write"}'), 3);
  assert.equal(s.get('ebpfmon_bio_bytes_total{device="vda",devno="254:0",io_type="write"}'), 12288);
  assert.equal(s.get('ebpfmon_bio_latency_seconds_count{device="vda",devno="254:0",io_type="write"}'), 3);
});
