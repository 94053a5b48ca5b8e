// syscall: rows of (pid, syscall) counts per interval. Totals, top syscalls, categories, error rates, latency.
import { Tally, detach, finiteOrNull, ratio, round } from '../tally.js';
import type { SyscallRow } from '../../src/monitors/syscall.js';
import { add, at, col, columnsOf, exactTotal, max, measure, metric, optionalCount, orUnknown, unreadable, wholeCount, positions, share, tableOf, type AnalyzerOf } from './common.js';

const c = columnsOf<SyscallRow>();

// Sums per key: calls, errors, latency-weighted calls (sum of avg * count), calls with a latency, max latency.
const W = 5;
const [CALLS, ERRS, LATSUM, LATN, LATMAX] = [0, 1, 2, 3, 4] as const;

export function syscallAnalyzer(): AnalyzerOf<SyscallRow> {
  const bySyscall = new Tally(W, undefined, (a) => (a[LATMAX] = -Infinity));
  const category = new Map<string, string>();
  const byCategory = new Tally(2);
  const byComm = new Tally(2);
  const all = new Float64Array(W).fill(-Infinity, LATMAX);
  const total = exactTotal();
  return {
    monitor: 'syscall',
    title: 'System calls (syscall)',
    aggregate: true,
    required: ['count'],
    series: { label: 'calls', unit: 'calls/s', card: true },
    bind(h) {
      const [iName, iNr, iCat, iComm, iCount, iErr, iAvg, iMax] = positions(
        h,
        c('syscall', 'syscall_nr', 'category', 'comm', 'count', 'error_count', 'avg_latency_us', 'max_latency_us'),
      );
      return (f) => {
        // Every cell is checked before anything is added: a damaged row counts nowhere.
        const count = wholeCount(f[iCount]);
        const errs = optionalCount(f[iErr]);
        const avg = measure(f[iAvg]);
        const mx = measure(f[iMax]);
        if (Number.isNaN(count) || !(errs <= count) || unreadable(avg) || unreadable(mx) || !total.fits(count)) return NaN;
        total.add(count);
        const name = f[iName] || (f[iNr] ? `nr ${f[iNr]}` : '?');
        const s = bySyscall.get(name);
        accumulate(s, count, errs, avg, mx);
        accumulate(all, count, errs, avg, mx);
        const cat = orUnknown(f[iCat]);
        if (!category.has(name)) category.set(detach(name), detach(cat));
        const c = byCategory.get(cat);
        add(c, 0, count);
        add(c, 1, errs);
        const p = byComm.get(orUnknown(f[iComm]));
        add(p, 0, count);
        add(p, 1, errs);
        return count;
      };
    },
    finish({ top }) {
      const calls = at(all, CALLS);
      const errors = at(all, ERRS);
      const avgLat = (a: Float64Array): number | null => (at(a, LATN) > 0 ? round(at(a, LATSUM) / at(a, LATN), 3) : null);
      const hasLatency = at(all, LATN) > 0 || finiteOrNull(all[LATMAX]) !== null;
      const cCalls = col('calls', 'calls', 'int');
      const cShare = col('share', 'share', 'pct');
      const cErr = col('errors', 'errors', 'int');
      const cRate = col('error_rate', 'err%', 'pct');
      const withErrors = new Tally(W);
      for (const [k, a] of bySyscall.map) if (at(a, ERRS) > 0) withErrors.map.set(k, Float64Array.of(at(a, ERRS) / at(a, CALLS), at(a, ERRS), at(a, CALLS)));
      const tables = [
        tableOf('top_syscalls', 'Top syscalls', [col('syscall', 'syscall', 'text'), col('category', 'category', 'text'), cCalls, cShare, cErr, cRate], bySyscall, top, (k, a) => ({
          syscall: k,
          category: category.get(k) ?? '?',
          calls: at(a, CALLS),
          share: share(at(a, CALLS), calls),
          errors: at(a, ERRS),
          error_rate: ratio(at(a, ERRS), at(a, CALLS)),
        })),
        tableOf('by_category', 'By category', [col('category', 'category', 'text'), cCalls, cShare, cErr, cRate], byCategory, top, (k, a) => ({
          category: k,
          calls: at(a, 0),
          share: share(at(a, 0), calls),
          errors: at(a, 1),
          error_rate: ratio(at(a, 1), at(a, 0)),
        })),
        tableOf('worst_error_rates', 'Worst error rates (syscalls with errors)', [col('syscall', 'syscall', 'text'), cRate, cErr, cCalls], withErrors, top, (k, a) => ({
          syscall: k,
          error_rate: round(at(a, 0), 6),
          errors: at(a, 1),
          calls: at(a, 2),
        })),
        tableOf('top_processes', 'Top processes (comm)', [col('comm', 'comm', 'text'), cCalls, cShare, cErr, cRate], byComm, top, (k, a) => ({
          comm: k,
          calls: at(a, 0),
          share: share(at(a, 0), calls),
          errors: at(a, 1),
          error_rate: ratio(at(a, 1), at(a, 0)),
        })),
      ];
      if (bySyscall.approximate) tables[2]!.approximate = true;
      if (hasLatency) {
        tables.push(
          tableOf('slowest_syscalls', 'Slowest syscalls (latency, us)', [col('syscall', 'syscall', 'text'), cCalls, col('avg_latency_us', 'avg us', 'us'), col('max_latency_us', 'max us', 'us')], latencyTally(bySyscall), top, (k, a) => ({
            syscall: k,
            calls: at(a, 1),
            avg_latency_us: round(at(a, 0), 3),
            max_latency_us: finiteOrNull(a[2]),
          })),
        );
      }
      return {
        totals: [
          metric('calls', 'calls', 'int', calls),
          metric('errors', 'errors', 'int', errors),
          metric('error_rate', 'error rate', 'pct', ratio(errors, calls)),
          metric('syscalls', 'distinct syscalls', 'int', bySyscall.map.size),
          metric('processes', 'commands', 'int', byComm.map.size),
          metric('avg_latency_us', 'avg latency us', 'us', avgLat(all)),
          metric('max_latency_us', 'max latency us', 'us', finiteOrNull(all[LATMAX])),
        ],
        tables,
        bars: { table: 'top_syscalls', value: 'calls' },
      };
    },
  };
}

function accumulate(a: Float64Array, count: number, errs: number, avg: number | null, mx: number | null): void {
  add(a, CALLS, count);
  add(a, ERRS, errs);
  if (avg !== null) {
    add(a, LATSUM, avg * count);
    add(a, LATN, count);
  }
  if (mx !== null) max(a, LATMAX, mx);
}

/** Syscalls ranked by average latency: [avg, calls, max]. */
function latencyTally(src: Tally): Tally {
  const t = new Tally(3);
  for (const [k, a] of src.map) if (at(a, LATN) > 0) t.map.set(k, Float64Array.of(at(a, LATSUM) / at(a, LATN), at(a, CALLS), a[LATMAX] ?? -Infinity));
  return t;
}
