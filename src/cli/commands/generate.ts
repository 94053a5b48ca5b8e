// `ebpfmon generate` (alias dry-run): the exact scripts `start` would run, on stdout or as files in a directory.
import path from 'node:path';
import { prepare } from '../../script/prepare.js';
import { ensureDir, createExclusive } from '../../safe-fs.js';
import type { Verdict } from '../../plan/plan.js';
import { UsageError } from '../../errors.js';
import { unlink } from 'node:fs/promises';
import { scopeOf } from '../../session/targets.js';

export interface GenerateOptions {
  config?: string | undefined;
  monitors?: string | undefined;
  out?: string | undefined;
  detect: boolean;
  force?: boolean;
  pid?: number[] | undefined;
  comm?: string | undefined;
}

export interface GenerateResult {
  /** Text for stdout (the scripts, or the list of files written). */
  stdout: string;
  /** Notes for stderr: monitors skipped and why. */
  notes: string[];
}

const skipped = (verdicts: readonly Verdict[]): string[] =>
  verdicts.filter((v) => v.status === 'unavailable').map((v) => `${v.monitor}: unavailable on this machine: ${v.detail}`);

export async function runGenerate(opts: GenerateOptions): Promise<GenerateResult> {
  const p = await prepare({ config: opts.config, monitors: opts.monitors, mount: false, assumeCapable: !opts.detect, scope: scopeOf(opts) });
  const notes = skipped(p.plan.verdicts);
  if (!p.scripts.length) throw new UsageError(`no script to generate: ${notes.join('; ')}`);
  if (!opts.out) return { stdout: p.scripts.map((s) => s.text).join('\n'), notes };
  const dir = await ensureDir(opts.out);
  const written: string[] = [];
  for (const s of p.scripts) {
    const file = path.join(dir, s.file);
    if (opts.force) await unlink(file).catch(() => undefined);
    const fh = await createExclusive(file, 0o644);
    try {
      await fh.writeFile(s.text);
    } finally {
      await fh.close();
    }
    written.push(`${file}  (${s.monitors.join(', ')})`);
  }
  return { stdout: written.join('\n'), notes };
}
