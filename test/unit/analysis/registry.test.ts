// The analyzer covers exactly the monitors ebpfmon has, and reads only columns those monitors write.
// The compiler already checks the names against the row types; this checks them against what is written
// (each monitor's `columns`), and catches a monitor added without an analyzer section.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { analyzers } from '../../../analysis/monitors/index.js';
import { checkHeader, noteColumn } from '../../../analysis/header.js';
import { findMonitor, monitorNames } from '../../../src/monitors/registry.js';

const sorted = (xs: readonly string[]): string[] => [...xs].sort();

/** The names `bind` looks up in a header, recorded by a header whose indexOf notes what it is asked. */
function boundColumns(bind: (h: readonly string[]) => unknown, columns: readonly string[]): string[] {
  const asked: string[] = [];
  const header = new Proxy([...columns], {
    get(target, prop, receiver) {
      if (prop === 'indexOf') {
        return (name: string) => {
          asked.push(name);
          return target.indexOf(name);
        };
      }
      return Reflect.get(target, prop, receiver) as unknown;
    },
  });
  bind(header);
  return asked;
}

test('every monitor in the registry has an analyzer section, and no analyzer lacks a monitor', () => {
  const names = analyzers().map((a) => a.monitor);
  assert.equal(new Set(names).size, names.length, `an analyzer appears twice: ${names.join(', ')}`);
  assert.deepEqual(sorted(names), sorted(monitorNames()));
});

test("every column an analyzer requires is in its monitor's columns, and a full header is accepted", () => {
  for (const a of analyzers()) {
    const m = findMonitor(a.monitor);
    assert.ok(m, `no monitor named ${a.monitor}`);
    for (const c of a.required) assert.ok(m.columns.includes(c), `${a.monitor} requires ${c}, which the monitor does not write`);
    assert.deepEqual(checkHeader(a.monitor, [...m.columns, noteColumn], a.required), { ok: true }, a.monitor);
  }
});

test("every column an analyzer binds is in its monitor's columns", () => {
  for (const a of analyzers()) {
    const m = findMonitor(a.monitor);
    assert.ok(m, `no monitor named ${a.monitor}`);
    const asked = boundColumns((h) => a.bind(h), m.columns);
    assert.ok(asked.length > 0, `${a.monitor}: bind looked up no column`);
    for (const c of asked) assert.ok(m.columns.includes(c), `${a.monitor} reads ${c}, which the monitor does not write`);
  }
});
