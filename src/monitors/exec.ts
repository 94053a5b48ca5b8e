// exec: one row per successful process execution.
// kprobe variant: bprm_execve entry/return (the path is a kernel string, so it is never empty);
// tracepoint fallback: sched:sched_process_exec (fires after a successful exec, filename from the kernel).
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
  ppid: number;
  comm: string;
  filename: string;
  /** cgroup v2 id (option `cgroup`), replaced by its path before output; else null. */
  cgroup: string | null;
}

/** The event printf up to the filename argument; with the cgroup option the cgroup id comes before the path. */
const record = (cgroup: boolean): string =>
  cgroup
    ? 'printf("exec\\tevent\\t%llu\\t%u\\t%d\\t%d\\t%llu\\t%s\\n", nsecs, uid, pid, curtask->real_parent->tgid, cgroup,'
    : 'printf("exec\\tevent\\t%llu\\t%u\\t%d\\t%d\\t%s\\n", nsecs, uid, pid, curtask->real_parent->tgid,';
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
      name: 'tracepoint',
      description: 'tracepoint sched:sched_process_exec',
      needs: [{ kind: 'tracepoint', category: 'sched', event: 'sched_process_exec', fields: ['filename'] }],
    },
  ],
  generate(opts, plan) {
    // comm of the new image equals the basename of its path, so the filter is on the path's tail.
    const filter = opts.comm ? [`comm == ${quote(opts.comm)}`] : [];
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
            `    ${record(opts.cgroup)} str($bprm->filename));`,
            '  }',
            '}',
          ].join('\n')
        : [
            `tracepoint:sched:sched_process_exec${predicate(filter)} {`,
            `  ${record(opts.cgroup)} str(args->filename));`,
            '}',
          ].join('\n');
    return {
      probes,
      flush: '',
      cleanup: plan.variant === 'kprobe' ? '  clear(@exec_bprm);' : '',
      contract: {
        maps: plan.variant === 'kprobe' ? [{ name: '@exec_bprm', keys: ['pid'], value: 'arg0', doc: 'helper, not printed' }] : [],
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
        ppid: Number(ppid),
        comm: commOf(filename),
        filename,
        cgroup,
      },
    ];
  },
  columns: ['timestamp', 'uid', 'pid', 'ppid', 'comm', 'filename', 'cgroup'],
  metrics: [{ name: 'ebpfmon_exec_total', help: 'Successful process executions, per command.', labels: { comm: 'comm', cgroup: 'cgroup' } }],
  consoleLine: (r) =>
    `${r.timestamp}  exec     uid=${String(r.uid).padEnd(5)} pid=${String(r.pid).padEnd(7)} ppid=${String(r.ppid).padEnd(7)} ${r.comm.padEnd(15)} ${r.filename}`,
});
