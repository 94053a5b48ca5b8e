// The time window of an analysis: --date D (that UTC day) or --since/--until, as ISO strings compared with
// the rows' timestamps as text (ISO 8601 UTC with milliseconds sorts like time).
import { UsageError } from '../src/errors.js';

export interface Window {
  since: string | null;
  /** Exclusive. */
  until: string | null;
}

const dayPattern = /^\d{4}-\d{2}-\d{2}$/;
const timePattern = /^(\d{4}-\d{2}-\d{2})(?:[T ](\d{2}:\d{2}(?::\d{2}(?:\.\d{1,3})?)?)(Z|[+-]\d{2}:?\d{2})?)?$/;

/** A calendar day YYYY-MM-DD that exists, as the ISO instant of its UTC midnight. */
function day(text: string, flag: string): number {
  const ms = dayPattern.test(text) ? Date.parse(`${text}T00:00:00.000Z`) : NaN;
  if (!Number.isFinite(ms) || new Date(ms).toISOString().slice(0, 10) !== text) {
    throw new UsageError(`${flag}: expected a date YYYY-MM-DD, got "${text}"`);
  }
  return ms;
}

/** YYYY-MM-DD, or YYYY-MM-DDTHH:MM[:SS[.mmm]] with an optional zone (UTC when none). */
export function parseInstant(text: string, flag: string): string {
  const m = timePattern.exec(text.trim());
  if (!m) throw new UsageError(`${flag}: expected YYYY-MM-DD or YYYY-MM-DDTHH:MM[:SS][Z], got "${text}"`);
  const [, date = '', time, zone] = m;
  day(date, flag);
  if (!time) return new Date(Date.parse(`${date}T00:00:00.000Z`)).toISOString();
  const ms = Date.parse(`${date}T${time}${zone ?? 'Z'}`);
  if (!Number.isFinite(ms)) throw new UsageError(`${flag}: not a valid time: "${text}"`);
  return new Date(ms).toISOString();
}

export function parseWindow(o: { date?: string | undefined; since?: string | undefined; until?: string | undefined }): Window {
  if (o.date !== undefined) {
    if (o.since !== undefined || o.until !== undefined) throw new UsageError('--date cannot be combined with --since or --until');
    const start = day(o.date, '--date');
    return { since: new Date(start).toISOString(), until: new Date(start + 86_400_000).toISOString() };
  }
  const since = o.since !== undefined ? parseInstant(o.since, '--since') : null;
  const until = o.until !== undefined ? parseInstant(o.until, '--until') : null;
  if (since && until && since >= until) throw new UsageError(`--since (${since}) must be before --until (${until})`);
  return { since, until };
}
