// Which timestamps the analyzer trusts: exactly what ebpfmon writes (Date.toISOString(), UTC, milliseconds),
// naming a real instant in a plausible time. A row fused with another by a short write
// (`openst2026-11-29T18:26:42.892Z`) or cut inside its timestamp fails, so it can neither pass as data nor
// stretch a section's time range to nothing.

import { detach } from './tally.js';

/** Before this, a clock was not set (1970) or the text is not ebpfmon's: eBPF tracing is from 2015. */
export const earliestTimestamp = '2015-01-01T00:00:00.000Z';
/** How far past the analyzing machine's clock a row may be, for clocks a little apart. */
const futureSlackMs = 86_400_000;

const digit = (c: number): boolean => c >= 48 && c <= 57;
const digitAt = [0, 1, 2, 3, 5, 6, 8, 9, 11, 12, 14, 15, 17, 18, 20, 21, 22] as const;
const two = (s: string, i: number): number => (s.charCodeAt(i) - 48) * 10 + (s.charCodeAt(i + 1) - 48);

/** Seconds, milliseconds and zone: what differs between rows of one minute. */
const tailOk = (s: string): boolean =>
  digit(s.charCodeAt(17)) && digit(s.charCodeAt(18)) && s.charCodeAt(19) === 46 && digit(s.charCodeAt(20)) && digit(s.charCodeAt(21)) &&
  digit(s.charCodeAt(22)) && s.charCodeAt(23) === 90 && two(s, 17) <= 59;

/**
 * A checker for `YYYY-MM-DDTHH:MM:SS.mmmZ` between earliestTimestamp and a day after `now`. It runs once per row,
 * so it reads characters rather than parsing a date, and a row in the same minute as the last good one only has
 * its seconds checked: whether a day exists (no 2026-02-30) is asked of Date once per day.
 */
export function timestampChecker(now: Date = new Date()): (s: string) => boolean {
  const latest = new Date(now.getTime() + futureSlackMs).toISOString();
  const days = new Map<string, boolean>();
  // The last good timestamp (rows of one interval share it), and its "YYYY-MM-DDTHH:MM:" copied out of the read
  // chunk it was cut from; whether that whole minute is before `latest`.
  let last = '\u0000';
  let minute = '\u0000';
  let minuteSafe = false;
  return (s) => {
    if (s === last) return true;
    if (s.length !== 24) return false;
    if (s.startsWith(minute) && tailOk(s) && (minuteSafe || s <= latest)) {
      last = s;
      return true;
    }
    for (const i of digitAt) if (!digit(s.charCodeAt(i))) return false;
    if (s[4] !== '-' || s[7] !== '-' || s[10] !== 'T' || s[13] !== ':' || s[16] !== ':' || s[19] !== '.' || s[23] !== 'Z') return false;
    if (two(s, 11) > 23 || two(s, 14) > 59 || two(s, 17) > 59) return false;
    if (s < earliestTimestamp || s > latest) return false;
    const day = s.slice(0, 10);
    let ok = days.get(day);
    if (ok === undefined) {
      const ms = Date.parse(`${day}T00:00:00.000Z`);
      ok = Number.isFinite(ms) && new Date(ms).toISOString().startsWith(day);
      if (days.size < 100_000) days.set(day, ok);
    }
    if (ok) {
      last = s;
      minute = detach(s.slice(0, 17));
      minuteSafe = minute < latest.slice(0, 17);
    }
    return ok;
  };
}
