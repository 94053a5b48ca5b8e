// What every monitor's analyzer shares: its shape, and small helpers for columns, sums and tables.
import type { Column, Metric, Section, Table, TimeRange, Value } from '../model.js';
import { ratio, type Tally } from '../tally.js';

/**
 * The column names of a monitor's row type. Row types extend `Row` (`Record<string, Cell>`), so plain
 * `keyof R & string` is `string` and would accept any typo: the index signature is dropped here, leaving only
 * the named columns (`ColumnOf<ContextSwitchRow>` is 'timestamp' | 'pid' | 'comm' | ...).
 */
export type { ColumnOf } from '../../src/monitors/types.js';
import type { ColumnOf } from '../../src/monitors/types.js';

/**
 * Names of R's columns, checked at compile time, so renaming a column in a monitor breaks its analyzer's build:
 * `const c = columnsOf<ContextSwitchRow>(); c('comm', 'cpu')` is the tuple ['comm', 'cpu'].
 */
export const columnsOf =
  <R>() =>
  <const N extends readonly ColumnOf<R>[]>(...names: N): N =>
    names;

/** Each name's position in a header (-1 when absent), in the order given: `const [iComm, iCpu] = positions(h, c('comm', 'cpu'))`. */
export const positions = <const N extends readonly string[]>(header: readonly string[], names: N): { -readonly [I in keyof N]: number } =>
  names.map((n) => header.indexOf(n)) as { -readonly [I in keyof N]: number };

export interface FinishContext {
  top: number;
  range: TimeRange;
}

/** What an analyzer contributes to its section; the driver adds monitor, title, range, rows and markers. */
export type SectionBody = Pick<Section, 'totals' | 'tables' | 'bars'>;

/** An analyzer; `C` is the CSV column names it may require (`AnalyzerOf<R>` checks them against a row type). */
export interface MonitorAnalyzer<C extends string = string> {
  readonly monitor: string;
  readonly title: string;
  /** Aggregate monitors write one row per key per interval; event monitors one row per event. */
  readonly aggregate: boolean;
  /** Columns (besides timestamp) without which a file is skipped. */
  readonly required: readonly C[];
  /**
   * What the rate-over-time chart counts, e.g. 'calls' per second; `card`: the driver adds the mean rate as the
   * second total (`rate`), unless the analyzer shows its own (bio's mean MB/s).
   */
  readonly series: { label: string; unit: string; card: boolean };
  /** Column positions come from each file's header; returns the row handler. */
  bind(header: readonly string[]): RowHandler;
  finish(ctx: FinishContext): SectionBody;
}

/** The analyzer of a monitor whose rows are R: what it requires must be columns of R. */
export type AnalyzerOf<R> = MonitorAnalyzer<ColumnOf<R>>;

/** Adds one data row; returns the value the rate chart counts, or NaN when a number is unreadable (the row is then skipped). */
export type RowHandler = (f: readonly string[], timestamp: string) => number;

// Cells are read as ebpfmon writes them, nothing more: JavaScript's number syntax would also take 1e308, 0x10,
// 0b11, " 7", +5 and Infinity, and a hostile or damaged file could then turn totals into Infinity, NaN or 200 %.
const wholeNumber = /^\d{1,16}$/;
const plainDecimal = /^\d{1,16}(\.\d{1,9})?$/;

/** A count: a whole non-negative decimal (digits only) up to 2^53 - 1, else NaN (the row is damaged). */
export const wholeCount = (s: string | undefined): number => {
  if (s === undefined || !wholeNumber.test(s)) return NaN;
  const n = +s;
  return n <= Number.MAX_SAFE_INTEGER ? n : NaN;
};

/** A count in a column a file may lack or leave empty (error_count in an older file): 0 then; NaN when unreadable. */
export const optionalCount = (s: string | undefined): number => (s === undefined || s === '' ? 0 : wholeCount(s));

/**
 * A measurement (a latency, a time, a throughput): null when absent (an empty cell or no column), its value when a
 * plain non-negative decimal as ebpfmon writes it (`12.34`), else NaN (the row is damaged).
 */
export const measure = (s: string | undefined): number | null => {
  if (s === undefined || s === '') return null;
  if (!plainDecimal.test(s)) return NaN;
  const n = +s;
  return n <= Number.MAX_SAFE_INTEGER ? n : NaN;
};

/** Whether a measure() result is unreadable. */
export const unreadable = (v: number | null): boolean => v !== null && Number.isNaN(v);

/**
 * A running total that stays exact: a count that would carry it past 2^53 - 1 (28 years of 10 M events a second,
 * which no real run reaches) does not fit and its row is refused, so every per-key sum, never above the total,
 * stays exact too. `fits` only asks: a row is added once every one of its cells passed.
 */
export function exactTotal(): { value: number; fits(n: number): boolean; add(n: number): void } {
  const t = {
    value: 0,
    fits: (n: number): boolean => t.value + n <= Number.MAX_SAFE_INTEGER,
    add(n: number): void {
      t.value += n;
    },
  };
  return t;
}

export const add = (a: Float64Array, i: number, v: number): void => {
  a[i] = (a[i] ?? 0) + v;
};
export const max = (a: Float64Array, i: number, v: number): void => {
  if (v > (a[i] ?? -Infinity)) a[i] = v;
};
export const min = (a: Float64Array, i: number, v: number): void => {
  if (v < (a[i] ?? Infinity)) a[i] = v;
};
export const at = (a: Float64Array, i: number): number => a[i] ?? 0;

export const metric = (key: string, label: string, kind: Metric['kind'], value: Value): Metric => ({ key, label, kind, value });
export const col = (key: string, label: string, kind: Column['kind']): Column => ({ key, label, kind });

/** A table from the top keys of a tally; `row` maps one key and its sums to the table's cells. */
export function tableOf(
  id: string,
  title: string,
  columns: Column[],
  tally: Tally,
  n: number,
  row: (key: string, a: Float64Array) => Record<string, Value>,
  rankBy = 0,
): Table {
  const t: Table = { id, title, columns, rows: tally.top(n, rankBy).map(([k, a]) => row(k, a)) };
  if (tally.approximate) t.approximate = true;
  return t;
}

/** Keys that are numbers (cpu, numa node) in numeric order, all of them up to `limit`. */
export function numericTable(
  id: string,
  title: string,
  columns: Column[],
  tally: Tally,
  limit: number,
  row: (key: string, a: Float64Array) => Record<string, Value>,
): Table {
  const keys = [...tally.map.entries()].sort((x, y) => Number(x[0]) - Number(y[0]) || (x[0] < y[0] ? -1 : 1)).slice(0, limit);
  const t: Table = { id, title, columns, rows: keys.map(([k, a]) => row(k, a)) };
  if (tally.approximate) t.approximate = true;
  return t;
}

/** A number cell: a count stays an integer, a key that looks numeric (cpu 3) becomes a number. */
export const keyNum = (k: string): Value => (k !== '' && Number.isFinite(+k) ? +k : k);

export const share = (v: number, total: number): number | null => ratio(v, total);

/** The table columns' key for an absent text value. */
export const orUnknown = (s: string | undefined): string => (s === undefined || s === '' ? '?' : s);
