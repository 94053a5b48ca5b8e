// Records real bpftrace output into test/fixtures/bpftrace-<version>/<monitor>/<case>.ndjson.
// Usage: node dist/scripts/capture-fixture.js <monitor> <case> <seconds> [command args...]
//   Generates the monitor's script with `ebpfmon generate`, runs it with the installed bpftrace for <seconds>
//   (SIGTERM at the end, so END's final interval is included), running the command once the probes are attached.
import { execa } from 'execa';
import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../../', import.meta.url));

async function main(): Promise<void> {
  const [monitor, name, seconds, ...command] = process.argv.slice(2);
  if (!monitor || !name || !seconds) {
    console.error('usage: capture-fixture <monitor> <case> <seconds> [command args...]');
    process.exitCode = 2;
    return;
  }
  const gen = await execa('node', [path.join(root, 'dist/src/cli/main.js'), 'generate', '-m', monitor]);
  const dir = await mkdtemp(path.join(os.tmpdir(), 'ebpfmon-capture-'));
  const script = path.join(dir, `${monitor}.bt`);
  await writeFile(script, gen.stdout);
  const version = (await execa('bpftrace', ['--version'])).stdout.replace(/^bpftrace v?/, '').split('.').slice(0, 2).join('.');
  const bt = execa('bpftrace', ['-f', 'json', script], { reject: false, buffer: true });
  const lines: string[] = [];
  let attached = false;
  bt.stdout?.on('data', (chunk: Buffer) => {
    lines.push(chunk.toString());
    if (chunk.toString().includes('ebpfmon\\tattached')) attached = true;
  });
  while (!attached) await new Promise((r) => setTimeout(r, 20));
  const [cmd, ...args] = command;
  if (cmd) await execa(cmd, args, { stdio: 'inherit', reject: false });
  await new Promise((r) => setTimeout(r, Number(seconds) * 1000));
  bt.kill('SIGTERM');
  await bt;
  const out = path.join(root, 'test/fixtures', `bpftrace-${version}`, monitor);
  await mkdir(out, { recursive: true });
  const file = path.join(out, `${name}.ndjson`);
  await writeFile(file, lines.join(''));
  console.log(`${file}: ${lines.join('').split('\n').length - 1} lines`);
}

await main();
