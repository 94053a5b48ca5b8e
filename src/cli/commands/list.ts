// `ebpfmon list`: the monitors, their mode, probes, one-line description and what each costs the host.
import { monitors } from '../../monitors/registry.js';
import type { ProbeNeed } from '../../monitors/types.js';

const probeName = (n: ProbeNeed): string =>
  n.kind === 'kprobe' ? `kprobe:${n.symbols.join('|')}` : `tracepoint:${n.category}:${n.event}${n.optional ? '?' : ''}`;

export function listMonitors(): string {
  const lines: string[] = [];
  for (const m of monitors) {
    const opts = m.options.parse({});
    lines.push(`${m.name.padEnd(15)} ${m.mode.padEnd(9)} ${m.summary}`);
    for (const v of m.variants(opts)) {
      lines.push(`${''.padEnd(25)} ${v.name}: ${v.needs.map(probeName).join(', ') || '(configured functions)'}`);
    }
    lines.push(`${''.padEnd(25)} cost ${m.cost.class}: ${m.cost.note}`);
  }
  return lines.join('\n');
}
