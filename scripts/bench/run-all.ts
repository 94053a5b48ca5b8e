// The benchmark suite of issue 8: runs the benchmarks one after the other (the overhead benchmark has two
// scenarios, `overhead` on the mixed workload and `overhead-build`), prints each one's tables, then a summary of
// every figure with its target and PASS/FAIL, and writes <out>/<bench>.json plus <out>/summary.json.
//   npm run bench [-- --quick] [-- --out DIR] [-- --only overhead,overhead-build,per-event]
// One benchmark failing (an exception) is reported in the summary; the others still run. The soak (an hour by
// default) runs only when --only names it: `npm run bench -- --only soak [--minutes N | --quick]`.
import os from 'node:os';
import { execFileSync } from 'node:child_process';
import { writeFile, mkdir } from 'node:fs/promises';
import path from 'node:path';
import { checkRows, removeBuildDir, foreignBpftrace, isMain, loadAvg, parseBenchArgs, printResult, renderTable, writeResult, type BenchOptions, type BenchResult, type Check } from './common.js';
import { runOverhead } from './overhead.js';
import { runOverheadBuild } from './overhead-build.js';
import { runPerEvent } from './per-event.js';
import { runThroughput } from './throughput.js';
import { runEventRate } from './event-rate.js';
import { runFootprint } from './footprint.js';
import { runMemory } from './memory.js';
import { runSoak } from './soak.js';

/** `optIn`: left out unless --only names it. */
const suite: { name: string; run: (o: BenchOptions) => Promise<BenchResult>; optIn?: boolean }[] = [
  { name: 'overhead', run: runOverhead },
  { name: 'overhead-build', run: runOverheadBuild },
  { name: 'per-event', run: runPerEvent },
  { name: 'throughput', run: runThroughput },
  { name: 'event-rate', run: runEventRate },
  { name: 'footprint', run: runFootprint },
  { name: 'memory', run: runMemory },
  { name: 'soak', run: runSoak, optIn: true },
];

const version = (cmd: string, args: string[]): string => {
  try {
    return execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim().split('\n')[0] ?? '';
  } catch {
    return 'unavailable';
  }
};

async function main(): Promise<void> {
  const opts = parseBenchArgs();
  const only = typeof opts.rest['only'] === 'string' ? opts.rest['only'].split(',') : null;
  const started = Date.now();
  const machine = {
    kernel: os.release(),
    cpus: os.availableParallelism(),
    cpuModel: os.cpus()[0]?.model ?? '',
    memoryGiB: Math.round(os.totalmem() / 2 ** 30),
    node: process.version,
    bpftrace: version('bpftrace', ['--version']),
    loadAverageAtStart: loadAvg(),
    otherBpftraceAtStart: await foreignBpftrace(),
  };
  console.log(`ebpfmon benchmarks${opts.quick ? ' (quick)' : ''}: ${machine.cpus} CPUs (${machine.cpuModel}), Linux ${machine.kernel}, ${machine.bpftrace}, Node ${machine.node}; load ${machine.loadAverageAtStart}`);
  const results: BenchResult[] = [];
  const failures: { bench: string; error: string }[] = [];
  for (const b of suite) {
    if (only ? !only.includes(b.name) : b.optIn) continue;
    process.stderr.write(`\n-- ${b.name}\n`);
    try {
      const r = await b.run(opts);
      printResult(r);
      await writeResult(opts.out, r);
      results.push(r);
    } catch (e) {
      const error = e instanceof Error ? (e.stack ?? e.message) : String(e);
      failures.push({ bench: b.name, error });
      console.error(`${b.name} failed: ${error}`);
    }
  }
  await removeBuildDir();
  const checks: Check[] = [
    ...results.flatMap((r) => r.checks),
    ...failures.map((f) => ({ figure: `${f.bench}: benchmark failed`, value: null, unit: '', target: 'runs', pass: false })),
  ];
  const skippedNotes = results.filter((r) => r.notes.some((n) => n.startsWith('skipped:'))).map((r) => `${r.bench}: ${r.notes[0]}`);
  console.log(`\n== Summary (${((Date.now() - started) / 60000).toFixed(1)} min${opts.quick ? ', quick' : ''}; load average at the end ${loadAvg()})\n`);
  console.log(renderTable({ title: 'Every figure against its target', columns: ['figure', 'value', 'unit', 'target', 'result'], rows: checkRows(checks) }));
  for (const n of skippedNotes) console.log(`skipped ${n}`);
  const summary = { startedAt: new Date(started).toISOString(), minutes: (Date.now() - started) / 60000, quick: opts.quick, machine, checks, failures };
  await mkdir(opts.out, { recursive: true });
  await writeFile(path.join(opts.out, 'summary.json'), JSON.stringify(summary, null, 2) + '\n');
  console.log(`\nresults: ${opts.out}/{${[...results.map((r) => r.bench), 'summary'].join(',')}}.json`);
  if (failures.length) process.exitCode = 2;
  else if (checks.some((c) => c.pass === false)) process.exitCode = 1;
}

if (isMain(import.meta.url)) await main();
