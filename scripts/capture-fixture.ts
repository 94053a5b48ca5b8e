// Records real bpftrace output into test/fixtures/bpftrace-<version>/<monitor>/<case>.ndjson, with the config and the
// script it came from beside it (<case>.yaml, <case>.bt), so a fixture can always be traced to what produced it.
// Usage: node dist/scripts/capture-fixture.js <monitor> <case> <seconds> [key=value ...] [-- command args...]
//   Writes a config enabling <monitor> with the given options (values are YAML), runtime.aot off (bpftrace itself,
//   double-buffered maps, no shards), generates the monitor's script from it as `start` would, runs it with the
//   installed bpftrace and the same environment for <seconds> after the probes are attached, running the command
//   once attached, then stops it the way ebpfmon does (SIGURG, the stop probe), so END's final interval is included.
import { execa } from 'execa';
import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse as parseYaml, stringify as toYaml } from 'yaml';
import { prepare } from '../src/script/prepare.js';

const root = fileURLToPath(new URL('../../', import.meta.url));

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  const dash = argv.indexOf('--');
  const [monitor, name, seconds, ...settings] = dash < 0 ? argv : argv.slice(0, dash);
  const command = dash < 0 ? [] : argv.slice(dash + 1);
  if (!monitor || !name || !seconds) {
    console.error('usage: capture-fixture <monitor> <case> <seconds> [key=value ...] [-- command args...]');
    process.exitCode = 2;
    return;
  }
  const options = Object.fromEntries(settings.map((kv) => [kv.slice(0, kv.indexOf('=')), parseYaml(kv.slice(kv.indexOf('=') + 1)) as unknown]));
  const config = toYaml({ runtime: { aot: false }, monitors: { [monitor]: { enabled: true, ...options } } });
  const dir = await mkdtemp(path.join(os.tmpdir(), 'ebpfmon-capture-'));
  const configFile = path.join(dir, `${name}.yaml`);
  await writeFile(configFile, config);
  const p = await prepare({ config: configFile, monitors: monitor, mount: true });
  const script = p.scripts[0];
  if (!script) throw new Error(`${monitor} cannot run here: ${p.plan.verdicts.map((v) => v.detail).join('; ')}`);
  const scriptFile = path.join(dir, `${name}.bt`);
  await writeFile(scriptFile, script.text);
  const version = (await execa('bpftrace', ['--version'])).stdout.replace(/^bpftrace v?/, '').split('.').slice(0, 2).join('.');
  const bt = execa('bpftrace', ['-f', 'json', scriptFile], { reject: false, buffer: true, env: script.env, extendEnv: true });
  const chunks: string[] = [];
  let attached = false;
  let exited = false;
  void bt.then(() => (exited = true));
  bt.stdout?.on('data', (chunk: Buffer) => {
    chunks.push(chunk.toString());
    // The whole output so far: the marker may be split across two chunks.
    if (!attached && chunks.join('').includes('ebpfmon\\tattached')) attached = true;
  });
  while (!attached) {
    // bpftrace refused the script or died: say why instead of waiting for ever.
    if (exited) throw new Error(`bpftrace exited before attaching: ${String((await bt).stderr).trim()}`);
    await new Promise((r) => setTimeout(r, 20));
  }
  const [cmd, ...args] = command;
  if (cmd) await execa(cmd, args, { stdio: 'inherit', reject: false });
  await new Promise((r) => setTimeout(r, Number(seconds) * 1000));
  if (bt.pid) process.kill(bt.pid, 'SIGURG');
  await bt;
  const out = path.join(root, 'test/fixtures', `bpftrace-${version}`, monitor);
  await mkdir(out, { recursive: true });
  await writeFile(path.join(out, `${name}.ndjson`), chunks.join(''));
  await writeFile(path.join(out, `${name}.bt`), script.text);
  await writeFile(path.join(out, `${name}.yaml`), config);
  console.log(`${path.join(out, name)}.{ndjson,bt,yaml}: ${chunks.join('').split('\n').length - 1} lines`);
}

await main();
