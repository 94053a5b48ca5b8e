// The output contract between a composed script and the router: what a monitor's part of a script prints (its
// result maps, their kernel copies, its printf records) and compose's own records around them (attached, tick,
// retired). Compose renders from these declarations and the router reads by them, so both sit above this file.
import { intField, printfOf, type PrintfDecl, type ResultMap } from './ir.js';

/** The name compose's own records print where a monitor's print its name: no monitor is called this. */
export const composeRecords = 'ebpfmon';
/** Printed by BEGIN; the router takes it as proof that every probe is live. */
export const attachedDecl: PrintfDecl<'pid'> = printfOf(
  'attached',
  "BEGIN: every probe is live; pid: bpftrace's own as its rows carry it (an operator's edited script may print none)",
  intField('pid', 'pid', '%d'),
);

/** The printf that closes one interval of an aggregate monitor, sent even when its maps are empty. */
export const tickDecl: PrintfDecl<'nsecs' | 'flip'> = printfOf(
  'tick',
  'closes one interval (sent even when the maps are empty); flip: how many times the double buffer has flipped',
  intField('nsecs', 'nsecs'),
  intField('flip', '@<monitor>_flips[0]'),
);
/** In END: the prints that follow are the copy retired at flip N, to be counted only if that flip's tick never came. */
export const retiredDecl: PrintfDecl<'flip'> = printfOf('retired', "END: the copy retired at this flip follows (kept only if that flip's tick never arrived)", intField('flip', '@<monitor>_flips[0]'));

/** What the router expects from one monitor's part of a script. */
export interface OutputContract {
  results: readonly ResultMap[];
  /** printf records: the monitor's events, and the tick of an aggregate monitor. */
  printfs: readonly PrintfDecl[];
  /** Kernel map name -> the result map it is a copy of (double buffer, shards). */
  copies: ReadonlyMap<string, ResultMap>;
  /** Sequence counters printed every second and in END -> the printf record they number. */
  counters: ReadonlyMap<string, PrintfDecl>;
}
