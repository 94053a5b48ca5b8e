// The disk an output directory can take under a config's output.rotate and output.retention, as arithmetic on plain
// data (`ebpfmon check` prints it). Retention runs after each rotation and counts the open files toward
// max_total_mb without removing them; between two passes each open file grows until it rotates at max_file_mb. So
// the directory holds at most max_total_mb + one open file per monitor and format, each up to max_file_mb.

export interface DiskSettings {
  rotate: { daily: boolean; max_file_mb: number | null; compress: boolean };
  retention: { max_age_days: number; max_total_mb: number };
  /** The output formats written (one file per monitor and format). */
  formats: readonly string[];
}

export interface DiskBound {
  /** Files written at once: enabled monitors x formats. */
  openFiles: number;
  /** MiB the output directory holds at most; null: no bound (`unbounded` says why and what to set). */
  boundMb: number | null;
  /** How the bound is made, or why there is none, in one line. */
  detail: string;
  /** Set when there is no bound: the setting that would give one. */
  unbounded?: string;
}

const mb = (x: number): string => x.toLocaleString('en-US', { maximumFractionDigits: 1 });

/** The bound `settings` put on the output directory of `monitors` enabled monitors (pure). */
export function diskBound(settings: DiskSettings, monitors: number): DiskBound {
  const { rotate, retention } = settings;
  const openFiles = monitors * settings.formats.length;
  const files = `${openFiles} open file${openFiles === 1 ? '' : 's'} (${monitors} monitor${monitors === 1 ? '' : 's'} x ${settings.formats.length} format${settings.formats.length === 1 ? '' : 's'})`;
  if (openFiles === 0) return { openFiles, boundMb: 0, detail: 'no monitor enabled: no file is written' };
  if (retention.max_total_mb <= 0) {
    const age = retention.max_age_days > 0;
    return {
      openFiles,
      boundMb: null,
      detail: age
        ? `retention.max_total_mb is 0: rotated files are kept ${mb(retention.max_age_days)} days whatever their size, so the directory holds ${mb(retention.max_age_days)} days of rows`
        : 'retention is off (max_age_days: 0, max_total_mb: 0): no file is ever removed and the directory grows by every row written',
      unbounded: 'set output.retention.max_total_mb (e.g. 2048) to cap it',
    };
  }
  if (rotate.max_file_mb === null) {
    return {
      openFiles,
      boundMb: null,
      detail: `retention keeps closed files under ${mb(retention.max_total_mb)} MiB, but the ${files} have no size limit${rotate.daily ? ' until midnight UTC' : ' and never rotate'}`,
      unbounded: 'set output.rotate.max_file_mb (e.g. 256) to cap them',
    };
  }
  const bound = retention.max_total_mb + openFiles * rotate.max_file_mb;
  return {
    openFiles,
    boundMb: bound,
    detail: `retention.max_total_mb ${mb(retention.max_total_mb)} + ${files} x rotate.max_file_mb ${mb(rotate.max_file_mb)}`,
  };
}

/** `check`'s lines: the bound, and how the files rotate and age. */
export function renderDiskBound(b: DiskBound, settings: DiskSettings, dir: string): string {
  const { rotate, retention } = settings;
  const head = b.boundMb === null ? `disk use of ${dir}: unbounded: ${b.detail}; ${b.unbounded}` : `disk use of ${dir}: at most ${mb(b.boundMb)} MiB (${b.detail})`;
  const how = [
    rotate.daily || rotate.max_file_mb !== null
      ? `rotate ${[rotate.daily ? 'daily' : '', rotate.max_file_mb !== null ? `at ${mb(rotate.max_file_mb)} MiB` : ''].filter(Boolean).join(' and ')}${rotate.compress ? ', gzipped' : ', not compressed'}`
      : 'no rotation (one file per monitor and run)',
    retention.max_age_days > 0 ? `removed after ${mb(retention.max_age_days)} days` : 'no age limit',
  ].join('; ');
  return `${head}\n  ${how} (output.rotate, output.retention; docs/operations.md "Files over weeks")`;
}

/**
 * Mean bytes of one row of an event monitor (one row per event), measured on the development VM (docs/operations.md "Files over
 * weeks": exec 39,248 bytes in 608 rows). Aggregate monitors are not here: their rows are the keys active in an
 * interval (processes x syscalls, x paths ...), which an event rate does not tell.
 */
export const bytesPerEventRow: Readonly<Record<string, number>> = { exec: 65 };

export interface DailyVolume {
  monitor: string;
  /** MiB a day before compression at the measured rate; null: not estimated (`why`). */
  mbPerDay: number | null;
  why?: string;
}

/** Per monitor: MiB a day at `eventsPerSecond` where one event is one row, else why not (pure). */
export function dailyVolume(ms: readonly { monitor: string; eventsPerSecond: number | null }[]): DailyVolume[] {
  return ms.map(({ monitor, eventsPerSecond }) => {
    const bytes = bytesPerEventRow[monitor];
    if (bytes === undefined) return { monitor, mbPerDay: null, why: 'rows are the keys active per interval, not events: see the measured figures in docs/operations.md "Files over weeks"' };
    if (eventsPerSecond === null) return { monitor, mbPerDay: null, why: 'its event rate was not measured' };
    return { monitor, mbPerDay: (eventsPerSecond * 86_400 * bytes) / 2 ** 20 };
  });
}

export function renderDailyVolume(vs: readonly DailyVolume[]): string {
  const lines = ['disk use per day at the rates measured (before compression):'];
  for (const v of vs) if (v.mbPerDay !== null) lines.push(`  ${v.monitor.padEnd(15)} about ${mb(v.mbPerDay)} MiB/day`);
  // The rest, one line per reason.
  const why = new Map<string, string[]>();
  for (const v of vs) if (v.mbPerDay === null) why.set(v.why ?? '', [...(why.get(v.why ?? '') ?? []), v.monitor]);
  for (const [reason, ms] of why) lines.push(`  not estimated for ${ms.join(', ')}: ${reason}`);
  return lines.join('\n');
}
