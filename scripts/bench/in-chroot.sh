#!/usr/bin/env bash
# in-chroot.sh: run one benchmark of dist/scripts/bench with another Debian suite's bpftrace and node, on this
# machine's kernel, in the chroot scripts/ci/chroot-tests.sh built (it must have run once for the suite).
#   scripts/bench/in-chroot.sh SUITE BENCH [ARGS...]     e.g.  scripts/bench/in-chroot.sh trixie per-event --quick
# Mounts what chroot-tests.sh mounts (scripts/ci/chroot-mounts.sh), in a private mount namespace: they vanish with
# it. Hold /tmp/ebpfmon-kernel.lock around it (bpftrace runs).
set -euo pipefail
suite=${1:?usage: in-chroot.sh SUITE BENCH [ARGS...]}
bench=${2:?usage: in-chroot.sh SUITE BENCH [ARGS...]}
shift 2
repo=$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/../.." && pwd -P)
cache=${EBPFMON_CI_CHROOTS:-/var/cache/ebpfmon-ci/chroots}
root=$(find "$cache/$suite" -maxdepth 1 -name 'root-*' -type d | head -n 1)
[[ -n $root && -x $root/usr/bin/bpftrace ]] || { echo "no chroot for $suite under $cache: run scripts/ci/chroot-tests.sh $suite once" >&2; exit 2; }
[[ -f $repo/dist/scripts/bench/$bench.js ]] || { echo "no dist/scripts/bench/$bench.js: build first" >&2; exit 2; }
exec unshare --mount --propagation private -- bash -c '
  set -euo pipefail
  root=$1 repo=$2 bench=$3
  shift 3
  source "$repo/scripts/ci/chroot-mounts.sh"
  mountpoint -q /sys/kernel/tracing || mount -t tracefs tracefs /sys/kernel/tracing
  chroot_mounts "$root" "$repo"
  exec chroot "$root" /usr/bin/env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LANG=C.UTF-8 \
    /bin/sh -c "cd \"\$1\" && shift && exec node \"\$@\"" sh "$repo" "dist/scripts/bench/$bench.js" "$@"
' sh "$root" "$repo" "$bench" "$@"
