// interrupt: hard and soft interrupts per (type, name, cpu) and interval. Counts, CPUs, time in handlers.
import { Tally, finiteOrNull, round } from '../tally.js';
import type { InterruptRow } from '../../src/monitors/interrupt.js';
import { add, at, col, columnsOf, exactTotal, keyNum, max, measure, metric, numericTable, unreadable, wholeCount, orUnknown, positions, share, tableOf, type AnalyzerOf } from './common.js';

const c = columnsOf<InterruptRow>();

// Sums per key: count, time in handlers (us), max handler time, hardirq count, softirq count.
const [COUNT, TIME, MAX, HARD, SOFT] = [0, 1, 2, 3, 4] as const;

export function interruptAnalyzer(): AnalyzerOf<InterruptRow> {
  const startMax = (a: Float64Array): void => {
    a[MAX] = -Infinity;
  };
  const byType = new Tally(5, undefined, startMax);
  const byName = new Tally(5, undefined, startMax);
  const byCpu = new Tally(5, undefined, startMax);
  const total = exactTotal();
  let time = 0;
  let timed = false;
  return {
    monitor: 'interrupt',
    title: 'Interrupts (interrupt)',
    aggregate: true,
    required: ['count'],
    series: { label: 'interrupts', unit: 'irq/s', card: true },
    bind(h) {
      const [iType, iName, iCpu, iCount, iTotal, iAvg, iMax] = positions(h, c('type', 'name', 'cpu', 'count', 'total_time_us', 'avg_time_us', 'max_time_us'));
      return (f) => {
        const n = wholeCount(f[iCount]);
        const tot = measure(f[iTotal]);
        const avgT = measure(f[iAvg]);
        const mx = measure(f[iMax]);
        if (Number.isNaN(n) || unreadable(tot) || unreadable(avgT) || unreadable(mx) || !total.fits(n)) return NaN;
        total.add(n);
        const t = tot ?? (avgT === null ? null : avgT * n);
        if (t !== null) {
          timed = true;
          time += t;
        }
        const type = orUnknown(f[iType]);
        const hard = type === 'hardirq' ? n : 0;
        const soft = type === 'softirq' ? n : 0;
        for (const a of [byType.get(type), byName.get(`${type}\u0000${orUnknown(f[iName])}`), byCpu.get(orUnknown(f[iCpu]))]) {
          add(a, COUNT, n);
          add(a, TIME, t ?? 0);
          if (mx !== null) max(a, MAX, mx);
          add(a, HARD, hard);
          add(a, SOFT, soft);
        }
        return n;
      };
    },
    finish({ top, range }) {
      const count = total.value;
      const avg = (a: Float64Array): number | null => (timed && at(a, COUNT) > 0 ? round(at(a, TIME) / at(a, COUNT), 3) : null);
      const t = (v: number): number | null => (timed ? round(v, 3) : null);
      const cCount = col('count', 'count', 'int');
      const cShare = col('share', 'share', 'pct');
      const cTime = col('time_us', 'time us', 'us');
      return {
        totals: [
          metric('interrupts', 'interrupts', 'int', count),
          metric('hardirq', 'hardirq', 'int', at(byType.map.get('hardirq') ?? new Float64Array(1), COUNT)),
          metric('softirq', 'softirq', 'int', at(byType.map.get('softirq') ?? new Float64Array(1), COUNT)),
          metric('time_us', 'time in handlers us', 'us', t(time)),
          metric('cpu_share', 'share of CPU time', 'pct', timed && range.covered_seconds > 0 && byCpu.map.size > 0 ? round(time / 1e6 / range.covered_seconds / byCpu.map.size, 6) : null),
          metric('cpus', 'CPUs', 'int', byCpu.map.size),
        ],
        tables: [
          tableOf('by_type', 'By type', [col('type', 'type', 'text'), cCount, cShare, cTime, col('avg_us', 'avg us', 'us')], byType, top, (k, a) => ({
            type: k,
            count: at(a, COUNT),
            share: share(at(a, COUNT), count),
            time_us: t(at(a, TIME)),
            avg_us: avg(a),
          })),
          tableOf('by_name', 'Top interrupts (type, name)', [col('type', 'type', 'text'), col('name', 'name', 'text'), cCount, cTime, col('avg_us', 'avg us', 'us'), col('max_us', 'max us', 'us')], byName, top, (k, a) => {
            const [type = '', name = ''] = k.split('\u0000');
            return { type, name, count: at(a, COUNT), time_us: t(at(a, TIME)), avg_us: avg(a), max_us: finiteOrNull(a[MAX]) };
          }),
          numericTable('by_cpu', 'Distribution over CPUs', [col('cpu', 'cpu', 'text'), cCount, cShare, col('hardirq', 'hardirq', 'int'), col('softirq', 'softirq', 'int'), cTime], byCpu, 1024, (k, a) => ({
            cpu: keyNum(k),
            count: at(a, COUNT),
            share: share(at(a, COUNT), count),
            hardirq: at(a, HARD),
            softirq: at(a, SOFT),
            time_us: t(at(a, TIME)),
          })),
        ],
        bars: { table: 'by_name', value: 'count', label: 'name' },
      };
    },
  };
}
