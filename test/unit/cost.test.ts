// Every monitor says what it costs the host, and `list` shows it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { monitors } from '../../src/monitors/registry.js';
import { listMonitors } from '../../src/cli/commands/list.js';

test('every monitor has a cost class and a note with what it scales with; list shows each', () => {
  const text = listMonitors();
  for (const m of monitors) {
    assert.ok(['low', 'medium', 'high', 'varies'].includes(m.cost.class), m.name);
    assert.match(m.cost.note, /^(every|one) /, `${m.name}: the note starts with what the cost follows`);
    assert.ok(text.includes(`cost ${m.cost.class}: ${m.cost.note}`), `${m.name} in list`);
  }
  // The two that sit on the hottest paths of a busy host are called so.
  assert.deepEqual(monitors.filter((m) => m.cost.class === 'high').map((m) => m.name).sort(), ['open', 'syscall']);
});
