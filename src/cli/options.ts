// Option parsers shared by the commands: one wording for one kind of value.
import { InvalidArgumentError } from 'commander';
import { maxTimerMs } from '../timers.js';

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
