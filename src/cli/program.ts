// The command line (loaded by main.ts, the entry point): builds it, runs one command, and is the only place that
// prints errors and sets the exit code. Commands return values or throw typed errors; nothing below calls process.exit.
// V8's young generation: see main.ts.
// Each command's code is loaded by its action (import()), not here: `start` should not carry the analyzer, the
// forecast, the top view or prom-client (measured in docs: every module costs resident memory for the whole run).
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { logLevels, type Logger } from '../log.js';
import { describe, Exit, isUserError } from '../errors.js';
import { version } from '../version.js';
import type { CheckOptions } from './commands/check.js';
import type { VersionProbe } from '../plan/capabilities.js';
import { calibrationFile } from '../forecast/calibration-file.js';
import type { StartCommandOptions } from './commands/start-action.js';
import { topCommand } from './commands/top-command.js';
import { defaultPidFile } from '../daemon/pid-file.js';
import type { AnalyzeCommandOptions } from './commands/analyze.js';
import { analyzeFormats, commOption, defaultDaemonLog, defaultForecastSeconds, maxTimerSeconds, pidOption, secondsOption } from './options.js';
import type { RunCommandOptions } from './commands/run.js';

/** --duration is waited in chunks (src/timers.ts): any length. */
const positiveSeconds = secondsOption();
/** A wait of one timer: at most 24.8 days. */
const timerSeconds = secondsOption({ max: maxTimerSeconds });

/** A path option given as "" (an unset shell variable) would mean the current directory: refused. */
const nonEmptyPath = (what: string) => (v: string): string => {
  if (v === '') throw new InvalidArgumentError(`expected ${what}, not an empty string`);
  return v;
};

function out(text: string): void {
  process.stdout.write(text.endsWith('\n') ? text : text + '\n');
}

/** `versionProbe`: `bpftrace --version` main.ts started for `start` (src/plan/capabilities.ts startVersionProbe). */
export function buildProgram(state: { log?: Logger }, versionProbe?: VersionProbe): Command {
  const program = new Command('ebpfmon')
    // `run`'s options stop at its command: `ebpfmon run ls -l` gives -l to ls.
    .enablePositionalOptions()
    .description('Linux system monitoring with eBPF: generates bpftrace scripts from a YAML config, runs and supervises bpftrace, and writes what it sees to one CSV file per monitor.')
    .version(version, '-V, --version', 'print the version')
    .showHelpAfterError('(run with --help for usage)')
    .addHelpText('after', `
Examples:
  sudo ebpfmon check                      what this machine can run
  sudo ebpfmon start -m exec,syscall      run two monitors until Ctrl-C
  sudo ebpfmon generate --out scripts/    write the bpftrace scripts start would run
  ebpfmon list                            the monitors and their probes

Exit codes: 0 ok, 1 runtime failure, 2 bad usage or config, 3 this machine cannot run it.`);

  program
    .command('start')
    .description('run the enabled monitors in the foreground until Ctrl-C, SIGTERM or --duration')
    .option('-c, --config <file>', `config file (default: /etc/ebpfmon/monitor_config.yaml if present, else the packaged default). -c is the config, as for daemons; bpftrace's -c runs a command: here that is \`ebpfmon run -- CMD\``, nonEmptyPath('a config file path'))
    .option('-m, --monitors <list>', 'comma-separated monitors to run, replacing the ones the config enables')
    .option('-p, --pid <pid>', 'count only this process and its threads, filtered in the kernel (repeat it or give a comma list); stops when every one has exited', pidOption)
    .option('--comm <name>', 'count only threads of this name, in every per-process monitor (interrupt still counts the whole host)', commOption)
    .option('-d, --duration <seconds>', 'stop after this many seconds (counted from when the probes are attached)', positiveSeconds)
    .option('-o, --output-dir <dir>', 'directory for the CSV files (default: output.directory of the config)', nonEmptyPath('a directory path'))
    .option('--console', 'also print rows on stdout (default when a single monitor runs)')
    .option('--scripts <path>', 'run these operator-edited scripts (a directory of .bt files written by generate --out, or one file) instead of generating', nonEmptyPath('a directory or a .bt file'))
    .option('--prometheus <host:port>', 'serve Prometheus metrics there (default from output.prometheus; loopback unless you say otherwise)')
    .option('--web.config.file <path>', "TLS and basic auth for the exporter, in Prometheus exporter-toolkit's format (default: output.prometheus.web_config_file)", nonEmptyPath('a web config file path'))
    .option('--daemon', `detach and run in the background; logs go to logging.file (default ${defaultDaemonLog})`)
    .option('--pid-file <file>', `pid file; the status file sits next to it (default with --daemon: ${defaultPidFile})`, nonEmptyPath('a pid file path'))
    .addOption(new Option('--log-level <level>', 'log level (default: logging.level of the config; silent: no log, errors still end in one line on stderr)').choices(logLevels))
    .addHelpText('after', `
Examples:
  sudo ebpfmon start                         monitors enabled in the config, CSV under output.directory
  sudo ebpfmon start -m syscall --duration 60 --output-dir /var/tmp/run1
  sudo ebpfmon start --daemon                background; then: ebpfmon status, ebpfmon stop
  sudo ebpfmon start --scripts /etc/ebpfmon/scripts    run edited copies of generated scripts
  sudo ebpfmon start -m syscall,open -p 1234           only process 1234 (and its threads) until it exits

Signals: SIGINT/SIGTERM stop cleanly (the final interval is written); SIGHUP reloads the config (a bad one
is logged and the running one continues) and reopens the log file.

Filters in the config match in the kernel: a monitor's comm is the name of the thread making the event, exactly
(not the process's name: threads a process named otherwise are left out); open.path_prefix is a literal prefix of
the path as the process passed it, never resolved (a relative path or a symlink is not matched).`)
    .action(async (o: StartCommandOptions & { 'web.config.file'?: string }) => {
      const { startCommand } = await import('./commands/start-action.js');
      const { 'web.config.file': webConfigFile, ...rest } = o;
      const r = await startCommand({ ...rest, ...(webConfigFile ? { webConfigFile } : {}) }, (log) => (state.log = log), versionProbe);
      if (r.stdout) out(r.stdout);
      if (r.stderr) process.stderr.write(`ebpfmon: ${r.stderr}\n`);
      if (r.failed) process.exitCode = Exit.runtime;
    });

  program
    .command('run')
    .description('run a command and count what it and every process it starts do, from its first instruction to its exit; then print a summary (like perf stat / strace -c) and exit with its status')
    .argument('<command...>', 'the command and its arguments (after --)')
    .option('-c, --config <file>', 'config file (-c is the config here too; the command follows --)', nonEmptyPath('a config file path'))
    .option('-m, --monitors <list>', 'comma-separated monitors, replacing the ones the config enables')
    .option('-o, --output-dir <dir>', 'directory for the CSV files (default: output.directory of the config)', nonEmptyPath('a directory path'))
    .option('--comm <name>', 'count only threads of this name among the command\'s processes', commOption)
    .option('--console', 'also print rows on stdout (mixed with the command\'s output)')
    .addOption(new Option('--log-level <level>', 'log level (silent: no log; the summary and errors still go to stderr)').choices(logLevels))
    .passThroughOptions()
    .addHelpText('after', `
Examples:
  sudo ebpfmon run -m syscall,open -- make -j2        syscalls and opens of make and everything it starts
  sudo ebpfmon run -o /var/tmp/run1 -- ./test.sh      every enabled monitor, rows in /var/tmp/run1

The command starts only once every probe is attached, runs as the user ebpfmon runs as (root under sudo, as with
perf stat and strace: ebpfmon does not switch to SUDO_USER), and is followed through fork and exec in the kernel.
Ctrl-C reaches the command (the terminal sends it to its process group); SIGTERM, SIGHUP and SIGQUIT sent to
ebpfmon are passed to it. When it exits, the final interval is written, the summary goes to stderr, and ebpfmon
exits with the command's status (128 + N when signal N killed it). interrupt counts the whole host.`)
    .action(async (command: string[], o: RunCommandOptions) => {
      const { runAction } = await import('./commands/run.js');
      const r = await runAction(command, o, (log) => (state.log = log));
      process.stderr.write(`${r.summary}\n`);
      process.exitCode = r.exitCode;
    });

  program.addCommand(topCommand(state));

  program
    .command('stop')
    .description('stop the ebpfmon daemon: SIGTERM, wait for its final interval and flushed files, SIGKILL after --timeout')
    .option('--pid-file <file>', 'pid file of the daemon', defaultPidFile)
    .option('--timeout <seconds>', `how long to wait before SIGKILL (at most ${maxTimerSeconds})`, timerSeconds, 30)
    .addHelpText('after', `
Examples:
  sudo ebpfmon stop
  sudo ebpfmon stop --pid-file /run/ebpfmon-test.pid --timeout 10

Exit codes: 0 stopped, 1 nothing was running.`)
    .action(async (o: { pidFile: string; timeout: number }) => {
      const { runStop } = await import('./commands/stop.js');
      const r = await runStop(o);
      if (r.outcome === 'not-running') {
        process.stderr.write(`ebpfmon: ${r.message}\n`);
        process.exitCode = Exit.runtime;
      } else if (r.outcome === 'killed') process.stderr.write(`ebpfmon: ${r.message}\n`);
      else out(r.message);
    });

  program
    .command('status')
    .description('whether the daemon runs, since when, and per monitor: state, bpftrace pid and runtime (aot or jit), restarts, rows, lost events, errors, CPU and RSS')
    .option('--pid-file <file>', 'pid file of the daemon', defaultPidFile)
    .option('--json', 'print the status as JSON')
    .addHelpText('after', `
Examples:
  sudo ebpfmon status
  sudo ebpfmon status --json | jq '.status.monitors[] | {monitor, state, rows}'

Exit codes: 0 running, 1 not running.`)
    .action(async (o: { pidFile: string; json?: boolean }) => {
      const { renderStatus, runStatus } = await import('./commands/status.js');
      const r = await runStatus(o);
      out(o.json ? JSON.stringify(r, null, 2) : renderStatus(r));
      if (!r.running) process.exitCode = Exit.runtime;
    });

  program
    .command('generate')
    .alias('dry-run')
    .description('print the bpftrace scripts start would run, or write them to a directory (one .bt per process)')
    .option('-c, --config <file>', 'config file', nonEmptyPath('a config file path'))
    .option('-m, --monitors <list>', 'comma-separated monitors, replacing the ones the config enables')
    .option('--out <dir>', 'write the scripts into this directory instead of printing them')
    .option('--force', 'replace scripts already in --out')
    .option('--no-detect', "don't look at this machine: use every monitor's preferred variant (kprobes included)")
    .option('-p, --pid <pid>', 'the scripts count only this process (repeat it or give a comma list)', pidOption)
    .option('--comm <name>', 'the scripts count only threads of this name', commOption)
    .addHelpText('after', `
Examples:
  sudo ebpfmon generate -m syscall                print the script for the syscall monitor
  sudo ebpfmon generate --out ./scripts           write ebpfmon-main.bt; run it with: bpftrace -f json ./scripts/ebpfmon-main.bt
  ebpfmon generate --no-detect -m exec            the kprobe variant, as on a kernel with kprobes`)
    .action(async (o: { config?: string; monitors?: string; out?: string; force?: boolean; detect: boolean; pid?: number[]; comm?: string }) => {
      const { runGenerate } = await import('./commands/generate.js');
      const r = await runGenerate(o);
      for (const n of r.notes) process.stderr.write(`ebpfmon: ${n}\n`);
      out(r.stdout);
    });

  program
    .command('check')
    .description('report what this machine offers and, per monitor: ready, ready with fallback, or unavailable')
    .option('-c, --config <file>', 'config file (monitor options can change which probes are needed)', nonEmptyPath('a config file path'))
    .option('--json', 'print the report as JSON')
    .option('--cost', `forecast the enabled monitors' in-kernel cost here: event rates measured now (kernel counters, else one count-only bpftrace probe) x ns per event x this host's calibration (cached in ${calibrationFile})`)
    .option('--seconds <seconds>', `with --cost: how long to measure event rates (default ${defaultForecastSeconds}, at most ${maxTimerSeconds})`, timerSeconds)
    .option('--recalibrate', 'with --cost: measure this host\'s calibration again even when one is cached')
    .addHelpText('after', `
Examples:
  sudo ebpfmon check
  sudo ebpfmon check --json | jq '.monitors[] | select(.status == "unavailable")'
  sudo ebpfmon check --cost --seconds 10     what the enabled monitors would cost on this host now`)
    .action(async (o: CheckOptions & { json?: boolean }) => {
      const { renderCheck, runCheck } = await import('./commands/check.js');
      const r = await runCheck(o);
      out(o.json ? JSON.stringify(r, null, 2) : renderCheck(r));
      if (!r.runnable) process.exitCode = Exit.environment;
    });

  program
    .command('analyze')
    .description('report on the CSV files of an output directory: totals, rates, top N per monitor (text, json or html)')
    .argument('[dir]', 'directory holding the CSV files (default: output.directory of the config)')
    .option('-m, --monitor <name>', 'only this monitor')
    .option('--date <YYYY-MM-DD>', 'only rows of this UTC day')
    .option('--since <time>', 'only rows at or after this time (YYYY-MM-DD[THH:MM[:SS]], UTC unless a zone is given)')
    .option('--until <time>', 'only rows before this time')
    .option('--top <n>', 'rows per table (default 10)')
    .addOption(new Option('--format <format>', 'report format').choices(analyzeFormats).default('text'))
    .option('--out <file>', 'write the report to this file instead of stdout')
    .addHelpText('after', `
Examples:
  ebpfmon analyze ebpfmon-output                       every monitor, every row, as text
  ebpfmon analyze /var/tmp/run1 -m syscall --top 20    one monitor, longer tables
  ebpfmon analyze /var/tmp/run1 --date 2026-11-25 --format html --out report.html
  ebpfmon analyze /var/tmp/run1 --since 2026-11-25T08:00 --until 2026-11-25T12:00 --format json`)
    .action(async (dir: string | undefined, o: AnalyzeCommandOptions) => {
      const { runAnalyze } = await import('./commands/analyze.js');
      const r = await runAnalyze(dir, o);
      for (const w of r.warnings) process.stderr.write(`ebpfmon: ${w}\n`);
      if (r.stdout !== null) process.stdout.write(r.stdout);
      if (r.wrote) process.stderr.write(`ebpfmon: wrote ${r.wrote}\n`);
    });

  program
    .command('list')
    .description('list the monitors: name, mode (event or aggregate), probes and description')
    .addHelpText('after', `
Example:
  ebpfmon list`)
    .action(async () => {
      const { listMonitors } = await import('./commands/list.js');
      out(listMonitors());
    });

  return program;
}

export async function main(argv: readonly string[], versionProbe?: VersionProbe): Promise<number> {
  const state: { log?: Logger } = {};
  const program = buildProgram(state, versionProbe);
  program.exitOverride();
  program.configureOutput({ writeErr: (s) => process.stderr.write(s) });
  for (const c of program.commands) c.exitOverride();
  try {
    await program.parseAsync([...argv]);
    return typeof process.exitCode === 'number' ? process.exitCode : Exit.ok;
  } catch (e) {
    if (e instanceof CommanderError) {
      return e.exitCode === 0 || e.code === 'commander.helpDisplayed' || e.code === 'commander.version' ? Exit.ok : Exit.usage;
    }
    if (isUserError(e)) {
      process.stderr.write(`ebpfmon: ${e.message}\n`);
      return e.exitCode;
    }
    state.log?.error({ err: e }, 'unexpected failure');
    process.stderr.write(`ebpfmon: unexpected failure: ${describe(e)}${state.log ? ' (stack trace in the log)' : ''}\n`);
    if (!state.log && process.env['EBPFMON_DEBUG']) process.stderr.write(`${String((e as Error).stack)}\n`);
    return Exit.runtime;
  }
}

/** Runs the command line of this process (main.ts calls it once the program is loaded, with start's early probe). */
export function run(versionProbe?: VersionProbe): void {
  // `ebpfmon list | head`, `ebpfmon status --help | head`: the reader went away. The rest of the output has nowhere
  // to go and is dropped; without a listener Node would die with an unhandled 'error' and a stack trace. (start and
  // top add their own listener that also stops them.)
  process.stdout.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code !== 'EPIPE') process.stderr.write(`ebpfmon: stdout: ${e.message}\n`);
  });

  main(process.argv, versionProbe).then(
    (code) => {
      process.exitCode = code;
      // After a failure nothing should be left running; if something still holds the event loop (a child, a
      // server), leave anyway once stderr had time to flush.
      if (code !== Exit.ok) setTimeout(() => process.exit(code), 3000).unref();
    },
    (e: unknown) => {
      process.stderr.write(`ebpfmon: ${describe(e)}\n`);
      process.exitCode = Exit.runtime;
    },
  );
}
