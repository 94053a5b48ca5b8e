#!/usr/bin/env bash
# Set up ebpfmon on a fresh Debian/Ubuntu machine, then run it or its tests.
#   sudo ./scripts/setup.sh start [start options]   install, build, then `ebpfmon start` (Ctrl-C stops it)
#   sudo ./scripts/setup.sh test                    install, build, then the whole test suite (kernel tests required)
#   sudo ./scripts/setup.sh                         install and build only
# Installs what is missing, each tool checked by itself (bpftrace, linux-perf, a C compiler, util-linux, nodejs, npm;
# for the tests also prometheus, systemd, tmux, debootstrap, qemu-system-x86, zstd); npm dependencies; the build.
# Refuses a Node.js below package.json's engines.
set -euo pipefail
cd "$(dirname "$0")/.."

if [[ $(id -u) -ne 0 ]]; then
  echo "setup.sh: run as root (sudo ./scripts/setup.sh $*): bpftrace needs it, and so does apt-get" >&2
  exit 3
fi

export DEBIAN_FRONTEND=noninteractive
check_node() {
  command -v node >/dev/null || return 0
  local required have
  required=$(sed -n 's/.*"node": *">=\([0-9.]*\)".*/\1/p' package.json)
  have=$(node -p 'process.versions.node')
  if [[ $(printf '%s\n%s\n' "$required" "$have" | sort -V | head -1) != "$required" ]]; then
    echo "setup.sh: Node.js $have is below the $required ebpfmon needs (package.json engines). Debian 13 and Ubuntu 24.04 ship Node 20; on Debian 12 (Node 18) install Node 20 or later from NodeSource's Debian packages or with nvm, then run this again." >&2
    exit 3
  fi
}
check_node
# Each tool it needs, checked by itself: the Debian package that brings it, and why.
need=()
want() { # command package why
  if ! command -v "$1" >/dev/null; then
    need+=("$2")
    echo "setup: $1 is missing: installing $2 ($3)" >&2
  fi
}
want bpftrace bpftrace "runs the generated scripts"
want perf linux-perf "perf stat: the kernel's own counts the accuracy tests and check --cost compare with"
want cc gcc "builds the C workloads of the tests and benches"
[[ -e /usr/include/stdio.h ]] || need+=(libc6-dev)
want setpriv util-linux "bpftrace is started through setpriv --pdeathsig: it dies with ebpfmon"
want node nodejs "runs ebpfmon"
want npm npm "installs ebpfmon's dependencies (Debian packages it apart from nodejs)"
if [[ ${1:-} == test ]]; then
  want promtool prometheus "promtool lints the exporter's output in the tests"
  want systemd-analyze systemd "systemd-analyze verifies config/ebpfmon.service in the tests (no running systemd needed)"
  want tmux tmux "runs ebpfmon top in a terminal the tests type into"
  want debootstrap debootstrap "builds the Debian 13 and sid systems whose bpftrace versions the tests also run"
  want qemu-system-x86_64 qemu-system-x86 "boots Debian kernels that have kprobes (func, exec's kprobe variant)"
  want zstd zstd "compresses the kernels' initramfs"
  want groff groff-base "renders the man page docs/ebpfmon.8 in the tests"
  want zsh zsh "checks the zsh completion docs/completion/_ebpfmon in the tests"
fi
if ((${#need[@]})); then
  apt-get update -qq
  apt-get install -y -qq "${need[@]}" >/dev/null
fi

# A Node.js below package.json's engines is refused (before installing anything when one is there already).
check_node
# ebpfmon mounts tracefs/debugfs itself when they are missing; tests that call bpftrace or perf directly need them too.
mountpoint -q /sys/kernel/debug || mount -t debugfs debugfs /sys/kernel/debug 2>/dev/null || true
mountpoint -q /sys/kernel/tracing || mount -t tracefs tracefs /sys/kernel/tracing 2>/dev/null || true

echo "setup: $(bpftrace --version), node $(node --version)" >&2
npm ci --no-audit --no-fund --loglevel=error
npm run build --silent

case "${1:-}" in
  start)
    shift
    exec node --max-semi-space-size=2 dist/src/cli/main.js start "$@"
    ;;
  test)
    export EBPFMON_REQUIRE_KERNEL=1
    npm run lint --silent
    # On this machine's bpftrace, then on Debian 13's and sid's (chroots on this kernel), then func and exec's
    # kprobe variant on Debian kernels that have kprobes (QEMU), then `setup.sh start` on fresh Debian 12 and 13.
    # EBPFMON_TEST_HOST_ONLY=1: this machine's only.
    failed=()
    npm test --silent || failed+=("bpftrace $(bpftrace --version | grep -o '[0-9.]*' | head -1) (this machine)")
    if [[ ${EBPFMON_TEST_HOST_ONLY:-0} != 1 ]]; then
      for suite in trixie sid; do
        bash scripts/ci/chroot-tests.sh "$suite" || failed+=("$suite chroot")
      done
      bash scripts/ci/kprobe-kernels.sh || failed+=("kprobe kernels (QEMU)")
      # The first command of the README on fresh minimal Debian 12 and 13 systems (from a clone of HEAD).
      for suite in bookworm trixie; do
        bash scripts/ci/fresh-setup.sh "$suite" || failed+=("fresh $suite: setup.sh start")
      done
    fi
    if ((${#failed[@]})); then
      echo "setup: tests failed on: ${failed[*]}" >&2
      exit 1
    fi
    echo "setup: every suite passed" >&2
    ;;
  "")
    echo "setup: done. Run: sudo node dist/src/cli/main.js start   (or npm link, then: sudo ebpfmon start)" >&2
    ;;
  *)
    echo "setup.sh: unknown command '$1' (expected start, test or nothing)" >&2
    exit 2
    ;;
esac
