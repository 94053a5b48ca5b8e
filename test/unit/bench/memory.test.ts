import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isRuntime, parseArm, shebangFlags, startupParts } from '../../../scripts/bench/memory.js';
import type { MemoryProbeReport } from '../../../scripts/bench/memory-probe.js';

test("a shebang's node flags: after `node`, none without", () => {
  const table: [string, string[]][] = [
    ['#!/usr/bin/env -S node --max-semi-space-size=2', ['--max-semi-space-size=2']],
    ['#!/usr/bin/env -S node --max-semi-space-size=2  --max-old-space-size=256', ['--max-semi-space-size=2', '--max-old-space-size=256']],
    ['#!/usr/bin/env node', []],
    ['// not a shebang', []],
  ];
  for (const [line, flags] of table) assert.deepEqual(shebangFlags(line), flags, line);
});

test('an arm: the shebang flags of its CLI unless flags are given, even none', () => {
  const first = (): string => '#!/usr/bin/env -S node --max-semi-space-size=2';
  assert.deepEqual(parseArm('old|/x/main.js', first), { name: 'old', cli: '/x/main.js', flags: ['--max-semi-space-size=2'] });
  assert.deepEqual(parseArm('bare|/x/main.js|', first).flags, []);
  assert.deepEqual(parseArm('semi1|/x/main.js|--max-semi-space-size=1 --v8-pool-size=1', first).flags, ['--max-semi-space-size=1', '--v8-pool-size=1']);
  assert.match(parseArm('here|', first).cli, /dist\/src\/cli\/main\.js$/);
  assert.throws(() => parseArm('|/x/main.js', first), /NAME\|MAIN_JS/);
});

test('a runtime bpftrace is one that runs a script (-f json), under setpriv or not; compile and detection commands are not', () => {
  const table: [string, string[], boolean][] = [
    ['setpriv', ['--pdeathsig', 'KILL', '--', '/usr/bin/bpftrace-aotrt', '-f', 'json', '/tmp/x/ebpfmon-main.aot'], true],
    ['/usr/bin/bpftrace', ['-f', 'json', '/tmp/x/ebpfmon-main.bt'], true],
    ['bpftrace', ['--version'], false],
    ['bpftrace', ['--aot', '/tmp/x/main.aot', '/tmp/x/main.bt'], false],
    ['bpftrace', ['-l', 'tracepoint:syscalls:*'], false],
    ['systemd-notify', ['--ready'], false],
  ];
  for (const [command, args, want] of table) assert.equal(isRuntime({ command, args }), want, `${command} ${args.join(' ')}`);
});

test('start-up parts: detection is every other spawn before the first runtime; log times on the probe clock', () => {
  const timeOrigin = Date.parse('2026-12-07T22:00:00.000Z');
  const probe: MemoryProbeReport = {
    bootMs: 140, timeOrigin, memory: process.memoryUsage(), spaces: [], modules: null,
    heap: { totalKb: 0, usedKb: 0, limitKb: 0, mallocedKb: 0, peakMallocedKb: 0 }, code: { codeKb: 0, bytecodeKb: 0, externalScriptSourceKb: 0 },
    spawns: [
      { command: 'bpftrace', args: ['--version'], startMs: 500, endMs: 620 },
      { command: 'uname', args: ['-r'], startMs: 630, endMs: 640 },
      { command: 'setpriv', args: ['--', '/usr/bin/bpftrace-aotrt', '-f', 'json', 'a.aot'], startMs: 680, endMs: null },
      { command: 'setpriv', args: ['--', '/usr/bin/bpftrace-aotrt', '-f', 'json', 'b.aot'], startMs: 690, endMs: null },
    ],
  };
  const parts = startupParts(probe, [{ msg: 'monitors attached', time: '2026-12-07T22:00:01.480Z' }]);
  assert.deepEqual(parts, { boot: 140, firstSpawn: 500, detectSpawns: 2, detectSerialMs: 130, detectSpanMs: 140, runtimeSpawn: 680, attached: 1480 });
  assert.equal(startupParts({ ...probe, spawns: [] }, []).attached, null);
});
