// The overhead benchmark's fixed workload: six phases, each touching what one or more monitors trace, timed
// separately with CLOCK_MONOTONIC. Prints one JSON object: nanoseconds per phase and in total.
//   spawn     fork + execv("/bin/true") + waitpid                 (exec, context_switch, page_fault)
//   open      open + read 4 KiB + close of 16 small files in DIR    (open, syscall)
//   syscall   raw getppid()                                        (syscall)
//   dio       O_DIRECT 16 KiB writes then reads of DIR/dio, fdatasync (bio, interrupt)
//   fault     touch every page of a fresh 16 MiB mapping, unmap    (page_fault)
//   pingpong  one byte back and forth between two processes        (context_switch)
// Usage: mixed DIR [SCALE]   (DIR must be on a block device for O_DIRECT, e.g. under /var/tmp; SCALE default 1)
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static void must(int ok, const char *what) {
  if (!ok) {
    perror(what);
    exit(1);
  }
}

static int64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static void phase_spawn(long n) {
  for (long i = 0; i < n; i++) {
    pid_t p = fork();
    must(p >= 0, "fork");
    if (p == 0) {
      execl("/bin/true", "true", (char *)NULL);
      _exit(127);
    }
    int st;
    must(waitpid(p, &st, 0) == p && WIFEXITED(st) && WEXITSTATUS(st) == 0, "spawn /bin/true");
  }
}

static void phase_open(const char *dir, long n) {
  char path[4096], buf[4096];
  memset(buf, 'x', sizeof buf);
  for (int f = 0; f < 16; f++) {
    snprintf(path, sizeof path, "%s/f%d", dir, f);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    must(fd >= 0 && write(fd, buf, sizeof buf) == (ssize_t)sizeof buf && close(fd) == 0, "create small file");
  }
  for (long i = 0; i < n; i++) {
    snprintf(path, sizeof path, "%s/f%ld", dir, i % 16);
    int fd = open(path, O_RDONLY);
    must(fd >= 0 && read(fd, buf, sizeof buf) == (ssize_t)sizeof buf && close(fd) == 0, "open+read");
  }
}

static void phase_syscall(long n) {
  for (long i = 0; i < n; i++) syscall(SYS_getppid);
}

static void phase_dio(const char *dir, long n) {
  enum { BS = 16384, SPAN = 256 };  // 256 blocks of 16 KiB: a 4 MiB file
  char path[4096];
  snprintf(path, sizeof path, "%s/dio", dir);
  int fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_DIRECT, 0644);
  must(fd >= 0, "open O_DIRECT (is DIR on a block device?)");
  void *buf;
  must(posix_memalign(&buf, 4096, BS) == 0, "posix_memalign");
  memset(buf, 'd', BS);
  for (long i = 0; i < n; i++) must(pwrite(fd, buf, BS, (off_t)(i % SPAN) * BS) == BS, "O_DIRECT write");
  must(fdatasync(fd) == 0, "fdatasync");
  for (long i = 0; i < n; i++) must(pread(fd, buf, BS, (off_t)(i % SPAN) * BS) == BS, "O_DIRECT read");
  free(buf);
  close(fd);
  unlink(path);
}

static void phase_fault(long rounds) {
  const size_t len = 16u << 20;
  long page = sysconf(_SC_PAGESIZE);
  for (long r = 0; r < rounds; r++) {
    volatile char *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    must(p != MAP_FAILED, "mmap");
    madvise((void *)p, len, MADV_NOHUGEPAGE);
    for (size_t off = 0; off < len; off += (size_t)page) p[off] = 1;
    munmap((void *)p, len);
  }
}

static void phase_pingpong(long n) {
  int down[2], up[2];
  char c = 'x';
  must(pipe(down) == 0 && pipe(up) == 0, "pipe");
  pid_t child = fork();
  must(child >= 0, "fork");
  if (child == 0) {
    for (long i = 0; i < n; i++) {
      if (read(down[0], &c, 1) != 1 || write(up[1], &c, 1) != 1) _exit(1);
    }
    _exit(0);
  }
  for (long i = 0; i < n; i++) must(write(down[1], &c, 1) == 1 && read(up[0], &c, 1) == 1, "pingpong");
  int st;
  must(waitpid(child, &st, 0) == child && WIFEXITED(st) && WEXITSTATUS(st) == 0, "pingpong child");
  close(down[0]), close(down[1]), close(up[0]), close(up[1]);
}

int main(int argc, char **argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: %s DIR [SCALE]\n", argv[0]);
    return 2;
  }
  const char *dir = argv[1];
  double scale = argc > 2 ? atof(argv[2]) : 1.0;
  if (scale <= 0) scale = 1.0;
  int64_t t[7];
  t[0] = now_ns();
  phase_spawn((long)(120 * scale));
  t[1] = now_ns();
  phase_open(dir, (long)(40000 * scale));
  t[2] = now_ns();
  phase_syscall((long)(300000 * scale));
  t[3] = now_ns();
  phase_dio(dir, (long)(1500 * scale));
  t[4] = now_ns();
  phase_fault((long)(4 * scale));
  t[5] = now_ns();
  phase_pingpong((long)(15000 * scale));
  t[6] = now_ns();
  printf("{\"spawn\": %lld, \"open\": %lld, \"syscall\": %lld, \"dio\": %lld, \"fault\": %lld, \"pingpong\": %lld, \"total\": %lld}\n",
         (long long)(t[1] - t[0]), (long long)(t[2] - t[1]), (long long)(t[3] - t[2]), (long long)(t[4] - t[3]),
         (long long)(t[5] - t[4]), (long long)(t[6] - t[5]), (long long)(t[6] - t[0]));
  return 0;
}
