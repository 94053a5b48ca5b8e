// Read and validate the config: YAML text -> unknown -> Config, or a ConfigError listing every problem.
import { readFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parse as parseYaml, YAMLParseError } from 'yaml';
import { configSchema, type Config } from './schema.js';
import { formatIssues } from './format-issues.js';
import { ConfigError, UsageError } from '../errors.js';
import { findMonitor, monitorNames } from '../monitors/registry.js';

/** The documented default shipped with the package, used when no -c is given and /etc has none. */
export const packagedConfig = fileURLToPath(new URL('../../../config/monitor_config.yaml', import.meta.url));
export const systemConfig = '/etc/ebpfmon/monitor_config.yaml';

export function defaultConfigPath(): string {
  return existsSync(systemConfig) ? systemConfig : packagedConfig;
}

export function parseConfig(text: string, file: string): Config {
  let data: unknown;
  try {
    data = parseYaml(text, { prettyErrors: true, uniqueKeys: true });
  } catch (e) {
    const where = e instanceof YAMLParseError && e.linePos ? `line ${e.linePos[0].line}` : 'yaml';
    const msg = e instanceof Error ? e.message.split('\n')[0] : String(e);
    throw new ConfigError(file, [`${where}: ${msg}`]);
  }
  const result = configSchema.safeParse(data ?? {}, { reportInput: true });
  if (!result.success) throw new ConfigError(file, formatIssues(result.error.issues, configSchema));
  return result.data;
}

export async function loadConfig(file: string): Promise<Config> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new UsageError(`cannot read config file ${file}: ${code === 'ENOENT' ? 'no such file' : String(code ?? e)}`);
  }
  return parseConfig(text, file);
}

/** `--monitors a,b`: validated names, which replace the config's enabled set. */
export function parseMonitorList(list: string): string[] {
  const names = list
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  if (!names.length) throw new UsageError('--monitors: expected a comma-separated list of monitor names');
  for (const n of names) {
    if (!findMonitor(n)) throw new UsageError(`--monitors: unknown monitor "${n}" (known: ${monitorNames().join(', ')})`);
  }
  return [...new Set(names)];
}

/** The monitors to run: `--monitors` when given, else the ones the config enables, in registry order. */
export function selectedMonitors(config: Config, override?: readonly string[]): string[] {
  return monitorNames().filter((n) => (override ? override.includes(n) : config.monitors[n]?.enabled === true));
}
