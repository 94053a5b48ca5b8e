// Reads every monitor CSV of a directory once, row by row, into bounded per-monitor sums, and returns the report.
// Damage (a truncated last line, a repeated header, a row with the wrong number of fields or a damaged timestamp,
// rows under another monitor's header) is skipped and counted; a file whose header is not this monitor's is skipped.
import { stat } from 'node:fs/promises';
import path from 'node:path';
import { describe, UsageError } from '../src/errors.js';
import { listCsvFiles } from './files.js';
import type { DamageReason, FileReport, Marker, Report, Section } from './model.js';
import { analyzedMonitors, analyzers, type MonitorAnalyzer } from './monitors/index.js';
import { gzipDamage, readCsvRecords, type CsvParser } from './read-csv.js';
import { checkHeader, cleanHeader, noteColumn, timestampColumn } from './header.js';
import { timestampChecker } from './timestamp.js';
import { Span, Timeline, coveredOf, detach, round } from './tally.js';
import { coverageCounter, type CoverageCounter } from './coverage.js';
import { createDiskResolver } from '../src/rows/disk.js';
import type { Window } from './window.js';

export interface Progress {
  bytesRead: number;
  bytesTotal: number;
  rows: number;
  file: string;
}

export interface AnalyzeOptions {
  dir: string;
  /** Only this monitor. */
  monitor?: string | null | undefined;
  window?: Window | undefined;
  /** Rows per table. */
  top?: number | undefined;
  parser?: CsvParser | undefined;
  onProgress?: ((p: Progress) => void) | undefined;
  /** The analyzing machine's time: rows more than a day after it are damaged (tests set it). */
  now?: Date | undefined;
  /** Where disk names are looked up (/sys/dev/block; tests set a directory of their own); null: none. */
  sysDevBlock?: string | null | undefined;
}

export const defaultTop = 10;
const markersKept = 20;
const damagedLinesKept = 5;

interface MonitorState {
  analyzer: MonitorAnalyzer;
  span: Span;
  timeline: Timeline;
  rows: number;
  markers: number;
  firstMarkers: Marker[];
  coverage: CoverageCounter;
}

/** A missing or unreadable directory, an unknown monitor, a bad --top: usage errors (exit 2). */
async function checkOptions(opts: AnalyzeOptions): Promise<void> {
  const st = await stat(opts.dir).catch(() => null);
  if (!st) throw new UsageError(`no such directory: ${opts.dir}`);
  if (!st.isDirectory()) throw new UsageError(`not a directory: ${opts.dir}`);
  if (opts.monitor && !analyzedMonitors.includes(opts.monitor)) {
    throw new UsageError(`unknown monitor "${opts.monitor}" (expected one of: ${analyzedMonitors.join(', ')})`);
  }
  if (opts.top !== undefined && !(Number.isInteger(opts.top) && opts.top > 0)) throw new UsageError(`--top: expected a positive integer, got ${opts.top}`);
}

/** Skips the rest of a file whose header is not one of this monitor's. */
class SkipFile extends Error {}

export async function analyze(opts: AnalyzeOptions): Promise<Report> {
  await checkOptions(opts);
  const top = opts.top ?? defaultTop;
  const since = opts.window?.since ?? null;
  const until = opts.window?.until ?? null;
  const parser = opts.parser ?? 'fast';
  const isTimestamp = timestampChecker(opts.now);
  const states = new Map<string, MonitorState>();
  // The writer's own resolver: the analyzing machine's names, right when the files were written on this host (or one
  // with the same disks), which the report cannot know, so the number is always shown too.
  const disks = opts.sysDevBlock === null ? null : createDiskResolver(opts.sysDevBlock);
  for (const a of analyzers({ diskName: (device) => disks?.resolve(device) ?? null })) {
    if (!opts.monitor || a.monitor === opts.monitor) states.set(a.monitor, { analyzer: a, span: new Span(), timeline: new Timeline(), rows: 0, markers: 0, firstMarkers: [], coverage: coverageCounter(a.aggregate) });
  }
  const listed = await listCsvFiles(opts.dir, analyzedMonitors);
  // A file whose time (from its name's to its last row's) lies entirely outside the window is not read at all: with
  // daily rotation, --date reads that day's files only.
  const sinceMs = since === null ? null : Date.parse(since);
  const untilMs = until === null ? null : Date.parse(until);
  const overlaps = (f: { fromMs: number; toMs: number }): boolean => (sinceMs === null || f.toMs >= sinceMs) && (untilMs === null || f.fromMs < untilMs);
  const files = listed.files.filter((f) => states.has(f.monitor) && overlaps(f));
  // A gzipped file is read twice: checked whole first, then parsed.
  const bytesTotal = files.reduce((s, f) => s + (f.gz ? 2 : 1) * f.bytes, 0);
  let bytesRead = 0;
  let totalRows = 0;
  let damagedRows = 0;
  let skippedFiles = 0;
  const fileReports: FileReport[] = [];

  for (const file of files) {
    const st = states.get(file.monitor);
    if (!st) continue;
    const fr: FileReport = { file: file.name, monitor: file.monitor, bytes: file.bytes, rows: 0, markers: 0, empty: true, skipped: null, damaged: {}, first_damaged_lines: [] };
    fileReports.push(fr);
    const damage = (reason: DamageReason, line: number): void => {
      fr.damaged[reason] = (fr.damaged[reason] ?? 0) + 1;
      if (fr.first_damaged_lines.length < damagedLinesKept) fr.first_damaged_lines.push(line);
      damagedRows++;
    };
    let width = -1;
    let iNote = -1;
    let handle: ((f: readonly string[], ts: string) => number) | null = null;
    let bound: readonly string[] = [];
    // After a header that is not this monitor's (another run appended to the file), rows are not ours until one is.
    let foreign = false;
    st.span.reset();
    const { span, timeline } = st;
    const onRecord = (f: string[], line: number): void => {
      fr.empty = false;
      if (handle === null || f[0] === timestampColumn) {
        const header = cleanHeader(f);
        if (handle !== null) {
          damage('repeated_header', line);
          if (header.length === bound.length && header.every((c, i) => c === bound[i])) {
            foreign = false;
            return;
          }
        }
        const verdict = checkHeader(file.monitor, header, st.analyzer.required);
        if (!verdict.ok) {
          if (handle === null) {
            fr.skipped = verdict.reason;
            throw new SkipFile();
          }
          foreign = true;
          return;
        }
        width = header.length;
        iNote = header.indexOf(noteColumn);
        handle = st.analyzer.bind(header);
        bound = header;
        foreign = false;
        return;
      }
      if (foreign) return damage('other_monitor', line);
      const ts = f[0] ?? '';
      if (f.length !== width) return damage('wrong_field_count', line);
      if (!isTimestamp(ts)) return damage('bad_timestamp', line);
      if ((since !== null && ts < since) || (until !== null && ts >= until)) return;
      const note = iNote >= 0 ? f[iNote] : '';
      if (note) {
        // A marker row holds a timestamp and a note, nothing else.
        for (let i = 1; i < f.length; i++) if (i !== iNote && f[i] !== '') return damage('bad_marker', line);
        fr.markers++;
        st.markers++;
        if (st.firstMarkers.length < markersKept) st.firstMarkers.push({ timestamp: detach(ts), note: detach(note) });
        st.coverage.marker(ts, note);
        return;
      }
      const v = handle(f, ts);
      if (Number.isNaN(v)) return damage('bad_number', line);
      fr.rows++;
      st.rows++;
      totalRows++;
      span.add(ts);
      timeline.add(ts, v);
      st.coverage.row(ts);
    };
    const onBytes = (n: number): void => {
      bytesRead += n;
      opts.onProgress?.({ bytesRead, bytesTotal, rows: totalRows, file: file.name });
    };
    try {
      const broken = file.gz ? await gzipDamage(file.path, onBytes) : null;
      if (broken !== null) {
        fr.skipped = broken;
        fr.empty = false;
      } else if (!(file.gz && file.bytes === 0)) {
        // (A .gz of no bytes is a file created and never written: empty, like a plain one.)
        await readCsvRecords(file.path, onRecord, { parser, gz: file.gz, onBytes, onMalformed: (line) => damage('malformed_quotes', line), onOverlong: (line) => damage('line_too_long', line) });
      }
    } catch (e) {
      // A file that cannot be read (permissions, vanished) is reported like a damaged one, not fatal.
        if (!(e instanceof SkipFile)) fr.skipped = `cannot read: ${describe(e)}`;
    }
    if (fr.skipped !== null) skippedFiles++;
  }

  const sections: Section[] = [];
  for (const st of states.values()) {
    if (!st.rows) continue;
    const a = st.analyzer;
    const range = st.span.range(a.aggregate);
    const body = a.finish({ top, range });
    const series = st.timeline.series(a.series.label, a.series.unit, coveredOf(range));
    // The section's mean rate: the same total over the same covered seconds as its chart, so card and chart agree.
    if (a.series.card) {
      const total = series ? series.points.reduce((sum, p) => sum + p.total, 0) : 0;
      const mean = series && range.covered_seconds > 0 ? round(total / range.covered_seconds, 6) : null;
      body.totals.splice(1, 0, { key: 'rate', label: `mean ${a.series.unit}`, kind: 'rate', value: mean });
    }
    sections.push({
      monitor: a.monitor,
      title: a.title,
      range,
      rows: st.rows,
      markers: { total: st.markers, first: st.firstMarkers },
      coverage: st.coverage.finish(),
      totals: body.totals,
      tables: body.tables,
      series,
      bars: body.bars,
    });
  }
  return {
    format: 'ebpfmon-analyze/1',
    directory: path.resolve(opts.dir),
    window: { since, until },
    monitor: opts.monitor ?? null,
    top,
    files: fileReports,
    ignored: listed.ignored,
    rows: totalRows,
    damaged_rows: damagedRows,
    skipped_files: skippedFiles,
    sections,
  };
}
