// interrupt: hard and soft interrupts per CPU, with time spent in their handlers, from the irq tracepoints.
// Counting happens at entry (irq_handler_entry, softirq_entry), so counts equal perf's count of those tracepoints.
// Time is measured entry -> exit with the entry timestamp in a per-CPU helper map keyed [cpu, type] (0 hard, 1 soft):
// hard handlers never nest on one CPU (they run with interrupts off) and softirqs do not nest either, but a hard
// interrupt can arrive inside a softirq, so softirq time includes hard interrupt time spent inside it.
// irq_handler_exit carries no name, so entry also keeps the handler name per CPU for the exit probe's key.
// Only handlers registered with request_irq pass irq_handler_entry: local timer, IPIs (LOC, RES, CAL in
// /proc/interrupts) do not.
import { z } from 'zod';
import { baseOptions, defineMonitor, intervalOption, joinMaps, type MapContract, type Row } from './types.js';
import { clearMaps, flushAndTick, tickContract } from '../script/fragment.js';

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

const hardKey = ['cpu', 'irq', 'name'] as const;
const softKey = ['cpu', 'vec'] as const;
const maps = {
  hardCount: { name: '@interrupt_hard_count', keys: hardKey, value: 'count()', doc: 'hard interrupt handler calls (at entry)' },
  hardNs: { name: '@interrupt_hard_ns', keys: hardKey, value: 'sum(ns)', doc: 'time in the handler (entry to exit)' },
  hardMax: { name: '@interrupt_hard_max', keys: hardKey, value: 'max(ns)', doc: 'longest handler call' },
  softCount: { name: '@interrupt_soft_count', keys: softKey, value: 'count()', doc: 'softirq runs (at entry)' },
  softNs: { name: '@interrupt_soft_ns', keys: softKey, value: 'sum(ns)', doc: 'time in the softirq (entry to exit)' },
  softMax: { name: '@interrupt_soft_max', keys: softKey, value: 'max(ns)', doc: 'longest softirq run' },
} satisfies Record<string, MapContract>;
const helpers = {
  start: { name: '@interrupt_start', keys: ['cpu', 'type'], value: 'nsecs', doc: 'helper, entry time per CPU, type 0 hard 1 soft' },
  hardName: { name: '@interrupt_hard_name', keys: ['cpu'], value: 'str(name)', doc: 'helper, handler name for the exit probe' },
} satisfies Record<string, MapContract>;

const usecs = (ns: number): number => Math.round(ns / 10) / 100;

export const interrupt = defineMonitor<InterruptOptions, InterruptRow>({
  name: 'interrupt',
  mode: 'aggregate',
  summary: 'Hard and soft interrupts per CPU: counts and time in handlers',
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
  generate() {
    // `name` is a __data_loc string: str(args->name) reads it in bpftrace 0.17.
    // irq and vec are 32 bits: `+ 0` widens them to 64-bit keys without the implicit cast `bpftrace --aot` refuses.
    const hard = '[cpu, args->irq + 0, @interrupt_hard_name[cpu]]';
    const soft = '[cpu, args->vec + 0]';
    const probes = [
      'tracepoint:irq:irq_handler_entry {',
      '  $name = str(args->name);',
      '  @interrupt_hard_count[cpu, args->irq + 0, $name] = count();',
      '  @interrupt_hard_name[cpu] = $name;',
      '  @interrupt_start[cpu, 0] = nsecs;',
      '}',
      'tracepoint:irq:irq_handler_exit /@interrupt_start[cpu, 0]/ {',
      '  $ns = nsecs - @interrupt_start[cpu, 0];',
      `  @interrupt_hard_ns${hard} = sum($ns);`,
      `  @interrupt_hard_max${hard} = max($ns);`,
      '  delete(@interrupt_start[cpu, 0]);',
      '}',
      'tracepoint:irq:softirq_entry {',
      '  @interrupt_soft_count[cpu, args->vec + 0] = count();',
      '  @interrupt_start[cpu, 1] = nsecs;',
      '}',
      'tracepoint:irq:softirq_exit /@interrupt_start[cpu, 1]/ {',
      '  $ns = nsecs - @interrupt_start[cpu, 1];',
      `  @interrupt_soft_ns${soft} = sum($ns);`,
      `  @interrupt_soft_max${soft} = max($ns);`,
      '  delete(@interrupt_start[cpu, 1]);',
      '}',
    ];
    const printed = Object.values(maps);
    return {
      probes: probes.join('\n'),
      flush: flushAndTick('interrupt', printed),
      cleanup: clearMaps([helpers.start.name, helpers.hardName.name]),
      contract: { maps: [...printed, ...Object.values(helpers)], printfs: [tickContract] },
    };
  },
  parse(rec, ctx) {
    if (rec.kind !== 'interval') return [];
    const rows: InterruptRow[] = [];
    const push = (type: InterruptRow['type'], cpu: string | undefined, irq: string | undefined, name: string, v: Record<string, number>, prefix: string): void => {
      const count = v[`${prefix}_count`] ?? 0;
      const total = v[`${prefix}_ns`] ?? 0;
      rows.push({
        timestamp: ctx.timestamp,
        type,
        name,
        cpu: Number(cpu),
        // An interval's time can include one exit whose entry was counted in the previous interval: avg is total/count.
        count,
        total_time_us: usecs(total),
        avg_time_us: usecs(total / Math.max(count, 1)),
        max_time_us: usecs(v[`${prefix}_max`] ?? 0),
        irq: Number(irq),
      });
    };
    const hardNames = [maps.hardCount.name, maps.hardNs.name, maps.hardMax.name];
    for (const { key: [cpu, irq, name], values } of joinMaps(rec.maps, hardNames).values()) {
      push('hardirq', cpu, irq, name ?? '', values, '@interrupt_hard');
    }
    const softNames = [maps.softCount.name, maps.softNs.name, maps.softMax.name];
    for (const { key: [cpu, vec], values } of joinMaps(rec.maps, softNames).values()) {
      push('softirq', cpu, vec, softirqName(Number(vec)), values, '@interrupt_soft');
    }
    return rows.sort((a, b) => a.type.localeCompare(b.type) || a.cpu - b.cpu || a.irq - b.irq || a.name.localeCompare(b.name));
  },
  columns: ['timestamp', 'type', 'name', 'cpu', 'count', 'total_time_us', 'avg_time_us', 'max_time_us', 'irq'],
  metrics: [
    { name: 'ebpfmon_interrupts_total', help: 'Hard and soft interrupts per type, handler or vector name, and CPU.', labels: { type: 'type', name: 'name', cpu: 'cpu' }, value: 'count' },
    { name: 'ebpfmon_interrupt_handler_seconds_total', help: 'Time spent in interrupt handlers.', labels: { type: 'type', name: 'name', cpu: 'cpu' }, value: 'total_time_us', scale: 1e-6 },
  ],
  consoleLine: (r) =>
    `${r.timestamp}  interrupt ${r.type} cpu=${String(r.cpu).padEnd(3)} ${String(r.irq).padStart(4)} ${r.name.padEnd(20)} count=${String(r.count).padStart(7)} total=${r.total_time_us.toFixed(2).padStart(10)}us avg=${r.avg_time_us.toFixed(2).padStart(8)}us max=${r.max_time_us.toFixed(2).padStart(8)}us`,
});
