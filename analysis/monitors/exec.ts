// exec: one row per execution. Totals, rate, top executables, top processes and executions per user.
import { Tally } from '../tally.js';
import type { ExecRow } from '../../src/monitors/exec.js';
import { col, columnsOf, metric, orUnknown, positions, share, tableOf, at, keyNum, add, type AnalyzerOf } from './common.js';

const c = columnsOf<ExecRow>();

export function execAnalyzer(): AnalyzerOf<ExecRow> {
  const byFile = new Tally(1);
  const byComm = new Tally(1);
  const byUid = new Tally(1);
  let total = 0;
  return {
    monitor: 'exec',
    title: 'Process executions (exec)',
    aggregate: false,
    required: [],
    series: { label: 'executions', unit: 'exec/s', card: true },
    bind(h) {
      const [iFile, iComm, iUid] = positions(h, c('filename', 'comm', 'uid'));
      return (f) => {
        total++;
        add(byFile.get(orUnknown(f[iFile])), 0, 1);
        add(byComm.get(orUnknown(f[iComm])), 0, 1);
        add(byUid.get(orUnknown(f[iUid])), 0, 1);
        return 1;
      };
    },
    finish({ top, range }) {
      // Over the same covered time as the chart and the mean exec/s card.
      const perMin = range.covered_seconds > 0 ? Math.round((total / range.covered_seconds) * 60 * 1000) / 1000 : null;
      const execs = col('executions', 'execs', 'int');
      const pct = col('share', 'share', 'pct');
      return {
        totals: [
          metric('executions', 'executions', 'int', total),
          metric('per_minute', 'per minute', 'num', perMin),
          metric('executables', 'executables', 'int', byFile.map.size),
          metric('processes', 'commands', 'int', byComm.map.size),
          metric('users', 'users', 'int', byUid.map.size),
        ],
        tables: [
          tableOf('top_executables', 'Top executables', [col('filename', 'filename', 'path'), execs, pct], byFile, top, (k, a) => ({
            filename: k,
            executions: at(a, 0),
            share: share(at(a, 0), total),
          })),
          tableOf('top_processes', 'Top processes (comm)', [col('comm', 'comm', 'text'), execs, pct], byComm, top, (k, a) => ({
            comm: k,
            executions: at(a, 0),
            share: share(at(a, 0), total),
          })),
          tableOf('by_user', 'Executions per user (uid)', [col('uid', 'uid', 'text'), execs, pct], byUid, top, (k, a) => ({
            uid: keyNum(k),
            executions: at(a, 0),
            share: share(at(a, 0), total),
          })),
        ],
        bars: { table: 'top_executables', value: 'executions' },
      };
    },
  };
}
