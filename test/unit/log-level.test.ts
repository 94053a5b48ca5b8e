// One rule for log levels: the config's logging.level, `start --log-level` and `top --log-level` accept the same
// levels, silent included (start used to refuse silent while the config and top took it).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Command } from 'commander';
import { buildProgram } from '../../src/cli/program.js';
import { parseConfig } from '../../src/config/load.js';
import { logLevels } from '../../src/log.js';

const command = (name: string): Command => {
  const c = buildProgram({}).commands.find((x) => x.name() === name);
  assert.ok(c, name);
  return c;
};

test('start and top take every level the config takes, silent included', () => {
  for (const name of ['start', 'top']) {
    const o = command(name).options.find((x) => x.long === '--log-level');
    assert.deepEqual(o?.argChoices, [...logLevels], `${name} --log-level`);
  }
  for (const level of logLevels) assert.equal(parseConfig(`logging: {level: ${level}}\n`, 'test.yaml').logging.level, level);
  assert.ok(logLevels.includes('silent'));
});

test('start --log-level silent parses; an unknown level is refused by every command', () => {
  for (const name of ['start', 'top']) {
    const c = command(name);
    let seen: unknown;
    c.exitOverride().configureOutput({ writeErr: () => undefined }).action((o: { logLevel?: string }) => {
      seen = o.logLevel;
    });
    c.parse(['--log-level', 'silent'], { from: 'user' });
    assert.equal(seen, 'silent', name);
    assert.throws(() => c.parse(['--log-level', 'quiet'], { from: 'user' }), /Allowed choices are fatal, error, warn, info, debug, trace, silent/);
  }
  assert.throws(() => parseConfig('logging: {level: quiet}\n', 'test.yaml'), /logging\.level: expected one of "fatal", "error", "warn", "info", "debug", "trace", "silent", got "quiet"/);
});
