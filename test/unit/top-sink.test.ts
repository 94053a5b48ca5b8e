// The sink of `ebpfmon top`: rows go into the model with their arrival time and the monitor's stall count.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createTopSink } from '../../src/top/sink.js';
import { createTopState, snapshot } from '../../src/top/model.js';
import { frameText } from '../../src/top/terminal.js';

test('top sink: rows arrive at the time given, a stall stretches their interval, each batch asks for a redraw', async () => {
  const state = createTopState();
  let now = 1000;
  let stalls = 0;
  let redraws = 0;
  const sink = createTopSink(state, { now: () => now, stalls: () => stalls, onRows: () => redraws++ });
  const row = (timestamp: string, count: number) => ({ timestamp, pid: 7, comm: 'w', syscall_nr: 0, syscall: 'read', category: 'file', count, error_count: 0, error_rate: 0, avg_latency_us: null, max_latency_us: null, cgroup: null });
  sink.write('syscall', [row('2026-01-01T00:00:02.000Z', 40)]);
  const clock = [{ name: 'syscall', mode: 'aggregate' as const, interval: 2, lastTickAt: 1000 }];
  assert.equal(snapshot(state, clock, now, 2000).processes[0]?.syscalls, 20);
  now = 5000;
  stalls = 1;
  sink.write('syscall', [row('2026-01-01T00:00:06.000Z', 40)]);
  assert.equal(snapshot(state, [{ ...clock[0]!, lastTickAt: 5000 }], now, 2000).processes[0]?.syscalls, 10);
  assert.equal(redraws, 2);
  await sink.flush();
  await sink.close();
});

test('top terminal: a frame homes the cursor, joins lines with CR LF and clears below', () => {
  assert.equal(frameText(['a', 'b']), '\x1b[Ha\r\nb\x1b[J');
});
