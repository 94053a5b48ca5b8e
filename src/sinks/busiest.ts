// Which commands keep a series of their own in a per-process metric: the pure decision behind the exporter's cap.
// Like node_exporter and ebpf_exporter, a metric never gets one series per thing that runs on the host: each scrape
// window, the `limit` busiest commands (by what they added in the window) are shown; the rest add to comm="other".
// A command shown before stays shown while there is room, so a steady top-N keeps steady series; when there is
// none, the ones that were last among the busiest longest ago are dropped (their series ends, as when a process
// exits, and starts again from 0 if they come back).

/** For each shown group (a comm, or a comm and cgroup), the window in which it was last among the busiest. */
export type Shown = ReadonlyMap<string, number>;

export interface Selection {
  /** Groups shown after this window, with the window they were last among the busiest. */
  shown: Map<string, number>;
  /** Groups shown before and not any more: their series are removed. */
  dropped: string[];
}

/**
 * The groups shown after `window`: its `limit` busiest (ties by name, so the choice is stable), then those shown
 * before, most recently busiest first, while fewer than `limit` are shown.
 */
export function selectShown(totals: ReadonlyMap<string, number>, before: Shown, window: number, limit: number): Selection {
  const byName = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);
  const busiest = [...totals].sort((a, b) => b[1] - a[1] || byName(a[0], b[0])).slice(0, limit).map(([g]) => g);
  const shown = new Map<string, number>(busiest.map((g) => [g, window]));
  const earlier = [...before].filter(([g]) => !shown.has(g)).sort((a, b) => b[1] - a[1] || byName(a[0], b[0]));
  const dropped: string[] = [];
  for (const [g, last] of earlier) {
    if (shown.size < limit) shown.set(g, last);
    else dropped.push(g);
  }
  return { shown, dropped };
}
