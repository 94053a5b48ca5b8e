// Probe-body rewrites: tracepoint fields a body uses more than once are read once into $tp_<field>.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { hoistArgs, mapProbeBodies } from '../../src/script/probe-blocks.js';
import { fragmentOf } from '../../src/script/compose.js';
import { monitors } from '../../src/monitors/registry.js';
import { plannedFor } from '../helpers/fixtures.js';
import type { PlannedMonitor } from '../../src/plan/plan.js';

test('a field used twice or more is read once at the top of the body; single uses and predicates stay inline', () => {
  const probes = [
    'tracepoint:block:block_rq_complete /@start[args->dev, args->sector]/ {',
    '  $lat = nsecs - @start[args->dev, args->sector];',
    '  @count[args->dev, args->devx] = count();',
    '  @bytes = sum(args->bytes);',
    '}',
    'tracepoint:raw_syscalls:sys_exit {',
    '  @n[args->id] = count();',
    '}',
  ].join('\n');
  assert.equal(
    hoistArgs(probes),
    [
      'tracepoint:block:block_rq_complete /@start[args->dev, args->sector]/ {',
      '  $tp_dev = args->dev;',
      '  $lat = nsecs - @start[$tp_dev, args->sector];',
      '  @count[$tp_dev, args->devx] = count();',
      '  @bytes = sum(args->bytes);',
      '}',
      'tracepoint:raw_syscalls:sys_exit {',
      '  @n[args->id] = count();',
      '}',
    ].join('\n'),
  );
});

test('mapProbeBodies leaves headers, comments between probes and closing braces alone', () => {
  const probes = '// a comment\nBEGIN {\n  printf("x");\n}\n\ninterval:s:2 {\n  print(@a);\n}';
  assert.equal(mapProbeBodies(probes, (b) => b.map((l) => l.toUpperCase())), '// a comment\nBEGIN {\n  PRINTF("X");\n}\n\ninterval:s:2 {\n  PRINT(@A);\n}');
});

test('no probe of any tracepoint monitor names a field through args more than once (start-up cost)', () => {
  // func has kprobes only (and needs a function list to parse its options).
  for (const monitor of monitors.filter((m) => m.name !== 'func')) {
    const opts = monitor.options.parse({ enabled: true });
    for (const v of monitor.variants(opts).filter((x) => x.name === 'tracepoint')) {
      const p: PlannedMonitor = { monitor, opts, plan: plannedFor(v.name) };
      for (const double of [false, true]) {
        mapProbeBodies(fragmentOf(p, double).probes, (body) => {
          const fields = body.flatMap((l) => [...l.matchAll(/\bargs->(\w+)/g)].map((x) => x[1]!));
          assert.equal(new Set(fields).size, fields.length, `${monitor.name} (double buffer ${double}): ${fields.join(', ')}`);
          return body;
        });
      }
    }
  }
});
