// The context-switch workload: two processes pass one byte back and forth over two pipes, N round trips (each
// side blocks on its read, so every trip is two voluntary switches on a 2-core host or more when pinned).
// Prints the nanoseconds per round trip. Usage: pingpong N
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char **argv) {
  long n = argc > 1 ? atol(argv[1]) : 100000;
  int ab[2], ba[2];
  char c = 0;
  if (pipe(ab) || pipe(ba)) return 1;
  pid_t child = fork();
  if (child < 0) return 1;
  if (child == 0) {
    for (long i = 0; i < n; i++) {
      if (read(ab[0], &c, 1) != 1 || write(ba[1], &c, 1) != 1) _exit(1);
    }
    _exit(0);
  }
  struct timespec a, b;
  clock_gettime(CLOCK_MONOTONIC, &a);
  for (long i = 0; i < n; i++) {
    if (write(ab[1], &c, 1) != 1 || read(ba[0], &c, 1) != 1) return 1;
  }
  clock_gettime(CLOCK_MONOTONIC, &b);
  waitpid(child, NULL, 0);
  printf("%.2f\n", ((double)(b.tv_sec - a.tv_sec) * 1e9 + (double)(b.tv_nsec - a.tv_nsec)) / (double)n);
  return 0;
}
