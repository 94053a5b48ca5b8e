// The open storm: openat + close of DIR/f0 .. DIR/f<N-1> (which must exist) in a loop for SECONDS. With RATE > 0
// paced to RATE opens per second (in steps of 1 ms); with 0 as fast as it can.
// Prints the number of successful opens and the elapsed seconds. Usage: open-storm DIR N SECONDS RATE
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

static int64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

int main(int argc, char **argv) {
  if (argc < 5) {
    fprintf(stderr, "usage: %s DIR N SECONDS RATE\n", argv[0]);
    return 2;
  }
  long n = atol(argv[2]);
  double seconds = atof(argv[3]), rate = atof(argv[4]);
  char path[4096];
  long done = 0, i = 0;
  int64_t start = now_ns(), end = start + (int64_t)(seconds * 1e9);
  for (;;) {
    int64_t t = now_ns();
    if (t >= end) break;
    if (rate > 0 && done >= (long)((double)(t - start) * rate / 1e9)) {
      struct timespec ts = {0, 1000000};
      nanosleep(&ts, NULL);
      continue;
    }
    // A batch between clock reads keeps the clock out of the way at full speed.
    for (int b = 0; b < 16; b++, i++) {
      snprintf(path, sizeof path, "%s/f%ld", argv[1], i % n);
      int fd = open(path, O_RDONLY);
      if (fd >= 0) {
        close(fd);
        done++;
      }
    }
  }
  printf("%ld %.3f\n", done, (double)(now_ns() - start) / 1e9);
  return 0;
}
