// `ebpfmon analyze`: a thin entry to analysis/: checks the options, runs the analysis, renders the report.
// The report goes to stdout or --out; progress (on a terminal only) goes to stderr.
import path from 'node:path';
import type { Progress } from '../../../analysis/index.js';

/** The analyzer is loaded only when `analyze` runs: `start` never pays for it. */
const loadAnalysis = () => import('../../../analysis/index.js');
import { defaultConfigPath, loadConfig } from '../../config/load.js';
import { EnvironmentError, errnoOf, UsageError } from '../../errors.js';
import { analyzeFormats } from '../options.js';
import { terminalSafe } from '../../sinks/console.js';
import { replaceFile, secureDirSync } from '../../safe-fs.js';
import { monotonicMs } from '../../timers.js';

export { analyzeFormats };
export type AnalyzeFormat = (typeof analyzeFormats)[number];

export interface AnalyzeCommandOptions {
  monitor?: string | undefined;
  date?: string | undefined;
  since?: string | undefined;
  until?: string | undefined;
  top?: string | undefined;
  format?: AnalyzeFormat | undefined;
  out?: string | undefined;
}

export interface AnalyzeResult {
  /** The report, when it goes to stdout. */
  stdout: string | null;
  /** The file written with --out. */
  wrote: string | null;
  /** One line per file skipped whole, for stderr when the report itself does not go there as text. */
  warnings: string[];
}

/** Writes "\r<status>" at most every 200 ms, from the first second on; a file-like stderr never gets it. */
function progressPrinter(stream: NodeJS.WriteStream): { update(p: Progress): void; done(): void } {
  const start = monotonicMs();
  let last = 0;
  let shown = false;
  const mb = (n: number): string => (n / 1e6).toFixed(0);
  return {
    update(p) {
      const now = monotonicMs();
      if (now - start < 1000 || now - last < 200) return;
      last = now;
      shown = true;
      const pct = p.bytesTotal ? Math.floor((p.bytesRead / p.bytesTotal) * 100) : 100;
      stream.write(`\r\x1b[Kanalyze: ${pct}% (${mb(p.bytesRead)} of ${mb(p.bytesTotal)} MB, ${p.rows.toLocaleString('en-US')} rows) ${p.file}`.slice(0, 200));
    },
    done() {
      if (shown) stream.write('\r\x1b[K');
    },
  };
}

/**
 * --out's directory under the path rule `-o`, `--pid-file` and `generate --out` follow (safe-fs.ts): every directory
 * on the way owned by root (or you) and writable by no one else, no symlink on the way that another user owns.
 * Checked before the (possibly long) analysis, so a refusal comes at once, and again just before writing.
 */
const checkOutDir = (out: string): void => {
  secureDirSync(path.dirname(path.resolve(out)), { what: '--out directory', create: false, linkAtEnd: true });
};

export async function runAnalyze(dir: string | undefined, o: AnalyzeCommandOptions): Promise<AnalyzeResult> {
  const { analyze, parseWindow, renderHtml, renderJson, renderText } = await loadAnalysis();
  const window = parseWindow(o);
  const top = o.top === undefined ? undefined : Number(o.top);
  if (top !== undefined && !(Number.isInteger(top) && top > 0)) throw new UsageError(`--top: expected a positive integer, got "${o.top}"`);
  if (o.out) checkOutDir(o.out);
  const directory = dir ?? (await loadConfig(defaultConfigPath())).output.directory;
  const progress = process.stderr.isTTY ? progressPrinter(process.stderr) : null;
  let report;
  try {
    report = await analyze({ dir: directory, monitor: o.monitor, window, top, onProgress: progress ? (p) => progress.update(p) : undefined });
  } catch (e) {
    // Output directories are 0750 and root's: another user may not list them.
    const code = errnoOf(e);
    if (code === 'EACCES' || code === 'EPERM') {
      const where = e instanceof Error && 'path' in e && typeof e.path === 'string' ? e.path : directory;
      throw new EnvironmentError(`cannot read ${where} (permission): run as root or as a user who may read it`, { cause: e });
    }
    throw e;
  } finally {
    progress?.done();
  }
  const format = o.format ?? 'text';
  const text = format === 'json' ? renderJson(report) : format === 'html' ? renderHtml(report) : renderText(report);
  // The text report lists skipped files itself; json, html and --out would keep them out of the operator's sight.
  const warnings = format === 'text' && !o.out ? [] : report.files.filter((f) => f.skipped !== null).map((f) => terminalSafe(`warning: skipped ${f.file}: ${f.skipped}`));
  if (!o.out) return { stdout: text, wrote: null, warnings };
  // Never through a symlink or hard link planted at --out: a temp file beside it, renamed over it.
  checkOutDir(o.out);
  await replaceFile(o.out, text);
  return { stdout: null, wrote: o.out, warnings };
}
