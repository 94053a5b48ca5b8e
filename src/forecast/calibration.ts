// This host's floor for the cost forecast: the in-kernel ns of a bare `@n = count()` on raw_syscalls:sys_exit while
// a child makes getppid calls, read from bpf_stats, against the same figure on the VM the per-monitor ns were
// measured on. Cached per kernel release and bpftrace version in /var/cache/ebpfmon/calibration.json (directory
// mode 0700, file 0600): the calibration takes a few seconds and `start` may only read it.
import { spawn } from 'node:child_process';
import { mkdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { enableBpfStats, processBpfCost, type BpfCost } from '../process/bpf-stats.js';
import { startShortProbe, type Tracer } from './probe.js';
import { secureDirSync, writeFileAtomic } from '../safe-fs.js';
import { RunFailure } from '../errors.js';
import { calibrationDir, calibrationFile } from './calibration-file.js';

/**
 * ns per run of `tracepoint:raw_syscalls:sys_exit { @n = count(); }` on the reference VM (2-core AMD EPYC, Linux
 * 6.18, bpftrace 0.17, bpf_stats on), measured as `measureFloor` measures it (getppid loop): 80.8-87.9 ns over 8
 * runs, median 84. Every Monitor.cost.nsPerEvent was measured on that VM, so a host whose floor is twice this is
 * taken to run them twice as slow. (The floor arm of overhead-build on the same VM shows 95 ns: a build's mix of
 * syscalls runs the program colder than a tight loop, which is why the reference is taken by the same method.)
 */
export const referenceFloorNs = 84;

export { calibrationDir, calibrationFile };

/** What a calibration is valid for: the floor moves with the kernel and with bpftrace's code generation. */
export interface CalibrationKey {
  kernel: string;
  bpftrace: string;
}

export interface Calibration extends CalibrationKey {
  floorNs: number;
  referenceNs: number;
  measuredAt: string;
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** The cached calibration when `text` holds a valid one for `key`; null when it is corrupt, for another key or implausible. */
export function parseCalibration(text: string, key: CalibrationKey): Calibration | null {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    return null;
  }
  if (!isObject(v)) return null;
  const { kernel, bpftrace, floorNs, referenceNs, measuredAt } = v;
  if (kernel !== key.kernel || bpftrace !== key.bpftrace) return null;
  if (typeof floorNs !== 'number' || !Number.isFinite(floorNs) || floorNs <= 0 || floorNs > 1e6) return null;
  if (typeof referenceNs !== 'number' || referenceNs !== referenceFloorNs) return null;
  if (typeof measuredAt !== 'string' || Number.isNaN(Date.parse(measuredAt))) return null;
  return { kernel, bpftrace, floorNs, referenceNs, measuredAt };
}

/** The cached calibration for `key`, or null (missing, unreadable, corrupt, another kernel or bpftrace). */
export async function readCalibration(key: CalibrationKey, file = calibrationFile): Promise<Calibration | null> {
  const text = await readFile(file, 'utf8').catch(() => null);
  return text === null ? null : parseCalibration(text, key);
}

export async function writeCalibration(c: Calibration, file = calibrationFile): Promise<void> {
  const dir = path.dirname(file);
  await mkdir(dir, { recursive: true, mode: 0o700 });
  secureDirSync(dir, { what: 'calibration cache directory', create: false });
  await writeFileAtomic(file, JSON.stringify(c, null, 2) + '\n', 0o600);
}

const floorProbe = 'tracepoint:raw_syscalls:sys_exit { @n = count(); }';
/** A child making getppid calls (Node's process.ppid is one syscall each, no libc cache) for `ms` milliseconds. */
const getppidLoop = (ms: number): string =>
  `const e = Date.now() + ${ms}; while (Date.now() < e) for (let i = 0; i < 1000; i++) process.ppid;`;

const runChild = (code: string): Promise<void> =>
  new Promise((resolve, reject) => {
    const c = spawn(process.execPath, ['-e', code], { stdio: 'ignore' });
    c.on('error', reject);
    c.on('exit', () => resolve());
  });

/**
 * Measures the floor: bpftrace with the bare count attached, then `rounds` getppid loops of `ms` each, with
 * kernel.bpf_stats_enabled=1 (put back after); the median of the rounds' ns per run.
 */
export async function measureFloor(tracer: Tracer, opts: { rounds?: number; ms?: number } = {}): Promise<number> {
  const rounds = opts.rounds ?? 3;
  const ms = opts.ms ?? 500;
  const stats = await enableBpfStats();
  try {
    const probe = await startShortProbe(tracer, floorProbe, 'calibration');
    try {
      const pid = probe.pid ?? -1;
      const sample = async (): Promise<BpfCost> => (await processBpfCost(pid)) ?? { programs: 0, runTimeNs: 0, runCount: 0, recursionMisses: 0 };
      const perRound: number[] = [];
      for (let i = 0; i < rounds; i++) {
        const before = await sample();
        await runChild(getppidLoop(ms));
        const after = await sample();
        const runs = after.runCount - before.runCount;
        if (runs > 0) perRound.push((after.runTimeNs - before.runTimeNs) / runs);
      }
      perRound.sort((a, b) => a - b);
      const median = perRound[Math.floor(perRound.length / 2)];
      if (median === undefined || median <= 0) throw new RunFailure('calibration: the kernel reported no runs of the probe (kernel.bpf_stats_enabled switched off by another process?)');
      return Math.round(median * 10) / 10;
    } finally {
      await probe.stop();
    }
  } finally {
    await stats.restore();
  }
}

/** The calibration for this host: the cached one, or measured now (and cached) when missing, invalid or `recalibrate`. */
export async function calibrate(
  key: CalibrationKey,
  opts: { tracer: Tracer; recalibrate?: boolean; file?: string; now?: () => Date },
): Promise<Calibration & { cached: boolean; file: string }> {
  const file = opts.file ?? calibrationFile;
  const cached = opts.recalibrate ? null : await readCalibration(key, file);
  if (cached) return { ...cached, cached: true, file };
  const floorNs = await measureFloor(opts.tracer);
  const c: Calibration = { ...key, floorNs, referenceNs: referenceFloorNs, measuredAt: (opts.now?.() ?? new Date()).toISOString() };
  await writeCalibration(c, file);
  return { ...c, cached: false, file };
}

export const scaleOf = (c: Pick<Calibration, 'floorNs' | 'referenceNs'>): number => c.floorNs / c.referenceNs;
