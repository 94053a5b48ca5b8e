// One arm of an overhead round, the same for every workload: A runs the workload alone; F and S start their
// compiled tracers (see tracers.ts), B starts `ebpfmon start`; each waits until attached plus a settling second,
// samples CPU and BPF programs, runs the workload, samples again and stops. CPU and in-kernel figures are the
// workload's window (between the samples); the tracers' and supervisor's CPU also for their whole run.
import { mkdir, rm } from 'node:fs/promises';
import path from 'node:path';
import { processUsage } from '../../src/daemon/status.js';
import { kernelTotals, probeNames, progDeltas, type ArmName, type KernelTotals, type ProgDelta } from './arm-stats.js';
import { bpftracePids, cpuSecondsOf, lostEvents, sleep, startEbpfmon } from './common.js';
import { armScripts, compileTracer, labelsOf, progNames, sampleProgs, startTracer, type CompiledTracer, type Tracer } from './tracers.js';

export interface ArmContext {
  /** Scratch directory for scripts, compiled scripts and tracer output. */
  work: string;
  /** ebpfmon's config for B (and for generating F and S). */
  config: string;
  /** Set while kernel.bpf_stats_enabled is on: turns it back on if someone switched it off; false if they had. */
  ensureStats?: () => Promise<boolean>;
  /** ms between attached and the workload. */
  settleMs?: number;
}

/** The F, S and B of one set of monitors, compiled once and started every round. */
export interface ArmSet {
  monitors: string[];
  floor: CompiledTracer[];
  bare: CompiledTracer[];
  /** Each process's attach points, in script order (the same processes in F, S and B). */
  floorAttach: Record<string, string[]>;
}

export async function prepareArms(ctx: ArmContext, monitors: readonly string[], tag: string): Promise<ArmSet> {
  const s = await armScripts(ctx.config, monitors);
  // One directory per set: the file names (floor-main.aot, bare-main.aot) then name the process as ebpfmon's do.
  const dir = path.join(ctx.work, `set${tag}`);
  await mkdir(dir, { recursive: true });
  const floor: CompiledTracer[] = [];
  const bare: CompiledTracer[] = [];
  for (const f of s.floor) floor.push(await compileTracer(f, 'floor', dir, s, false));
  for (const b of s.bare) bare.push(await compileTracer(b, 'bare', dir, s, true));
  return { monitors: [...monitors], floor, bare, floorAttach: Object.fromEntries(s.floor.map((f) => [f.id, f.attach])) };
}

export interface ArmRun<T> {
  arm: ArmName;
  timing: T;
  /** Slowest tracer's (or ebpfmon's) start to attached, ms. */
  attachMs: number | null;
  /** bpftrace processes of the arm. */
  processes: number;
  /** CPU seconds of the arm's bpftrace processes during the workload, and from their start to just before stop. */
  tracerCpu: number | null;
  tracerCpuTotal: number | null;
  /** The same for ebpfmon's supervisor (B). */
  supervisorCpu: number | null;
  supervisorCpuTotal: number | null;
  /** Per BPF program, its runs and run time during the workload (zero unless bpf_stats_enabled). */
  progs: ProgDelta[];
  kernel: KernelTotals | null;
  /** bpf_stats_enabled stayed on through the window (null: not asked for). */
  statsOn: boolean | null;
  /** Events bpftrace reported lost (B). */
  lost: number | null;
}

const supCpu = async (pid: number | null): Promise<number | null> => (pid === null ? null : ((await processUsage(pid))?.cpuSeconds ?? null));

let outSeq = 0;

/** Runs the workload once under `arm`. */
export async function runArm<T>(arm: ArmName, set: ArmSet, ctx: ArmContext, workload: () => Promise<T>): Promise<ArmRun<T>> {
  if (arm === 'A') {
    return { arm, timing: await workload(), attachMs: null, processes: 0, tracerCpu: null, tracerCpuTotal: null, supervisorCpu: null, supervisorCpuTotal: null, progs: [], kernel: null, statsOn: null, lost: null };
  }
  const settle = ctx.settleMs ?? 1000;
  /** The window: samples around the workload; then the whole-run CPU, just before the tracers stop. */
  const measured = async (pids: number[], supervisor: number | null, attachMs: number): Promise<Omit<ArmRun<T>, 'lost'>> => {
    const labels = await labelsOf(pids);
    const on0 = ctx.ensureStats ? await ctx.ensureStats() : null;
    const before = { progs: await sampleProgs(pids, labels), cpu: await cpuSecondsOf(pids), sup: await supCpu(supervisor) };
    const timing = await workload();
    const after = { progs: await sampleProgs(pids, labels), cpu: await cpuSecondsOf(pids), sup: await supCpu(supervisor) };
    const on1 = ctx.ensureStats ? await ctx.ensureStats() : null;
    const names = new Map<number, string>();
    if (ctx.ensureStats) {
      const kernelNames = await progNames(after.progs.map((p) => p.id));
      for (const label of new Set(labels.values())) {
        const own = after.progs.filter((p) => p.process === label).map((p) => ({ id: p.id, name: kernelNames.get(p.id) ?? '' }));
        for (const [id, name] of probeNames(own, set.floorAttach[label] ?? [])) names.set(id, name);
      }
    }
    const progs = progDeltas(before.progs, after.progs, names);
    return {
      arm,
      timing,
      attachMs,
      processes: pids.length,
      tracerCpu: after.cpu - before.cpu,
      tracerCpuTotal: await cpuSecondsOf(pids),
      supervisorCpu: after.sup === null || before.sup === null ? null : after.sup - before.sup,
      supervisorCpuTotal: await supCpu(supervisor),
      progs,
      kernel: ctx.ensureStats ? kernelTotals(progs) : null,
      statsOn: on0 === null || on1 === null ? null : on0 && on1,
    };
  };
  if (arm === 'B') {
    const mon = startEbpfmon(ctx.config, ['-m', set.monitors.join(',')]);
    try {
      const { ms } = await mon.attached;
      await sleep(settle); // bpftrace settles after attaching; the workload then sees steady-state monitoring
      const r = await measured(await bpftracePids(mon.pid), mon.pid, ms);
      return { ...r, lost: lostEvents(mon.logs) };
    } finally {
      await mon.stop();
    }
  }
  const tracers: Tracer[] = [];
  const outs: string[] = [];
  try {
    for (const t of arm === 'F' ? set.floor : set.bare) {
      outs.push(path.join(ctx.work, `out-${arm}-${t.id}-${outSeq++}.json`));
      tracers.push(await startTracer(t, outs[outs.length - 1]!));
    }
    await sleep(settle);
    const r = await measured(
      tracers.map((t) => t.pid),
      null,
      Math.max(...tracers.map((t) => t.attachMs)),
    );
    return { ...r, lost: null };
  } finally {
    for (const t of tracers) await t.stop();
    for (const f of outs) await rm(f, { force: true });
  }
}
