// The names of BPF programs by id, which /proc/<pid>/fdinfo does not give (it gives prog_id, the run statistics and
// the tag): BPF_PROG_GET_FD_BY_ID, then BPF_OBJ_GET_INFO_BY_FD. bpftool does the same; it is not installed here.
// Prints one line per id that still exists: "<id>\t<type>\t<name>" (the name is at most 15 bytes, as the kernel
// keeps it). Needs root (CAP_SYS_ADMIN). Usage: bpf-prog-names ID...
#define _GNU_SOURCE
#include <linux/bpf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

static long bpf(int cmd, union bpf_attr *attr) { return syscall(SYS_bpf, cmd, attr, sizeof(*attr)); }

int main(int argc, char **argv) {
  for (int i = 1; i < argc; i++) {
    union bpf_attr attr;
    memset(&attr, 0, sizeof(attr));
    attr.prog_id = (unsigned)strtoul(argv[i], NULL, 10);
    int fd = (int)bpf(BPF_PROG_GET_FD_BY_ID, &attr);
    if (fd < 0) continue;  // unloaded since
    struct bpf_prog_info info;
    memset(&info, 0, sizeof(info));
    memset(&attr, 0, sizeof(attr));
    attr.info.bpf_fd = (unsigned)fd;
    attr.info.info_len = sizeof(info);
    attr.info.info = (unsigned long)&info;
    if (bpf(BPF_OBJ_GET_INFO_BY_FD, &attr) == 0) printf("%u\t%u\t%.*s\n", info.id, info.type, (int)sizeof(info.name), info.name);
    close(fd);
  }
  return 0;
}
