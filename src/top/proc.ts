// CPU and memory of the processes `ebpfmon top` lists, from /proc, as htop reads them: CPU % is the growth of
// utime+stime between two refreshes over the wall time between them; RSS is VmRSS. The arithmetic is pure
// (nextUsage); the sampler only reads the files and keeps the last sample of each pid.
import { readFile } from 'node:fs/promises';
import { clockTicksPerSecond } from '../daemon/pid-file.js';
import { parseVmRss } from '../daemon/status.js';
import type { Usage } from './model.js';

/** One reading of a process. */
export interface ProcSample {
  /** utime+stime, clock ticks. */
  ticks: number;
  /** Start time since boot, clock ticks: tells a reused pid from the process it was. */
  startTicks: number;
  rssBytes: number;
  /** When it was read, ms (the caller's clock). */
  at: number;
}

/** utime+stime and starttime of a /proc/PID/stat text; null when it is not one. */
export function parseStat(text: string): { ticks: number; startTicks: number } | null {
  // The comm may hold spaces and parentheses: the fields start after the last ")". State is field 3; utime 14,
  // stime 15, starttime 22 (1-based).
  const close = text.lastIndexOf(')');
  if (close < 0) return null;
  const rest = text.slice(close + 2).split(' ');
  const utime = Number(rest[11]);
  const stime = Number(rest[12]);
  const start = Number(rest[19]);
  if (![utime, stime, start].every((n) => Number.isInteger(n) && n >= 0)) return null;
  return { ticks: utime + stime, startTicks: start };
}

/** The usage shown for `cur`, given the sample before it (of the same process, or of a pid since reused). */
export function nextUsage(prev: ProcSample | undefined, cur: ProcSample, ticksPerSecond = clockTicksPerSecond): Usage {
  const same = prev !== undefined && prev.startTicks === cur.startTicks && cur.at > prev.at && cur.ticks >= prev.ticks;
  const cpuPercent = same ? Math.round(((cur.ticks - prev.ticks) / ticksPerSecond / ((cur.at - prev.at) / 1000)) * 1000) / 10 : null;
  return { cpuPercent, rssBytes: cur.rssBytes, cpuSeconds: cur.ticks / ticksPerSecond };
}

/** Reads one process; null when it is gone (or its files cannot be read). */
export async function readProcSample(pid: number, at: number): Promise<ProcSample | null> {
  try {
    const [stat, status] = await Promise.all([readFile(`/proc/${pid}/stat`, 'utf8'), readFile(`/proc/${pid}/status`, 'utf8')]);
    const s = parseStat(stat);
    const rssBytes = parseVmRss(status);
    return s && rssBytes !== null ? { ...s, rssBytes, at } : null;
  } catch {
    return null;
  }
}

/**
 * Samples the listed pids at each call. A pid that vanished keeps the usage it last had while it is still listed
 * (its rows stay for the frame); pids no longer listed are forgotten.
 */
export function createProcSampler(read: (pid: number, at: number) => Promise<ProcSample | null> = readProcSample) {
  const last = new Map<number, { sample: ProcSample; usage: Usage }>();
  return async (pids: readonly number[], at: number): Promise<Map<number, Usage>> => {
    const wanted = new Set(pids);
    for (const pid of [...last.keys()]) if (!wanted.has(pid)) last.delete(pid);
    const samples = await Promise.all([...wanted].map(async (pid) => [pid, await read(pid, at)] as const));
    const out = new Map<number, Usage>();
    for (const [pid, sample] of samples) {
      const before = last.get(pid);
      if (sample) {
        const usage = nextUsage(before?.sample, sample);
        last.set(pid, { sample, usage });
        out.set(pid, usage);
      } else if (before) out.set(pid, before.usage);
    }
    return out;
  };
}
