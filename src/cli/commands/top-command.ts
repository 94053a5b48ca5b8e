// The `top` command's options and help, for program.ts to add; the view itself (top.ts, src/top/) is loaded only
// when top runs.
import { Command, InvalidArgumentError, Option } from 'commander';
import { logLevels, type Logger } from '../../log.js';
import { sortKeys } from '../../top/sort-keys.js';
import { secondsOption } from '../options.js';
import type { TopOptions } from './top.js';

const positive = (what: string, integer: boolean) => (v: string): number => {
  const n = Number(v);
  if (!Number.isFinite(n) || n <= 0 || (integer && !Number.isInteger(n))) throw new InvalidArgumentError(`expected a positive ${what}`);
  return n;
};

/** The `top` command, for program.ts to add. */
export function topCommand(state: { log?: Logger }): Command {
  return new Command('top')
    .description('a live view of the busiest processes across the monitors (syscalls, opens, faults, switches, block I/O), with coverage and cost; no output files')
    .option('-c, --config <file>', 'config file (default: /etc/ebpfmon/monitor_config.yaml if present, else the packaged default)', (v: string) => {
      // "" (an unset shell variable) would mean the current directory: refused, as `start` does.
      if (v === '') throw new InvalidArgumentError('expected a config file path, not an empty string');
      return v;
    })
    .option('-m, --monitors <list>', 'comma-separated monitors to run, replacing the ones the config enables')
    .addOption(new Option('-s, --sort <key>', 'sort by this at start (keys s e o f c b)').choices(sortKeys).default('syscalls'))
    .option('--filter <text>', 'show only processes whose comm contains this at start (key /)')
    .option('-n, --lines <n>', 'processes per snapshot when stdout is not a terminal', positive('integer', true), 5)
    .option('-d, --duration <seconds>', 'stop after this many seconds (counted from when the probes are attached; any length)', secondsOption())
    .addOption(new Option('--log-level <level>', 'log level (default warn; on a terminal, shown in the view and printed at exit)').choices(logLevels))
    .addHelpText('after', `
Keys: s syscalls/s, e errors/s, o opens/s, f faults/s, c switches/s, b block I/O (reads+writes): sort.
  / filter by comm (Enter keeps it, Esc clears it).  q or Ctrl-C: quit (bpftrace stops, nothing stays attached).

Examples:
  sudo ebpfmon top                           the live view (runs beside a daemon: its own bpftrace, no files)
  sudo ebpfmon top --sort faults --filter postgres
  sudo ebpfmon top | head -20                plain snapshots, a few lines per interval, when stdout is a pipe
  sudo ebpfmon top -m syscall,open -n 10 --duration 30 > top.txt`)
    .action(async (o: TopOptions) => {
      const { runTop } = await import('./top.js');
      await runTop(o, { setLog: (l) => (state.log = l) });
    });
}
