// The analyzers, one per monitor, in report order. Adding one is one file plus one line here.
import { bioAnalyzer } from './bio.js';
import { contextSwitchAnalyzer } from './context-switch.js';
import type { MonitorAnalyzer } from './common.js';
import { execAnalyzer } from './exec.js';
import { funcAnalyzer } from './func.js';
import { interruptAnalyzer } from './interrupt.js';
import { openAnalyzer } from './open.js';
import { pageFaultAnalyzer } from './page-fault.js';
import { syscallAnalyzer } from './syscall.js';

export type { MonitorAnalyzer } from './common.js';

export interface AnalyzerOptions {
  /** The kernel's name of a block device MAJ:MIN, or null (bio's device tables). */
  diskName?: ((device: string) => string | null) | undefined;
}

/** Fresh analyzers (they hold the sums of one run). */
export const analyzers = (o: AnalyzerOptions = {}): MonitorAnalyzer[] => [
  execAnalyzer(),
  syscallAnalyzer(),
  openAnalyzer(),
  bioAnalyzer(o.diskName),
  funcAnalyzer(),
  interruptAnalyzer(),
  pageFaultAnalyzer(),
  contextSwitchAnalyzer(),
];

export const analyzedMonitors = analyzers().map((a) => a.monitor);
