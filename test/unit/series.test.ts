// The worst-case series estimate (`ebpfmon check`): at the default settings a host stays within the budget, and the
// label rules that keep it there hold for every metric a monitor declares.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parseConfig, selectedMonitors } from '../../src/config/load.js';
import { monitors } from '../../src/monitors/registry.js';
import { describeMachine, estimateSeries, healthSeriesPerMonitor, healthSeriesPerProcess, selfSeries, seriesBudget, totalSeries } from '../../src/plan/series.js';
import { exporterLabels, type Machine } from '../../src/monitors/types.js';
import { repoRoot } from '../helpers/paths.js';

const defaults = parseConfig(readFileSync(path.join(repoRoot, 'config/monitor_config.yaml'), 'utf8'), 'default');
const enabled = (config = defaults) => monitors.filter((m) => selectedMonitors(config).includes(m.name));

/**
 * A large two-socket server: 96 CPUs, 24 block devices (disks, loop, dm), and 1000 interrupt handlers (one MSI-X
 * vector per queue and CPU on each NVMe drive and NIC port).
 */
const bigHost: Machine = { arch: 'x86_64', cpus: 96, numaNodes: 2, blockDevices: 24, irqHandlers: 1000 };

test('the worst-case series count at defaults is under 10,000', () => {
  assert.equal(seriesBudget, 10_000);
  assert.ok(enabled().length >= 7, 'the documented default enables seven monitors');
  const est = estimateSeries(defaults, enabled(), bigHost);
  const total = totalSeries(est);
  assert.ok(total <= seriesBudget, `${total} series on a 96-CPU host:\n${est.map((e) => `${e.metric} ${e.series}`).join('\n')}`);
  // This machine too, as `ebpfmon check` measures it.
  const here = totalSeries(estimateSeries(defaults, enabled(), describeMachine(process.arch)));
  assert.ok(here <= seriesBudget, `${here} series on this machine`);
});

test('the estimate: syscalls without comm, per-command totals at the cap + other, no cpu label by default', () => {
  const est = estimateSeries(defaults, enabled(), bigHost);
  const by = (metric: string) => est.find((e) => e.metric === metric);
  assert.deepEqual(by('ebpfmon_syscalls_total')?.labels, { syscall: 363, category: 1 });
  assert.deepEqual(by('ebpfmon_process_syscalls_total')?.labels, { comm: 201 });
  assert.deepEqual(by('ebpfmon_context_switches_total'), { metric: 'ebpfmon_context_switches_total', monitor: 'context_switch', labels: { comm: 201, kind: 2 }, series: 402 });
  assert.deepEqual(by('ebpfmon_interrupts_total')?.labels, { type: 1000, devices: 1 });
  assert.deepEqual(by('ebpfmon_softirqs_total')?.labels, { vector: 10 });
  assert.deepEqual(by('ebpfmon_page_faults_total')?.labels, { mode: 2, access: 3, cause: 2, numa_node: 2 });
  assert.equal(by('ebpfmon_bio_latency_seconds')?.series, 24 * 5 * 17);
  assert.ok(!est.some((e) => 'cpu' in e.labels));
  // Health: healthSeriesPerMonitor series per monitor and healthSeriesPerProcess per bpftrace process (at most one
  // per monitor), one folded counter per per-process metric, and the supervisor's own.
  const perProcess = est.filter((e) => 'comm' in e.labels).length;
  assert.equal(est.at(-1)?.series, (healthSeriesPerMonitor + healthSeriesPerProcess) * enabled().length + perProcess + selfSeries);
});

test('raising the caps is a knowing choice: per_cpu and max_comm_series multiply what they cover', () => {
  const perCpu = parseConfig('output: {prometheus: {per_cpu: true}}\nmonitors: {interrupt: {enabled: true}}\n', 'c');
  const est = estimateSeries(perCpu, enabled(perCpu), bigHost);
  assert.equal(est.find((e) => e.metric === 'ebpfmon_interrupts_total')?.series, 1000 * 96);
  assert.ok(totalSeries(est) > seriesBudget, 'per_cpu on a large host is over the budget: check says so');
  const cap = parseConfig('output: {prometheus: {max_comm_series: 1000}}\nmonitors: {exec: {enabled: true, cgroup: true}}\n', 'c');
  const exec = estimateSeries(cap, enabled(cap), bigHost).find((e) => e.metric === 'ebpfmon_exec_total');
  // With cgroup, the cap is on (comm, cgroup) pairs: not (cap + 1) squared.
  assert.deepEqual(exec?.labels, { comm: 1001, cgroup: 1 });
});

test('every metric label has a bound; per-process metrics carry nothing that multiplies them; pid is never a label', () => {
  const all = monitors.map((m) => m.name);
  const config = parseConfig(
    `output: {prometheus: {per_cpu: true}}\nmonitors:\n${all.map((n) => `  ${n}: {enabled: true${n === 'interrupt' ? '' : ', cgroup: true'}${n === 'func' ? ', functions: [vfs_read], per_process: true' : ''}}`).join('\n')}\n`,
    'all',
  );
  assert.doesNotThrow(() => estimateSeries(config, monitors, bigHost));
  for (const m of monitors) {
    for (const spec of m.metrics ?? []) {
      const labels = Object.keys(spec.labels);
      assert.ok(!labels.includes('pid'), `${spec.name}: pid`);
      if (labels.some((l) => exporterLabels.perProcess.includes(l))) {
        assert.deepEqual(labels.filter((l) => !exporterLabels.perProcess.includes(l)), [], `${spec.name}: a per-process metric only has comm (and cgroup)`);
        assert.equal(spec.histogram, undefined, spec.name);
      }
      assert.match(spec.name, /^ebpfmon_[a-z_]+(_total|_seconds)$/, spec.name);
    }
  }
});

test("label bounds come from the metric's own declaration (with the monitor's options); a label without one is refused", () => {
  const config = parseConfig('monitors: {func: {enabled: true, functions: [vfs_read, vfs_write, do_sys_openat2]}}\n', 'c');
  const func = monitors.find((m) => m.name === 'func')!;
  const est = estimateSeries(config, [func], bigHost);
  assert.deepEqual(est.find((e) => e.metric === 'ebpfmon_function_calls_total')?.labels, { function: 3 });
  const spec = func.metrics![0]!;
  const unbounded = { ...func, metrics: [{ ...spec, labels: { ...spec.labels, colour: 'function' } }] };
  assert.throws(() => estimateSeries(config, [unbounded], bigHost), /no bound for label "colour" of ebpfmon_function_calls_total/);
});
