// exec: one row per successful process execution.
// kprobe variant: bprm_execve entry/return (the path is a kernel string, so it is never empty);
// tracepoint fallback: sched:sched_process_exec (fires after a successful exec, filename from the kernel).
// The parent pid is curtask->real_parent->tgid, which `bpftrace --aot` refuses (no task_struct access). Where
// scripts run ahead of time, the tracepoint-forks variant records each new process's parent when it is forked
// (task:task_newtask) and forgets it when the process ends (sched:sched_process_exit).
import { z } from 'zod';
import { baseOptions, cgroupOption, commFilter, defineMonitor, type Row } from './types.js';
import { quote } from '../script/literals.js';
import { predicate } from '../script/fragment.js';

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
/** The parent recorded at fork by the tracepoint-forks variant (0 when its fork was not seen). */
const forkedParent = '@exec_ppid[pid + 0]';

/** The event printf up to the filename argument; with the cgroup option the cgroup id comes before the path. */
const record = (cgroup: boolean, ppid: string): string =>
  cgroup
    ? `printf("exec\\tevent\\t%llu\\t%u\\t%d\\t%d\\t%llu\\t%s\\n", nsecs, uid, pid, ${ppid}, cgroup,`
    : `printf("exec\\tevent\\t%llu\\t%u\\t%d\\t%d\\t%s\\n", nsecs, uid, pid, ${ppid},`;

const CLONE_PARENT = '0x8000';
const CLONE_THREAD = '0x10000';

/** tracepoint-forks: each new process's parent, kept while it lives. Keys are widened with `+ 0` (see bio). */
function forkTracking(exitFields: readonly string[]): string[] {
  return [
    // A new process, not a thread. With CLONE_PARENT its parent is the forker's own parent.
    `tracepoint:task:task_newtask /(args->clone_flags & ${CLONE_THREAD}) == 0/ {`,
    `  if (args->clone_flags & ${CLONE_PARENT}) { @exec_ppid[args->pid + 0] = @exec_ppid[pid + 0]; } else { @exec_ppid[args->pid + 0] = pid; }`,
    '}',
    // The whole thread group is gone (group_dead, since Linux 4.x; else the leader's own exit).
    `tracepoint:sched:sched_process_exit /${exitFields.includes('group_dead') ? 'args->group_dead' : 'pid == tid'}/ {`,
    '  delete(@exec_ppid[pid + 0]);',
    '}',
  ];
}
const TASK_COMM_LEN = 16;

/** The comm the kernel gives the new image: the basename of the exec'd path, cut to 15 bytes. */
export function commOf(filename: string): string {
  const base = filename.slice(filename.lastIndexOf('/') + 1);
  // Counting bytes allocates nothing; most names fit, and only the others are cut through a Buffer.
  if (Buffer.byteLength(base, 'utf8') < TASK_COMM_LEN) return base;
  return Buffer.from(base, 'utf8').subarray(0, TASK_COMM_LEN - 1).toString('utf8');
}

export const exec = defineMonitor<ExecOptions, ExecRow>({
  name: 'exec',
  mode: 'event',
  summary: 'Every process execution: uid, pid, parent pid, command and path, one row per event',
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
    // comm of the new image equals the basename of its path, so the filter is on the path's tail.
    const filter = opts.comm ? [`comm == ${quote(opts.comm)}`] : [];
    const forks = plan.variant === 'tracepoint-forks';
    const probes =
      plan.variant === 'kprobe'
        ? [
            `kprobe:${plan.symbols['bprm_execve'] ?? 'bprm_execve'} {`,
            '  @exec_bprm[pid] = arg0;',
            '}',
            `kretprobe:${plan.symbols['bprm_execve'] ?? 'bprm_execve'} /@exec_bprm[pid]/ {`,
            '  $bprm = (struct linux_binprm *)@exec_bprm[pid];',
            '  delete(@exec_bprm[pid]);',
            `  if (retval == 0${opts.comm ? ` && comm == ${quote(opts.comm)}` : ''}) {`,
            `    ${record(opts.cgroup, curtaskParent)} str($bprm->filename));`,
            '  }',
            '}',
          ].join('\n')
        : [
            ...(forks ? forkTracking(plan.tracepointFields['sched:sched_process_exit'] ?? []) : []),
            `tracepoint:sched:sched_process_exec${predicate(filter)} {`,
            `  ${record(opts.cgroup, forks ? forkedParent : curtaskParent)} str(args->filename));`,
            '}',
          ].join('\n');
    const helper =
      plan.variant === 'kprobe'
        ? { name: '@exec_bprm', keys: ['pid'], value: 'arg0', doc: 'helper, not printed' }
        : forks
          ? { name: '@exec_ppid', keys: ['pid'], value: 'parent pid, recorded at fork', doc: 'helper, not printed' }
          : null;
    return {
      probes,
      flush: '',
      cleanup: helper ? `  clear(${helper.name});` : '',
      contract: {
        maps: helper ? [helper] : [],
        printfs: [
          {
            tag: 'event',
            fields: opts.cgroup ? ['nsecs', 'uid', 'pid', 'ppid', 'cgroup', 'filename'] : ['nsecs', 'uid', 'pid', 'ppid', 'filename'],
            doc: 'one successful exec; filename (free text) is last',
          },
        ],
      },
    };
  },
  parse(rec, ctx, opts) {
    if (rec.kind !== 'event' || rec.tag !== 'event') return [];
    const [ns, uid, pid, ppid] = rec.fields;
    const filename = rec.fields[rec.fields.length - 1];
    const cgroup = opts.cgroup ? (rec.fields[4] ?? null) : null;
    if (ns === undefined || filename === undefined || !/^\d+$/.test(ns)) return [];
    return [
      {
        timestamp: ctx.wallTime(BigInt(ns)),
        uid: Number(uid),
        pid: Number(pid),
        // 0: no parent known (tracepoint-forks missed the fork) or pid 1's.
        ppid: ppid === '0' || ppid === undefined ? null : Number(ppid),
        comm: commOf(filename),
        filename,
        cgroup,
      },
    ];
  },
  columns: ['timestamp', 'uid', 'pid', 'ppid', 'comm', 'filename', 'cgroup'],
  metrics: [{ name: 'ebpfmon_exec_total', help: 'Successful process executions, per command.', labels: { comm: 'comm', cgroup: 'cgroup' } }],
  consoleLine: (r) =>
    `${r.timestamp}  exec     uid=${String(r.uid).padEnd(5)} pid=${String(r.pid).padEnd(7)} ppid=${String(r.ppid ?? '-').padEnd(7)} ${r.comm.padEnd(15)} ${r.filename}`,
});
