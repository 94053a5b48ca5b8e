// Every monitor ebpfmon knows, in display order. Adding a monitor is one file plus one line here.
import type { BaseOptions, Monitor, Row } from './types.js';
import { exec } from './exec.js';
import { func } from './func.js';
import { interrupt } from './interrupt.js';
import { syscall } from './syscall.js';
import { bio } from './bio.js';
import { contextSwitch } from './context-switch.js';
import { open } from './open.js';
import { pageFault } from './page-fault.js';

/** Erases a monitor's option and row types: its options always come from its own schema, so this is sound. */
export const erase = <O extends BaseOptions, R extends Row>(m: Monitor<O, R>): Monitor<BaseOptions, Row> =>
  m as unknown as Monitor<BaseOptions, Row>;

export const monitors: readonly Monitor<BaseOptions, Row>[] = [erase(exec), erase(func), erase(syscall), erase(bio), erase(open), erase(interrupt), erase(pageFault), erase(contextSwitch)];

export const monitorNames = (): string[] => monitors.map((m) => m.name);

export function findMonitor(name: string): Monitor<BaseOptions, Row> | undefined {
  return monitors.find((m) => m.name === name);
}
