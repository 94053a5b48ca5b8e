// Coverage: the kernel counters' readers on real /proc text, and the window tracker's ratios and crossings.
import { mock, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { blockRequests, contextSwitches, interrupts, pageFaults, sumNumbers } from '../../src/coverage/kernel-counters.js';
import { createCoverageTracker } from '../../src/coverage/tracker.js';
import { createMonitorCoverage, readingAt, tickReadingLagMs, valueAtTick } from '../../src/coverage/monitor-coverage.js';
import type { KernelCounter } from '../../src/monitors/types.js';
import type { RoutedMonitor } from '../../src/records/router.js';
import { newStats } from '../../src/records/stats.js';
import { contextSwitch } from '../../src/monitors/context-switch.js';
import { contractOf } from '../../src/script/compose.js';
import { silentLogger } from '../../src/log.js';
import { fixtureLayout, plannedFor } from '../helpers/fixtures.js';

test('kernel counters: ctxt, pgfault, device IRQs plus softirqs, requests completed per device', () => {
  assert.equal(contextSwitches('cpu  1 2 3\nctxt 15258920\nbtime 1\n'), 15258920);
  assert.equal(pageFaults('pgpgin 1\npgfault 107866116\npgmajfault 9\n'), 107866116);
  const irqs = ['           CPU0       CPU1       ', ' 24:          1          0  IO-APIC   5-edge      ACPI:Ged', ' 26:          0         14  IO-APIC   4-edge      ttyS0', 'LOC:     123456     654321   Local timer interrupts', ''].join('\n');
  const soft = ['                    CPU0       CPU1       ', '          HI:          0          0', '       TIMER:     174924     162544', ''].join('\n');
  assert.equal(interrupts(irqs, soft), 1 + 14 + 174924 + 162544, 'LOC has no irq_handler tracepoint');
  const disk = '   7       0 loop0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0\n 254       0 vda 100 5 800 40 200 9 1600 70 0 90 110 3 0 24 1 7 2\n';
  assert.deepEqual(blockRequests(disk), new Map([['7:0', 0], ['254:0', 100 + 200 + 3 + 7]]));
  assert.equal(contextSwitches(null), null);
});

/** /proc/interrupts + /proc/softirqs summed by splitting lines and words: what the scanning reader must equal. */
function interruptsBySplitting(irqs: string, softirqs: string): number {
  const cpus = (irqs.split('\n')[0] ?? '').trim().split(/\s+/).length;
  let n = 0;
  for (const line of irqs.split('\n')) {
    const m = /^\s*\d+:\s+(.*)$/.exec(line);
    if (m) for (const v of m[1]!.trim().split(/\s+/).slice(0, cpus)) n += Number(v) || 0;
  }
  for (const line of softirqs.split('\n').slice(1)) for (const v of line.trim().split(/\s+/).slice(1)) n += Number(v) || 0;
  return n;
}

test('interrupts: scanned in place, the same sum as splitting the text, on this host\'s files and odd lines', () => {
  const cases: [string, string][] = [
    [readFileSync('/proc/interrupts', 'utf8'), readFileSync('/proc/softirqs', 'utf8')],
    [' CPU0 CPU1 CPU2\n  1:  5  6  7  IO-APIC 1-edge i8042\n 12:\t3\t0\t9   PCI-MSI 2 eth0\nNMI: 1 1 1 Non-maskable\n', '  CPU0 CPU1 CPU2\n HI: 1 2 3\nNET_RX: 10 20 30'],
    ['           CPU0\n  4:        100   IO-APIC   4-edge      ttyS0', '        CPU0\n   TIMER:   5\n'],
    ['           CPU0       CPU1\n', '   CPU0\n'],
  ];
  for (const [irqs, soft] of cases) assert.equal(interrupts(irqs, soft), interruptsBySplitting(irqs, soft), irqs.slice(0, 60));
  assert.equal(sumNumbers(' 1 22  333 x 4', 0, 14), 356, 'a word ends the numbers');
  assert.equal(sumNumbers(' 1 22  333', 0, 10, 2), 23, 'at most max of them');
  assert.equal(sumNumbers(' 1 22  333', 0, 4), 3, 'only up to `to`');
  assert.equal(sumNumbers('7 8a 9', 0, 6), 7);
});

test('tracker: totals over the kernel over the window; crossings fell and recovered once each', () => {
  const t = createCoverageTracker('kernel', 3, 0.99);
  assert.deepEqual(t.add({ total: null, kernel: null, complete: true }), { state: { ratio: null, basis: 'kernel', low: false }, crossed: null });
  assert.deepEqual(t.add({ total: 100, kernel: 100, complete: true }).state.ratio, 1);
  const fell = t.add({ total: 50, kernel: 100, complete: true });
  assert.deepEqual([fell.state.ratio, fell.state.low, fell.crossed], [0.75, true, 'fell']);
  assert.equal(t.add({ total: 100, kernel: 100, complete: true }).crossed, null, 'still low: 250/300');
  assert.equal(t.add({ total: 100, kernel: 100, complete: true }).crossed, null);
  const back = t.add({ total: 100, kernel: 100, complete: true });
  assert.deepEqual([back.state.ratio, back.crossed], [1, 'recovered']);
  assert.equal(t.add({ total: 0, kernel: 0, complete: true }).state.ratio, 1, 'nothing happened: complete');
});

test('tracker without a counter: the share of complete intervals; seen against seen + lost where known', () => {
  const t = createCoverageTracker('self', 4);
  t.add({ total: null, kernel: null, complete: true });
  const r = t.add({ total: null, kernel: null, complete: false });
  assert.deepEqual([r.state.ratio, r.crossed], [0.5, 'fell']);
  const e = createCoverageTracker('self', 4);
  assert.equal(e.add({ total: 990, kernel: 1000, complete: false }).state.ratio, 0.99);
});

test('the counter at an interval\'s tick: interpolated between the readings around it, clamped to them', () => {
  // Read at 1.0 s (1,000) and 3.5 s (6,000); the tick at 3.0 s: 5,000, not the 6,000 read half a second late.
  const before = { at: 1_000_000_000n, reading: 1000 };
  const after = { at: 3_500_000_000n, reading: 6000 };
  assert.equal(readingAt(before, after, 3_000_000_000n), 5000);
  assert.equal(readingAt(before, after, 9_000_000_000n), 6000, 'a tick after the reading (cannot happen): the reading');
  assert.equal(readingAt(before, after, 0n), 1000);
  // Per device; a device new since the last reading counts from the reading itself.
  const dev = readingAt({ at: 0n, reading: new Map([['8:0', 100]]) }, { at: 10n, reading: new Map([['8:0', 200], ['8:16', 50]]) }, 5n);
  assert.deepEqual(dev, new Map([['8:0', 150], ['8:16', 50]]));
});

test('the counter at a tick from recent readings: the two around it; none before it, or none soon after it, is unknown', () => {
  const points = [
    { at: 0n, reading: 0 },
    { at: 2_000_000_000n, reading: 2000 },
    // Read 3 ms after the next tick was due, then when its line arrived.
    { at: 4_003_000_000n, reading: 4300 },
    { at: 4_100_000_000n, reading: 4400 },
  ];
  assert.ok(Math.abs((valueAtTick(points, 4_000_000_000n) as number) - (2000 + (2300 * 2000) / 2003)) < 1e-6);
  assert.ok(Math.abs((valueAtTick(points, 4_050_000_000n) as number) - (4300 + (100 * 47) / 97)) < 1e-6);
  assert.equal(valueAtTick(points, 5_000_000_000n), null, 'no reading after it');
  assert.equal(valueAtTick(points, -1n), null, 'no reading before it');
});

test('the counter at a tick is unknown when the reading after it came late: a burst in between would move it', () => {
  // 2-s ticks at 2 s and 4 s; 10k faults/s, then a burst of 40k faults in the 300 ms after the 4-s tick.
  const late = [
    { at: 2_000_000_000n, reading: 20_000 },
    { at: 4_300_000_000n, reading: 80_000 },
  ];
  // Interpolated, the tick would read 20000 + 60000 * 2/2.3 = 72174 where the kernel had 40000: the next interval's
  // kernel count would be short by 32k and its coverage far above 100 %.
  assert.equal(valueAtTick(late, 4_000_000_000n), null);
  const prompt = [
    { at: 2_000_000_000n, reading: 20_000 },
    { at: 4_000_000_000n + BigInt(tickReadingLagMs - 1) * 1_000_000n, reading: 40_990 },
  ];
  assert.ok(Math.abs((valueAtTick(prompt, 4_000_000_000n) as number) - (20_000 + (20_990 * 2000) / (2000 + tickReadingLagMs - 1))) < 1e-6);
  assert.equal(valueAtTick([{ at: 4_050_000_000n, reading: 1 }], 4_000_000_000n), null, 'no reading before the tick');
  assert.equal(valueAtTick(prompt, 9_000_000_000n), null, 'no reading after the tick');
});

test('tracker against a count: no verdict until enough intervals are compared; then the whole window judges', () => {
  // 2-s intervals, judged after 10 s: five intervals. The first two read 0.96 (edge timing on an idle host), no warning.
  const t = createCoverageTracker('kernel', 10, 0.97, 5);
  const first = t.add({ total: 480, kernel: 500, complete: true });
  assert.deepEqual([first.state.ratio, first.state.low, first.crossed], [0.96, false, null]);
  assert.equal(t.add({ total: 480, kernel: 500, complete: true }).crossed, null);
  assert.equal(t.add({ total: 520, kernel: 500, complete: true }).crossed, null);
  assert.equal(t.add({ total: 500, kernel: 500, complete: true }).crossed, null);
  assert.equal(t.add({ total: 500, kernel: 500, complete: true }).state.low, false, '2480/2500 = 0.992');
  // A real loss after that is judged at once.
  const fell = t.add({ total: 0, kernel: 500, complete: true });
  assert.deepEqual([fell.state.low, fell.crossed], [true, 'fell']);
  // A real loss from the start is judged as soon as the window is long enough.
  const u = createCoverageTracker('kernel', 10, 0.97, 3);
  assert.equal(u.add({ total: 0, kernel: 500, complete: true }).crossed, null);
  assert.equal(u.add({ total: 0, kernel: 500, complete: true }).crossed, null);
  assert.equal(u.add({ total: 0, kernel: 500, complete: true }).crossed, 'fell');
});

test('a monitor\'s counter: read as each tick is due; on the line\'s arrival only when that reading came late or early', () => {
  mock.timers.enable({ apis: ['setTimeout'] });
  try {
    const opts = contextSwitch.options.parse({ enabled: true });
    const m: RoutedMonitor = { monitor: contextSwitch, opts, contract: contractOf(contextSwitch, contextSwitch.generate(opts, plannedFor('tracepoint')), fixtureLayout), interval: 2, stats: newStats() };
    // The kernel counts one switch per microsecond, evenly: each interval's count is exactly 2,000,000.
    let now = 0n;
    const reads: bigint[] = [];
    const read = (c: KernelCounter): number => {
      assert.equal(c, 'context_switches');
      reads.push(now);
      return Number(now / 1000n);
    };
    const coverage = createMonitorCoverage(new Map([['context_switch', m]]), () => {}, silentLogger(), () => now, read);
    const ms = (n: number): bigint => BigInt(n) * 1_000_000n;
    /** The timer due at tick `tickMs` fires with the clock at `firesAt`, then the tick's line arrives at `arrivesAt`. */
    const interval = (tickMs: number, firesAt: number, arrivesAt: number): void => {
      now = ms(firesAt);
      mock.timers.tick(2000);
      now = ms(arrivesAt);
      coverage.onInterval('context_switch', { total: { value: 2_000_000 }, complete: true, tickNs: ms(tickMs) });
    };
    now = ms(2100);
    coverage.onInterval('context_switch', { total: { value: 2_000_000 }, complete: true, tickNs: ms(2000) });
    assert.deepEqual(reads, [ms(2100)], 'the first tick: no reading before it, read on arrival');
    interval(4000, 4003, 4150);
    assert.deepEqual(reads.slice(1), [ms(4003)], 'the reading at the tick came 3 ms after it: none on arrival');
    interval(6000, 6010, 6090);
    assert.deepEqual(reads.slice(2), [ms(6010)]);
    assert.equal(m.stats.coverage?.ratio, 1, 'exact from the readings at the ticks alone');
    interval(8000, 8000 + tickReadingLagMs + 50, 8200);
    assert.deepEqual(reads.slice(3), [ms(8000 + tickReadingLagMs + 50), ms(8200)], 'the reading at the tick came late: read again on arrival');
    interval(10_000, 9990, 10_100);
    assert.deepEqual(reads.slice(5), [ms(9990), ms(10_100)], 'the reading came before the tick: read again on arrival');
    interval(12_000, 12_005, 12_080);
    interval(14_000, 14_002, 14_300);
    assert.deepEqual(reads.slice(7), [ms(12_005), ms(14_002)]);
    assert.equal(m.stats.coverage?.ratio, 1);
    coverage.stop();
    // Narrowed to some processes (--pid, --comm, run): no total to compare, so the counter is never read.
    reads.length = 0;
    const narrowed = createMonitorCoverage(new Map([['context_switch', { ...m, scoped: true, stats: newStats() }]]), () => {}, silentLogger(), () => now, read);
    narrowed.onInterval('context_switch', { total: null, complete: true, tickNs: ms(16_000) });
    mock.timers.tick(2000);
    narrowed.onInterval('context_switch', { total: null, complete: true, tickNs: ms(18_000) });
    assert.deepEqual(reads, []);
  } finally {
    mock.timers.reset();
  }
});
