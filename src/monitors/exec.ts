// exec: one row per successful process execution.
// kprobe variant: bprm_execve entry/return (the path is a kernel string, so it is never empty);
// tracepoint fallback: sched:sched_process_exec (fires after a successful exec, filename from the kernel).
// The parent pid is curtask->real_parent->tgid, which `bpftrace --aot` refuses (no task_struct access). Where
// scripts run ahead of time, the tracepoint-forks variant records each new process's parent when it is forked
// (task:task_newtask) and forgets it when the process ends (sched:sched_process_exit).
// The arguments (max_args > 0) are read from curtask->mm too: there is no tracepoint-forks variant then, and the
// process holding exec runs in bpftrace (Variant.bpftraceOnly). bpftrace --aot 0.17 also refuses every cast, has no
// raw tracepoints and puts each str() and printf record on the 512-byte stack, so the argv of a syscall's caller
// (sys_enter_execve) fits one argument per record, and the router joins one record to an event: not exact.
import { z } from 'zod';
import { baseOptions, cgroupOption, commFilter, defineMonitor, type Row } from './types.js';
import { quote } from '../bt/literals.js';
import { bytesField, del, emit, helperMap, hexField, inScope, inTask, intField, local, printfOf, probe, set, textField, when, type Probe, type Stmt } from '../bt/ir.js';
import { bytesOfHex, encodeArgs, splitArgs } from '../bt/args.js';

/** The most arguments max_args may keep: the byte bound (argBytes) holds at most this many short ones anyway. */
export const maxArgsLimit = 64;
/**
 * Bytes of the argument area read per exec. The args record has a BPF program (and 512-byte stack) of its own, where
 * 496 bytes still load on bpftrace 0.17, but bpftrace caps a buf() of variable length near BPFTRACE_STRLEN (176 in
 * the paths process: 0.17 read 176 bytes, 0.23 174): 160 is read exactly by every version (docs/monitors.md, exec).
 */
export const argBytes = 160;

export const execOptions = z.strictObject({
  ...baseOptions,
  comm: commFilter(),
  ...cgroupOption,
  /** Arguments kept per exec (column `args`); 0: none read, no second program. */
  max_args: z
    .number({ error: `expected a whole number from 0 to ${maxArgsLimit}` })
    .int({ error: `expected a whole number from 0 to ${maxArgsLimit}` })
    .min(0, { error: `expected a whole number from 0 to ${maxArgsLimit}` })
    .max(maxArgsLimit, { error: `expected a whole number from 0 to ${maxArgsLimit}` })
    .default(16),
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
  /**
   * The new program's arguments (argv as the kernel laid it out), encoded by src/bt/args.ts; null where not
   * read (max_args 0, a kprobe variant on a kernel without sched_process_exec, or the args record lost).
   */
  args: string | null;
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

const eventOf = (opts: { cgroup: boolean }, ppid = '$ppid', argCpu: string | null = null) => ({
  ...printfOf(
    'event',
    `one successful exec; cpu and seq number the records per CPU (a gap is a lost record);${argCpu ? ' argcpu: the CPU + 1 that printed its args record (0: none);' : ''} comm as %r bytes; filename (free text) last`,
    intField('nsecs', 'nsecs'),
    intField('cpu', 'cpu', '%u'),
    intField('seq', '$seq'),
    intField('uid', 'uid', '%u'),
    intField('pid', 'pid', '%d'),
    intField('ppid', ppid, '%d'),
    ...(argCpu ? [intField('argcpu', argCpu)] : []),
    ...(opts.cgroup ? [intField('cgroup', 'cgroup')] : []),
    bytesField('comm', 'buf(comm, 16)'),
    textField('filename', 'str($path)', { fromStr: true }),
  ),
  sequence: { cpu: 'cpu', seq: 'seq', counter: seqCounter } as const,
});

/**
 * The argument area of the new program (curtask->mm: arg_start..arg_end, each argument ended by a NUL), read in a
 * program of its own on the same hook, right before the event's: the event's program has no stack left (the path
 * and its record take most of 512 bytes). It carries the CPU and the sequence number the event is about to take,
 * so the router joins it to that event (PrintfDecl.joins).
 */
const argsOf = (opts: { cgroup: boolean }) => ({
  ...printfOf(
    'args',
    `the new program's argument area (NUL-separated), read right before its event record; joins the event of the same cpu, seq and pid; arglen is the area's size, at most ${argBytes} bytes printed as %rx`,
    intField('cpu', 'cpu', '%u'),
    intField('seq', `${seqCounter.at('cpu')} + 1`),
    intField('pid', 'pid', '%d'),
    intField('arglen', '$arglen'),
    hexField('argv', `buf(uptr($mm->arg_start), $arglen < ${argBytes} ? $arglen : ${argBytes})`),
  ),
  joins: { tag: eventOf(opts).tag, cpu: 'cpu', seq: 'seq' } as const,
});

/**
 * tracepoint-forks: each new process's parent, kept while it lives. Keys and values are widened with `+ 0` (see bio):
 * from bpftrace 0.22 `pid` is a 32-bit integer, and a map given both it and a 64-bit value aborts the compiler.
 */
const parents = helperMap('@exec_ppid', ['pid'], 'parent pid, recorded at fork', 'the parent of each process forked since the start');
const bprms = helperMap('@exec_bprm', ['pid'], 'arg0', 'the linux_binprm of an exec in progress');

/**
 * kprobe variant: the CPU (+ 1) that printed the exec's args record at sched_process_exec, read by its event at the
 * kretprobe. The task may move to another CPU between the two, where another record would be held for that CPU.
 */
const argCpus = helperMap('@exec_argcpu', ['tid'], 'cpu + 1', 'the CPU whose buffer holds the args record of an exec in progress');

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
    note: 'one event per process execution: about 23 us in the kernel per exec (path and comm read, sequence number), rare next to syscalls; the arguments (max_args > 0, every variant but tracepoint-forks) about 9 us more (rough, loaded VM), and they keep the process in bpftrace (about 92 MB more RSS than bpftrace-aotrt); build workload alone: +2.2 % wall',
    nsPerEvent: 22_900,
    event: 'exec',
    rate: { tracepoints: ['sched:sched_process_exec'] },
  },
  options: execOptions,
  // The arguments need curtask (the new program's mm): with max_args > 0 there is no variant that runs ahead of time.
  variants: (opts) => [
    {
      name: 'kprobe',
      description: 'kprobe/kretprobe on bprm_execve, successful execs only',
      needs: [
        { kind: 'kprobe', symbols: ['bprm_execve'] },
        // Where it exists, the arguments are read there (max_args > 0); without it the column stays empty.
        ...(opts.max_args > 0 ? [{ kind: 'tracepoint' as const, category: 'sched', event: 'sched_process_exec', fields: [], optional: true }] : []),
      ],
    },
    ...(opts.max_args > 0
      ? []
      : [
          {
            name: 'tracepoint-forks',
            description: 'tracepoint sched:sched_process_exec; the parent pid as recorded at fork (task:task_newtask), so the script runs ahead of time',
            needs: [
              { kind: 'tracepoint' as const, category: 'sched', event: 'sched_process_exec', fields: ['filename'] },
              { kind: 'tracepoint' as const, category: 'task', event: 'task_newtask', fields: ['pid', 'clone_flags'] },
              { kind: 'tracepoint' as const, category: 'sched', event: 'sched_process_exit', fields: [] },
            ],
            aheadOfTimeOnly: true,
          },
        ]),
    {
      name: 'tracepoint',
      description: `tracepoint sched:sched_process_exec; the parent${opts.max_args > 0 ? ' and the arguments' : ''} read from curtask, so bpftrace runs it (not ahead of time)`,
      needs: [{ kind: 'tracepoint', category: 'sched', event: 'sched_process_exec', fields: ['filename'] }],
      bpftraceOnly: true,
    },
  ],
  generate(opts, plan) {
    const filter = opts.comm ? [`comm == ${quote(opts.comm)}`] : [];
    const args = argsOf(opts);
    /** The arguments' program on `attach` (sched_process_exec), before `extra` statements and the record. */
    const argsProbe = (attach: string, extra: Stmt[], comment: string): Probe =>
      inTask(probe(attach, [local('$mm', 'curtask->mm'), local('$arglen', '$mm->arg_end - $mm->arg_start'), ...extra, emit(args)], filter, comment));
    if (plan.variant === 'kprobe') {
      // The arguments: read at sched_process_exec (inside bprm_execve, after the point of no return, so only for an
      // exec that returns 0), joined like the tracepoint's; the event tells which CPU printed them (argcpu).
      const withArgs = opts.max_args > 0 && plan.tracepointFields['sched:sched_process_exec'] !== undefined;
      // The parent is read in the printf itself: a local for it, the path's 200-byte string and the record
      // overflow the 512-byte BPF stack of the return probe. parse() reads fields by name, whatever they print.
      const event = eventOf(opts, curtaskParent, withArgs ? argCpus.at('tid + 0') : null);
      const fn = plan.symbols['bprm_execve'] ?? 'bprm_execve';
      return {
        probes: [
          ...(withArgs
            ? [
                argsProbe(
                  'tracepoint:sched:sched_process_exec',
                  [set(argCpus, ['tid + 0'], 'cpu + 1')],
                  'The arguments, printed at the exec\'s point of no return; the event at the kretprobe reads which CPU printed them.',
                ),
              ]
            : []),
          probe(`kprobe:${fn}`, [set(bprms, ['pid'], 'arg0')]),
          probe(
            `kretprobe:${fn}`,
            [
              local('$bprm', `(struct linux_binprm *)${bprms.at('pid')}`),
              del(bprms, ['pid']),
              // The scope is tested after the delete: a filtered-out exec must not leave its entry behind.
              when(['retval == 0', ...filter].join(' && '), [inScope('pid', 'comm', [local('$path', '$bprm->filename'), ...numbered(), emit(event)])]),
              ...(withArgs ? [del(argCpus, ['tid + 0'])] : []),
            ],
            [bprms.at('pid')],
          ),
        ],
        results: [],
        helpers: withArgs ? [bprms, argCpus, seqCounter] : [bprms, seqCounter],
        events: withArgs ? [args, event] : [event],
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
    // The arguments need curtask, which scripts compiled ahead of time cannot read: tracepoint-forks (max_args 0) has none.
    const withArgs = !forks && opts.max_args > 0;
    return {
      probes: [
        ...(forks ? forkTracking(plan.tracepointFields['sched:sched_process_exit'] ?? []) : []),
        ...(withArgs
          ? [argsProbe(attach, [], 'The arguments, printed before the event by a program of its own (the event\'s has no stack left); same hook, same CPU, attached first, so run first.')]
          : []),
        exec,
      ],
      results: [],
      helpers: forks ? [parents, seqCounter] : [seqCounter],
      events: withArgs ? [args, event] : [event],
    };
  },
  parse(rec, ctx, opts) {
    if (rec.kind !== 'event') return [];
    const f = rec.fields(eventOf(opts));
    if (!f || !/^\d+$/.test(f.nsecs)) return [];
    // The same CPU, sequence number and pid: that exec's own arguments, never another's. The kprobe variant's event
    // says which CPU printed its arguments (argcpu, CPU + 1): a record held for this CPU is its own only if this one.
    const argcpu = (f as Partial<typeof f>).argcpu;
    const joined = rec.joined(argsOf(opts));
    const a = joined && joined.pid === f.pid && (argcpu === undefined || argcpu === String(Number(f.cpu) + 1)) ? joined : null;
    return [
      {
        timestamp: ctx.wallTime(BigInt(f.nsecs)),
        uid: Number(f.uid),
        pid: Number(f.pid),
        // 0: no parent known (tracepoint-forks missed the fork) or pid 1's.
        ppid: f.ppid === '0' ? null : Number(f.ppid),
        comm: f.comm,
        filename: f.filename,
        args: a && /^\d+$/.test(a.arglen) ? encodeArgs(splitArgs(bytesOfHex(a.argv), Number(a.arglen), opts.max_args)) : null,
        cgroup: opts.cgroup ? f.cgroup : null,
      },
    ];
  },
  paths: true,
  columns: ['timestamp', 'uid', 'pid', 'ppid', 'comm', 'filename', 'args', 'cgroup', 'pod_uid', 'container_id'],
  metrics: [{ name: 'ebpfmon_exec_total', help: 'Successful process executions, per command (the busiest of each scrape window; the rest in comm="other").', labels: { comm: 'comm', cgroup: 'cgroup' } }],
  top: { counts: ['execs'], of: () => ({ execs: 1 }) },
  runSummary: {
    order: 6,
    tally: () => {
      let count = 0;
      return {
        add() {
          count++;
        },
        line: () => ({ count, what: 'execs' }),
      };
    },
  },
  consoleLine: (r) =>
    `${r.timestamp}  exec     uid=${String(r.uid).padEnd(5)} pid=${String(r.pid).padEnd(7)} ppid=${String(r.ppid ?? '-').padEnd(7)} ${r.comm.padEnd(15)} ${r.filename}${r.args === null ? '' : `  ${r.args}`}`,
});
