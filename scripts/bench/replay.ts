// Supervisor cost on a recorded stream: what ebpfmon's own process spends on real bpftrace output, without the
// kernel or bpftrace in the way. Record the stream of each generated script while a workload runs, e.g.
//   ebpfmon generate --out /tmp/cap
//   BPFTRACE_STRLEN=176 ... bpftrace -f json /tmp/cap/ebpfmon-paths.bt > /tmp/cap/paths.ndjson   (the Run: line)
// then replay it through the real path (router -> monitor parsers -> output controller -> CSV files):
//   node dist/scripts/bench/replay.js [--config FILE] [--repeat N] main=/tmp/cap/main.ndjson paths=/tmp/cap/paths.ndjson
// Prints CPU seconds, rows, and microseconds of CPU per row. Ticks are replayed as if they arrived on time.
import { createReadStream } from 'node:fs';
import { rm } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { silentLogger } from '../../src/log.js';
import { forEachLine } from '../../src/process/lines.js';
import { createRouter, type RoutedMonitor } from '../../src/records/router.js';
import { newStats } from '../../src/records/stats.js';
import { systemClock, type Clock } from '../../src/rows/clock.js';
import { contractOf, fragmentOf } from '../../src/script/compose.js';
import { makeRunnable } from '../../src/script/runnable.js';
import { isMain, round, scratchDir } from './common.js';
import { csvOutput } from './throughput.js';

/** The system clock, except that "now" follows the ticks replayed: none of them looks late. */
function replayClock(): Clock & { saw(line: string): void } {
  const sys = systemClock();
  let now = 0n;
  return {
    now: sys.now,
    wallTime: sys.wallTime,
    monotonicNs: () => now,
    saw(line) {
      const m = /\\ttick\\t(\d+)/.exec(line);
      if (m) now = BigInt(m[1]!);
    },
  };
}

export async function replay(streams: ReadonlyMap<string, string>, opts: { config?: string; repeat: number }): Promise<{ cpuSeconds: number; rows: number; usPerRow: number; lines: number }> {
  const r = await makeRunnable({ config: opts.config }, silentLogger());
  const dir = await scratchDir('replay');
  try {
    const output = await csvOutput(dir, r.processes.flatMap((p) => p.monitors.map((pm) => pm.monitor)));
    let rows = 0;
    let lines = 0;
    const cpu0 = process.cpuUsage();
    for (let i = 0; i < opts.repeat; i++) {
      for (const proc of r.processes) {
        const file = streams.get(proc.id);
        if (!file) continue;
        const clock = replayClock();
        const routed: RoutedMonitor[] = proc.monitors.map((pm) => ({
          monitor: pm.monitor,
          opts: pm.opts,
          contract: contractOf(pm.monitor, fragmentOf(pm), proc.layout),
          interval: pm.plan.interval,
          stats: newStats(),
        }));
        const router = createRouter({
          monitors: routed,
          onRows: (m, rs) => {
            rows += rs.length;
            output.write(m, rs);
          },
          onNote: (m, ts, text) => output.note(m, ts, text),
          log: silentLogger(),
          clock,
          arch: r.caps.arch,
          mapCapacity: r.config.runtime.map_keys_max,
          strlen: proc.strlen,
        });
        await forEachLine(
          createReadStream(file, { highWaterMark: 1 << 16 }),
          (l) => {
            lines++;
            clock.saw(l);
            router.line(l);
          },
          () => output.throttle(),
        );
        router.end();
      }
    }
    await output.close();
    const cpu = process.cpuUsage(cpu0);
    const cpuSeconds = (cpu.user + cpu.system) / 1e6;
    return { cpuSeconds: round(cpuSeconds, 3), rows, usPerRow: round((cpuSeconds * 1e6) / Math.max(rows, 1), 2), lines };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

if (isMain(import.meta.url)) {
  const { values, positionals } = parseArgs({ options: { config: { type: 'string' }, repeat: { type: 'string', default: '3' } }, allowPositionals: true });
  const streams = new Map(positionals.map((p) => p.split('=') as [string, string]));
  const result = await replay(streams, { ...(values.config ? { config: values.config } : {}), repeat: Number(values.repeat) });
  console.log(JSON.stringify(result));
}
