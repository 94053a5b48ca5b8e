// Config problems as the user sees them, for tests of the schema and the loader.
import assert from 'node:assert/strict';
import { parseConfig } from '../../src/config/load.js';
import { ConfigError } from '../../src/errors.js';

/** The problems a config text is refused with (exit code 2); fails the test when it is accepted. */
export function problems(yaml: string): string[] {
  try {
    parseConfig(yaml, 'test.yaml');
  } catch (e) {
    assert.ok(e instanceof ConfigError, String(e));
    assert.equal(e.exitCode, 2);
    return [...e.problems];
  }
  assert.fail('expected a ConfigError');
}
