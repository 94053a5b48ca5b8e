// The scripts kept as golden files in test/golden: each monitor in each variant, with the options that change its
// script, under the layout bpftrace itself runs (double buffer), plus the full default process as bpftrace-aotrt
// runs it (sharded maps). `npm run golden` rewrites them; test/unit/golden.test.ts compares.
import { assumedFeatures } from '../src/bt/features.js';
import { composeScript } from '../src/script/compose.js';
import type { Layout } from '../src/bt/render.js';
import { hostScope, type Scope } from '../src/bt/ir.js';
import { monitors } from '../src/monitors/registry.js';
import { defaultStrlen, pathStrlen, type MonitorPlan } from '../src/monitors/types.js';
import type { PlannedMonitor } from '../src/plan/plan.js';

const tracepointFields: MonitorPlan['tracepointFields'] = {
  'syscalls:sys_enter_open': ['filename'],
  'syscalls:sys_exit_open': ['ret'],
  'syscalls:sys_enter_openat': ['filename'],
  'syscalls:sys_exit_openat': ['ret'],
  'syscalls:sys_enter_openat2': ['filename'],
  'syscalls:sys_exit_openat2': ['ret'],
  'block:block_rq_issue': ['dev', 'sector', 'bytes', 'rwbs'],
  'block:block_rq_complete': ['dev', 'sector', 'nr_sector', 'rwbs'],
  'block:block_io_start': ['dev', 'sector'],
  'block:block_rq_merge': ['dev', 'sector'],
  'block:block_rq_requeue': ['dev', 'sector'],
  'sched:sched_process_exit': ['comm', 'pid', 'prio', 'group_dead'],
  'sched:sched_process_exec': ['filename', 'pid', 'old_pid'],
};

interface GoldenCase {
  file: string;
  monitors: { name: string; variant: string; options?: Record<string, unknown> }[];
  layout: Layout;
  scope?: Scope;
}

const cases: GoldenCase[] = [
  { file: 'exec-kprobe', monitors: [{ name: 'exec', variant: 'kprobe' }] },
  // The most a probe puts on the stack: the kprobe return with cgroup and a filter, beside open with every option.
  {
    file: 'paths-kprobe-all-options',
    monitors: [
      { name: 'exec', variant: 'kprobe', options: { cgroup: true, comm: 'nginx' } },
      { name: 'open', variant: 'tracepoint', options: { path_prefix: '/etc/ssl', comm: 'nginx', cgroup: true } },
    ],
  },
  { file: 'exec-tracepoint', monitors: [{ name: 'exec', variant: 'tracepoint', options: { comm: 'nginx' } }] },
  { file: 'exec-tracepoint-forks-cgroup', monitors: [{ name: 'exec', variant: 'tracepoint-forks', options: { cgroup: true, max_args: 0 } }] },
  { file: 'func-global', monitors: [{ name: 'func', variant: 'kprobe', options: { functions: ['vfs_read', 'tcp_*'] } }] },
  { file: 'func-per-process', monitors: [{ name: 'func', variant: 'kprobe', options: { functions: ['vfs_read'], per_process: true, cgroup: true } }] },
  { file: 'syscall', monitors: [{ name: 'syscall', variant: 'tracepoint' }] },
  { file: 'syscall-latency-comm-cgroup', monitors: [{ name: 'syscall', variant: 'tracepoint', options: { latency: true, comm: 'postgres', cgroup: true } }] },
  { file: 'bio', monitors: [{ name: 'bio', variant: 'tracepoint' }] },
  { file: 'bio-min-latency-cgroup', monitors: [{ name: 'bio', variant: 'tracepoint', options: { min_latency_us: 500, cgroup: true } }] },
  { file: 'open', monitors: [{ name: 'open', variant: 'tracepoint' }] },
  { file: 'open-prefix-32', monitors: [{ name: 'open', variant: 'tracepoint', options: { path_prefix: '/var/lib/application/data/store' } }] },
  { file: 'open-prefix-comm-cgroup', monitors: [{ name: 'open', variant: 'tracepoint', options: { path_prefix: '/etc/ssl', comm: 'nginx', cgroup: true } }] },
  { file: 'interrupt', monitors: [{ name: 'interrupt', variant: 'tracepoint' }] },
  { file: 'page-fault', monitors: [{ name: 'page_fault', variant: 'tracepoint', options: { comm: 'java' } }] },
  { file: 'context-switch', monitors: [{ name: 'context_switch', variant: 'tracepoint', options: { include_idle: true } }] },
].map((c) => ({ ...c, layout: { double: true, shards: 1 } }));

cases.push(
  {
    file: 'main-ahead-of-time',
    monitors: ['syscall', 'bio', 'interrupt', 'page_fault', 'context_switch'].map((name) => ({ name, variant: 'tracepoint' })),
    layout: { double: true, shards: 8 },
  },
  {
    file: 'paths-ahead-of-time',
    monitors: [{ name: 'exec', variant: 'tracepoint-forks', options: { max_args: 0 } }, { name: 'open', variant: 'tracepoint' }],
    layout: { double: true, shards: 8 },
  },
  {
    // The most the paths process puts on the BPF stack ahead of time: every option, a long prefix, 8 shards.
    file: 'paths-ahead-of-time-all-options',
    monitors: [
      { name: 'exec', variant: 'tracepoint-forks', options: { cgroup: true, comm: 'nginx', max_args: 0 } },
      { name: 'open', variant: 'tracepoint', options: { cgroup: true, comm: 'nginx', path_prefix: `/var/lib/${'p'.repeat(54)}` } },
    ],
    layout: { double: true, shards: 8 },
  },
  {
    // `ebpfmon run --comm make -- make`: every per-process probe tests the followed set and the name; interrupt does not.
    file: 'main-run-scope',
    monitors: ['syscall', 'bio', 'interrupt', 'page_fault', 'context_switch'].map((name) => ({ name, variant: 'tracepoint' })),
    layout: { double: true, shards: 1 },
    scope: { pids: [], comm: 'make', follow: 4242 },
  },
  {
    file: 'paths-pid-scope',
    monitors: [{ name: 'exec', variant: 'tracepoint-forks', options: { max_args: 0 } }, { name: 'open', variant: 'tracepoint' }],
    layout: { double: true, shards: 1 },
    scope: { pids: [4242, 4343], comm: null, follow: null },
  },
);

/** Each golden file's name and the text compose renders for it today. */
export function goldenScripts(): { file: string; text: string; env: Record<string, string> }[] {
  return cases.map((c) => {
    const planned = c.monitors.map((m): PlannedMonitor => {
      const monitor = monitors.find((x) => x.name === m.name)!;
      const opts = monitor.options.parse({ enabled: true, ...m.options });
      const symbols = Object.fromEntries(((opts as { functions?: string[] }).functions ?? ['bprm_execve']).concat('bprm_execve').map((s) => [s, s]));
      return { monitor, opts, plan: { variant: m.variant, interval: opts.interval ?? 2, symbols, tracepointFields, bt: assumedFeatures } };
    });
    const strlen = planned.some((p) => p.monitor.paths) ? pathStrlen : defaultStrlen;
    const s = composeScript(
      { id: c.file, monitors: planned, strlen, aheadOfTime: c.layout.shards > 1, layout: c.layout, bt: assumedFeatures, scope: c.scope ?? hostScope },
      { bpftraceVersion: '0.17.0', kernel: '(golden)', runtime: { map_keys_max: 32768, perf_rb_pages: 256 } },
    );
    return { file: `${c.file}.bt`, text: s.text, env: s.env };
  });
}
