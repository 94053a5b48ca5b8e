// `ebpfmon run [options] -- CMD ARGS...`: the command line side of src/session/run-command.ts (logger, signals).
import type { LevelWithSilent } from 'pino';
import { openLog, type Logger } from '../../log.js';
import { defaultConfigPath, loadConfig } from '../../config/load.js';
import { UsageError } from '../../errors.js';
import { runCommand, type RunOptions, type RunResult } from '../../session/run-command.js';

export interface RunCommandOptions extends RunOptions {
  logLevel?: LevelWithSilent;
}

export async function runAction(command: readonly string[], o: RunCommandOptions, setLog: (l: Logger) => void): Promise<RunResult> {
  if (!command.length) throw new UsageError('run: no command given: ebpfmon run [options] -- CMD [ARGS...]');
  const config = await loadConfig(o.config ?? defaultConfigPath());
  // Logs go to stderr (or logging.file) as for start; the command keeps stdout and the terminal.
  const { log } = openLog({ level: o.logLevel ?? (config.app.debug ? 'debug' : config.logging.level), file: config.logging.file ?? undefined });
  setLog(log);
  return runCommand(command, o, { log, signals: { on: (sig, cb) => process.on(sig, cb) } });
}
