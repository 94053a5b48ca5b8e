#!/bin/bash
# The soak benchmark's churning workload, one part per process, each running until it is killed. Self-contained:
# the distribution's tools, a scratch directory, no network.
#   bash scripts/bench/workloads/soak-churn.sh spawn|files|blockio DIR
#   spawn    short-lived processes: /bin/true, sh -c, a small pipeline (about 80 a second)
#   files    40 files created, opened, read and removed each round (the same names every round, so the open
#            monitor's keys stay bounded: a new key per file and process, not per round)
#   blockio  512 KiB written with O_DIRECT and fsync, then read back with O_DIRECT, 4 times a second (bio rows in
#            every interval); DIR must be on a block device, not tmpfs
set -u
mode=${1:?spawn, files or blockio} dir=${2:?a scratch directory}
case $mode in
spawn)
  while :; do
    for i in 1 2 3 4 5; do
      /bin/true
      sh -c 'exit 0'
      echo "$i" | cat > /dev/null
    done
    sleep 0.2
  done ;;
files)
  while :; do
    for ((i = 1; i <= 40; i++)); do
      echo "$i" > "$dir/f$i"
      read -r _ < "$dir/f$i"
    done
    rm -f "$dir"/f*
    sleep 0.1
  done ;;
blockio)
  while :; do
    dd if=/dev/zero of="$dir/blk" bs=64k count=8 oflag=direct conv=fsync status=none
    dd if="$dir/blk" of=/dev/null bs=64k iflag=direct status=none
    sleep 0.25
  done ;;
*)
  echo "soak-churn.sh: unknown part $mode (spawn, files or blockio)" >&2
  exit 2 ;;
esac
