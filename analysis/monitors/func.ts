// func: calls of configured kernel functions per (pid, function) and interval. Calls per function, process x function.
import { Tally } from '../tally.js';
import type { FuncRow } from '../../src/monitors/func.js';
import { add, at, col, columnsOf, exactTotal, metric, orUnknown, wholeCount, positions, share, tableOf, type AnalyzerOf } from './common.js';
import type { Column, Table, Value } from '../model.js';

const c = columnsOf<FuncRow>();

/** Functions shown as columns of the cross table: more would not fit 80 columns. */
export const crossColumns = 4;

/** The comm of rows written without per_process. */
export const noProcess = '(all)';

export function funcAnalyzer(): AnalyzerOf<FuncRow> {
  const byFunction = new Tally(1);
  const byComm = new Tally(1);
  const pairs = new Tally(1);
  const total = exactTotal();
  return {
    monitor: 'func',
    title: 'Kernel function calls (func)',
    aggregate: true,
    required: ['count'],
    series: { label: 'calls', unit: 'calls/s', card: true },
    bind(h) {
      const [iFn, iComm, iCount] = positions(h, c('function', 'comm', 'count'));
      return (f) => {
        const count = wholeCount(f[iCount]);
        if (Number.isNaN(count) || !total.fits(count)) return NaN;
        total.add(count);
        const fn = orUnknown(f[iFn]);
        // Without per_process the monitor writes no comm: those calls are no one process's.
        const comm = f[iComm] || noProcess;
        add(byFunction.get(fn), 0, count);
        add(byComm.get(comm), 0, count);
        add(pairs.get(`${comm}\u0000${fn}`), 0, count);
        return count;
      };
    },
    finish({ top }) {
      const calls = total.value;
      const fns = byFunction.top(Math.min(top, crossColumns)).map(([k]) => k);
      const comms = byComm.top(top);
      const columns: Column[] = [col('comm', 'comm', 'text'), ...fns.map((fn) => col(`fn:${fn}`, fn, 'int')), col('other', 'other', 'int'), col('total', 'total', 'int')];
      const cross: Table = {
        id: 'process_by_function',
        title: 'Calls by process (comm) and function',
        columns,
        rows: comms.map(([comm, a]) => {
          const row: Record<string, Value> = { comm };
          let shown = 0;
          for (const fn of fns) {
            const v = at(pairs.map.get(`${comm}\u0000${fn}`) ?? new Float64Array(1), 0);
            row[`fn:${fn}`] = v;
            shown += v;
          }
          row['other'] = at(a, 0) - shown;
          row['total'] = at(a, 0);
          return row;
        }),
      };
      if (pairs.approximate || byComm.approximate) cross.approximate = true;
      const perProcess = [...byComm.map.keys()].some((k) => k !== noProcess);
      return {
        totals: [
          metric('calls', 'calls', 'int', calls),
          metric('functions', 'functions', 'int', byFunction.map.size),
          metric('processes', 'commands', 'int', perProcess ? byComm.map.size : null),
        ],
        tables: [
          tableOf('by_function', 'Calls per function', [col('function', 'function', 'text'), col('calls', 'calls', 'int'), col('share', 'share', 'pct')], byFunction, top, (k, a) => ({
            function: k,
            calls: at(a, 0),
            share: share(at(a, 0), calls),
          })),
          ...(perProcess ? [cross] : []),
        ],
        bars: { table: 'by_function', value: 'calls' },
      };
    },
  };
}
