import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cSource, cpuOf, driverScript, parseBuildOutput, sourceCount, timesSeconds } from '../../../scripts/bench/build-workload.js';

test('bash times fields to seconds', () => {
  assert.equal(timesSeconds('0m0.000s'), 0);
  assert.equal(timesSeconds('0m1.234s'), 1.234);
  assert.equal(timesSeconds('2m3.5s'), 123.5);
  assert.throws(() => timesSeconds('1.2'), /not a bash times field/);
});

// What the driver prints (bash 5.2): a mark line, then `times`: the shell's own line, then its children's.
const output = [
  'mark start 1764448000.000000',
  '0m0.001s 0m0.002s',
  '0m0.000s 0m0.000s',
  'mark compile 1764448002.500000',
  '0m0.003s 0m0.004s',
  '0m4.500s 0m0.500s',
  'mark archive 1764448004.250000',
  '0m0.003s 0m0.004s',
  '0m6.100s 0m0.600s',
  'mark search 1764448004.300000',
  '0m0.003s 0m0.005s',
  '0m6.110s 0m0.650s',
  '',
].join('\n');

test('the driver output: wall and children CPU per phase, and the total', () => {
  const t = parseBuildOutput(output);
  const close = (a: number, b: number): void => assert.ok(Math.abs(a - b) < 1e-6, `${a} != ${b}`);
  close(t.compile.wall, 2.5);
  close(t.compile.user, 4.5);
  close(t.compile.sys, 0.5);
  close(t.archive.wall, 1.75);
  close(cpuOf(t.archive), 1.7);
  close(t.search.wall, 0.05);
  close(cpuOf(t.search), 0.06);
  close(t.total.wall, 4.3);
  close(cpuOf(t.total), 6.76);
});

test('a phase missing, or marks without `times`, is an error, not a number', () => {
  const noSearch = output.split('\n').slice(0, 9).join('\n');
  assert.throws(() => parseBuildOutput(noSearch), /expected marks start, compile, archive, search/);
  assert.throws(() => parseBuildOutput('mark start 1.0\n'), /no `times` output/);
  assert.throws(() => parseBuildOutput(''), /got none/);
});

test('generated sources differ, include the standard headers, and the driver compiles two at a time', () => {
  const a = cSource(0);
  const b = cSource(1);
  assert.notEqual(a, b);
  for (const h of ['stdio.h', 'stdlib.h', 'string.h']) assert.ok(a.includes(`#include <${h}>`));
  assert.ok(sourceCount >= 40);
  assert.match(driverScript, /xargs -P2 .*gcc -O2 -c/);
  assert.match(driverScript, /tar -C \/ -cf - usr\/share\/doc \| gzip -1 > \/dev\/null/);
  assert.match(driverScript, /grep -r -l define \/usr\/include > \/dev\/null/);
});
