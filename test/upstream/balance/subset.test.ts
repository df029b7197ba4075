/**
 * Tag routing's pure parts: Dubbo's TagRouter rule over an index of endpoints by label, the weighted
 * split, and the draw a request value gives.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { drawOf, indexByTag, pickShare, selectSubset } from '../../../src/upstream/balance/subset.js';

interface Ep {
  readonly id: string;
  readonly labels: Record<string, string>;
}
const ep = (id: string, labels: Record<string, string> = {}): Ep => ({ id, labels });
const ids = (levels: readonly (readonly Ep[])[]): string[][] => levels.map((l) => l.map((e) => e.id));

const LEVELS: Ep[][] = [
  [ep('a'), ep('b', { 'dubbo.tag': 'gray' }), ep('c', { 'dubbo.tag': '' }), ep('d', { 'dubbo.tag': 'blue', tag: 'x' })],
  [ep('e', { 'dubbo.tag': 'gray' }), ep('f')],
];
const index = indexByTag(LEVELS, 'dubbo.tag', (e) => e.labels);

test('a tagged call goes to the endpoints with that tag, on every priority level they are on', () => {
  const s = selectSubset(index, { tag: 'gray', force: false });
  assert.equal(s.outcome, 'tagged');
  assert.deepEqual(ids(s.levels), [['b'], ['e']]);
  assert.deepEqual(ids(selectSubset(index, { tag: 'blue', force: true }).levels), [['d']]);
});

test('a call naming no tag goes to untagged endpoints only (an empty label counts as untagged)', () => {
  for (const tag of [undefined, '']) {
    const s = selectSubset(index, { tag, force: false });
    assert.equal(s.outcome, 'untagged', `tag ${String(tag)}`);
    assert.deepEqual(ids(s.levels), [['a', 'c'], ['f']], `tag ${String(tag)}`);
  }
});

test('a tag no endpoint carries falls back to the untagged endpoints, or to none when forced (input: tag "green")', () => {
  const fallback = selectSubset(index, { tag: 'green', force: false });
  assert.equal(fallback.outcome, 'fallback');
  assert.deepEqual(ids(fallback.levels), [['a', 'c'], ['f']]);
  const forced = selectSubset(index, { tag: 'green', force: true });
  assert.equal(forced.outcome, 'forced-empty');
  assert.deepEqual(forced.levels, []);
});

test('the tag is read from the label the rule names (input: label "tag"), and levels with no member are dropped', () => {
  const byTag = indexByTag(LEVELS, 'tag', (e) => e.labels);
  assert.deepEqual(ids(selectSubset(byTag, { tag: 'x', force: false }).levels), [['d']]);
  assert.deepEqual(ids(selectSubset(byTag, { tag: undefined, force: false }).levels), [
    ['a', 'b', 'c'],
    ['e', 'f'],
  ]);
  const allTagged = indexByTag([[ep('g', { 'dubbo.tag': 'gray' })]], 'dubbo.tag', (e) => e.labels);
  assert.deepEqual(selectSubset(allTagged, { tag: undefined, force: false }).levels, []);
});

test('the index holds one entry per discovered tag: made-up tags in requests add nothing', () => {
  for (let i = 0; i < 1000; i++) selectSubset(index, { tag: `made-up-${i}`, force: false });
  assert.deepEqual([...index.tagged.keys()].sort(), ['blue', 'gray']);
});

test('pickShare splits by relative weight; weight 0 never wins; all-zero picks nothing', () => {
  const entries = [
    { name: 'stable', weight: 90 },
    { name: 'off', weight: 0 },
    { name: 'gray', weight: 10 },
  ];
  assert.equal(pickShare(entries, 0)?.name, 'stable');
  assert.equal(pickShare(entries, 0.8999)?.name, 'stable');
  assert.equal(pickShare(entries, 0.9)?.name, 'gray');
  assert.equal(pickShare(entries, 0.99999)?.name, 'gray');
  assert.equal(pickShare(entries, 1)?.name, 'gray', 'a draw of 1 (rounding) still picks the last entry with weight');
  assert.equal(pickShare([{ weight: 0 }, { weight: 0 }], 0.5), undefined);
  // Spread over an even grid of draws: exactly the weights.
  const counts = new Map<string, number>();
  for (let i = 0; i < 1000; i++) {
    const n = pickShare(entries, i / 1000)!.name;
    counts.set(n, (counts.get(n) ?? 0) + 1);
  }
  assert.deepEqual(Object.fromEntries(counts), { stable: 900, gray: 100 });
});

test('drawOf is stable per value and spreads values over [0, 1) (input: user-0 .. user-9999)', () => {
  assert.equal(drawOf('user-42'), drawOf('user-42'));
  let below = 0;
  for (let i = 0; i < 10_000; i++) {
    const d = drawOf(`user-${i}`);
    assert.ok(d >= 0 && d < 1, `drawOf(user-${i}) = ${d} is outside [0, 1)`);
    if (d < 0.1) below++;
  }
  // Binomial(10000, 0.1): sd 30; 5 sd either side.
  assert.ok(below > 850 && below < 1150, `${below} of 10000 values drew below 0.1`);
});
