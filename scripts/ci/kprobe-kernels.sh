#!/usr/bin/env bash
# kprobe-kernels.sh: run the kprobe tests (dist/test/kprobe) on stock Debian kernels that have kprobes, in QEMU.
#
# The CI machine's kernel has no kprobes, so the func monitor and exec's kprobe variant are proved here: for each
# kernel of the matrix below, a Debian guest (that suite's linux-image-amd64, bpftrace and userland) boots under
# QEMU (TCG: KVM is not available) with the checkout's build on a disk, runs as root
#   EBPFMON_REQUIRE_KERNEL=1 EBPFMON_REQUIRE_KPROBES=1 node --test --test-concurrency=1 dist/test/kprobe/*.test.js
# and hands the TAP output back on another disk. Guest images are cached (see CACHE) and rebuilt only when missing
# or when the image recipe below changes.
#
# Usage, as root, from a checkout where `npm ci && npm run build` has run (this script does not build):
#   scripts/ci/kprobe-kernels.sh            every kernel of the matrix
#   scripts/ci/kprobe-kernels.sh trixie     some of them, by suite
# Environment:
#   EBPFMON_CI_CACHE    image cache (default /var/cache/ebpfmon-ci/qemu; one directory per suite)
#   EBPFMON_CI_TIMEOUT  seconds one guest may take from boot to results (default 900)
#   EBPFMON_CI_REBUILD  1: rebuild the images even when the cache is current
#   EBPFMON_CI_MIRROR   Debian mirror (default http://deb.debian.org/debian)
# Exit status: 0 every guest's tests passed; 1 a guest's tests failed (its TAP says which); 2 cannot start (not
# root, no build, a tool missing); 3 a guest gave no results (QEMU failed, no boot, timeout, image build failed):
# infrastructure, not a test failure. A test failure wins over an infrastructure failure in the status.
#
# One file, three roles (as cilium/ebpf's run-tests.sh): the host role (default) caches images and boots the guests;
# --build-image SUITE DIR builds one image (the host role runs it); --guest runs inside a guest, started by the
# image's init stub from the code disk.
set -euo pipefail

# The matrix: suite (guest userland and kernel package), what it offers. A new kernel is one line.
declare -A KERNELS=(
  [bookworm]='Debian 12 linux-image-amd64 (Linux 6.1), bpftrace 0.17'
  [trixie]='Debian 13 linux-image-amd64 (Linux 6.12), bpftrace 0.23'
)
KERNEL_ORDER=(bookworm trixie)

CACHE=${EBPFMON_CI_CACHE:-/var/cache/ebpfmon-ci/qemu}
TIMEOUT=${EBPFMON_CI_TIMEOUT:-900}
MIRROR=${EBPFMON_CI_MIRROR:-http://deb.debian.org/debian}
SELF=$(readlink -f "${BASH_SOURCE[0]}")

log() { printf '%s kprobe-kernels: %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { log "$1"; exit "${2:-2}"; }

# ---- image recipe begin: the text from here to "image recipe end" keys the image cache (change it, images rebuild)
GUEST_PACKAGES=bpftrace,procps,util-linux,coreutils,kmod,initramfs-tools,zstd
GUEST_MODULES='virtio_pci virtio_blk ext4'

# The guest's PID 1: mount the basics, unpack the code disk (/dev/vdb, a tar) into a tmpfs at /ci and run the guest
# role of the kprobe-kernels.sh found there, then power off. Kept small: the guest role travels with the code, so
# changing it does not rebuild images.
GUEST_INIT='#!/bin/sh
mountpoint -q /proc || mount -t proc proc /proc
mountpoint -q /sys || mount -t sysfs sysfs /sys
mountpoint -q /dev || mount -t devtmpfs devtmpfs /dev
mount -t tmpfs -o size=1536m tmpfs /ci
if tar -xf /dev/vdb -C /ci; then /bin/bash /ci/kprobe-kernels.sh --guest; else echo "ebpfmon-ci: cannot unpack the code disk" >/dev/console; fi
sync
echo o >/proc/sysrq-trigger
sleep 60'

# Builds the image of one suite into $2: vmlinuz, initrd.img, rootfs.img (ext4, made without mounting anything
# but /proc in the chroot), versions.txt.
build_image() {
  local suite=$1 out=$2 root=$2/root
  debootstrap --variant=minbase --include="$GUEST_PACKAGES" "$suite" "$root" "$MIRROR"
  # Only the modules that mount the root disk: a small initramfs, built once, zstd-compressed.
  mkdir -p "$root/etc/initramfs-tools/conf.d"
  printf 'MODULES=list\nCOMPRESS=zstd\n' >"$root/etc/initramfs-tools/conf.d/ebpfmon-ci"
  printf '%s\n' $GUEST_MODULES >>"$root/etc/initramfs-tools/modules"
  mount -t proc proc "$root/proc"
  (
    trap 'umount "$root/proc"' EXIT
    chroot "$root" apt-get -q update
    DEBIAN_FRONTEND=noninteractive chroot "$root" apt-get -q -y --no-install-recommends install linux-image-amd64
  )
  printf '%s\n' "$GUEST_INIT" >"$root/sbin/ebpfmon-ci-init"
  chmod 755 "$root/sbin/ebpfmon-ci-init"
  mkdir -p "$root/ci"
  echo "ebpfmon-ci-$suite" >"$root/etc/hostname"
  cp "$root"/boot/vmlinuz-* "$out/vmlinuz"
  cp "$root"/boot/initrd.img-* "$out/initrd.img"
  chroot "$root" dpkg-query -W -f '${db:Status-Abbrev}${Package} ${Version}\n' bpftrace 'linux-image-*' libc6 coreutils |
    sed -n 's/^ii *//p' >"$out/versions.txt"
  rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/* "$root"/usr/share/doc "$root"/usr/share/man \
    "$root"/usr/share/locale "$root"/boot/initrd.img-* "$root"/boot/vmlinuz-*
  local mb
  mb=$(du -sm "$root" | cut -f1)
  mkfs.ext4 -q -F -L ebpfmon-ci -d "$root" "$out/rootfs.img" "$((mb + mb / 4 + 256))M"
  rm -rf "$root"
}
# ---- image recipe end

recipe_hash() {
  sed -n '/^# ---- image recipe begin/,/^# ---- image recipe end/p' "$SELF" | sha256sum | cut -c1-16
}

# Host role ------------------------------------------------------------------------------------------------------

need_tools() {
  local missing=()
  command -v qemu-system-x86_64 >/dev/null || missing+=(qemu-system-x86)
  command -v debootstrap >/dev/null || missing+=(debootstrap)
  command -v zstd >/dev/null || missing+=(zstd)
  command -v mkfs.ext4 >/dev/null || missing+=(e2fsprogs)
  if ((${#missing[@]})); then
    log "installing ${missing[*]}"
    DEBIAN_FRONTEND=noninteractive apt-get -q update >&2
    DEBIAN_FRONTEND=noninteractive apt-get -q -y install --no-install-recommends "${missing[@]}" >&2
  fi
}

# Removes a build directory, unmounting what an interrupted build may have left mounted in its chroot.
discard() {
  local m
  for m in proc sys dev/pts dev; do umount "$1/root/$m" 2>/dev/null || true; done
  rm -rf --one-file-system "$1"
}

# The image of one suite, built when missing or stale; prints its directory. Serialised per suite with flock, so
# concurrent runs on one machine share the cache.
ensure_image() {
  local suite=$1 dir=$CACHE/$1 hash
  hash=$(recipe_hash)
  mkdir -p "$CACHE"
  exec {lock}>"$CACHE/$suite.lock"
  flock "$lock"
  if [[ ${EBPFMON_CI_REBUILD:-0} != 1 && -f $dir/recipe && $(cat "$dir/recipe") == "$hash" ]]; then
    log "$suite: cached image $dir (recipe $hash)"
  else
    local tmp=$CACHE/$suite.new started=$SECONDS
    log "$suite: building the image (recipe $hash; log in $CACHE/$suite.build.log)"
    discard "$tmp"
    mkdir -p "$tmp"
    # A process of its own, so that `set -e` holds in it (a subshell tested by `if` would ignore it).
    if ! bash "$SELF" --build-image "$suite" "$tmp" >"$CACHE/$suite.build.log" 2>&1; then
      tail -n 30 "$CACHE/$suite.build.log" >&2
      discard "$tmp"
      exec {lock}>&-
      return 1
    fi
    echo "$hash" >"$tmp/recipe"
    rm -rf "$dir"
    mv "$tmp" "$dir"
    log "$suite: image built in $((SECONDS - started)) s: $(tr '\n' ' ' <"$dir/versions.txt")"
  fi
  exec {lock}>&-
  printf '%s\n' "$dir"
}

# The code disk: a tar of the build (repo/: dist, node_modules, package.json, config), the host's node (bin/node),
# this script and ci.env (settings for the guest role).
make_code_disk() {
  local repo=$1 tar=$2 stage=$3 node
  node=$(readlink -f "$(command -v node)")
  mkdir -p "$stage/bin"
  cp "$node" "$stage/bin/node"
  cp "$SELF" "$stage/kprobe-kernels.sh"
  # The tests get the guest's time less what booting and handing back need, so a hung test still returns its TAP.
  printf 'GUEST_TEST_TIMEOUT=%s\n' "$((TIMEOUT > 360 ? TIMEOUT - 180 : TIMEOUT / 2))" >"$stage/ci.env"
  # S: symlink targets (node_modules/.bin) stay as they are.
  tar -cf "$tar" -C "$repo" --transform 's,^,repo/,S' dist node_modules package.json config
  tar -rf "$tar" -C "$stage" bin kprobe-kernels.sh ci.env
}

# Boots one guest; prints its TAP; sets RESULT[suite] to pass, FAIL (tests) or ERROR (infrastructure).
declare -A RESULT DETAIL
run_guest() {
  local suite=$1 image=$2 work=$3 started=$SECONDS rc=0
  mkdir -p "$work/results"
  truncate -s 64M "$work/results.img"
  log "$suite: booting $(grep -o '^linux-image-[0-9][^ ]* [^ ]*' "$image/versions.txt" || true) (timeout ${TIMEOUT} s)"
  # In the background, so that a SIGINT or SIGTERM of this script can stop it (on_signal).
  timeout -k 10 "$TIMEOUT" qemu-system-x86_64 \
    -accel tcg,thread=multi -cpu max -smp 2 -m 3072 \
    -display none -monitor none -serial "file:$work/console.log" -no-reboot -nic none \
    -device virtio-rng-pci \
    -kernel "$image/vmlinuz" -initrd "$image/initrd.img" \
    -append 'console=ttyS0 root=/dev/vda rw rootfstype=ext4 init=/sbin/ebpfmon-ci-init panic=-1 quiet loglevel=4' \
    -drive "file=$image/rootfs.img,if=virtio,format=raw,snapshot=on" \
    -drive "file=$work/code.tar,if=virtio,format=raw,readonly=on" \
    -drive "file=$work/results.img,if=virtio,format=raw" \
    </dev/null >"$work/qemu.log" 2>&1 &
  QEMU_PID=$!
  wait "$QEMU_PID" || rc=$?
  QEMU_PID=
  local took=$((SECONDS - started))
  tar -xf "$work/results.img" -C "$work/results" 2>/dev/null || true
  local r=$work/results kernel='?' bpftrace='?'
  [[ -f $r/uname ]] && kernel=$(<"$r/uname")
  [[ -f $r/bpftrace-version ]] && bpftrace=$(<"$r/bpftrace-version")
  echo "#### kprobe tests on $suite: Linux $kernel, $bpftrace (${KERNELS[$suite]}) ####"
  if [[ -f $r/tap.txt ]]; then cat "$r/tap.txt"; fi
  echo "#### end of $suite: $took s from boot to results ####"
  if [[ -f $r/status ]]; then
    local status
    status=$(<"$r/status")
    if [[ $status == 0 ]]; then RESULT[$suite]=pass; else RESULT[$suite]=FAIL; fi
    local up fin timing=''
    if [[ -f $r/uptime ]] && read -r up fin <"$r/uptime"; then timing=" (boot ${up%.*} s, tests $((${fin%.*} - ${up%.*})) s)"; fi
    DETAIL[$suite]="Linux $kernel, $bpftrace, node --test exit $status; $took s from boot to results$timing"
  else
    local why
    if ((rc == 124 || rc == 137)); then why="timed out after $TIMEOUT s"
    elif ((rc != 0)); then why="QEMU exited $rc"
    elif ! grep -q 'ebpfmon-ci: guest up' "$work/console.log" 2>/dev/null; then why='the guest did not boot'
    else why='the guest returned no results'; fi
    if ! grep -q 'ebpfmon-ci: guest up' "$work/console.log" 2>/dev/null; then why+=' (never reached its guest role)'; fi
    RESULT[$suite]=ERROR
    DETAIL[$suite]="$why (QEMU's and the console's last lines are above, on stderr)"
    echo "# $suite: no results: $why" >&2
    tail -n 20 "$work/qemu.log" >&2 || true
    tail -n 60 "$work/console.log" >&2 || true
  fi
}

QEMU_PID=
on_signal() {
  log "interrupted: stopping"
  if [[ -n $QEMU_PID ]]; then kill -TERM "$QEMU_PID" 2>/dev/null || true; wait "$QEMU_PID" 2>/dev/null || true; fi
  exit 130
}

host_main() {
  (($(id -u) == 0)) || die 'run as root (debootstrap and the image cache need it)'
  local repo
  repo=$(cd "$(dirname "$SELF")/../.." && pwd)
  local suites=("$@")
  ((${#suites[@]})) || suites=("${KERNEL_ORDER[@]}")
  local s
  for s in "${suites[@]}"; do [[ -n ${KERNELS[$s]:-} ]] || die "unknown kernel '$s' (known: ${KERNEL_ORDER[*]})"; done
  [[ -d $repo/dist/test/kprobe && -f $repo/dist/src/cli/main.js && -d $repo/node_modules ]] ||
    die "no build in $repo: run 'npm ci && npm run build' first (dist/test/kprobe, dist/src/cli/main.js, node_modules)"
  # The guests run the host's node (Debian's own is 18 in bookworm): it must be one ebpfmon supports.
  command -v node >/dev/null || die 'no node on the host: the guests run the host'"'"'s node (Node >= 20.5)'
  node -e 'const [a, b] = process.versions.node.split(".").map(Number); process.exit(a > 20 || (a === 20 && b >= 5) ? 0 : 1)' ||
    die "the host's node is $(node --version): the guests run it, and ebpfmon needs Node >= 20.5"
  need_tools

  local started=$SECONDS
  WORK=$(mktemp -d /tmp/ebpfmon-kprobe-ci.XXXXXX)
  trap 'rm -rf "$WORK"' EXIT
  trap on_signal INT TERM
  local work=$WORK
  make_code_disk "$repo" "$work/code.tar" "$work/stage"
  for s in "${suites[@]}"; do
    local image
    if ! image=$(ensure_image "$s"); then
      RESULT[$s]=ERROR
      DETAIL[$s]="image build failed (log: $CACHE/$s.build.log)"
      continue
    fi
    mkdir -p "$work/$s"
    ln -s ../code.tar "$work/$s/code.tar"
    run_guest "$s" "$image" "$work/$s"
    # A guest that never reached its guest role is booted once more: under TCG with several vCPUs a stock kernel
    # can oops while it patches its own text at boot (seen once: int3 in sched_clock_cpu, Debian 13's 6.12), an
    # accident of the emulator, not of the code under test. Its tests never ran, so nothing is hidden by it.
    if [[ ${RESULT[$s]} == ERROR ]] && ! grep -q 'ebpfmon-ci: guest up' "$work/$s/console.log" 2>/dev/null; then
      log "$s: the guest did not boot; booting it once more"
      rm -rf "$work/$s.first" && mv "$work/$s" "$work/$s.first"
      mkdir -p "$work/$s"
      ln -s ../code.tar "$work/$s/code.tar"
      run_guest "$s" "$image" "$work/$s"
      [[ ${RESULT[$s]} == ERROR ]] || DETAIL[$s]+=' (second boot: the first oopsed before its guest role)'
    fi
  done

  local status=0
  echo "#### kprobe kernels: summary ($((SECONDS - started)) s) ####"
  for s in "${suites[@]}"; do
    printf '# %-9s %-5s %s\n' "$s" "${RESULT[$s]}" "${DETAIL[$s]}"
    case ${RESULT[$s]} in
      FAIL) status=1 ;;
      ERROR) ((status == 1)) || status=3 ;;
    esac
  done
  return "$status"
}

# Guest role (PID 1's child in the guest, from /ci) -------------------------------------------------------------

guest_main() {
  set +e
  export PATH=/ci/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LANG=C.UTF-8 TERM=dumb
  local up
  up=$(cut -d' ' -f1 /proc/uptime)
  echo "ebpfmon-ci: guest up: Linux $(uname -r) after $up s" >/dev/console
  mount -t tmpfs tmpfs /tmp
  mount -t tmpfs tmpfs /run
  mount -t debugfs debugfs /sys/kernel/debug
  mount -t tracefs tracefs /sys/kernel/tracing
  mount -t cgroup2 cgroup2 /sys/fs/cgroup
  mount -t bpf bpf /sys/fs/bpf
  ulimit -l unlimited
  hostname -F /etc/hostname 2>/dev/null
  local out=/ci/results GUEST_TEST_TIMEOUT=600
  # shellcheck disable=SC1091
  [[ -f /ci/ci.env ]] && . /ci/ci.env
  mkdir -p "$out"
  uname -r >"$out/uname"
  bpftrace --version >"$out/bpftrace-version" 2>&1
  {
    echo "# kernel: $(uname -a)"
    echo "# bpftrace: $(<"$out/bpftrace-version")"
    echo "# node: $(node --version)"
    echo "# kprobes: $(ls /sys/kernel/tracing/kprobe_events 2>&1)"
  } >"$out/tap.txt"
  cd /ci/repo || return
  EBPFMON_REQUIRE_KERNEL=1 EBPFMON_REQUIRE_KPROBES=1 timeout -k 10 "$GUEST_TEST_TIMEOUT" \
    node --test --test-reporter=tap --test-concurrency=1 dist/test/kprobe/*.test.js 2>&1 | tee -a "$out/tap.txt" >/dev/console
  echo "${PIPESTATUS[0]}" >"$out/status"
  echo "$up $(cut -d' ' -f1 /proc/uptime)" >"$out/uptime"
  dmesg >"$out/dmesg.txt"
  tar -cf /dev/vdc -C "$out" .
  sync
  echo "ebpfmon-ci: results written (status $(<"$out/status"))" >/dev/console
}

if [[ ${1:-} == --guest ]]; then
  guest_main
elif [[ ${1:-} == --build-image ]]; then
  build_image "$2" "$3"
else
  host_main "$@"
fi
