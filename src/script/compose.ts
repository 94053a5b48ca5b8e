// Fragments -> one standalone .bt script per bpftrace process. Compose owns what cuts across monitors: the layout of
// result maps (double buffer, shards), the interval flush and its tick, the BEGIN marker, the stop probe and END.
import os from 'node:os';
import type { BpftraceFeatures } from '../bt/features.js';
import type { PlannedMonitor, ProcessPlan } from '../plan/plan.js';
import { renderHeader } from './header.js';
import { intervalProbe } from '../bt/literals.js';
import type { BaseOptions, Monitor, Row } from '../monitors/types.js';
import { attachedDecl, composeRecords, retiredDecl, tickDecl, type OutputContract } from '../bt/contract.js';
import { followMap, scopeConditions, scoped, tracerPid, type Fragment, type PrintfDecl, type ResultMap, type Scope } from '../bt/ir.js';
import { copiesOf, monitorLayout, renderFinalFlush, renderFlush, renderProbe, type KeyText, type Layout } from '../bt/render.js';

export interface Script {
  /** `main`, or a monitor's name when it runs in its own process. */
  id: string;
  file: string;
  monitors: string[];
  text: string;
  /** The environment bpftrace runs (and compiles) this script with. */
  env: Record<string, string>;
}

export interface ComposeContext {
  bpftraceVersion: string | null;
  kernel: string;
  runtime: { map_keys_max: number; perf_rb_pages: number };
}

const attachedMarker = `${composeRecords}\\t${attachedDecl.tag}`;

export const scriptFileName = (id: string): string => `ebpfmon-${id}.bt`;

/** The sequence counters of a fragment's numbered printf records. */
const countersOf = (f: Fragment): [string, PrintfDecl][] => f.events.flatMap((e) => (e.sequence ? [[e.sequence.counter.name, e] as [string, PrintfDecl]] : []));

/** A monitor's printf records: its events, and an aggregate monitor's tick and END's retired marker. */
const printfsOf = (monitor: Monitor<BaseOptions, Row>, fragment: Fragment): readonly PrintfDecl[] =>
  monitor.mode === 'aggregate' ? [...fragment.events, tickDecl, retiredDecl] : fragment.events;

export function contractOf(monitor: Monitor<BaseOptions, Row>, fragment: Fragment, layout: Layout): OutputContract {
  const copies = new Map<string, ResultMap>();
  const own = monitorLayout(fragment, layout);
  for (const m of fragment.results) for (const c of copiesOf(m, own)) copies.set(c.name, m);
  return {
    results: fragment.results,
    printfs: printfsOf(monitor, fragment),
    copies,
    counters: new Map(countersOf(fragment)),
  };
}

/** A monitor's fragment as it goes into a script (and as the router must expect its output). */
export const fragmentOf = (p: PlannedMonitor): Fragment => p.monitor.generate(p.opts, p.plan);

/**
 * Environment bpftrace runs with: bigger maps than the 4096-key default, a bigger event buffer, the string size of
 * the process (BPFTRACE_STRLEN is read when the script is compiled, ahead of time too), and glibc's
 * allocator kept to one arena: what LLVM allocated to compile the script is freed into fewer, reusable places.
 * Measured on the full script: 42.6 MB anonymous RSS -> 36.0 MB, start-up unchanged (4 runs each).
 * (Adding trim_threshold=0 took 2 MB more but slowed start-up by about 60 ms.)
 */
export function bpftraceEnv(runtime: { map_keys_max: number; perf_rb_pages: number }, strlen: number, bt: BpftraceFeatures): Record<string, string> {
  return {
    [bt.env.mapKeys]: String(runtime.map_keys_max),
    [bt.env.perfRbPages]: String(runtime.perf_rb_pages),
    [bt.env.strlen]: String(strlen),
    GLIBC_TUNABLES: 'glibc.malloc.arena_max=1',
  };
}

/** The sizes bpftraceEnv sets, as the script's own `config` block (BpftraceFeatures.configBlock). */
export const configBlock = (runtime: { map_keys_max: number; perf_rb_pages: number }, strlen: number): string =>
  `config = { max_map_keys = ${runtime.map_keys_max}; max_strlen = ${strlen}; perf_rb_pages = ${runtime.perf_rb_pages} }`;

/** A signal whose default action is to ignore it: delivered to bpftrace or bpftrace-aotrt it does nothing by itself. */
export const stopSignal = 'SIGURG';
/** The attach line of the stop probe; `start --scripts` runs an edited script ahead of time only when it kept it. */
export const stopProbeAttach = 'tracepoint:signal:signal_generate';
/** Set once the stop probe has fired (beside the pid in BEGIN's map: no map of its own). */
const stopFired = '@ebpfmon_self[1]';

/**
 * bpftrace-aotrt 0.17 installs no signal handler: SIGTERM kills it before END prints the last interval. Every script
 * therefore records its own pid in BEGIN and has one more probe, through which ebpfmon stops it: SIGURG sent to that
 * pid by kill() (si_code SI_USER: not the kernel's out-of-band socket SIGURG). exit() ends the run the way SIGTERM
 * ends bpftrace: END runs, then it exits. Only a process allowed to signal it (root) can fire the probe, and it
 * stops only the process it was sent to. Both pids are the kernel's own, so this holds inside a pid namespace too.
 * A signal tracepoint, not a syscall one: enabling any syscall tracepoint sends every syscall on the host through
 * the slow path (measured: +100 ns per getppid for a page_fault-only process with the kill() probe it replaced).
 */
export function stopProbe(signal = os.constants.signals[stopSignal]): string[] {
  return [
    '// ebpfmon stops this script with SIGURG (bpftrace-aotrt dies on SIGTERM before END): END runs, then it exits.',
    // (a ^ b) == 0 rather than a == b: the field is a signed 32-bit pid, the map value bpftrace's unsigned one.
    // One shot (@ebpfmon_self[1] marks it fired); the pid itself stays until END has printed, for the filters
    // that leave bpftrace's own syscalls out (its END prints are thousands of them).
    `${stopProbeAttach} /args->sig == ${signal} && args->code == 0 && (args->pid ^ ${tracerPid}) == 0 && ${stopFired} == 0/ {`,
    `  ${stopFired} = 1;`,
    '  exit();',
    '}',
  ];
}

/** The comment that opens a monitor's probes in a script. */
const sectionHeading = (monitor: string, summary: string): string => `// ---- ${monitor}: ${summary}`;
const sectionPattern = /^\/\/ ---- ([a-z][a-z0-9_]*): /;

/**
 * Which monitor's probes a line of a script (1-based) belongs to: the section it falls in, from the headings compose
 * writes above each monitor's probes (an operator's edited script keeps them). Lines after the last section's probes
 * (the stop probe, interval, END) belong to none that updates maps; they are given to the last section.
 */
export function sectionsOf(text: string): (line: number) => string | undefined {
  const starts: { line: number; monitor: string }[] = [];
  text.split('\n').forEach((l, i) => {
    const m = sectionPattern.exec(l);
    if (m?.[1]) starts.push({ line: i + 1, monitor: m[1] });
  });
  return (line) => {
    let found: string | undefined;
    for (const s of starts) if (s.line <= line) found = s.monitor;
    return found;
  };
}

/**
 * Which lines of a script (1-based) update a copy of a map that folds (ResultMap.folds): an update dropped there
 * (bpftrace 0.20+ names the line of each in a helper_error record) loses detail, not a count. `copies` are the
 * contracts' copy names; an update is `@copy[...] = ` on a line (renderUpdate writes one per line, as an operator's
 * edited script keeps them).
 */
export function foldedLinesOf(text: string, copies: Iterable<readonly [string, ResultMap]>): (line: number) => boolean {
  const names = [...copies].filter(([, m]) => m.folds).map(([c]) => c);
  const lines = new Set<number>();
  if (names.length) {
    text.split('\n').forEach((l, i) => {
      for (const m of l.matchAll(/(@[a-z][a-z0-9_]*)\[/g)) if (names.includes(m[1]!) && /\]\s*=[^=]/.test(l.slice(m.index))) lines.add(i + 1);
    });
  }
  return (line) => lines.has(line);
}

/** CLONE_THREAD: a new thread, not a new process (its tgid is already followed). */
const CLONE_THREAD = '0x10000';

/**
 * `run`: the command's process and every process it starts. A process forked by a followed one is added in the
 * forker's context at task_newtask, before the child can run; a process leaves at its leader's exit. The keys are
 * the kernel's global pids (task_newtask and sched_process_exit give those); the per-process tests read `pid`, the
 * same number while ebpfmon runs in the host's pid namespace.
 */
export function followProbes(s: Scope): string[] {
  if (s.follow === null) return [];
  return [
    `// ebpfmon run: the command (pid ${s.follow}) and every process it starts are counted; nothing else.`,
    `tracepoint:task:task_newtask /(args->clone_flags & ${CLONE_THREAD}) == 0 && ${followMap}[pid + 0]/ {`,
    `  ${followMap}[args->pid + 0] = 1;`,
    '}',
    `tracepoint:sched:sched_process_exit /${followMap}[args->pid + 0]/ {`,
    `  delete(${followMap}[args->pid + 0]);`,
    '}',
    '',
  ];
}

/** What the scope renders into BEGIN: the command's own process seeds the followed set. */
const followSeed = (s: Scope): string => (s.follow === null ? '' : ` ${followMap}[${s.follow}] = 1;`);

export function composeScript(proc: ProcessPlan, ctx: ComposeContext): Script {
  const file = scriptFileName(proc.id);
  const { layout } = proc;
  const parts = proc.monitors.map((p) => {
    const fragment = fragmentOf(p);
    return { monitor: p.monitor, plan: p.plan, fragment, printfs: printfsOf(p.monitor, fragment), layout: monitorLayout(fragment, proc.layout) };
  });
  const env = bpftraceEnv(ctx.runtime, proc.strlen, proc.bt);
  const keys: KeyText = { text: proc.bt.textKeys, strlen: proc.strlen };
  const scope = scoped(proc.scope) ? (pid: string, comm: string): string[] => scopeConditions(proc.scope, pid, comm) : undefined;
  const body: string[] = [
    renderHeader({ file, parts, env, bpftraceVersion: ctx.bpftraceVersion, kernel: ctx.kernel, layout }),
    '',
    ...(proc.bt.configBlock ? [configBlock(ctx.runtime, proc.strlen), ''] : []),
    '// BEGIN fires once every probe is attached: ebpfmon reports "attached" on this line, not before. The pid is',
    "// bpftrace's own as its rows carry it (the host's inside a pid namespace on 0.17): its own rows are left out.",
    `BEGIN { ${tracerPid} = ${proc.bt.selfPid};${followSeed(proc.scope)} printf("${attachedMarker}\\t%d\\n", pid); }`,
    '',
    ...followProbes(proc.scope),
  ];
  for (const { monitor, fragment, layout: own } of parts) {
    body.push(sectionHeading(monitor.name, monitor.summary), ...fragment.probes.map((p) => renderProbe(p, { monitor: monitor.name, layout: own, keys, ...(scope ? { scope } : {}) })), '');
  }
  body.push(...stopProbe(), '');
  const aggregates = parts.filter((p) => p.monitor.mode === 'aggregate');
  // One interval probe per distinct period, flushing every monitor with that period.
  const byInterval = new Map<number, string[]>();
  for (const { monitor, plan, fragment, layout: own } of aggregates) {
    const list = byInterval.get(plan.interval) ?? [];
    list.push(...renderFlush(monitor.name, fragment.results, own));
    byInterval.set(plan.interval, list);
  }
  for (const [seconds, flushes] of byInterval) body.push(`${intervalProbe(seconds)} {`, ...flushes, '}', '');
  // Sequence counters: a record lost after the last one that arrived shows only against the counter.
  const counters = parts.flatMap((p) => countersOf(p.fragment).map(([name]) => `  print(${name});`));
  if (counters.length) body.push('// How many records each CPU has numbered: records lost after the last that arrived show against it.', 'interval:s:1 {', ...counters, '}', '');
  const endFlush = [...aggregates.flatMap((p) => renderFinalFlush(p.monitor.name, p.fragment.results, p.layout)), ...counters];
  const helpers = parts.flatMap((p) => p.fragment.helpers.map((h) => h.name));
  const flags = layout.double ? aggregates.filter((p) => p.fragment.results.length).flatMap((p) => [`@${p.monitor.name}_gen`, `@${p.monitor.name}_flips`]) : [];
  body.push('// The final partial interval, then clear helper maps so the exit dump prints nothing.');
  body.push('END {', ...endFlush, ...[...helpers, ...flags, ...(proc.scope.follow === null ? [] : [followMap]), '@ebpfmon_self'].map((n) => `  clear(${n});`), '}', '');
  return { id: proc.id, file, monitors: proc.monitors.map((p) => p.monitor.name), text: body.join('\n'), env };
}
