// The in-kernel cost of bpftrace's programs: with kernel.bpf_stats_enabled=1 the kernel counts, per program,
// its runs and run time, visible in /proc/<pid>/fdinfo/<fd> of the process holding it. ebpfmon sums them per
// bpftrace process, so an operator sees on their own host what watching costs.
import { writeFileSync } from 'node:fs';
import { readdir, readFile, readlink, writeFile } from 'node:fs/promises';

export const bpfStatsSysctl = '/proc/sys/kernel/bpf_stats_enabled';

export interface BpfCost {
  programs: number;
  runTimeNs: number;
  runCount: number;
  /** Runs the kernel skipped because another BPF program was running on that CPU: events this process missed. */
  recursionMisses: number;
}

/** Parses one fdinfo file of a BPF program; null when it is not one. */
export function parseProgFdinfo(text: string): BpfCost | null {
  if (!/^prog_type:/m.test(text)) return null;
  const num = (k: string): number => Number(new RegExp(`^${k}:\\s*(\\d+)`, 'm').exec(text)?.[1] ?? 0);
  return { programs: 1, runTimeNs: num('run_time_ns'), runCount: num('run_cnt'), recursionMisses: num('recursion_misses') };
}

/** Sums the BPF programs a process holds; null when the process is gone. */
export async function processBpfCost(pid: number): Promise<BpfCost | null> {
  let fds: string[];
  try {
    fds = await readdir(`/proc/${pid}/fd`);
  } catch {
    return null;
  }
  const total: BpfCost = { programs: 0, runTimeNs: 0, runCount: 0, recursionMisses: 0 };
  for (const fd of fds) {
    const link = await readlink(`/proc/${pid}/fd/${fd}`).catch(() => '');
    if (link !== 'anon_inode:bpf-prog') continue;
    const info = parseProgFdinfo(await readFile(`/proc/${pid}/fdinfo/${fd}`, 'utf8').catch(() => ''));
    if (!info) continue;
    total.programs++;
    total.runTimeNs += info.runTimeNs;
    total.runCount += info.runCount;
    total.recursionMisses += info.recursionMisses;
  }
  return total;
}

/** Whether kernel.bpf_stats_enabled is on now (someone else may have turned it on: `top` only reads it). */
export async function bpfStatsEnabled(o: { unreadable: 'off' | 'throw' } = { unreadable: 'off' }): Promise<boolean> {
  const text = await readFile(bpfStatsSysctl, 'utf8').catch((e: unknown) => {
    if (o.unreadable === 'throw') throw e;
    return '0';
  });
  return text.trim() !== '0';
}

/**
 * Turns on the kernel's BPF run-time statistics; `restore` puts back what was there. The setting is host-wide,
 * so it is also put back (synchronously) if the process exits without calling `restore` (process.exit from a
 * watchdog, an uncaught error); only SIGKILL can leave it on.
 */
export async function enableBpfStats(): Promise<{ wasEnabled: boolean; restore(): Promise<void> }> {
  if (await bpfStatsEnabled({ unreadable: 'throw' })) return { wasEnabled: true, restore: () => Promise.resolve() };
  const atExit = (): void => {
    try {
      writeFileSync(bpfStatsSysctl, '0');
    } catch {
      // exiting: nowhere left to report it
    }
  };
  process.once('exit', atExit);
  await writeFile(bpfStatsSysctl, '1').catch((e: unknown) => {
    process.removeListener('exit', atExit);
    throw e;
  });
  let restored = false;
  return {
    wasEnabled: false,
    restore: async () => {
      if (restored) return;
      try {
        await writeFile(bpfStatsSysctl, '0');
      } catch (e) {
        throw new Error(`cannot restore kernel.bpf_stats_enabled to 0: ${(e as Error).message}`, { cause: e });
      }
      restored = true;
      process.removeListener('exit', atExit);
    },
  };
}

export interface CostRate {
  /** Average kernel time per program run over the last sample, ns. */
  nsPerEvent: number | null;
  /** Share of one CPU spent in these programs over the last sample, percent. */
  cpuPercent: number | null;
}

/** Rates between two samples of the same process. */
export function costRate(prev: { cost: BpfCost; at: number } | undefined, cur: BpfCost, at: number): CostRate {
  if (!prev || at <= prev.at) return { nsPerEvent: null, cpuPercent: null };
  const dRuns = cur.runCount - prev.cost.runCount;
  const dNs = cur.runTimeNs - prev.cost.runTimeNs;
  return {
    nsPerEvent: dRuns > 0 ? Math.round(dNs / dRuns) : null,
    cpuPercent: Math.round((dNs / ((at - prev.at) * 1e6)) * 100 * 1000) / 1000,
  };
}
