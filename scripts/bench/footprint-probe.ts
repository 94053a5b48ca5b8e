// Preloaded into the supervisor by the footprint benchmark (`node --import <this> dist/src/cli/main.js start ...`):
// on SIGUSR2 it writes the supervisor's own view of its memory to $EBPFMON_FOOTPRINT_OUT (JSON): process.memoryUsage
// (rss, heapTotal, heapUsed, external, arrayBuffers), V8's heap spaces, and, with $EBPFMON_FOOTPRINT_MODULES=1, every
// module the loader resolved (a module.register hook; its worker thread costs memory, so the RSS of such a run is not
// the one reported). $EBPFMON_FOOTPRINT_SNAPSHOT=1 also writes a heap snapshot next to the JSON.
import { writeFileSync } from 'node:fs';
import { createRequire, register } from 'node:module';
import { MessageChannel } from 'node:worker_threads';
import v8 from 'node:v8';

const out = process.env['EBPFMON_FOOTPRINT_OUT'];
const modules: string[] = [];
if (process.env['EBPFMON_FOOTPRINT_MODULES'] === '1') {
  const { port1, port2 } = new MessageChannel();
  port1.on('message', (url: string) => modules.push(url));
  port1.unref();
  register('./footprint-hooks.js', { parentURL: import.meta.url, data: { port: port2 }, transferList: [port2] });
}

/** What the probe writes: read by the footprint benchmark. */
export interface ProbeReport {
  memory: NodeJS.MemoryUsage;
  spaces: { name: string; sizeKb: number; usedKb: number }[];
  /** Resolved module URLs (file: and node:), when asked for; null otherwise. */
  modules: string[] | null;
  snapshot: string | null;
}

if (out) {
  process.on('SIGUSR2', () => {
    const snapshot = process.env['EBPFMON_FOOTPRINT_SNAPSHOT'] === '1' ? v8.writeHeapSnapshot(`${out}.heapsnapshot`) : null;
    const report: ProbeReport = {
      memory: process.memoryUsage(),
      spaces: v8.getHeapSpaceStatistics().map((s) => ({ name: s.space_name, sizeKb: Math.round(s.space_size / 1024), usedKb: Math.round(s.space_used_size / 1024) })),
      // ESM from the hook; CommonJS files (pino, yaml, prom-client and what they require) from the require cache.
      modules: process.env['EBPFMON_FOOTPRINT_MODULES'] === '1' ? [...new Set([...modules, ...Object.keys(createRequire(import.meta.url).cache).map((f) => `file://${f}`)])] : null,
      snapshot,
    };
    writeFileSync(out, JSON.stringify(report));
  });
}
