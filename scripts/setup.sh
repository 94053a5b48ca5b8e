#!/usr/bin/env bash
# Set up ebpfmon on a fresh Debian/Ubuntu machine, then run it or its tests.
#   sudo ./scripts/setup.sh start [start options]   install, build, then `ebpfmon start` (Ctrl-C stops it)
#   sudo ./scripts/setup.sh test                    install, build, then the whole test suite (kernel tests required)
#   sudo ./scripts/setup.sh                         install and build only
# Installs: bpftrace, linux-perf, a C compiler (test workloads) and util-linux from apt (and, for the tests, prometheus
# for promtool, systemd for systemd-analyze and tmux for driving `ebpfmon top`); npm dependencies; the build.
set -euo pipefail
cd "$(dirname "$0")/.."

if [[ $(id -u) -ne 0 ]]; then
  echo "setup.sh: run as root (sudo ./scripts/setup.sh $*): bpftrace needs it, and so does apt-get" >&2
  exit 3
fi

export DEBIAN_FRONTEND=noninteractive
need=()
command -v bpftrace >/dev/null || need+=(bpftrace)
command -v perf >/dev/null || need+=(linux-perf)
command -v cc >/dev/null || need+=(gcc libc6-dev)
command -v setpriv >/dev/null || need+=(util-linux)
command -v node >/dev/null || need+=(nodejs npm)
# promtool (Debian's prometheus package) lints the exporter's output in the tests; systemd-analyze (Debian's systemd
# package; no running systemd needed) verifies config/ebpfmon.service in the unit tests.
if [[ ${1:-} == test ]] && ! command -v promtool >/dev/null; then need+=(prometheus); fi
if [[ ${1:-} == test ]] && ! command -v systemd-analyze >/dev/null; then need+=(systemd); fi
# tmux runs `ebpfmon top` in a terminal the tests can type into and read.
if [[ ${1:-} == test ]] && ! command -v tmux >/dev/null; then need+=(tmux); fi
if ((${#need[@]})); then
  echo "setup: installing ${need[*]} with apt-get" >&2
  apt-get update -qq
  apt-get install -y -qq "${need[@]}" >/dev/null
fi

# ebpfmon mounts tracefs/debugfs itself when they are missing; tests that call bpftrace or perf directly need them too.
mountpoint -q /sys/kernel/debug || mount -t debugfs debugfs /sys/kernel/debug 2>/dev/null || true
mountpoint -q /sys/kernel/tracing || mount -t tracefs tracefs /sys/kernel/tracing 2>/dev/null || true

echo "setup: $(bpftrace --version), node $(node --version)" >&2
npm ci --no-audit --no-fund --loglevel=error
npm run build --silent

case "${1:-}" in
  start)
    shift
    exec node dist/src/cli/main.js start "$@"
    ;;
  test)
    export EBPFMON_REQUIRE_KERNEL=1
    npm run lint --silent
    exec npm test --silent
    ;;
  "")
    echo "setup: done. Run: sudo node dist/src/cli/main.js start   (or npm link, then: sudo ebpfmon start)" >&2
    ;;
  *)
    echo "setup.sh: unknown command '$1' (expected start, test or nothing)" >&2
    exit 2
    ;;
esac
