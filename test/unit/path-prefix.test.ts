// open.path_prefix is a literal prefix of the path as the process passed it: the configured value is written the way
// paths usually are (`//`, `/./` collapsed) and may not hold `..`; a relative one is refused.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseConfig } from '../../src/config/load.js';
import { open } from '../../src/monitors/open.js';
import { problems } from '../helpers/config.js';
import { plannedFor, rendered } from '../helpers/fixtures.js';

const prefixOf = (p: string): unknown => parseConfig(`monitors:\n  open:\n    enabled: true\n    path_prefix: "${p}"\n`, 'c.yaml').monitors['open']?.['path_prefix' as never];

test('open.path_prefix: // and /./ in the configured value are collapsed; a trailing /. stays (names starting with a dot)', () => {
  assert.equal(prefixOf('//tmp/x'), '/tmp/x');
  assert.equal(prefixOf('/tmp/./x'), '/tmp/x');
  assert.equal(prefixOf('/tmp/././/./x/'), '/tmp/x/');
  assert.equal(prefixOf('/home/u/.'), '/home/u/.');
  assert.equal(prefixOf('/etc/'), '/etc/');
  // The script compares the collapsed prefix.
  const opts = open.options.parse({ enabled: true, path_prefix: '//etc/./ssl' });
  const f = rendered(open, opts, { ...plannedFor('tracepoint'), tracepointFields: { 'syscalls:sys_enter_openat': ['filename'], 'syscalls:sys_exit_openat': ['ret'] } });
  assert.match(f.probes, /strncmp\(str\(\$ptr\), "\/etc\/ssl", 8\) == 0/);
});

test('open.path_prefix: relative and .. refused with one line each', () => {
  assert.deepEqual(problems('monitors:\n  open:\n    path_prefix: tmp/x\n'), ['monitors.open.path_prefix: expected an absolute path prefix of letters, digits or _./+@%=,:~- characters, got "tmp/x"']);
  for (const p of ['/tmp/../etc', '/tmp/..', '/../x']) {
    assert.deepEqual(problems(`monitors:\n  open:\n    path_prefix: ${p}\n`), [`monitors.open.path_prefix: expected a prefix without ".." (it is compared as written, never resolved), got "${p}"`], p);
  }
  // The limit counts the collapsed prefix.
  assert.equal(prefixOf(`//${'a'.repeat(62)}`), `/${'a'.repeat(62)}`);
  assert.match(problems(`monitors:\n  open:\n    path_prefix: /${'a'.repeat(63)}\n`)[0] ?? '', /expected at most 63 characters/);
});
