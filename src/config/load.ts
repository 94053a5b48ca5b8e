// Read and validate the config: YAML text -> unknown -> Config, or a ConfigError listing the problems.
import { open, type FileHandle } from 'node:fs/promises';
import { constants, existsSync, type Stats } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { isScalar, LineCounter, parseDocument, visit, YAMLParseError } from 'yaml';
import { configSchema, type Config } from './schema.js';
import { formatIssues } from './format-issues.js';
import { ConfigError, errnoOf, UsageError } from '../errors.js';
import { findMonitor, monitorNames } from '../monitors/registry.js';

/** The documented default shipped with the package, used when no -c is given and /etc has none. */
export const packagedConfig = fileURLToPath(new URL('../../../config/monitor_config.yaml', import.meta.url));
export const systemConfig = '/etc/ebpfmon/monitor_config.yaml';

/** A config is a few kilobytes; anything near this is a mistake (a log, a device), not a config. */
export const maxConfigBytes = 1 << 20;

export function defaultConfigPath(): string {
  return existsSync(systemConfig) ? systemConfig : packagedConfig;
}

/** The first key that appears twice in one mapping, with both lines. yaml's own `uniqueKeys` check compares
 * every key with every earlier one: quadratic, 6 s for 40,000 keys. This one keeps a set per mapping. */
function duplicateKey(doc: ReturnType<typeof parseDocument>, lines: LineCounter): string | null {
  let found: string | null = null;
  visit(doc, {
    Map(_, map) {
      const seen = new Map<string, number>();
      for (const pair of map.items) {
        if (!isScalar(pair.key)) continue;
        const key = String(pair.key.value);
        const at = pair.key.range ? lines.linePos(pair.key.range[0]).line : 0;
        const first = seen.get(key);
        if (first !== undefined) {
          found = `line ${at}: duplicate key "${key.length > 40 ? key.slice(0, 37) + '...' : key}" (first on line ${first})`;
          return visit.BREAK;
        }
        seen.set(key, at);
      }
      return undefined;
    },
  });
  return found;
}

export function parseConfig(text: string, file: string): Config {
  let data: unknown;
  try {
    const lineCounter = new LineCounter();
    const doc = parseDocument(text, { prettyErrors: true, uniqueKeys: false, lineCounter });
    const [first] = doc.errors;
    if (first) throw first;
    const dup = duplicateKey(doc, lineCounter);
    if (dup) throw new ConfigError(file, [dup]);
    data = doc.toJS();
  } catch (e) {
    if (e instanceof ConfigError) throw e;
    const where = e instanceof YAMLParseError && e.linePos ? `line ${e.linePos[0].line}` : 'yaml';
    const first = e instanceof Error ? (e.message.split('\n')[0] ?? '') : String(e);
    // yaml's recursive parser runs out of stack on a value nested thousands of levels deep.
    const msg = first.startsWith('Maximum call stack size exceeded') ? 'values nested too deeply' : first;
    throw new ConfigError(file, [`${where}: ${msg}`]);
  }
  const result = configSchema.safeParse(data ?? {}, { reportInput: true });
  if (!result.success) throw new ConfigError(file, formatIssues(result.error.issues, configSchema));
  return result.data;
}

const openErrors: Record<string, string> = {
  ENOENT: 'no such file',
  EACCES: 'permission denied',
  EPERM: 'permission denied',
  ENOTDIR: 'a part of the path is not a directory',
  ELOOP: 'too many levels of symbolic links',
  ENXIO: 'not a regular file (a socket, or a device with no driver)',
  ENAMETOOLONG: 'the path is too long',
};

function kindOf(st: Stats): string {
  if (st.isDirectory()) return 'a directory';
  if (st.isFIFO()) return 'a FIFO';
  if (st.isCharacterDevice()) return 'a character device';
  if (st.isBlockDevice()) return 'a block device';
  if (st.isSocket()) return 'a socket';
  return 'not a plain file';
}

const mib = (n: number): string => `${Number.isInteger(n / (1 << 20)) ? n / (1 << 20) : (n / (1 << 20)).toFixed(1)} MiB`;

/**
 * The text of a config file, refusing what cannot be one before reading it: a FIFO (reading would wait for a
 * writer), a device such as /dev/zero (endless), a directory, or a file over maxConfigBytes. The file is opened
 * non-blocking (a FIFO opens at once) and checked with fstat on that descriptor, so nothing is swapped between.
 */
async function readConfigText(file: string): Promise<string> {
  if (file === '') throw new UsageError('cannot read config file: the path is empty');
  let fh: FileHandle;
  try {
    fh = await open(file, constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOCTTY);
  } catch (e) {
    const code = errnoOf(e) ?? '';
    throw new UsageError(`cannot read config file ${file}: ${openErrors[code] ?? (code || String(e))}`);
  }
  try {
    const st = await fh.stat();
    if (!st.isFile()) throw new UsageError(`cannot read config file ${file}: not a regular file (${kindOf(st)})`);
    const tooLarge = (size: string): UsageError => new UsageError(`config file ${file} is too large (${size}; the limit is ${mib(maxConfigBytes)})`);
    if (st.size > maxConfigBytes) throw tooLarge(mib(st.size));
    // The file may grow after fstat: read at most one byte more than the limit.
    const buf = Buffer.alloc(maxConfigBytes + 1);
    let n = 0;
    for (;;) {
      const { bytesRead } = await fh.read(buf, n, buf.length - n, n);
      if (bytesRead === 0) break;
      n += bytesRead;
      if (n > maxConfigBytes) throw tooLarge(`more than ${mib(maxConfigBytes)}`);
    }
    return buf.toString('utf8', 0, n);
  } catch (e) {
    if (e instanceof UsageError) throw e;
    const code = errnoOf(e) ?? '';
    throw new UsageError(`cannot read config file ${file}: ${openErrors[code] ?? (code || String(e))}`);
  } finally {
    await fh.close();
  }
}

export async function loadConfig(file: string): Promise<Config> {
  return parseConfig(await readConfigText(file), file);
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
