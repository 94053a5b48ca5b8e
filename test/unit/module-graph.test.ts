// `start` runs for weeks, and every module it loads stays resident (code and source text in V8's heap): its module
// graph must not hold what other commands use (analyzer, forecast, top view, prom-client without --prometheus).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { cliPath, repoRoot } from '../helpers/paths.js';

const execFileP = promisify(execFile);
const preload = pathToFileURL(path.join(repoRoot, 'dist/test/helpers/module-list.js')).href;

/** The module URLs a `node ARGS` run loads. */
async function modulesOf(args: readonly string[]): Promise<string[]> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'ebpfmon-modules-'));
  const list = path.join(dir, 'modules.txt');
  try {
    await execFileP(process.execPath, ['--import', preload, ...args], { env: { ...process.env, EBPFMON_MODULE_LIST: list }, timeout: 60_000 });
    return [...new Set((await readFile(list, 'utf8')).split('\n').filter(Boolean))];
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** What only other commands need. */
const notForStart: readonly [string, RegExp][] = [
  ['the analyzer', /\/dist\/analysis\//],
  ['the forecast', /\/src\/forecast\/(run|rates|probe|forecast|disk|calibration)\.js$/],
  ['the top view', /\/src\/(top\/(model|keys|draw|sink|terminal)|cli\/commands\/top)\.js$/],
  ['other commands', /\/src\/cli\/commands\/(check|analyze|generate|status|stop|list)\.js$/],
  ['prom-client', /\/node_modules\/prom-client\//],
  ['execa (node:child_process does)', /\/node_modules\/execa\//],
  ['the Prometheus sink', /\/src\/sinks\/prometheus\.js$/],
];

function assertNone(mods: readonly string[]): void {
  for (const [what, re] of notForStart) {
    const hits = mods.filter((m) => re.test(m));
    assert.deepEqual(hits, [], `${what} loaded`);
  }
}

test('the command line loads no command before one runs (start --help)', async () => {
  const mods = await modulesOf([cliPath, 'start', '--help']);
  assert.ok(mods.some((m) => m.endsWith('/src/cli/program.js')), 'the list holds the program: the hook saw the graph');
  assertNone(mods);
  assert.ok(!mods.some((m) => m.endsWith('/src/cli/commands/start-action.js')), 'start itself is loaded when it runs');
});

test("start's own module graph holds nothing of the other commands", async () => {
  const startAction = pathToFileURL(path.join(repoRoot, 'dist/src/cli/commands/start-action.js')).href;
  const mods = await modulesOf(['--input-type=module', '-e', `await import(${JSON.stringify(startAction)});`]);
  assert.ok(mods.some((m) => m.endsWith('/src/session/session.js')), 'the list holds the session: the hook saw the graph');
  assert.ok(mods.some((m) => /\/node_modules\/pino\//.test(m)), 'CommonJS packages are listed');
  assertNone(mods);
});
