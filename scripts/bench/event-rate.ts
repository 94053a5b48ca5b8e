// Benchmark 4, event rate without loss: an exec storm (workloads/exec-storm.c running a tiny static program) and
// an open storm (workloads/open-storm.c) under `ebpfmon start -m exec,open`, each flat out and paced to 10,000
// events/s. Events generated (the storms count them) vs events in the CSV (exec: rows for the storm's program;
// open: the sum of `count` over the storm's paths) vs events bpftrace reported lost ('bpftrace lost events').
//   node dist/scripts/bench/event-rate.js [--quick] [--out DIR]
// Target: no loss at 10,000 events/s.
import { mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { parse } from 'csv-parse/sync';
import {
  benchConfig, compile, foreignBpftrace, haveBpftrace, isMain, isRoot, loadAvg, lostEvents, mainOf, round, runnableMonitors, runText,
  scratchDir, skipped, sleep, startEbpfmon, type BenchOptions, type BenchResult, type Check,
} from './common.js';

interface Scenario {
  name: string;
  kind: 'exec' | 'open';
  /** Events per second asked for; 0: as fast as the machine goes. */
  rate: number;
}

interface Outcome {
  scenario: string;
  generated: number;
  seconds: number;
  recorded: number;
  lost: number;
  parseErrors: number;
}

async function readCsv(dir: string, monitor: string): Promise<Record<string, string>[]> {
  const files = (await readdir(dir)).filter((f) => f.startsWith(`${monitor}_`) && f.endsWith('.csv'));
  const rows: Record<string, string>[] = [];
  for (const f of files) rows.push(...(parse(await readFile(path.join(dir, f), 'utf8'), { columns: true, skip_empty_lines: true }) as Record<string, string>[]));
  return rows;
}

export async function runEventRate(o: BenchOptions): Promise<BenchResult> {
  const title = 'Event rate without loss: exec and open storms under ebpfmon (exec, open)';
  if (!isRoot() || !haveBpftrace()) return skipped('event-rate', title, 'needs root and bpftrace', o.quick);
  const started = Date.now();
  const { runnable } = await runnableMonitors(['exec', 'open']);
  const seconds = o.quick ? 4 : 8;
  const work = await scratchDir('event-rate');
  const foreign = await foreignBpftrace();
  const execStorm = await compile('exec-storm');
  const openStorm = await compile('open-storm', { as: 'ebpfb-opens' });
  const nFiles = 100;
  const scenarios: Scenario[] = [
    { name: 'exec max', kind: 'exec', rate: 0 },
    { name: 'exec 10k/s', kind: 'exec', rate: 10_000 },
    { name: 'open max', kind: 'open', rate: 0 },
    { name: 'open 10k/s', kind: 'open', rate: 10_000 },
  ];
  const outcomes: Outcome[] = [];
  try {
    for (const [i, s] of scenarios.entries()) {
      if (!runnable.includes(s.kind)) continue;
      // Each scenario has its own program or directory, so its events are told apart from everything else.
      const tag = `s${i}`;
      const target = s.kind === 'exec' ? await compile('nop', { as: `ebpfb-nop-${tag}`, static: true }) : '';
      const dir = path.join(work, `files-${tag}`);
      if (s.kind === 'open') {
        await mkdir(dir);
        for (let f = 0; f < nFiles; f++) await writeFile(path.join(dir, `f${f}`), '');
      }
      const outDir = path.join(work, `out-${tag}`);
      const config = await benchConfig(work, outDir, 'monitors:\n  open:\n    interval: 1');
      const mon = startEbpfmon(config, ['-m', runnable.join(',')]);
      let generated = 0;
      let took = 0;
      try {
        await mon.attached;
        await sleep(500);
        const out = s.kind === 'exec'
          ? await runText(execStorm, [target, String(seconds), String(s.rate), '2'])
          : await runText(openStorm, [dir, String(nFiles), String(seconds), String(s.rate)]);
        [generated, took] = out.trim().split(/\s+/).map(Number) as [number, number];
        await sleep(2500); // the last interval closes on its own tick before the stop
      } finally {
        await mon.stop();
      }
      let recorded = 0;
      if (s.kind === 'exec') recorded = (await readCsv(outDir, 'exec')).filter((r) => r['filename'] === target).length;
      else recorded = (await readCsv(outDir, 'open')).filter((r) => r['filename']?.startsWith(dir + '/')).reduce((sum, r) => sum + Number(r['count'] ?? 0), 0);
      const parseErrors = mon.logs.filter((l) => /not in the output contract|unparseable|parser failed/.test(String(l.msg ?? ''))).length;
      outcomes.push({ scenario: s.name, generated, seconds: took, recorded, lost: lostEvents(mon.logs), parseErrors });
      process.stderr.write(`event-rate: ${s.name}: generated ${generated} in ${took} s, recorded ${recorded}, lost ${lostEvents(mon.logs)}\n`);
    }
  } finally {
    await rm(work, { recursive: true, force: true });
  }
  const rows = outcomes.map((x) => [
    x.scenario,
    Math.round(x.generated / x.seconds),
    x.generated,
    x.recorded,
    x.generated - x.recorded,
    round(((x.generated - x.recorded) / Math.max(1, x.generated)) * 100, 3),
    x.lost,
  ]);
  const checks: Check[] = outcomes
    .filter((x) => x.scenario.includes('10k'))
    .map((x) => {
      const rate = Math.round(x.generated / x.seconds);
      const missing = x.generated - x.recorded;
      return {
        figure: `event-rate: ${x.scenario} missing events (achieved ${rate.toLocaleString('en-US')}/s)`,
        value: missing,
        unit: 'events',
        target: '0',
        pass: missing === 0 && x.lost === 0,
      };
    });
  const execMax = outcomes.find((x) => x.scenario === 'exec max');
  const notes = [
    `each scenario: a fresh ebpfmon (${runnable.join(', ')}; open interval 1 s), the storm for ${seconds} s, 2.5 s for the last interval, then SIGTERM`,
    'exec storm: 2 workers, vfork + exec of a static no-op program; open storm: 1 process, openat + close over 100 files',
    `load average at the end: ${loadAvg()}; other bpftrace processes at the start: ${foreign}`,
  ];
  if (execMax && execMax.generated / execMax.seconds < 10_000) {
    notes.push(`this machine cannot exec 10,000 programs/s (flat out: ${Math.round(execMax.generated / execMax.seconds)}/s), so "exec 10k/s" runs at its maximum`);
  }
  return {
    bench: 'event-rate',
    title,
    startedAt: new Date(started).toISOString(),
    seconds: (Date.now() - started) / 1000,
    quick: o.quick,
    tables: [{ title: 'Events generated vs recorded', columns: ['scenario', 'events/s', 'generated', 'in CSV', 'missing', 'missing %', 'lost (bpftrace)'], rows }],
    checks,
    notes,
    raw: { outcomes, seconds },
  };
}

if (isMain(import.meta.url)) await mainOf(runEventRate);
