// interrupt: hard and soft interrupts per CPU, with time spent in their handlers, from the irq tracepoints.
// Counting happens at entry (irq_handler_entry, softirq_entry), so counts equal perf's count of those tracepoints.
// Time is measured entry -> exit with the entry timestamp in a per-CPU helper map keyed [cpu, type] (0 hard, 1 soft):
// hard handlers never nest on one CPU (they run with interrupts off) and softirqs do not nest either, but a hard
// interrupt can arrive inside a softirq, so softirq time includes hard interrupt time spent inside it.
// irq_handler_exit carries no name, so entry also keeps the handler name per CPU for the exit probe's key.
// Only handlers registered with request_irq pass irq_handler_entry: local timer, IPIs (LOC, RES, CAL in
// /proc/interrupts) do not.
import { z } from 'zod';
import { baseOptions, defineMonitor, intervalOption, join, type Machine, type Row } from './types.js';
import { del, helperMap, int, keyOf, local, probe, resultMap, set, text, update } from '../bt/ir.js';

export const interruptOptions = z.strictObject({
  ...baseOptions,
  ...intervalOption,
});
export type InterruptOptions = z.infer<typeof interruptOptions>;

export interface InterruptRow extends Row {
  timestamp: string;
  type: 'hardirq' | 'softirq';
  /** Handler name (hardirq, e.g. `virtio3-rx`) or softirq vector name (`timer`, `net_rx`, ...). */
  name: string;
  cpu: number;
  count: number;
  total_time_us: number;
  avg_time_us: number;
  max_time_us: number;
  /** IRQ number (hardirq) or softirq vector number (softirq). */
  irq: number;
}

/** Softirq vectors in the kernel's order (include/linux/interrupt.h, the softirq tracepoints' print fmt). */
export const softirqNames = ['hi', 'timer', 'net_tx', 'net_rx', 'block', 'irq_poll', 'tasklet', 'sched', 'hrtimer', 'rcu'] as const;

/** A softirq vector's name; unknown vectors (a newer kernel) keep their number. */
export const softirqName = (vec: number): string => softirqNames[vec] ?? `vec_${vec}`;

// irq and vec are 32 bits: `+ 0` widens them to 64-bit keys without the implicit cast `bpftrace --aot` refuses.
const hardKey = keyOf(int('cpu', 'cpu'), int('irq', '$irq'), text('name', '$name', { fromStr: true }));
const softKey = keyOf(int('cpu', 'cpu'), int('vec', '$vec'));
const maps = {
  hardCount: resultMap('@interrupt_hard_count', hardKey, 'count', 'hard interrupt handler calls (at entry)'),
  hardNs: resultMap('@interrupt_hard_ns', hardKey, 'sum', 'time in the handler (entry to exit, ns)'),
  hardMax: resultMap('@interrupt_hard_max', hardKey, 'max', 'longest handler call (ns)'),
  softCount: resultMap('@interrupt_soft_count', softKey, 'count', 'softirq runs (at entry)'),
  softNs: resultMap('@interrupt_soft_ns', softKey, 'sum', 'time in the softirq (entry to exit, ns)'),
  softMax: resultMap('@interrupt_soft_max', softKey, 'max', 'longest softirq run (ns)'),
};
const start = helperMap('@interrupt_start', ['cpu', 'type'], 'nsecs', 'entry time per CPU, type 0 hard 1 soft');
const hardName = helperMap('@interrupt_hard_name', ['cpu'], 'str(name)', 'handler name for the exit probe');

const usecs = (ns: number): number => Math.round(ns / 10) / 100;

/** One series per hard interrupt handler: type is its IRQ number, devices its name (a function of the handler). */
const hardirqBounds = (machine: Machine) => ({ type: machine.irqHandlers, devices: 1 });
const softirqBounds = () => ({ vector: softirqNames.length });

export const interrupt = defineMonitor<InterruptOptions, InterruptRow>({
  name: 'interrupt',
  mode: 'aggregate',
  summary: 'Hard and soft interrupts per CPU: counts and time in handlers',
  cost: {
    class: 'low',
    note: 'every hard and soft interrupt: about 1.5 us per softirq entry and as much per exit, a few thousand a second; build workload alone: +1.6 % wall',
    nsPerEvent: 3_200,
    event: 'interrupt (entry + exit)',
    rate: { counter: 'interrupts' },
  },
  options: interruptOptions,
  variants: () => [
    {
      name: 'tracepoint',
      description: 'tracepoints irq:irq_handler_entry/exit and irq:softirq_entry/exit',
      needs: [
        { kind: 'tracepoint', category: 'irq', event: 'irq_handler_entry', fields: ['irq', 'name'] },
        { kind: 'tracepoint', category: 'irq', event: 'irq_handler_exit', fields: ['irq'] },
        { kind: 'tracepoint', category: 'irq', event: 'softirq_entry', fields: ['vec'] },
        { kind: 'tracepoint', category: 'irq', event: 'softirq_exit', fields: ['vec'] },
      ],
    },
  ],
  generate(_opts, plan) {
    const irq = local('$irq', 'args->irq + 0');
    const vec = local('$vec', 'args->vec + 0');
    // `name` is a __data_loc string: str(args->name) reads it, except in bpftrace 0.23, which reads "" there. The raw
    // tracepoint gives the handler itself (irq, struct irqaction *): its name, the same string, read through BTF.
    const entry = plan.bt.dataLocStrings
      ? { attach: 'tracepoint:irq:irq_handler_entry', name: 'str(args->name)', irq }
      : { attach: 'rawtracepoint:irq_handler_entry', name: 'str(((struct irqaction *)arg1)->name)', irq: local('$irq', 'arg0 + 0') };
    const probes = [
      probe(entry.attach, [
        local('$name', entry.name),
        entry.irq,
        update(maps.hardCount),
        set(hardName, ['cpu'], '$name'),
        set(start, ['cpu', '0'], 'nsecs'),
      ]),
      probe('tracepoint:irq:irq_handler_exit', [
        local('$ns', `nsecs - ${start.at('cpu', '0')}`),
        irq,
        local('$name', hardName.at('cpu')),
        update(maps.hardNs, '$ns'),
        update(maps.hardMax, '$ns'),
        del(start, ['cpu', '0']),
      ], [start.at('cpu', '0')]),
      probe('tracepoint:irq:softirq_entry', [vec, update(maps.softCount), set(start, ['cpu', '1'], 'nsecs')]),
      probe('tracepoint:irq:softirq_exit', [
        local('$ns', `nsecs - ${start.at('cpu', '1')}`),
        vec,
        update(maps.softNs, '$ns'),
        update(maps.softMax, '$ns'),
        del(start, ['cpu', '1']),
      ], [start.at('cpu', '1')]),
    ];
    return { probes, results: Object.values(maps), helpers: [start, hardName], events: [] };
  },
  parse(rec, ctx) {
    if (rec.kind !== 'interval') return [];
    const rows: InterruptRow[] = [];
    const push = (type: InterruptRow['type'], cpu: string, irq: string, name: string, v: { count?: number; ns?: number; max?: number }): void => {
      const count = v.count ?? 0;
      const total = v.ns ?? 0;
      rows.push({
        timestamp: ctx.timestamp,
        type,
        name,
        cpu: Number(cpu),
        // An interval's time can include one exit whose entry was counted in the previous interval: avg is total/count.
        count,
        total_time_us: usecs(total),
        avg_time_us: usecs(total / Math.max(count, 1)),
        max_time_us: usecs(v.max ?? 0),
        irq: Number(irq),
      });
    };
    for (const { key, v } of join(rec, { count: maps.hardCount, ns: maps.hardNs, max: maps.hardMax })) push('hardirq', key.cpu, key.irq, key.name, v);
    for (const { key, v } of join(rec, { count: maps.softCount, ns: maps.softNs, max: maps.softMax })) {
      push('softirq', key.cpu, key.vec, softirqName(Number(key.vec)), v);
    }
    return rows.sort((a, b) => a.type.localeCompare(b.type) || a.cpu - b.cpu || a.irq - b.irq || a.name.localeCompare(b.name));
  },
  coverage: {
    counter: 'interrupts',
    expect: 0.97,
    caveat:
      'the numbered lines of /proc/interrupts plus /proc/softirqs: softirqs agree exactly; a shared IRQ line runs irq_handler_entry once per handler, so hard interrupts can count above the line; an interrupt that arrives while another BPF program runs on its CPU is skipped by the kernel (recursion protection)',
    total: (rec) => ({ value: [maps.hardCount, maps.softCount].reduce((n, m) => n + rec.entries(m).reduce((s, e) => s + e.value, 0), 0) }),
  },
  columns: ['timestamp', 'type', 'name', 'cpu', 'count', 'total_time_us', 'avg_time_us', 'max_time_us', 'irq'],
  metrics: [
    // As node_exporter: node_interrupts_total{cpu, type (the IRQ number), info, devices} and node_softirqs_total{vector}.
    { name: 'ebpfmon_interrupts_total', help: 'Hard interrupt handler calls per IRQ number (type) and handler (devices).', labels: { type: 'irq', devices: 'name', cpu: 'cpu' }, bounds: hardirqBounds, where: { type: 'hardirq' }, value: 'count' },
    { name: 'ebpfmon_interrupt_handler_seconds_total', help: 'Time spent in hard interrupt handlers per IRQ number (type) and handler (devices).', labels: { type: 'irq', devices: 'name', cpu: 'cpu' }, bounds: hardirqBounds, where: { type: 'hardirq' }, value: 'total_time_us', scale: 1e-6 },
    { name: 'ebpfmon_softirqs_total', help: 'Softirq runs per vector.', labels: { vector: 'name', cpu: 'cpu' }, bounds: softirqBounds, where: { type: 'softirq' }, value: 'count' },
    { name: 'ebpfmon_softirq_seconds_total', help: 'Time spent in softirqs per vector (hard interrupts taken inside included).', labels: { vector: 'name', cpu: 'cpu' }, bounds: softirqBounds, where: { type: 'softirq' }, value: 'total_time_us', scale: 1e-6 },
  ],
  top: { counts: ['hardirqs', 'softirqs'], of: (r) => (r.type === 'softirq' ? { softirqs: r.count } : { hardirqs: r.count }) },
  consoleLine: (r) =>
    `${r.timestamp}  interrupt ${r.type} cpu=${String(r.cpu).padEnd(3)} ${String(r.irq).padStart(4)} ${r.name.padEnd(20)} count=${String(r.count).padStart(7)} total=${r.total_time_us.toFixed(2).padStart(10)}us avg=${r.avg_time_us.toFixed(2).padStart(8)}us max=${r.max_time_us.toFixed(2).padStart(8)}us`,
});
