// exec: one row per successful process execution.
// kprobe variant: bprm_execve entry/return (the path is a kernel string, so it is never empty);
// tracepoint fallback: sched:sched_process_exec (fires after a successful exec, filename from the kernel).
// The parent pid is curtask->real_parent->tgid, which `bpftrace --aot` refuses (no task_struct access). Where
// scripts run ahead of time, the tracepoint-forks variant records each new process's parent when it is forked
// (task:task_newtask) and forgets it when the process ends (sched:sched_process_exit).
import { z } from 'zod';
import { baseOptions, cgroupOption, commFilter, defineMonitor, type Row } from './types.js';
import { quote } from '../script/literals.js';
import { bytesField, del, emit, helperMap, inScope, inTask, intField, local, printfOf, probe, set, textField, when, type Probe, type Stmt } from '../script/ir.js';

export const execOptions = z.strictObject({
  ...baseOptions,
  comm: commFilter(),
  ...cgroupOption,
});
export type ExecOptions = z.infer<typeof execOptions>;

export interface ExecRow extends Row {
  timestamp: string;
  uid: number;
  pid: number;
  /** Null when unknown: tracepoint-forks did not see the fork (the process is older than ebpfmon), or pid 1. */
  ppid: number | null;
  comm: string;
  filename: string;
  /** cgroup v2 id (option `cgroup`), replaced by its path before output; else null. */
  cgroup: string | null;
}

const curtaskParent = 'curtask->real_parent->tgid';

/**
 * One successful exec. comm is the kernel's (the task's name after exec, printed by %r so no byte of it can split
 * the line); the filename, free text, is last. A ppid of 0 means unknown (see tracepoint-forks) or pid 1's.
 */
/** The last sequence number of each CPU's exec records. */
const seqCounter = helperMap('@exec_seq', ['cpu'], 'records printed on that CPU', 'numbers each record per CPU, so a lost one shows');
/** The statements that number one record, right before its printf. */
const numbered = (): Stmt[] => [local('$seq', `${seqCounter.at('cpu')} + 1`), set(seqCounter, ['cpu'], '$seq')];

const eventOf = (opts: { cgroup: boolean }, ppid = '$ppid') => ({
  ...printfOf(
    'event',
    'one successful exec; cpu and seq number the records per CPU (a gap is a lost record); comm as %r bytes; filename (free text) last',
    intField('nsecs', 'nsecs'),
    intField('cpu', 'cpu', '%u'),
    intField('seq', '$seq'),
    intField('uid', 'uid', '%u'),
    intField('pid', 'pid', '%d'),
    intField('ppid', ppid, '%d'),
    ...(opts.cgroup ? [intField('cgroup', 'cgroup')] : []),
    bytesField('comm', 'buf(comm, 16)'),
    textField('filename', 'str($path)', { fromStr: true }),
  ),
  sequence: { cpu: 'cpu', seq: 'seq', counter: seqCounter } as const,
});

/**
 * tracepoint-forks: each new process's parent, kept while it lives. Keys and values are widened with `+ 0` (see bio):
 * from bpftrace 0.22 `pid` is a 32-bit integer, and a map given both it and a 64-bit value aborts the compiler.
 */
const parents = helperMap('@exec_ppid', ['pid'], 'parent pid, recorded at fork', 'the parent of each process forked since the start');
const bprms = helperMap('@exec_bprm', ['pid'], 'arg0', 'the linux_binprm of an exec in progress');

const CLONE_PARENT = '0x8000';
const CLONE_THREAD = '0x10000';

function forkTracking(exitFields: readonly string[]): Probe[] {
  return [
    probe(
      'tracepoint:task:task_newtask',
      [
        local('$child', 'args->pid + 0'),
        when(`args->clone_flags & ${CLONE_PARENT}`, [set(parents, ['$child'], parents.at('pid + 0'))], [set(parents, ['$child'], 'pid + 0')]),
      ],
      [`(args->clone_flags & ${CLONE_THREAD}) == 0`],
      'A new process, not a thread. With CLONE_PARENT its parent is the forker\'s own parent.',
    ),
    probe(
      'tracepoint:sched:sched_process_exit',
      [del(parents, ['pid + 0'])],
      [exitFields.includes('group_dead') ? 'args->group_dead' : 'pid == tid'],
      'The whole thread group is gone (group_dead, since Linux 4.x; else the leader\'s own exit).',
    ),
  ];
}

export const exec = defineMonitor<ExecOptions, ExecRow>({
  name: 'exec',
  mode: 'event',
  summary: 'Every process execution: uid, pid, parent pid, command and path, one row per event',
  cost: {
    class: 'low',
    note: 'one event per process execution: about 23 us in the kernel per exec (path and comm read, sequence number), rare next to syscalls; build workload alone: +2.2 % wall',
    nsPerEvent: 22_900,
    event: 'exec',
    rate: { tracepoints: ['sched:sched_process_exec'] },
  },
  options: execOptions,
  variants: () => [
    {
      name: 'kprobe',
      description: 'kprobe/kretprobe on bprm_execve, successful execs only',
      needs: [{ kind: 'kprobe', symbols: ['bprm_execve'] }],
    },
    {
      name: 'tracepoint-forks',
      description: 'tracepoint sched:sched_process_exec; the parent pid as recorded at fork (task:task_newtask), so the script runs ahead of time',
      needs: [
        { kind: 'tracepoint', category: 'sched', event: 'sched_process_exec', fields: ['filename'] },
        { kind: 'tracepoint', category: 'task', event: 'task_newtask', fields: ['pid', 'clone_flags'] },
        { kind: 'tracepoint', category: 'sched', event: 'sched_process_exit', fields: [] },
      ],
      aheadOfTimeOnly: true,
    },
    {
      name: 'tracepoint',
      description: 'tracepoint sched:sched_process_exec',
      needs: [{ kind: 'tracepoint', category: 'sched', event: 'sched_process_exec', fields: ['filename'] }],
    },
  ],
  generate(opts, plan) {
    const filter = opts.comm ? [`comm == ${quote(opts.comm)}`] : [];
    if (plan.variant === 'kprobe') {
      // The parent is read in the printf itself: a local for it, the path's 200-byte string and the record
      // overflow the 512-byte BPF stack of the return probe. parse() reads fields by name, whatever they print.
      const event = eventOf(opts, curtaskParent);
      const fn = plan.symbols['bprm_execve'] ?? 'bprm_execve';
      return {
        probes: [
          probe(`kprobe:${fn}`, [set(bprms, ['pid'], 'arg0')]),
          probe(
            `kretprobe:${fn}`,
            [
              local('$bprm', `(struct linux_binprm *)${bprms.at('pid')}`),
              del(bprms, ['pid']),
              // The scope is tested after the delete: a filtered-out exec must not leave its entry behind.
              when(['retval == 0', ...filter].join(' && '), [inScope('pid', 'comm', [local('$path', '$bprm->filename'), ...numbered(), emit(event)])]),
            ],
            [bprms.at('pid')],
          ),
        ],
        results: [],
        helpers: [bprms, seqCounter],
        events: [event],
      };
    }
    const event = eventOf(opts);
    const forks = plan.variant === 'tracepoint-forks';
    // `filename` is a __data_loc string, which bpftrace 0.23 reads as "": there the raw tracepoint gives the
    // linux_binprm itself (task, old pid, bprm), whose filename is the same kernel string, read through BTF.
    const [attach, path] = plan.bt.dataLocStrings
      ? ['tracepoint:sched:sched_process_exec', 'args->filename']
      : ['rawtracepoint:sched_process_exec', '((struct linux_binprm *)arg2)->filename'];
    const exec = inTask(probe(attach, [local('$ppid', forks ? parents.at('pid + 0') : curtaskParent), local('$path', path), ...numbered(), emit(event)], filter));
    return {
      probes: [...(forks ? forkTracking(plan.tracepointFields['sched:sched_process_exit'] ?? []) : []), exec],
      results: [],
      helpers: forks ? [parents, seqCounter] : [seqCounter],
      events: [event],
    };
  },
  parse(rec, ctx, opts) {
    if (rec.kind !== 'event') return [];
    const f = rec.fields(eventOf(opts));
    if (!f || !/^\d+$/.test(f.nsecs)) return [];
    return [
      {
        timestamp: ctx.wallTime(BigInt(f.nsecs)),
        uid: Number(f.uid),
        pid: Number(f.pid),
        // 0: no parent known (tracepoint-forks missed the fork) or pid 1's.
        ppid: f.ppid === '0' ? null : Number(f.ppid),
        comm: f.comm,
        filename: f.filename,
        cgroup: opts.cgroup ? f.cgroup : null,
      },
    ];
  },
  paths: true,
  columns: ['timestamp', 'uid', 'pid', 'ppid', 'comm', 'filename', 'cgroup'],
  metrics: [{ name: 'ebpfmon_exec_total', help: 'Successful process executions, per command (the busiest of each scrape window; the rest in comm="other").', labels: { comm: 'comm', cgroup: 'cgroup' } }],
  consoleLine: (r) =>
    `${r.timestamp}  exec     uid=${String(r.uid).padEnd(5)} pid=${String(r.pid).padEnd(7)} ppid=${String(r.ppid ?? '-').padEnd(7)} ${r.comm.padEnd(15)} ${r.filename}`,
});
