import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseLine, splitFields, splitKey } from '../../src/records/json-line.js';

test('parseLine: the record types of bpftrace 0.17', () => {
  assert.deepEqual(parseLine(''), { ok: true, record: { type: 'blank' } });
  assert.deepEqual(parseLine('{"type": "attached_probes", "data": {"probes": 3}}'), { ok: true, record: { type: 'attached_probes', probes: 3 } });
  assert.deepEqual(parseLine('{"type": "map", "data": {"@x": {"1,a": 2}}}'), { ok: true, record: { type: 'map', name: '@x', value: { keys: ['1,a'], values: [2] } } });
  assert.deepEqual(parseLine('{"type": "map", "data": {"@n": 0}}'), { ok: true, record: { type: 'map', name: '@n', value: 0 } });
  assert.deepEqual(parseLine('{"type": "printf", "data": "a\\tb\\n"}'), { ok: true, record: { type: 'printf', text: 'a\tb\n' } });
  assert.deepEqual(parseLine('{"type": "lost_events", "data": {"events": 5}}'), { ok: true, record: { type: 'lost_events', events: 5 } });
  assert.deepEqual(parseLine('{"type": "hist", "data": {}}'), { ok: true, record: { type: 'other', kind: 'hist' } });
});

test('parseLine: damage is a reason, not an exception', () => {
  for (const bad of ['{"type": "map", "data": {"@x": {"1": ', 'nope', '[]', '{"data": 1}', '{"type": "map", "data": {"@x": {"1": "s"}}}', '{"type": "printf", "data": 3}']) {
    const r = parseLine(bad);
    assert.equal(r.ok, false, bad);
  }
});

test('parseLine: the map scanner reads what JSON.parse reads, and leaves other shapes to the full parse', () => {
  /** What the full parse makes of a map line (keys and values in the object's order). */
  const viaJson = (line: string): unknown => {
    const data = (JSON.parse(line) as { data: Record<string, unknown> }).data;
    const [name, v] = Object.entries(data)[0]!;
    if (typeof v === 'number') return { name, value: v };
    const o = v as Record<string, number>;
    return { name, value: { keys: Object.keys(o), values: Object.values(o) } };
  };
  const scanned = [
    '{"type": "map", "data": {"@x": {"12,3,bash": 7, "-1,0,a b": -2, "9,9,x\\"q": 3}}}',
    '{"type": "map", "data": {"@m": {"7,caf\\uffffffc3\\uffffffa9": 1, "8,\\\\": 2, "9,a\\\\\\"b": 4}}}',
    '{"type": "map", "data": {"@e": {}}}',
    '{"type": "map", "data": {"@n": 181}}',
    '{"type": "map", "data": {"@n": -5}}',
  ];
  for (const line of scanned) {
    const r = parseLine(line);
    assert.ok(r.ok && r.record.type === 'map', line);
    assert.deepEqual({ name: r.record.name, value: r.record.value }, viaJson(line), line);
  }
  // Not the exact layout: the full parse takes them (and keeps its verdicts).
  assert.deepEqual(parseLine('{"type": "map", "data": {"@x": {"a":1}}}'), { ok: true, record: { type: 'map', name: '@x', value: { keys: ['a'], values: [1] } } });
  assert.deepEqual(parseLine('{"type": "map", "data": {"@x": {"a": 1.5}}}'), { ok: true, record: { type: 'map', name: '@x', value: { keys: ['a'], values: [1.5] } } });
  assert.equal(parseLine('{"type": "map", "data": {"@x": {"a": 1}, "@y": 2}}').ok, false);
  assert.equal(parseLine('{"type": "map", "data": {"@x": {"a": 1, "b": "s"}}}').ok, false);
  assert.equal(parseLine('{"type": "map", "data": {"@x": {"a": 1, "b\\q": 2}}}').ok, false);
});

test('splitKey keeps commas in the last (free-text) part; too few parts is null', () => {
  assert.deepEqual(splitKey('6011,21,sl,ow', 3), ['6011', '21', 'sl,ow']);
  assert.deepEqual(splitKey('6011,21,', 3), ['6011', '21', '']);
  assert.equal(splitKey('6011', 3), null);
  assert.deepEqual(splitKey('a,b', 1), ['a,b']);
  assert.deepEqual(splitFields('1\t2\tx\ty', 3), ['1', '2', 'x\ty']);
});

test('parseLine: the printf shortcut decodes exactly as the full parse, and leaves other shapes to it', () => {
  const cases = [
    '{"type": "printf", "data": "exec\\tevent\\t1\\t0\\t2\\t1\\t/tmp/a \\"q\\" \\\\ \\u00e9 \\ud83d\\ude00\\n"}',
    '{"type": "printf", "data": ""}',
    '{"type": "printf", "data": "a"}  ',
    // Shapes the shortcut must not take: another key after data, data not a string, a broken escape.
    '{"type": "printf", "data": "a", "x": "b"}',
    '{"type": "printf", "data": "a\\"}',
    '{"type": "printf", "data": "a\\q"}',
    '{"type": "printf", "data": 3}',
  ];
  for (const line of cases) {
    let full: unknown;
    try {
      full = (JSON.parse(line) as { data: unknown }).data;
    } catch {
      full = undefined;
    }
    const r = parseLine(line);
    if (typeof full === 'string') assert.deepEqual(r, { ok: true, record: { type: 'printf', text: full } }, line);
    else assert.equal(r.ok, false, line);
  }
});
