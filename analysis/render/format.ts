// Values as people read them: 1,234,567 calls, 12.3%, 4.2 MiB, 1h 2m 3s. Only the text and html views use this.
import type { Coverage, Kind, Value } from '../model.js';

const group = (n: number): string => {
  const s = Math.round(Math.abs(n)).toString().replace(/\B(?=(\d{3})+(?!\d))/g, ',');
  return n < 0 ? `-${s}` : s;
};

export function bytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];
  let v = n;
  let i = 0;
  while (Math.abs(v) >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return i === 0 ? `${Math.round(v)} B` : `${v.toFixed(v < 10 ? 2 : 1)} ${units[i]}`;
}

/** A number with at most `d` decimals, grouped by thousands from 1000 on. */
export function decimal(n: number, d = 2): string {
  if (Math.abs(n) >= 1000) return group(n);
  return Number.isInteger(n) ? String(n) : n.toFixed(d);
}

export function formatValue(v: Value, kind: Kind): string {
  if (v === null) return '-';
  if (typeof v === 'string') return v;
  switch (kind) {
    case 'int':
      return group(v);
    case 'pct': {
      const p = v * 100;
      if (p > 0 && p < 0.01) return '<0.01%';
      return `${p.toFixed(p < 10 ? 2 : 1)}%`;
    }
    case 'bytes':
      return bytes(v);
    case 'us':
      return Math.abs(v) >= 1000 ? group(v) : v.toFixed(Math.abs(v) < 10 ? 2 : 1);
    case 'mbps':
    case 'rate':
    case 'num':
      return decimal(v);
    case 'text':
    case 'path':
      return String(v);
  }
}

export function duration(seconds: number): string {
  if (seconds < 60) return `${decimal(Math.round(seconds * 1000) / 1000, 3)}s`;
  const s = Math.round(seconds);
  const d = Math.floor(s / 86400);
  const h = Math.floor((s % 86400) / 3600);
  const m = Math.floor((s % 3600) / 60);
  const parts = [d ? `${d}d` : '', h ? `${h}h` : '', m ? `${m}m` : '', s % 60 ? `${s % 60}s` : ''].filter(Boolean);
  return parts.slice(0, 3).join(' ');
}

/** 2026-11-25T02:44:13.120Z -> 2026-11-25 02:44:13 */
export const shortTime = (iso: string | null): string => (iso ? iso.slice(0, 19).replace('T', ' ') : '-');

/**
 * Cuts text to `width` characters. A path is cut in the middle, keeping its start (which tree: /var/lib,
 * /proc) and, with two thirds of the room, its end (the file name): /var/li…/base/16384/2619. Other text (a
 * comm, a function, a device) keeps its start, where names differ: `kworker/u16:3` before `kworker/u16:…`.
 */
export function fit(text: string, width: number, kind: Kind): string {
  if (text.length <= width) return text;
  if (width <= 1) return text.slice(0, width);
  if (kind !== 'path') return `${text.slice(0, width - 1)}…`;
  const head = Math.floor((width - 1) / 3);
  return `${text.slice(0, head)}…${text.slice(text.length - (width - 1 - head))}`;
}

export const isNumeric = (kind: Kind): boolean => kind !== 'text' && kind !== 'path';

/**
 * A section's coverage in one line ("coverage: 1,800 intervals, 3 flagged (99.83 % complete), lowest reported
 * 0.9312"), then its worst moments, one line each; nothing for a section nothing flags.
 */
export function coverageLines(c: Coverage): string[] {
  const parts: string[] = [];
  if (c.intervals !== null) parts.push(`${decimal(c.intervals, 0)} intervals`);
  parts.push(`${decimal(c.flagged, 0)} flagged${c.complete_ratio !== null ? ` (${(c.complete_ratio * 100).toFixed(2)} % complete)` : ''}`);
  if (c.lowest_reported !== null) parts.push(`lowest reported ${c.lowest_reported}`);
  const head = `coverage: ${parts.join(', ')}`;
  if (!c.flagged) return [head];
  return [head, ...c.worst.map((w) => `  worst: ${shortTime(w.timestamp)} ${w.note}`)];
}
