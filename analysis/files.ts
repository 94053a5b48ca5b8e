// Which files of a directory are monitor CSVs: <monitor>_<YYYYMMDDTHHMMSSZ>[_NNN].csv as ebpfmon writes them (rotated
// files too, gzipped or not: .csv.gz; -N instead of _NNN before), and the per-day parts preprocess_data.sh writes,
// <monitor>_<YYYYMMDDTHHMMSSZ>[_NNN]_<YYYY-MM-DD>.csv.
//
// What time a file can hold, to skip it when a window (--date, --since/--until) lies outside: from its name's time
// (when it started) to its modification time (ebpfmon sets a closed file's to its last row's; gzip keeps it; a copy
// without its times only makes the file read more often, never skipped wrongly). A day part holds its day.
import { readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { parseOutputName, stampMs } from '../src/sinks/rotation.js';

export interface CsvFile {
  path: string;
  name: string;
  monitor: string;
  /** The UTC day of a per-day part, else null. */
  day: string | null;
  bytes: number;
  /** gzipped (.csv.gz): read through gunzip. */
  gz: boolean;
  /** The earliest time (ms) its rows can have: its name's time (the day's start for a day part). */
  fromMs: number;
  /** The latest: its modification time (the day's end for a day part). */
  toMs: number;
}

const dayPartPattern = /^([a-z][a-z0-9_]*?)_(\d{8}T\d{6}Z(?:_(?!000)\d{3}|-[1-9]\d*)?)_(\d{4}-\d{2}-\d{2})\.csv$/;

/** A monitor CSV's name: an output file (`gz` when compressed) or a day part (`day` set); null for anything else. */
export function parseCsvName(name: string, known: readonly string[]): { monitor: string; stamp: string; n: number; day: string | null; gz: boolean; stem: string } | null {
  const out = parseOutputName(name, known, ['csv']);
  if (out) return { monitor: out.monitor, stamp: out.stamp, n: out.n, day: null, gz: out.gz, stem: out.base.slice(0, -'.csv'.length) };
  const m = dayPartPattern.exec(name);
  if (!m || !known.includes(m[1]!)) return null;
  const [stamp = '', n = '0'] = m[2]!.split(/[-_]/);
  return { monitor: m[1]!, stamp, n: Number(n), day: m[3]!, gz: false, stem: `${m[1]!}_${m[2]!}` };
}

const dayMs = 86_400_000;

export async function listCsvFiles(dir: string, known: readonly string[]): Promise<{ files: CsvFile[]; ignored: string[] }> {
  const names = (await readdir(dir)).sort();
  const parsed = new Map(names.map((n) => [n, parseCsvName(n, known)]));
  const files: CsvFile[] = [];
  const ignored: string[] = [];
  // An original, plain or gzipped, by its stem: its day parts would count the same rows twice.
  const originals = new Set([...parsed.values()].filter((p) => p !== null && p.day === null).map((p) => p!.stem));
  const plain = new Set(names.filter((n) => n.endsWith('.csv')));
  const order: { file: CsvFile; key: string }[] = [];
  for (const name of names) {
    const p = parsed.get(name) ?? null;
    if (!p) {
      if (/\.csv(\.gz)?$/.test(name)) ignored.push(name);
      continue;
    }
    // A day part next to its original: the original wins. A .gz next to its file is a compression that did not
    // finish (the file is removed only once its .gz is complete): the file wins.
    if ((p.day !== null && originals.has(p.stem)) || (p.gz && plain.has(name.slice(0, -3)))) {
      ignored.push(name);
      continue;
    }
    const full = path.join(dir, name);
    const st = await stat(full);
    if (!st.isFile()) continue;
    const fromMs = p.day !== null ? Date.parse(`${p.day}T00:00:00.000Z`) : stampMs(p.stamp);
    const toMs = p.day !== null ? fromMs + dayMs - 1 : Math.round(st.mtimeMs);
    order.push({
      file: { path: full, name, monitor: p.monitor, day: p.day, bytes: st.size, gz: p.gz, fromMs, toMs },
      key: `${p.monitor}\u0000${p.stamp}\u0000${String(p.n).padStart(10, '0')}\u0000${p.day ?? ''}`,
    });
  }
  order.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  for (const o of order) files.push(o.file);
  return { files, ignored };
}
