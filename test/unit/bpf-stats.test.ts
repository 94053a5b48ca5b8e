import { test } from 'node:test';
import assert from 'node:assert/strict';
import { costRate, parseProgFdinfo } from '../../src/process/bpf-stats.js';

const fdinfo = `pos:\t0
flags:\t02000002
mnt_id:\t17
ino:\t26
prog_type:\t5
prog_jited:\t1
prog_tag:\tc0b1a85fb75dc74b
memlock:\t4096
prog_id:\t2201
run_time_ns:\t123456
run_cnt:\t789
recursion_misses:\t3
verified_insns:\t21
`;

test('fdinfo of a BPF program: runs, run time and recursion misses; other fds are not programs', () => {
  assert.deepEqual(parseProgFdinfo(fdinfo), { programs: 1, runTimeNs: 123456, runCount: 789, recursionMisses: 3 });
  assert.equal(parseProgFdinfo('pos:\t0\nflags:\t02\n'), null);
});

test('cost rates between two samples: ns per event and share of one CPU', () => {
  const prev = { cost: { programs: 2, runTimeNs: 1_000_000, runCount: 1000, recursionMisses: 0 }, at: 10_000 };
  const cur = { programs: 2, runTimeNs: 21_000_000, runCount: 101_000, recursionMisses: 0 };
  assert.deepEqual(costRate(prev, cur, 12_000), { nsPerEvent: 200, cpuPercent: 1 });
  assert.deepEqual(costRate(undefined, cur, 12_000), { nsPerEvent: null, cpuPercent: null });
});
