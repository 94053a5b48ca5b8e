#!/usr/bin/env -S node --max-semi-space-size=2
// V8's young generation is 2 MB per semi-space here (default 16): measured with the seven monitors at defaults
// (docs/performance.md, "Memory and start-up"), supervisor RSS 20 s after attaching 98-101 -> 82-84 MB; CPU of the 1M-record replay
// (throughput bench, one run each on a loaded host) 8.7 -> 9.4 s (1 MB: 10.2 s). Flags must be given at start
// (v8.setFlagsFromString after start does not resize the heap: measured); `env -S` is coreutils >= 8.30. The
// daemon child inherits them (process.execArgv); setup.sh passes them itself. The shebang is the one way the flags
// reach node: the systemd unit's ExecStart and the image's ENTRYPOINT run this file, so neither sets NODE_OPTIONS.
// No other V8 flag earns its place (scripts/bench/memory.ts, arms against these flags, 35 s idle, within +-2 MB):
// --max-semi-space-size=1, --optimize-for-size, --v8-pool-size=1. Nor --max-old-space-size: idle old space is 12 MB,
// but at the default map sizes a flood of opens (`memory.js --flood`: every open shard full, 16-28k rows a 2-s
// interval) took the supervisor to 355-515 MB RSS in 20-60 s, and under a 128 MB bound it died ('Reached heap
// limit'); a bound that survives the worst case would not stop a leak sooner than V8's own limit does.
// The entry point: loads the command line (program.ts) and runs it. Node's module loader opens every file of an
// import graph at once, and ebpfmon's is about 450 files (zod, yaml and pino the most): under `ulimit -n 128`
// the loader ran out of descriptors (EMFILE) and Node printed a stack trace before any of ebpfmon ran. So the large
// packages are loaded one at a time first (each alone fits), then the rest; should loading fail anyway, one line.
// `start` asks `bpftrace --version` first, while the modules load (~0.25 s, the question ~0.1 s of a ~1.2 s start to
// attached): the config's runtime.bpftrace is not known yet, so its default is asked, and detection asks again if the
// config names another (src/plan/capabilities.ts startVersionProbe). Not for help, nor for the daemon's parent, which
// detects nothing (its child, which has the IPC channel, does).
export {};

const args = process.argv.slice(2);
const detects = args[0] === 'start' && !args.some((a) => a === '-h' || a === '--help') && (!args.includes('--daemon') || typeof process.send === 'function');

try {
  const versionProbe = detects ? (await import('../plan/capabilities.js')).startVersionProbe('bpftrace') : undefined;
  for (const pkg of ['zod', 'yaml', 'pino']) await import(pkg);
  const { run } = await import('./program.js');
  run(versionProbe);
} catch (e) {
  const err = e as NodeJS.ErrnoException;
  const why = err.code === 'EMFILE' ? 'too many open files: raise the limit (ulimit -n 1024)' : err.message;
  process.stderr.write(`ebpfmon: cannot load its modules: ${why}\n`);
  process.exitCode = 1;
}
