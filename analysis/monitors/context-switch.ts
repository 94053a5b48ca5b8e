// context_switch: switches per (pid, cpu) and interval. Top switchers, voluntary vs involuntary, CPUs.
import { Tally, ratio } from '../tally.js';
import type { ContextSwitchRow } from '../../src/monitors/context-switch.js';
import { add, at, col, columnsOf, exactTotal, keyNum, metric, numericTable, optionalCount, wholeCount, orUnknown, positions, share, tableOf, type AnalyzerOf } from './common.js';

const c = columnsOf<ContextSwitchRow>();

export function contextSwitchAnalyzer(): AnalyzerOf<ContextSwitchRow> {
  // per key: switches, voluntary, involuntary
  const byComm = new Tally(3);
  const byCpu = new Tally(3);
  const all = new Float64Array(3);
  const total = exactTotal();
  return {
    monitor: 'context_switch',
    title: 'Context switches (context_switch)',
    aggregate: true,
    required: ['switches'],
    series: { label: 'switches', unit: 'switches/s', card: true },
    bind(h) {
      const [iComm, iCpu, iSw, iVol, iInvol] = positions(h, c('comm', 'cpu', 'switches', 'voluntary', 'involuntary'));
      return (f) => {
        const sw = wholeCount(f[iSw]);
        const vol = optionalCount(f[iVol]);
        const invol = optionalCount(f[iInvol]);
        // ebpfmon writes voluntary = switches - involuntary: neither can exceed the switches.
        if (Number.isNaN(sw) || !(vol <= sw) || !(invol <= sw) || !total.fits(sw)) return NaN;
        total.add(sw);
        for (const a of [byComm.get(orUnknown(f[iComm])), byCpu.get(orUnknown(f[iCpu])), all]) {
          add(a, 0, sw);
          add(a, 1, vol);
          add(a, 2, invol);
        }
        return sw;
      };
    },
    finish({ top }) {
      const cols = [col('switches', 'switches', 'int'), col('share', 'share', 'pct'), col('voluntary', 'voluntary', 'int'), col('involuntary', 'involuntary', 'int'), col('voluntary_share', 'vol%', 'pct')];
      const cells = (a: Float64Array): Record<string, number | null> => ({
        switches: at(a, 0),
        share: share(at(a, 0), at(all, 0)),
        voluntary: at(a, 1),
        involuntary: at(a, 2),
        voluntary_share: ratio(at(a, 1), at(a, 1) + at(a, 2)),
      });
      return {
        totals: [
          metric('switches', 'switches', 'int', at(all, 0)),
          metric('voluntary', 'voluntary', 'int', at(all, 1)),
          metric('involuntary', 'involuntary', 'int', at(all, 2)),
          metric('voluntary_share', 'voluntary share', 'pct', ratio(at(all, 1), at(all, 1) + at(all, 2))),
          metric('processes', 'commands', 'int', byComm.map.size),
          metric('cpus', 'CPUs', 'int', byCpu.map.size),
        ],
        tables: [
          tableOf('top_switchers', 'Top switchers (comm)', [col('comm', 'comm', 'text'), ...cols], byComm, top, (k, a) => ({ comm: k, ...cells(a) })),
          numericTable('by_cpu', 'Distribution over CPUs', [col('cpu', 'cpu', 'text'), ...cols], byCpu, 1024, (k, a) => ({ cpu: keyNum(k), ...cells(a) })),
        ],
        bars: { table: 'top_switchers', value: 'switches' },
      };
    },
  };
}
