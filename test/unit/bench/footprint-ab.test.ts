// The footprint A/B bench's arm order: each arm runs first in half the rounds.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { armOrder } from '../../../scripts/bench/footprint-ab.js';

test('armOrder: ABBA, so neither build always runs first', () => {
  const table: [number, string][] = [
    [1, 'AB'],
    [2, 'AB BA'],
    [3, 'AB BA AB'],
    [4, 'AB BA AB BA'],
  ];
  for (const [rounds, want] of table) assert.equal(armOrder(rounds).map((o) => o.join('')).join(' '), want);
});
