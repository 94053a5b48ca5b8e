// Every monitor ebpfmon knows, in display order. Adding a monitor is one file plus one line here. Each keeps its own
// option and row types: the list holds them as Monitor<BaseOptions, Row>, which their methods allow (a method's
// parameters are checked both ways), so no cast erases them.
import type { BaseOptions, Monitor, Row } from './types.js';
import { exec } from './exec.js';
import { func } from './func.js';
import { interrupt } from './interrupt.js';
import { syscall } from './syscall.js';
import { bio } from './bio.js';
import { contextSwitch } from './context-switch.js';
import { open } from './open.js';
import { pageFault } from './page-fault.js';

export const monitors: readonly Monitor<BaseOptions, Row>[] = [exec, func, syscall, bio, open, interrupt, pageFault, contextSwitch];

export const monitorNames = (): string[] => monitors.map((m) => m.name);

export function findMonitor(name: string): Monitor<BaseOptions, Row> | undefined {
  return monitors.find((m) => m.name === name);
}
