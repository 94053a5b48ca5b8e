#!/usr/bin/env bash
# chroot-tests.sh: run the integration tests (dist/test/integration) with another Debian suite's bpftrace and node,
# on this machine's kernel, in a debootstrap chroot.
#
# The CI machine runs Debian 12 (bpftrace 0.17); users also run Debian 13 (trixie, bpftrace 0.23) and sid (0.27).
# This script builds (or reuses) a minbase chroot of SUITE with bpftrace, nodejs and what the tests spawn, binds the
# host's built checkout into it at the same absolute path, and runs there, as root:
#   CI=true EBPFMON_REQUIRE_KERNEL=1 EBPFMON_BPFTRACE_SUITE=SUITE node --test --test-concurrency=1 FILES
# (with --test-reporter=tap, and --test-force-exit where node has it: a failed test that leaves a child holding its
# file's event loop must not hang the run).
# Output: a "# ..." header line naming the suite, bpftrace and node versions, then the TAP of the run (stdout);
# progress and timings on stderr.
#
# Usage, as root, from a checkout where `npm ci && npm run build` has run on the host (this script does not build):
#   scripts/ci/chroot-tests.sh SUITE [NODE_TEST_OPTION...] [TEST_DIR_OR_FILE...]
#     SUITE      trixie | sid
#     files      default dist/test/integration; a directory runs its *.test.js; a test/....test.ts path stands for
#                its dist/test/....test.js; relative paths are taken from the checkout (or the current directory)
#     options    arguments starting with -- go to `node --test`, e.g. --test-name-pattern=syscall
# Environment:
#   EBPFMON_CI_CHROOTS  chroot cache (default /var/cache/ebpfmon-ci/chroots; one directory per suite)
#   EBPFMON_CI_REBUILD  1: rebuild the chroot even when the cache is current
#   EBPFMON_CI_MIRROR   Debian mirror (default http://deb.debian.org/debian)
#   EBPFMON_CI_TIMEOUT  seconds the test run may take (default 3600; 0: no limit); then it is stopped, exit 124
#   EBPFMON_CI_BUILD_IN_RAM  1: build in a tmpfs, then copy to disk (faster); 0: on disk; auto (default): 1 when
#                       6 GiB of memory are available
#   EBPFMON_*           passed through to the tests (CI, EBPFMON_REQUIRE_KERNEL, EBPFMON_BPFTRACE_SUITE are set here)
# Exit status: the test runner's (0 all passed, 1 a test failed), 130 interrupted, 124 EBPFMON_CI_TIMEOUT; 2 cannot
# start (not root, no build, unknown suite, node too old in the chroot); 3 the chroot could not be built.
#
# Cache: $EBPFMON_CI_CHROOTS/SUITE/root-HASH, HASH from the recipe below (change it and the chroot is rebuilt). A
# build goes to SUITE/.build-HASH.* and is renamed into place only when complete and checked, so an interrupted
# build is never reused (its leftovers are removed by the next run). Downloaded .debs stay in SUITE/debs for the
# next build (safe to delete). Runs of one suite are serialised with flock on SUITE/lock.
#
# Mounts: the chroot's /proc (bind), /sys and /dev (rbind), /tmp and /run (tmpfs) and the checkout (bind, at its
# own path) live in a private mount namespace (unshare --mount): the host's mount table never shows them, and they
# vanish with the namespace when its last process ends. On exit (normal, failure, Ctrl-C, timeout) processes left
# in the chroot (a daemon a failed test started) are named, killed by pid, and the mounts unmounted (umount -R, lazy
# when busy). A build runs in a PID namespace too: Ctrl-C or a kill ends all of it.
# Stop a run with Ctrl-C or by signalling its process group (a signal to this script alone waits for the tests).
#
# One file, three roles: the host role (default) caches the chroot and starts the others in a mount namespace of
# their own: --build-chroot SUITE DIR builds one chroot, --run-chroot runs the tests in one.
set -euo pipefail
umask 022
export LC_ALL=C

SUITES=(trixie sid)
CACHE=${EBPFMON_CI_CHROOTS:-/var/cache/ebpfmon-ci/chroots}
MIRROR=${EBPFMON_CI_MIRROR:-http://deb.debian.org/debian}
SELF=$(readlink -f "${BASH_SOURCE[0]}")
# shellcheck source=scripts/ci/chroot-mounts.sh
source "$(dirname "$SELF")/chroot-mounts.sh"
SANE_PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin

log() { printf '%s chroot-tests: %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { log "$1"; exit "${2:-2}"; }
# Seconds since $1 (an $EPOCHREALTIME), one decimal.
since() { awk -v a="$1" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }'; }

# ---- chroot recipe begin: the text from here to "chroot recipe end" keys the cache (change it, chroots rebuild)
# What the integration tests spawn besides node and bpftrace (grep execa/spawn in test/integration, test/helpers):
#   gcc libc6-dev  cc: the C workloads (test/fixtures/workloads)      linux-perf  perf stat (interrupt.test)
#   util-linux     setpriv (cli.test), prlimit (integrity.test)       mount       mount/umount tmpfs (disk-full.test)
#   procps         ps, for people debugging in the chroot             tmux        drives `ebpfmon top` (top.test)
#   coreutils      dd, timeout, tail, mkfifo, chown, chmod, head      prometheus  promtool check metrics (prometheus.test)
# Not needed: npm (the host builds), systemd (systemd-analyze: unit tests only, on the host), iproute2, e2fsprogs
# (no test uses ip/ss or loop devices).
CHROOT_PACKAGES=(gcc libc6-dev linux-perf util-linux mount procps tmux coreutils prometheus)
# Commands that must run in a finished chroot (checked after a build and before every run).
CHROOT_COMMANDS=(bpftrace node cc perf setpriv prlimit mount umount tmux promtool dd timeout tail mkfifo chown chmod head sh date)

# Builds the chroot of one suite into $2 (an empty directory); runs in a mount namespace of its own, so the /proc
# debootstrap and this function mount go away with it whatever happens.
build_chroot() {
  local suite=$1 root=$2 debs=$3
  debootstrap --variant=minbase --include=bpftrace,nodejs --cache-dir="$debs" "$suite" "$root" "$MIRROR"
  # For apt: the host's resolver. No service may start in the chroot (prometheus' postinst would try).
  cp -L /etc/resolv.conf "$root/etc/resolv.conf"
  printf '#!/bin/sh\n# ebpfmon chroot-tests: no service starts in this chroot\nexit 101\n' >"$root/usr/sbin/policy-rc.d"
  chmod 755 "$root/usr/sbin/policy-rc.d"
  # debootstrap writes no /etc/hosts: localhost must resolve (tests listen and connect on loopback).
  printf '127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n' >"$root/etc/hosts"
  mount -t proc proc "$root/proc"
  mount --bind "$debs" "$root/var/cache/apt/archives"
  local apt=(chroot "$root" env -i PATH="$SANE_PATH" HOME=/root LANG=C.UTF-8 DEBIAN_FRONTEND=noninteractive apt-get -q
    -o Dpkg::Use-Pty=0 -o APT::Install-Recommends=false -o Dpkg::Options::=--force-unsafe-io)
  # No `apt-get update`: the package lists debootstrap fetched a minute ago are the ones the base system came from
  # (and an update refuses sid's lists once their Valid-Until is past, as on a machine whose clock runs ahead).
  "${apt[@]}" -y install --no-install-recommends "${CHROOT_PACKAGES[@]}"
  umount "$root/var/cache/apt/archives" "$root/proc"
  rm -rf "$root"/var/lib/apt/lists/*_Packages "$root"/var/lib/apt/lists/*_Packages.*
}
# ---- chroot recipe end

recipe_hash() {
  { sed -n '/^# ---- chroot recipe begin/,/^# ---- chroot recipe end/p' "$SELF"; echo "$MIRROR"; } | sha256sum | cut -c1-16
}

# The commands of CHROOT_COMMANDS a chroot lacks (none: prints nothing).
missing_commands() {
  chroot "$1" /usr/bin/env -i PATH="$SANE_PATH" /bin/sh -c 'for c; do command -v "$c" >/dev/null || printf "%s " "$c"; done' \
    sh "${CHROOT_COMMANDS[@]}" 2>&1 || echo '(chroot failed)'
}

# Removes a directory of the cache, refusing when something is mounted under it (never delete through a mount).
remove_dir() {
  local dir=$1
  [[ -e $dir ]] || return 0
  if findmnt -rn -o TARGET | awk -v d="$dir" 'index($0, d "/") == 1 || $0 == d { found = 1 } END { exit !found }'; then
    log "not removing $dir: something is mounted under it"
    return 1
  fi
  rm -rf --one-file-system "$dir"
}

# Build role (in a mount namespace of its own) ------------------------------------------------------------------

# Builds the chroot into $2 (on disk). With memory to spare it is built in a tmpfs and copied to $2 at the end:
# dpkg's fsync of every file it unpacks costs 20-30 s on disk, the copy of the finished 1.3 GB about 8 s.
build_main() {
  local suite=$1 out=$2 debs=$3 avail
  # This shell is PID 1 of the build's PID namespace. debootstrap shrugs off SIGINT (it retries what failed), so on
  # Ctrl-C or SIGTERM this shell exits, and with it, killed by the kernel, everything else in the namespace.
  if [[ -z ${BUILD_IN_BACKGROUND:-} ]]; then
    trap 'echo "build interrupted"; exit 130' INT
    trap 'echo "build terminated"; exit 143' TERM
    BUILD_IN_BACKGROUND=1 build_main "$@" &
    wait "$!"
    return
  fi
  avail=$(awk '/^MemAvailable:/ { print int($2 / 1048576) }' /proc/meminfo)
  local in_ram=${EBPFMON_CI_BUILD_IN_RAM:-auto}
  [[ $in_ram != auto ]] || { ((avail >= 6)) && in_ram=1 || in_ram=0; }
  if [[ $in_ram == 1 ]]; then
    echo "building in a tmpfs (${avail} GiB of memory available), then copying to $out"
    mkdir "$out.stage"
    mount -t tmpfs -o size=4g,mode=755 tmpfs "$out.stage"
    build_chroot "$suite" "$out.stage" "$debs"
    echo "copying to $out"
    cp -a "$out.stage/." "$out/"
    echo "copied"
  else
    build_chroot "$suite" "$out" "$debs"
  fi
}

# Host role ------------------------------------------------------------------------------------------------------

BUILD_TMP=
host_cleanup() {
  if [[ -n $BUILD_TMP ]]; then remove_dir "$BUILD_TMP" || true; remove_dir "$BUILD_TMP.stage" || true; fi
}

# Sets ROOT to the chroot of $1, built when missing, incomplete or stale. Runs under the suite's lock.
ensure_chroot() {
  local suite=$1 dir=$CACHE/$1 hash
  hash=$(recipe_hash)
  ROOT=$dir/root-$hash
  # Leftovers of interrupted builds (nothing else can be building: we hold the lock).
  local d
  for d in "$dir"/.build-*; do
    if [[ -e $d ]]; then remove_dir "$d" || die "$suite: cannot remove the unfinished build $d" 3; fi
  done
  if [[ ${EBPFMON_CI_REBUILD:-0} != 1 && -f $ROOT/etc/ebpfmon-ci-recipe && $(<"$ROOT/etc/ebpfmon-ci-recipe") == "$hash" ]]; then
    local missing
    missing=$(missing_commands "$ROOT")
    if [[ -z $missing ]]; then
      log "$suite: cached chroot $ROOT"
      return 0
    fi
    log "$suite: cached chroot $ROOT lacks $missing: rebuilding it"
  fi
  mkdir -p "$dir/debs"
  BUILD_TMP=$(mktemp -d "$dir/.build-$hash.XXXXXX")
  chmod 755 "$BUILD_TMP"
  local started=$EPOCHREALTIME
  log "$suite: building the chroot (recipe $hash; log in $dir/build.log)"
  # A process of its own, so that `set -e` holds in it, in a mount namespace of its own (see build_chroot) and a PID
  # namespace of its own: when it ends, or unshare is killed, the kernel kills whatever the build still runs.
  if ! unshare --mount --propagation private --pid --fork --kill-child -- bash "$SELF" --build-chroot "$suite" "$BUILD_TMP" "$dir/debs" 2>&1 </dev/null |
    while IFS= read -r line; do printf '%(%T)T %s\n' -1 "$line"; done >"$dir/build.log"; then
    tail -n 30 "$dir/build.log" >&2
    die "$suite: building the chroot failed after $(since "$started") s (log: $dir/build.log)" 3
  fi
  remove_dir "$BUILD_TMP.stage"
  local missing
  missing=$(missing_commands "$BUILD_TMP")
  [[ -z $missing ]] || die "$suite: the new chroot lacks $missing (log: $dir/build.log)" 3
  echo "$hash" >"$BUILD_TMP/etc/ebpfmon-ci-recipe"
  # The .deb cache keeps what this chroot is made of, for the next build; older versions go.
  local keep
  keep=$(chroot "$BUILD_TMP" dpkg-query -W -f '${Package}_${Version}_${Architecture}.deb\n' | sed 's/:/%3a/g')
  find "$dir/debs" -maxdepth 1 -name '*.deb' -printf '%f\n' | { grep -vxF -f <(printf '%s\n' "$keep") || true; } |
    while IFS= read -r f; do rm -f "$dir/debs/$f"; done
  # Older chroots of the suite (other recipes, or this one when rebuilding) go; the new one takes its place.
  for d in "$dir"/root-*; do
    if [[ -e $d ]]; then remove_dir "$d" || die "$suite: cannot remove the old chroot $d" 3; fi
  done
  mv -T "$BUILD_TMP" "$ROOT"
  BUILD_TMP=
  log "$suite: chroot built in $(since "$started") s: $(chroot "$ROOT" dpkg-query -W -f '${Package} ${Version}, ' bpftrace nodejs linux-perf gcc | sed 's/, $//')"
}

# The test files and node options of the arguments, as the chroot sees them (paths relative to the checkout).
ARGS=()
resolve_args() {
  local repo=$1 a p
  shift
  (($#)) || set -- dist/test/integration
  for a in "$@"; do
    if [[ $a == --* ]]; then ARGS+=("$a"); continue; fi
    if [[ $a == /* ]]; then p=$a
    elif [[ -e $repo/$a || ! -e $a ]]; then p=$repo/$a
    else p=$(readlink -f "$a"); fi
    # test/x/y.test.ts stands for its build, dist/test/x/y.test.js; test/x for dist/test/x.
    if [[ $p == "$repo"/test/*.ts ]]; then p=$repo/dist/${p#"$repo"/}; p=${p%.ts}.js
    elif [[ $p == "$repo"/test/* && -d $p ]]; then p=$repo/dist/${p#"$repo"/}; fi
    [[ -e $p ]] || die "no such test file or directory: $a (not in $repo; did the host build run?)"
    p=$(readlink -f "$p")
    [[ $p == "$repo"/* ]] || die "$a is outside the checkout $repo: the chroot sees only the checkout"
    if [[ -d $p ]]; then
      local f found=0
      while IFS= read -r f; do ARGS+=("${f#"$repo"/}"); found=1; done < <(find "$p" -name '*.test.js' -type f | sort)
      ((found)) || die "no *.test.js under $a"
    else
      ARGS+=("${p#"$repo"/}")
    fi
  done
}

host_main() {
  local suite=${1:-}
  [[ $suite == -h || $suite == --help ]] && { sed -n '2,/^set -euo/p' "$SELF" | sed '$d; s/^# \{0,1\}//'; exit 0; }
  [[ -n $suite ]] || die "usage: $0 SUITE [--NODE_TEST_OPTION...] [TEST_DIR_OR_FILE...]   (SUITE: ${SUITES[*]}; --help)"
  shift
  [[ " ${SUITES[*]} " == *" $suite "* ]] || die "unknown suite '$suite' (known: ${SUITES[*]})"
  (($(id -u) == 0)) || die 'run as root (debootstrap, chroot, mounts and bpftrace need it)'
  local tool
  for tool in debootstrap unshare chroot flock findmnt mountpoint; do
    command -v "$tool" >/dev/null || die "$tool is missing on the host (apt-get install -y debootstrap util-linux)"
  done
  local repo
  repo=$(cd "$(dirname "$SELF")/../.." && pwd -P)
  [[ -f $repo/dist/src/cli/main.js && -d $repo/node_modules ]] ||
    die "no build in $repo: run 'npm ci && npm run build' on the host first (dist/src/cli/main.js, node_modules)"
  resolve_args "$repo" "$@"

  trap host_cleanup EXIT
  trap 'log "$suite: interrupted (SIGINT)"; exit 130' INT
  trap 'log "$suite: terminated (SIGTERM)"; exit 143' TERM
  local started=$EPOCHREALTIME
  mkdir -p "$CACHE/$suite"
  exec {lock}>"$CACHE/$suite/lock"
  if ! flock -n "$lock"; then
    log "$suite: waiting for another run of this suite (lock $CACHE/$suite/lock)"
    flock "$lock"
  fi
  ensure_chroot "$suite"
  local prepared
  prepared=$(since "$started")
  log "$suite: chroot ready in $prepared s"

  # Mounted on the host, so that they are in the rbind of /sys (the tests that run bpftrace or perf directly need them).
  mountpoint -q /sys/kernel/tracing || mount -t tracefs tracefs /sys/kernel/tracing
  mountpoint -q /sys/kernel/debug || mount -t debugfs debugfs /sys/kernel/debug

  local rc=0 tests_started=$EPOCHREALTIME
  # The lock is not passed on: a process the tests leave behind must not hold it.
  CHROOT_ROOT=$ROOT CHROOT_SUITE=$suite CHROOT_REPO=$repo \
    unshare --mount --propagation private -- bash "$SELF" --run-chroot "${ARGS[@]}" {lock}>&- || rc=$?
  log "$suite: tests ran in $(since "$tests_started") s (chroot ready in $prepared s), exit code $rc"
  # The mounts were in the namespace; none may show on the host.
  if findmnt -rn -o TARGET | awk -v d="$ROOT" 'index($0, d "/") == 1 { found = 1 } END { exit !found }'; then
    log "$suite: warning: mounts under $ROOT on the host:"
    findmnt -rn -o TARGET | grep -F "$ROOT/" >&2 || true
  fi
  return "$rc"
}

# Run role (in its own mount namespace) ---------------------------------------------------------------------------

MOUNTED=()
ROOT=
# Processes whose root is the chroot: everything the tests started and left behind.
chroot_pids() {
  local p
  for p in /proc/[0-9]*; do
    if [[ $p/root -ef $ROOT ]]; then printf '%s\n' "${p#/proc/}"; fi
  done
  return 0
}

run_cleanup() {
  local rc=$? pids p i
  trap - EXIT INT TERM
  pids=$(chroot_pids)
  if [[ -n $pids ]]; then
    log "processes left in the chroot, killed:"
    for p in $pids; do log "  $p $(tr '\0' ' ' <"/proc/$p/cmdline" 2>/dev/null | cut -c1-160)"; done
    # shellcheck disable=SC2086
    kill -TERM $pids 2>/dev/null || true
    for ((i = 0; i < 50; i++)); do
      [[ -z $(chroot_pids) ]] && break
      sleep 0.1
    done
    pids=$(chroot_pids)
    # shellcheck disable=SC2086
    [[ -z $pids ]] || kill -KILL $pids 2>/dev/null || true
  fi
  for ((i = ${#MOUNTED[@]} - 1; i >= 0; i--)); do
    umount -R "${MOUNTED[i]}" 2>/dev/null || umount -R -l "${MOUNTED[i]}" || log "warning: cannot unmount ${MOUNTED[i]}"
  done
  if findmnt -rn -o TARGET | grep -qF "$ROOT/"; then
    log 'warning: still mounted in the namespace (gone with it):'
    findmnt -rn -o TARGET | grep -F "$ROOT/" >&2 || true
  fi
  exit "$rc"
}

mount_in() {
  local target=${*: -1}
  mount "$@"
  MOUNTED+=("$target")
}

run_main() {
  ROOT=$CHROOT_ROOT
  local suite=$CHROOT_SUITE repo=$CHROOT_REPO
  trap run_cleanup EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM
  chroot_mounts "$ROOT" "$repo" mount_in

  local env=(PATH="$SANE_PATH" HOME=/root LANG=C.UTF-8 TERM="${TERM:-dumb}")
  local v
  while IFS= read -r v; do env+=("$v=${!v}"); done < <(compgen -e | grep '^EBPFMON_' || true)
  env+=(CI=true EBPFMON_REQUIRE_KERNEL=1 EBPFMON_BPFTRACE_SUITE="$suite")
  local in_chroot=(chroot "$ROOT" /usr/bin/env -i "${env[@]}")

  local node_version bpftrace_version
  node_version=$("${in_chroot[@]}" node --version 2>&1) || die "$suite: node does not run in the chroot: $node_version"
  bpftrace_version=$("${in_chroot[@]}" bpftrace --version 2>&1) || die "$suite: bpftrace does not run in the chroot: $bpftrace_version"
  # engines.node in package.json: >= 20.5.0.
  local major minor
  IFS=. read -r major minor _ <<<"${node_version#v}"
  if ((major < 20 || (major == 20 && minor < 5))); then
    die "$suite: the chroot's node is $node_version; ebpfmon needs node >= 20.5.0 (package.json engines)"
  fi
  # A test file whose failed test leaves a child holding its event loop (a pipe, a timer) would keep the run waiting
  # forever: with --test-force-exit (node >= 20.14) the file ends with its last test, and the child is killed below
  # (and named). The timeout is the last resort.
  local node_args=(--test --test-reporter=tap --test-concurrency=1)
  if ((major > 20 || minor >= 14)); then node_args+=(--test-force-exit); fi
  echo "# ebpfmon integration tests in a Debian $suite chroot: $bpftrace_version, node $node_version, Linux $(uname -r)"
  local rc=0 limit=${EBPFMON_CI_TIMEOUT:-3600} started=$SECONDS
  local timeout=(timeout --foreground -k 30 "$limit")
  ((limit > 0)) || timeout=()
  "${timeout[@]}" "${in_chroot[@]}" /bin/sh -c 'cd "$1" && shift && exec node "$@"' sh "$repo" "${node_args[@]}" "$@" || rc=$?
  if ((limit > 0 && SECONDS - started >= limit)); then
    log "$suite: the tests did not end within $limit s (EBPFMON_CI_TIMEOUT): stopped"
    rc=124
  fi
  return "$rc"
}

# One compound command, read whole before it runs: editing this file during a run cannot change the run.
{
  case ${1:-} in
    --build-chroot) build_main "$2" "$3" "$4" ;;
    --run-chroot) shift; run_main "$@" ;;
    *) host_main "$@" ;;
  esac
  exit
}
