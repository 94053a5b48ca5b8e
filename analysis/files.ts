// Which files of a directory are monitor CSVs: <monitor>_<YYYYMMDDTHHMMSSZ>.csv, and the per-day parts
// preprocess_data.sh writes, <monitor>_<YYYYMMDDTHHMMSSZ>_<YYYY-MM-DD>.csv.
import { readdir, stat } from 'node:fs/promises';
import path from 'node:path';

export interface CsvFile {
  path: string;
  name: string;
  monitor: string;
  /** The UTC day of a per-day part, else null. */
  day: string | null;
  bytes: number;
}

const namePattern = /^([a-z][a-z0-9_]*?)_(\d{8}T\d{6}Z)(?:_(\d{4}-\d{2}-\d{2}))?\.csv$/;

export function parseCsvName(name: string): { monitor: string; stamp: string; day: string | null } | null {
  const m = namePattern.exec(name);
  if (!m) return null;
  return { monitor: m[1] ?? '', stamp: m[2] ?? '', day: m[3] ?? null };
}

export async function listCsvFiles(dir: string, known: readonly string[]): Promise<{ files: CsvFile[]; ignored: string[] }> {
  const names = (await readdir(dir)).sort();
  const files: CsvFile[] = [];
  const ignored: string[] = [];
  const originals = new Set(names.filter((n) => parseCsvName(n)?.day === null).map((n) => n.slice(0, -4)));
  for (const name of names) {
    const p = parseCsvName(name);
    if (!p) {
      if (name.endsWith('.csv')) ignored.push(name);
      continue;
    }
    if (!known.includes(p.monitor)) {
      ignored.push(name);
      continue;
    }
    // A day part next to its original would count the same rows twice: the original wins.
    if (p.day !== null && originals.has(`${p.monitor}_${p.stamp}`)) {
      ignored.push(name);
      continue;
    }
    const full = path.join(dir, name);
    const st = await stat(full);
    if (!st.isFile()) continue;
    files.push({ path: full, name, monitor: p.monitor, day: p.day, bytes: st.size });
  }
  return { files, ignored };
}
