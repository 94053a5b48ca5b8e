// The report as plain data: analyze() builds it, the text, json and html renderers only format it.

/** How a value is shown: the numbers themselves stay raw (json keeps them as they are). */
export type Kind = 'text' | 'path' | 'int' | 'num' | 'pct' | 'bytes' | 'us' | 'mbps' | 'rate';

export type Value = string | number | null;

export interface Column {
  key: string;
  label: string;
  kind: Kind;
}

export interface Table {
  id: string;
  title: string;
  columns: Column[];
  rows: Record<string, Value>[];
  /** Set when a key table outgrew its memory cap and its smallest keys were dropped: counts are lower bounds. */
  approximate?: boolean;
}

export interface Metric {
  key: string;
  label: string;
  kind: Kind;
  value: Value;
}

export interface SeriesPoint {
  /** Start of the bucket, ISO 8601 UTC. Buckets start at the covered time's start (see TimeRange). */
  t: string;
  total: number;
  /** The part of the bucket the rows cover: bucket_seconds, or less for a partial last bucket. */
  seconds: number;
  /** total / seconds */
  rate: number;
}

export interface Series {
  label: string;
  unit: string;
  bucket_seconds: number;
  points: SeriesPoint[];
}

export interface TimeRange {
  from: string | null;
  to: string | null;
  /** Seconds from the first to the last row. */
  span_seconds: number;
  /**
   * The monitor's configured interval, from the gaps between successive timestamps (the shortest gap seen at least
   * twice, not a run's final partial interval); null for event monitors and with a single timestamp.
   */
  interval_seconds: number | null;
  /**
   * The time the rows cover, which every rate of the section is divided by: from the first row's interval start
   * (aggregate rows are stamped at their interval's end) to the last row's time, so span plus one interval.
   */
  covered_seconds: number;
}

export interface Marker {
  timestamp: string;
  note: string;
}

/**
 * How far a section's numbers can be trusted, from what the run wrote: its intervals, the ones a marker row calls
 * incomplete (a full map, a stall, lost events, a restart, rows the disk refused), and the coverage the run itself
 * reported against the kernel's counters (ebpfmon writes a marker when a monitor's coverage falls below what it
 * expects, and another when it recovers).
 */
export interface Coverage {
  /** Intervals with rows (distinct timestamps) of an aggregate monitor; null for an event monitor. */
  intervals: number | null;
  /** Distinct times a marker row flags as incomplete (every marker but "coverage back at"). */
  flagged: number;
  /** Share of intervals no marker flags, 4 decimals; null for event monitors or without intervals. */
  complete_ratio: number | null;
  /** The lowest coverage ratio the run reported in its "coverage below" markers; null when it reported none. */
  lowest_reported: number | null;
  /** The worst moments, at most `worstKept`: reported coverage lowest first, then other flags in time order. */
  worst: { timestamp: string; ratio: number | null; note: string }[];
}

export interface Section {
  monitor: string;
  title: string;
  range: TimeRange;
  rows: number;
  markers: { total: number; first: Marker[] };
  coverage: Coverage;
  totals: Metric[];
  tables: Table[];
  series: Series | null;
  /** The table drawn as a bar chart: its value column, and its label column (default: the first text column). */
  bars: { table: string; value: string; label?: string } | null;
}

export type DamageReason =
  | 'wrong_field_count'
  | 'repeated_header'
  | 'bad_timestamp'
  | 'bad_number'
  | 'malformed_quotes'
  /** A line longer than the reader's bound (1 MiB): dropped unread. */
  | 'line_too_long'
  /** A row under a header that is not this monitor's (another monitor's output appended to the file). */
  | 'other_monitor'
  /** A row with a note (a marker) that also holds data: marker rows hold only a timestamp and a note. */
  | 'bad_marker';

export interface FileReport {
  file: string;
  monitor: string;
  bytes: number;
  rows: number;
  markers: number;
  empty: boolean;
  /** Why the whole file was skipped (e.g. missing columns), else null. */
  skipped: string | null;
  damaged: Partial<Record<DamageReason, number>>;
  /** Line numbers of the first few damaged rows, for the operator to look at. */
  first_damaged_lines: number[];
}

export interface Report {
  format: 'ebpfmon-analyze/1';
  directory: string;
  window: { since: string | null; until: string | null };
  monitor: string | null;
  top: number;
  files: FileReport[];
  /** Files in the directory that are not monitor CSVs (or belong to an unknown monitor). */
  ignored: string[];
  rows: number;
  damaged_rows: number;
  /** Files skipped whole: a header that is not the monitor's (e.g. another monitor's), or unreadable. */
  skipped_files: number;
  sections: Section[];
}
