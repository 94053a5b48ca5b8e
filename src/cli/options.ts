// Option parsers shared by the commands: one wording for one kind of value.
import { InvalidArgumentError } from 'commander';
import { maxTimerMs } from '../timers.js';
import { commPattern } from '../bt/literals.js';

/** The longest wait one Node timer holds, in whole seconds (2^31-1 ms, about 24.8 days). */
export const maxTimerSeconds = Math.floor(maxTimerMs / 1000);

/**
 * A positive number of seconds. With `max` (a wait one timer holds: at most maxTimerSeconds), a longer one is refused:
 * Node would warn and fire the timer after 1 ms (`check --cost --seconds 1e9` measured 1 ms).
 */
export const secondsOption = (opts: { max?: number } = {}) => (v: string): number => {
  const n = Number(v);
  if (v.trim() === '' || !Number.isFinite(n) || n <= 0) throw new InvalidArgumentError('expected a positive number of seconds');
  if (opts.max !== undefined && n > opts.max) {
    throw new InvalidArgumentError(`expected at most ${opts.max} seconds (${Math.floor(opts.max / 8640) / 10} days: the longest a timer can wait), got ${v}`);
  }
  return n;
};

/** `check --cost`: how long event rates are measured without --seconds. */
export const defaultForecastSeconds = 5;

/** `analyze --format`. */
export const analyzeFormats = ['text', 'json', 'html'] as const;

/** `start --daemon` logs here unless logging.file says otherwise. */
export const defaultDaemonLog = '/var/log/ebpfmon.log';

/** Largest pid Linux hands out (PID_MAX_LIMIT, 2^22). */
const maxPid = 4_194_304;

/**
 * `-p/--pid`: whole numbers, given several times or as a comma list; the values add up. Only digits reach the
 * generated script.
 */
export const pidOption = (v: string, previous: number[] = []): number[] => {
  const out = [...previous];
  for (const part of v.split(',')) {
    const t = part.trim();
    if (!/^[0-9]+$/.test(t) || Number(t) < 1 || Number(t) > maxPid) throw new InvalidArgumentError(`expected a process id (a whole number from 1 to ${maxPid}), got ${JSON.stringify(part)}`);
    if (!out.includes(Number(t))) out.push(Number(t));
  }
  return out;
};

/** `--comm`: a thread name as the YAML `comm` option takes it (the same pattern: it is quoted into the script). */
export const commOption = (v: string): string => {
  if (!commPattern.test(v)) throw new InvalidArgumentError('expected a process name of 1-15 letters, digits or _.:+@%=,- characters');
  return v;
};
