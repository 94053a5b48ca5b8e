// `ebpfmon status`: whether the daemon runs, since when, and per monitor its state and counters.
import { access, constants } from 'node:fs/promises';
import { readStatus, type StatusDoc } from '../../daemon/status.js';
import { runningPid, statusFileFor } from '../../daemon/pid-file.js';

export interface StatusReport {
  running: boolean;
  pid: number | null;
  pidFile: string;
  status: StatusDoc | null;
  /** Why the status file of a running daemon could not be read (its mode is 0600: another user than root). */
  statusError?: string;
}

export async function runStatus(opts: { pidFile: string }): Promise<StatusReport> {
  const pid = await runningPid(opts.pidFile);
  const file = statusFileFor(opts.pidFile);
  const status = pid === null ? null : await readStatus(file);
  if (pid !== null && status === null) {
    const code = await access(file, constants.R_OK).then(() => null, (e: NodeJS.ErrnoException) => e.code);
    if (code === 'EACCES' || code === 'EPERM') {
      return { running: true, pid, pidFile: opts.pidFile, status, statusError: `cannot read ${file} (permission): run as root (sudo ebpfmon status)` };
    }
  }
  return { running: pid !== null, pid, pidFile: opts.pidFile, status };
}

const mb = (b: number | null): string => (b === null ? '-' : `${Math.round(b / 1024 / 1024)} MB`);
const pct = (p: number | null): string => (p === null ? '-' : `${p.toFixed(1)}%`);

export function renderStatus(r: StatusReport): string {
  if (!r.running) return `ebpfmon is not running (pid file ${r.pidFile})`;
  const s = r.status;
  if (!s) return `ebpfmon is running (pid ${String(r.pid)}), ${r.statusError ?? 'no status yet'}`;
  const lines = [
    `ebpfmon is running (pid ${s.pid}) since ${s.startedAt}; status of ${s.updatedAt}`,
    `  config ${s.configFile}; output ${s.outputDir}; supervisor CPU ${pct(s.supervisor.cpuPercent)}, RSS ${mb(s.supervisor.rssBytes)}`,
    '',
    `  ${'monitor'.padEnd(15)} ${'state'.padEnd(10)} ${'bpftrace'.padEnd(8)} ${'run'.padEnd(4)} ${'restarts'.padStart(8)} ${'records'.padStart(9)} ${'rows'.padStart(9)} ${'lost'.padStart(6)} ${'errors'.padStart(6)} ${'cpu'.padStart(6)} ${'rss'.padStart(7)}`,
  ];
  for (const m of s.monitors) {
    lines.push(
      `  ${m.monitor.padEnd(15)} ${m.state.padEnd(10)} ${String(m.bpftracePid ?? '-').padEnd(8)} ${(m.runtime ?? '-').padEnd(4)} ${String(m.restarts).padStart(8)} ${String(m.records).padStart(9)} ${String(m.rows).padStart(9)} ${String(m.lostEvents).padStart(6)} ${String(m.parseErrors).padStart(6)} ${pct(m.bpftrace.cpuPercent).padStart(6)} ${mb(m.bpftrace.rssBytes).padStart(7)}`,
    );
    if (m.bpf) {
      lines.push(`      in-kernel: ${m.bpf.programs} programs, ${m.bpf.runCount} runs, ${m.bpf.nsPerEvent ?? '-'} ns/event, ${m.bpf.cpuPercent ?? '-'}% of one CPU, ${m.bpf.recursionMisses} missed (recursion)`);
    }
    if (m.coverage?.ratio !== null && m.coverage !== undefined && m.coverage !== null) {
      lines.push(`      coverage ${m.coverage.ratio} ${m.coverage.basis === 'kernel' ? "of the kernel's count" : 'of what was seen, lost included'}${m.coverage.low ? '  LOW' : ''}`);
    }
    if (m.stalled) lines.push('      STALLED: no interval closed for two intervals');
    if (m.saturatedIntervals) lines.push(`      ${m.saturatedIntervals} incomplete intervals (a kernel map was full: counts dropped)`);
    if (m.stalls) lines.push(`      ${m.stalls} stalls (rows after each cover the whole stall)`);
    if (m.skippedTicks) lines.push(`      ${m.skippedTicks} intervals longer than set (the kernel skipped timer ticks; their rows cover the span)`);
    if (m.lastError) lines.push(`      last error: ${m.lastError}`);
  }
  return lines.join('\n');
}
