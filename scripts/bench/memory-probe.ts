// Preloaded into the supervisor by the memory benchmark (`node --import <this> dist/src/cli/main.js start ...`).
// From the first moment it records every child process ebpfmon spawns (command, start and end in ms since the
// process began: performance.now()), so the bench can split start-to-attached into its parts; on SIGUSR2 it writes
// that, process.memoryUsage, V8's heap spaces and code statistics, and (with $EBPFMON_MEMORY_MODULES=1, a loader hook
// whose thread costs memory) every module resolved, to $EBPFMON_MEMORY_OUT (JSON).
import { writeFileSync } from 'node:fs';
import childProcess from 'node:child_process';
import { createRequire, register, syncBuiltinESMExports } from 'node:module';
import { MessageChannel } from 'node:worker_threads';
import v8 from 'node:v8';

/** One child process: ms since this process started (performance.now()). */
export interface SpawnRecord {
  command: string;
  args: string[];
  startMs: number;
  endMs: number | null;
}

/** What the probe writes: read by the memory benchmark. */
export interface MemoryProbeReport {
  /** ms since the process started when this probe ran (node's own start-up, before any ebpfmon module). */
  bootMs: number;
  /** When the process started (ms since the epoch): log times minus this are comparable with the spawns'. */
  timeOrigin: number;
  memory: NodeJS.MemoryUsage;
  spaces: { name: string; sizeKb: number; usedKb: number }[];
  heap: { totalKb: number; usedKb: number; limitKb: number; mallocedKb: number; peakMallocedKb: number };
  code: { codeKb: number; bytecodeKb: number; externalScriptSourceKb: number };
  spawns: SpawnRecord[];
  modules: string[] | null;
}

const bootMs = performance.now();
const out = process.env['EBPFMON_MEMORY_OUT'];
const wantModules = process.env['EBPFMON_MEMORY_MODULES'] === '1';
const modules: string[] = [];
const spawns: SpawnRecord[] = [];

if (wantModules) {
  const { port1, port2 } = new MessageChannel();
  port1.on('message', (url: string) => modules.push(url));
  port1.unref();
  register('./footprint-hooks.js', { parentURL: import.meta.url, data: { port: port2 }, transferList: [port2] });
}

// Every ebpfmon spawn goes through child_process.spawn (runCommand, bpftrace, detach, systemd-notify's execFile
// calls spawn too): wrapped here, and the ES module named exports re-synced so `import { spawn }` sees the wrapper.
const original = childProcess.spawn;
const wrapped = function (this: unknown, ...a: unknown[]): childProcess.ChildProcess {
  const rec: SpawnRecord = { command: String(a[0]), args: Array.isArray(a[1]) ? (a[1] as unknown[]).map(String) : [], startMs: performance.now(), endMs: null };
  spawns.push(rec);
  const child = (original as (...x: unknown[]) => childProcess.ChildProcess).apply(this, a);
  child.once('exit', () => (rec.endMs = performance.now()));
  return child;
};
childProcess.spawn = wrapped as typeof childProcess.spawn;
syncBuiltinESMExports();

const kb = (n: number): number => Math.round(n / 1024);

if (out) {
  process.on('SIGUSR2', () => {
    const h = v8.getHeapStatistics();
    const c = v8.getHeapCodeStatistics();
    const report: MemoryProbeReport = {
      bootMs,
      timeOrigin: performance.timeOrigin,
      memory: process.memoryUsage(),
      spaces: v8.getHeapSpaceStatistics().map((s) => ({ name: s.space_name, sizeKb: kb(s.space_size), usedKb: kb(s.space_used_size) })),
      heap: { totalKb: kb(h.total_heap_size), usedKb: kb(h.used_heap_size), limitKb: kb(h.heap_size_limit), mallocedKb: kb(h.malloced_memory), peakMallocedKb: kb(h.peak_malloced_memory) },
      code: { codeKb: kb(c.code_and_metadata_size), bytecodeKb: kb(c.bytecode_and_metadata_size), externalScriptSourceKb: kb(c.external_script_source_size) },
      spawns,
      // ESM from the hook; CommonJS files (pino, yaml and what they require) from the require cache.
      modules: wantModules ? [...new Set([...modules, ...Object.keys(createRequire(import.meta.url).cache).map((f) => `file://${f}`)])] : null,
    };
    writeFileSync(out, JSON.stringify(report));
  });
}
