// bio: block I/O per (pid, device, type) and interval. I/O by type, bytes and throughput, latency, processes, devices.
import { Tally, detach, finiteOrNull, ratio, round } from '../tally.js';
import type { BioRow } from '../../src/monitors/bio.js';
import { add, at, col, columnsOf, exactTotal, max, measure, metric, min, optionalCount, orUnknown, unreadable, wholeCount, positions, tableOf, type AnalyzerOf } from './common.js';
import type { Table } from '../model.js';
import { plausibleName } from '../../src/rows/disk.js';

// Sums per key: ios, bytes, latency-weighted ios (avg * count), ios with a latency, then max and min latency.
const [IOS, BYTES, LATSUM, LATN, LATMAX, LATMIN] = [0, 1, 2, 3, 4, 5] as const;
const W = 6;

const c = columnsOf<BioRow>();
const tally = (): Tally => new Tally(W, undefined, startValues);

/** Disk names kept from the files' `disk` column (a host has far fewer disks). */
const maxFileNames = 4096;

/**
 * `diskName` gives the kernel's name of a device written as MAJ:MIN (src/rows/disk.ts, as ebpfmon resolves them), or null. The name the
 * file itself holds (its `disk` column, written since ebpfmon resolved names on the monitored host) comes first:
 * it is that host's; the analyzing machine's is the fallback for files without it.
 */
export function bioAnalyzer(diskName: (device: string) => string | null = () => null): AnalyzerOf<BioRow> {
  const fileNames = new Map<string, string>();
  const byType = tally();
  const byDevice = tally();
  const byComm = tally();
  const all = fresh();
  // The peak interval: an interval's rows share its timestamp and each holds its bytes over the interval's measured
  // length (throughput_mbps), so the interval's MB/s is their sum. Rows of one interval are written together.
  let peakMbps = -Infinity;
  let intervalTs = '';
  let intervalMbps = 0;
  const total = exactTotal();
  const totalBytes = exactTotal();
  return {
    monitor: 'bio',
    title: 'Block I/O (bio)',
    aggregate: true,
    required: ['count'],
    series: { label: 'bytes', unit: 'MB/s', card: false },
    bind(h) {
      const [iType, iDev, iComm, iCount, iBytes, iAvg, iMin, iMax, iTp, iDisk] = positions(
        h,
        c('io_type', 'device', 'comm', 'count', 'total_bytes', 'avg_latency_us', 'min_latency_us', 'max_latency_us', 'throughput_mbps', 'disk'),
      );
      return (f, ts) => {
        const count = wholeCount(f[iCount]);
        const bytes = optionalCount(f[iBytes]);
        const avg = measure(f[iAvg]);
        const mn = measure(f[iMin]);
        const mx = measure(f[iMax]);
        const tp = measure(f[iTp]);
        if (Number.isNaN(count) || Number.isNaN(bytes) || unreadable(avg) || unreadable(mn) || unreadable(mx) || unreadable(tp)) return NaN;
        if (!total.fits(count) || !totalBytes.fits(bytes)) return NaN;
        total.add(count);
        totalBytes.add(bytes);
        if (tp !== null) {
          if (ts !== intervalTs) {
            intervalTs = detach(ts);
            intervalMbps = 0;
          }
          intervalMbps += tp;
          if (intervalMbps > peakMbps) peakMbps = round(intervalMbps, 6);
        }
        accumulate(byType.get(orUnknown(f[iType])), count, bytes, avg, mn, mx);
        const dev = orUnknown(f[iDev]);
        accumulate(byDevice.get(dev), count, bytes, avg, mn, mx);
        // The last name seen wins: a number given to another disk after a hot-plug names the newer one.
        const disk = iDisk < 0 ? undefined : f[iDisk];
        if (disk && disk !== dev && plausibleName.test(disk) && fileNames.get(dev) !== disk && (fileNames.has(dev) || fileNames.size < maxFileNames)) fileNames.set(detach(dev), detach(disk));
        accumulate(byComm.get(orUnknown(f[iComm])), count, bytes, avg, mn, mx);
        accumulate(all, count, bytes, avg, mn, mx);
        return bytes / 1e6;
      };
    },
    finish({ top, range }) {
      const avgLat = (a: Float64Array): number | null => (at(a, LATN) > 0 ? round(at(a, LATSUM) / at(a, LATN), 3) : null);
      const cols = [
        col('ios', 'I/Os', 'int'),
        col('bytes', 'bytes', 'bytes'),
        col('avg_latency_us', 'avg us', 'us'),
        col('max_latency_us', 'max us', 'us'),
      ];
      const cells = (a: Float64Array): Record<string, number | null> => ({
        ios: at(a, IOS),
        bytes: at(a, BYTES),
        avg_latency_us: avgLat(a),
        max_latency_us: finiteOrNull(a[LATMAX]),
      });
      const byTypeTable: Table = tableOf('by_type', 'I/O by type', [col('io_type', 'type', 'text'), ...cols, col('avg_bytes', 'avg size', 'bytes')], byType, top, (k, a) => ({
        io_type: k,
        ...cells(a),
        avg_bytes: at(a, IOS) > 0 ? round(at(a, BYTES) / at(a, IOS), 1) : null,
      }));
      const covered = range.covered_seconds;
      return {
        totals: [
          metric('ios', 'I/Os', 'int', at(all, IOS)),
          metric('bytes', 'bytes', 'bytes', at(all, BYTES)),
          metric('throughput_mbps', 'mean MB/s', 'mbps', covered > 0 ? round(at(all, BYTES) / covered / 1e6, 3) : null),
          metric('peak_interval_mbps', 'peak interval MB/s', 'mbps', Number.isFinite(peakMbps) ? peakMbps : null),
          metric('avg_latency_us', 'avg latency us', 'us', avgLat(all)),
          metric('min_latency_us', 'min latency us', 'us', finiteOrNull(all[LATMIN])),
          metric('max_latency_us', 'max latency us', 'us', finiteOrNull(all[LATMAX])),
          metric('reads_share', 'read share (bytes)', 'pct', readShare(byType, at(all, BYTES))),
        ],
        tables: [
          byTypeTable,
          // disk: the kernel's name (vda) the file gives, else the one this machine gives the number, else the number.
          tableOf('top_devices', 'Top devices (by bytes)', [col('disk', 'disk', 'text'), col('device', 'device', 'text'), ...cols], byDevice, top, (k, a) => ({ disk: fileNames.get(k) ?? diskName(k) ?? k, device: k, ...cells(a) }), BYTES),
          tableOf('top_processes', 'Top processes (comm, by bytes)', [col('comm', 'comm', 'text'), ...cols], byComm, top, (k, a) => ({ comm: k, ...cells(a) }), BYTES),
        ],
        bars: { table: 'top_processes', value: 'bytes' },
      };
    },
  };
}

function startValues(a: Float64Array): void {
  a[LATMAX] = -Infinity;
  a[LATMIN] = Infinity;
}

function fresh(): Float64Array {
  const a = new Float64Array(W);
  startValues(a);
  return a;
}

function accumulate(a: Float64Array, count: number, bytes: number, avg: number | null, mn: number | null, mx: number | null): void {
  add(a, IOS, count);
  add(a, BYTES, bytes);
  if (avg !== null) {
    add(a, LATSUM, avg * count);
    add(a, LATN, count);
  }
  if (mx !== null) max(a, LATMAX, mx);
  if (mn !== null) min(a, LATMIN, mn);
}

/** Share of bytes whose type starts with R/r (read, R, RA...). */
function readShare(byType: Tally, total: number): number | null {
  let reads = 0;
  for (const [k, a] of byType.map) if (/^r/i.test(k)) reads += at(a, BYTES);
  return ratio(reads, total);
}
