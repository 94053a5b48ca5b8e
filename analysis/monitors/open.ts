// open: rows of (pid, file) open counts per interval. Totals, error rate, top files, most failures, top processes.
// A folded row (folded = 1: a process's opens whose paths the maps did not keep) counts in the totals and its
// process, never as a file: it is no path (its filename "[other paths]" only says so), and its opens are no file's.
import { Tally, ratio } from '../tally.js';
import type { OpenRow } from '../../src/monitors/open.js';
import { add, at, col, columnsOf, exactTotal, metric, optionalCount, orUnknown, wholeCount, positions, share, tableOf, type AnalyzerOf } from './common.js';

const c = columnsOf<OpenRow>();

export function openAnalyzer(): AnalyzerOf<OpenRow> {
  const byFile = new Tally(2);
  const byComm = new Tally(2);
  const total = exactTotal();
  let errors = 0;
  let folded = 0;
  return {
    monitor: 'open',
    title: 'File opens (open)',
    aggregate: true,
    required: ['count'],
    series: { label: 'opens', unit: 'opens/s', card: true },
    bind(h) {
      // `folded` is absent from files written before it existed (which hold no folded rows).
      const [iFile, iComm, iCount, iErr, iFolded] = positions(h, c('filename', 'comm', 'count', 'error_count', 'folded'));
      return (f) => {
        const count = wholeCount(f[iCount]);
        const errs = optionalCount(f[iErr]);
        if (Number.isNaN(count) || !(errs <= count) || !total.fits(count)) return NaN;
        total.add(count);
        errors += errs;
        if (f[iFolded] === '1') folded += count;
        else {
          const a = byFile.get(orUnknown(f[iFile]));
          add(a, 0, count);
          add(a, 1, errs);
        }
        const p = byComm.get(orUnknown(f[iComm]));
        add(p, 0, count);
        add(p, 1, errs);
        return count;
      };
    },
    finish({ top }) {
      const opens = total.value;
      const cOpens = col('opens', 'opens', 'int');
      const cErr = col('errors', 'errors', 'int');
      const cRate = col('error_rate', 'err%', 'pct');
      const failing = new Tally(2);
      for (const [k, a] of byFile.map) if (at(a, 1) > 0) failing.map.set(k, Float64Array.of(at(a, 1), at(a, 0)));
      const failures = tableOf('most_failures', 'Files with most failed opens', [col('filename', 'filename', 'path'), cErr, cOpens, cRate], failing, top, (k, a) => ({
        filename: k,
        errors: at(a, 0),
        opens: at(a, 1),
        error_rate: ratio(at(a, 0), at(a, 1)),
      }));
      if (byFile.approximate) failures.approximate = true;
      return {
        totals: [
          metric('opens', 'opens', 'int', opens),
          metric('errors', 'failed', 'int', errors),
          metric('error_rate', 'error rate', 'pct', ratio(errors, opens)),
          metric('files', 'distinct files', 'int', byFile.map.size),
          metric('folded', 'opens whose paths were not kept (folded)', 'int', folded),
          metric('processes', 'commands', 'int', byComm.map.size),
        ],
        tables: [
          tableOf('top_files', 'Top files', [col('filename', 'filename', 'path'), cOpens, col('share', 'share', 'pct'), cErr, cRate], byFile, top, (k, a) => ({
            filename: k,
            opens: at(a, 0),
            share: share(at(a, 0), opens),
            errors: at(a, 1),
            error_rate: ratio(at(a, 1), at(a, 0)),
          })),
          failures,
          tableOf('top_processes', 'Top processes (comm)', [col('comm', 'comm', 'text'), cOpens, col('share', 'share', 'pct'), cErr, cRate], byComm, top, (k, a) => ({
            comm: k,
            opens: at(a, 0),
            share: share(at(a, 0), opens),
            errors: at(a, 1),
            error_rate: ratio(at(a, 1), at(a, 0)),
          })),
        ],
        bars: { table: 'top_files', value: 'opens' },
      };
    },
  };
}
