// The exec storm: WORKERS processes each run vfork + execv(TARGET) + waitpid in a loop for SECONDS. With RATE > 0
// they are paced to RATE executions per second in total (in steps of 1 ms); with 0 they go as fast as they can.
// Prints the number of successful executions. Usage: exec-storm TARGET SECONDS RATE WORKERS
#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static int64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static int run_one(const char *target) {
  pid_t p = vfork();
  if (p < 0) return 0;
  if (p == 0) {
    execl(target, target, (char *)NULL);
    _exit(127);
  }
  int st;
  return waitpid(p, &st, 0) == p && WIFEXITED(st) && WEXITSTATUS(st) == 0;
}

int main(int argc, char **argv) {
  if (argc < 5) {
    fprintf(stderr, "usage: %s TARGET SECONDS RATE WORKERS\n", argv[0]);
    return 2;
  }
  const char *target = argv[1];
  double seconds = atof(argv[2]), rate = atof(argv[3]);
  int workers = atoi(argv[4]);
  if (workers < 1) workers = 1;
  long *counts = mmap(NULL, sizeof(long) * (size_t)workers, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  if (counts == MAP_FAILED) return 1;
  int64_t start = now_ns(), end = start + (int64_t)(seconds * 1e9);
  for (int w = 0; w < workers; w++) {
    if (fork() == 0) {
      long done = 0;
      double per_ns = rate > 0 ? rate / workers / 1e9 : 0;
      for (;;) {
        int64_t t = now_ns();
        if (t >= end) break;
        if (per_ns > 0) {
          long due = (long)((double)(t - start) * per_ns);
          if (done >= due) {
            struct timespec ts = {0, 1000000};
            nanosleep(&ts, NULL);
            continue;
          }
        }
        done += run_one(target);
      }
      counts[w] = done;
      _exit(0);
    }
  }
  long total = 0;
  for (int w = 0; w < workers; w++) wait(NULL);
  for (int w = 0; w < workers; w++) total += counts[w];
  printf("%ld %.3f\n", total, (double)(now_ns() - start) / 1e9);
  return 0;
}
