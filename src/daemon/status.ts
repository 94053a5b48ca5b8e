// The status of a running ebpfmon: refreshed by the daemon into a root-only file (0600) each interval,
// read by `ebpfmon status`.
import { readFile } from 'node:fs/promises';
import type { MonitorStats } from '../records/stats.js';
import type { BpfCost, CostRate } from '../process/bpf-stats.js';
import { writeFileAtomic } from '../safe-fs.js';
import { clockTicksPerSecond } from './pid-file.js';
import { monotonicMs } from '../timers.js';

export interface ProcessUsage {
  cpuPercent: number | null;
  rssBytes: number | null;
}

export interface MonitorStatus extends MonitorStats {
  monitor: string;
  bpftrace: ProcessUsage;
  /** In-kernel cost of the bpftrace process serving the monitor (runtime.self_stats), else null. */
  bpf: (BpfCost & CostRate) | null;
}

export interface StatusDoc {
  pid: number;
  startedAt: string;
  updatedAt: string;
  configFile: string;
  outputDir: string;
  monitors: MonitorStatus[];
  supervisor: ProcessUsage;
}

/** utime+stime ticks from /proc/<pid>/stat and VmRSS from /proc/<pid>/status (in kB whatever the page size). */
async function procStat(pid: number): Promise<{ ticks: number; rssBytes: number } | null> {
  try {
    const text = await readFile(`/proc/${pid}/stat`, 'utf8');
    // Fields after the ")" closing comm: state is field 3; utime 14, stime 15 (1-based).
    const rest = text.slice(text.lastIndexOf(')') + 2).split(' ');
    const ticks = Number(rest[11]) + Number(rest[12]);
    const rssBytes = parseVmRss(await readFile(`/proc/${pid}/status`, 'utf8'));
    return rssBytes === null ? null : { ticks, rssBytes };
  } catch {
    return null;
  }
}

/** VmRSS of a /proc/<pid>/status text, in bytes; 0 for a kernel thread or a zombie (no VmRSS line); null when not a status text. */
export function parseVmRss(text: string): number | null {
  if (!/^Name:/m.test(text)) return null;
  const m = /^VmRSS:\s+(\d+) kB$/m.exec(text);
  return m ? Number(m[1]) * 1024 : 0;
}

/** CPU seconds (user+system) and RSS of a process, or null when it is gone. */
export async function processUsage(pid: number): Promise<{ cpuSeconds: number; rssBytes: number } | null> {
  const s = await procStat(pid);
  return s ? { cpuSeconds: s.ticks / clockTicksPerSecond, rssBytes: s.rssBytes } : null;
}

/** Samples CPU% of processes between calls. */
export function createUsageSampler(): (pid: number | null) => Promise<ProcessUsage> {
  const last = new Map<number, { ticks: number; at: number }>();
  return async (pid) => {
    if (pid === null) return { cpuPercent: null, rssBytes: null };
    const s = await procStat(pid);
    if (!s) return { cpuPercent: null, rssBytes: null };
    const now = monotonicMs();
    const prev = last.get(pid);
    last.set(pid, { ticks: s.ticks, at: now });
    const cpuPercent = prev && now > prev.at ? Math.round(((s.ticks - prev.ticks) / clockTicksPerSecond / ((now - prev.at) / 1000)) * 1000) / 10 : null;
    return { cpuPercent, rssBytes: s.rssBytes };
  };
}

export async function writeStatus(file: string, doc: StatusDoc): Promise<void> {
  await writeFileAtomic(file, JSON.stringify(doc, null, 2) + '\n', 0o600);
}

export async function readStatus(file: string): Promise<StatusDoc | null> {
  try {
    return JSON.parse(await readFile(file, 'utf8')) as StatusDoc;
  } catch {
    return null;
  }
}
