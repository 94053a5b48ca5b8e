// page_fault: faults per (pid, type, cpu, node) and interval. By type, CPUs, NUMA nodes, top processes.
import { Tally } from '../tally.js';
import type { PageFaultRow } from '../../src/monitors/page-fault.js';
import { add, at, col, columnsOf, exactTotal, keyNum, metric, numericTable, wholeCount, orUnknown, positions, share, tableOf, type AnalyzerOf } from './common.js';
import type { Table } from '../model.js';

const c = columnsOf<PageFaultRow>();

export function pageFaultAnalyzer(): AnalyzerOf<PageFaultRow> {
  const byType = new Tally(1);
  const byCpu = new Tally(1);
  const byNode = new Tally(1);
  const byAccess = new Tally(1);
  const byCause = new Tally(1);
  // per comm: faults, user, kernel
  const byComm = new Tally(3);
  const total = exactTotal();
  let hasAccess = false;
  let hasCause = false;
  return {
    monitor: 'page_fault',
    title: 'Page faults (page_fault)',
    aggregate: true,
    required: ['count'],
    series: { label: 'faults', unit: 'faults/s', card: true },
    bind(h) {
      const [iType, iCpu, iNode, iComm, iCount, iAccess, iCause] = positions(h, c('fault_type', 'cpu', 'numa_node', 'comm', 'count', 'access', 'cause'));
      if (iAccess >= 0) hasAccess = true;
      if (iCause >= 0) hasCause = true;
      return (f) => {
        const n = wholeCount(f[iCount]);
        if (Number.isNaN(n) || !total.fits(n)) return NaN;
        total.add(n);
        const type = orUnknown(f[iType]);
        add(byType.get(type), 0, n);
        add(byCpu.get(orUnknown(f[iCpu])), 0, n);
        add(byNode.get(orUnknown(f[iNode])), 0, n);
        if (iAccess >= 0) add(byAccess.get(orUnknown(f[iAccess])), 0, n);
        if (iCause >= 0) add(byCause.get(orUnknown(f[iCause])), 0, n);
        const p = byComm.get(orUnknown(f[iComm]));
        add(p, 0, n);
        if (type === 'user') add(p, 1, n);
        else if (type === 'kernel') add(p, 2, n);
        return n;
      };
    },
    finish({ top }) {
      const faults = total.value;
      const cFaults = col('faults', 'faults', 'int');
      const cShare = col('share', 'share', 'pct');
      const simple = (id: string, title: string, key: string, t: Tally): Table =>
        tableOf(id, title, [col(key, key.replace('_', ' '), 'text'), cFaults, cShare], t, top, (k, a) => ({ [key]: k, faults: at(a, 0), share: share(at(a, 0), faults) }));
      const numeric = (id: string, title: string, key: string, t: Tally): Table =>
        numericTable(id, title, [col(key, key.replace('_', ' '), 'text'), cFaults, cShare], t, 1024, (k, a) => ({ [key]: keyNum(k), faults: at(a, 0), share: share(at(a, 0), faults) }));
      const count = (t: Tally, k: string): number => at(t.map.get(k) ?? new Float64Array(1), 0);
      const tables = [
        simple('by_type', 'By fault type', 'fault_type', byType),
        numeric('by_cpu', 'Distribution over CPUs', 'cpu', byCpu),
        numeric('by_numa_node', 'Distribution over NUMA nodes', 'numa_node', byNode),
        tableOf('top_processes', 'Top processes (comm)', [col('comm', 'comm', 'text'), cFaults, cShare, col('user', 'user', 'int'), col('kernel', 'kernel', 'int')], byComm, top, (k, a) => ({
          comm: k,
          faults: at(a, 0),
          share: share(at(a, 0), faults),
          user: at(a, 1),
          kernel: at(a, 2),
        })),
      ];
      if (hasAccess) tables.push(simple('by_access', 'By access', 'access', byAccess));
      if (hasCause) tables.push(simple('by_cause', 'By cause', 'cause', byCause));
      return {
        totals: [
          metric('faults', 'faults', 'int', faults),
          metric('user', 'user', 'int', count(byType, 'user')),
          metric('kernel', 'kernel', 'int', count(byType, 'kernel')),
          metric('processes', 'commands', 'int', byComm.map.size),
          metric('cpus', 'CPUs', 'int', byCpu.map.size),
          metric('numa_nodes', 'NUMA nodes', 'int', byNode.map.size),
        ],
        tables,
        bars: { table: 'top_processes', value: 'faults' },
      };
    },
  };
}
