// Syscall name -> category, and number -> name for the architectures we support.
import { aarch64Syscalls, x86_64Syscalls } from './syscall-table.js';

export const categories = ['file', 'network', 'process', 'memory', 'ipc', 'signal', 'time', 'other'] as const;
export type Category = (typeof categories)[number];

const exact: Record<string, Category> = {
  brk: 'memory', madvise: 'memory', mincore: 'memory', msync: 'memory', membarrier: 'memory',
  pipe: 'ipc', pipe2: 'ipc', eventfd: 'ipc', eventfd2: 'ipc', futex: 'ipc', futex_waitv: 'ipc', futex_wait: 'ipc',
  futex_wake: 'ipc', futex_requeue: 'ipc', set_robust_list: 'ipc', get_robust_list: 'ipc',
  kill: 'signal', tkill: 'signal', tgkill: 'signal', pause: 'signal', sigaltstack: 'signal', signalfd: 'signal',
  signalfd4: 'signal', pidfd_send_signal: 'signal',
  nanosleep: 'time', time: 'time', gettimeofday: 'time', settimeofday: 'time', adjtimex: 'time', alarm: 'time',
  getitimer: 'time', setitimer: 'time', times: 'time',
  sendfile: 'file', splice: 'file', tee: 'file', vmsplice: 'file', copy_file_range: 'file', ioctl: 'file',
  poll: 'file', ppoll: 'file', select: 'file', pselect6: 'file', dup: 'file', dup2: 'file', dup3: 'file',
  fcntl: 'file', flock: 'file', sync: 'file', syncfs: 'file', fsync: 'file', fdatasync: 'file', close: 'file',
  close_range: 'file', mount: 'file', umount2: 'file', pivot_root: 'file', chroot: 'file', chdir: 'file',
  fchdir: 'file', getcwd: 'file', umask: 'file', io_uring_enter: 'file', io_uring_setup: 'file',
  io_uring_register: 'file', memfd_create: 'memory', memfd_secret: 'memory', userfaultfd: 'memory',
  execve: 'process', execveat: 'process', exit: 'process', exit_group: 'process', wait4: 'process', waitid: 'process',
  clone: 'process', clone3: 'process', fork: 'process', vfork: 'process', ptrace: 'process', prctl: 'process',
  arch_prctl: 'process', set_tid_address: 'process', sched_yield: 'process', getrusage: 'process', uname: 'process',
  sysinfo: 'process', getrandom: 'other', seccomp: 'process', unshare: 'process', setns: 'process',
  capget: 'process', capset: 'process', personality: 'process', prlimit64: 'process', getrlimit: 'process',
  setrlimit: 'process', rseq: 'process', pidfd_open: 'process', pidfd_getfd: 'process', restart_syscall: 'signal',
  socketpair: 'network', shutdown: 'network',
};

const prefixes: [RegExp, Category][] = [
  [/^(rt_sig|sig)/, 'signal'],
  [/^(timer_|timerfd_|clock_)/, 'time'],
  [/^(mmap|munmap|mremap|mprotect|mlock|munlock|mbind|migrate_pages|move_pages|pkey_|process_madvise|process_mrelease|remap_file_pages|map_shadow_stack|set_mempolicy|get_mempolicy|mseal)/, 'memory'],
  [/^(socket|bind|listen|accept|connect|getsockname|getpeername|sendto|recvfrom|sendmsg|recvmsg|sendmmsg|recvmmsg|setsockopt|getsockopt)/, 'network'],
  [/^(msg|sem|shm|mq_)/, 'ipc'],
  [/^(epoll_|inotify_|fanotify_)/, 'file'],
  [/^(get|set)(pid|ppid|tid|uid|gid|euid|egid|resuid|resgid|groups|pgid|pgrp|sid|priority|fsuid|fsgid|_thread_area)/, 'process'],
  [/^(sched_|ioprio_|process_vm_|kcmp)/, 'process'],
  [/^(open|creat|read|write|pread|pwrite|lseek|stat|fstat|lstat|newfstat|statx|statfs|fstatfs|access|faccessat|chmod|fchmod|chown|fchown|lchown|link|unlink|symlink|rename|mkdir|rmdir|mknod|truncate|ftruncate|fallocate|getdents|utime|futimesat|name_to_handle_at|fadvise|readahead|quotactl|xattr|setxattr|getxattr|listxattr|removexattr|fsetxattr|fgetxattr|flistxattr|fremovexattr|lsetxattr|lgetxattr|llistxattr|lremovexattr|setxattrat|getxattrat|listxattrat|removexattrat|fsopen|fsmount|fsconfig|fspick|move_mount|open_tree|mount_setattr|io_|aio_|preadv|pwritev|readv|writev|readlink|sync_file_range|file_getattr|file_setattr|cachestat|landlock_|lookup_dcookie|statmount|listmount)/, 'file'],
];

export function categoryOf(name: string): Category {
  const hit = exact[name];
  if (hit) return hit;
  for (const [re, cat] of prefixes) if (re.test(name)) return cat;
  return 'other';
}

/** Node's os.arch() or uname machine -> our syscall table. */
export function syscallTable(arch: string): ReadonlyMap<number, string> | undefined {
  if (arch === 'x64' || arch === 'x86_64') return x86_64Syscalls;
  if (arch === 'arm64' || arch === 'aarch64') return aarch64Syscalls;
  return undefined;
}

/** A syscall's name: `-1` is what sys_exit reports for a skipped syscall; unknown numbers keep their number. */
export function syscallName(arch: string, nr: number): string {
  if (nr < 0) return 'none';
  return syscallTable(arch)?.get(nr) ?? `syscall_${nr}`;
}
