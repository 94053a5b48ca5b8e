// The `top` command's options and help, for program.ts to add; the view itself (top.ts, src/top/) is loaded only
// when top runs.
import { Command, InvalidArgumentError, Option } from 'commander';
import { logLevels, type Logger } from '../../log.js';
import { sortKeys } from '../../top/sort-keys.js';
import { commOption, pidOption, secondsOption } from '../options.js';
import type { TopOptions } from './top.js';

/** --delay: seconds, as `watch -n` and `top -d` take them (htop's -d counts tenths; ours is --duration). */
function delayOption(v: string): number {
  const n = Number(v);
  if (v.trim() === '' || !Number.isFinite(n) || n < 0.1 || n > 60) throw new InvalidArgumentError('expected seconds between 0.1 and 60 (e.g. 0.5, 2)');
  return n;
}

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
    .addOption(new Option('-s, --sort <key>', 'sort by this at start (keys P M T s e o f c b)').choices(sortKeys).default('syscalls'))
    .option('-p, --pid <pid>', 'count only this process and its threads, in the kernel (repeat it or give a comma list)', pidOption)
    .option('--comm <name>', 'count only threads of this name, in the kernel', commOption)
    .option('--filter <text>', 'show only processes whose comm contains this at start (key /)')
    .option('-n, --lines <n>', 'processes per snapshot when stdout is not a terminal', positive('integer', true), 5)
    .option('-d, --duration <seconds>', "stop after this many seconds (counted from when the probes are attached; any length). Not htop's -d: the refresh is --delay", secondsOption())
    .option('--delay <seconds>', 'seconds between refreshes, 0.1 to 60 (htop -d 15 is --delay 1.5; default: the shortest monitor interval, at most 2; keys + -)', delayOption)
    .addOption(new Option('--log-level <level>', 'log level (default warn; on a terminal, shown in the view and printed at exit)').choices(logLevels))
    .addHelpText('after', `
Keys (F1, ? or h in the view lists them): P CPU%, M memory, T CPU time, s syscalls/s, e errors/s, o opens/s,
  f faults/s, c switches/s, b block I/O: sort. F6 or > < the next/previous column, I inverts the sort.
  Up/Down, PgUp/PgDn, Home/End scroll. + - refresh less/more often. / filter by comm (Enter keeps it, Esc clears it).
  q or Ctrl-C: quit (bpftrace stops, nothing stays attached).
-d is --duration here, as in \`ebpfmon start\`; htop's -d (the delay, in tenths of a second) is --delay, in seconds.

Examples:
  sudo ebpfmon top                           the live view (runs beside a daemon: its own bpftrace, no files)
  sudo ebpfmon top --sort faults --filter postgres
  sudo ebpfmon top --delay 0.5                refresh twice a second (CPU% and the clock; rates move per interval)
  sudo ebpfmon top | head -20                plain snapshots, a few lines per interval, when stdout is a pipe
  sudo ebpfmon top -m syscall,open -n 10 --duration 30 > top.txt`)
    .action(async (o: TopOptions) => {
      const { runTop } = await import('./top.js');
      await runTop(o, { setLog: (l) => (state.log = l) });
    });
}
