import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRoundRobinBalancer } from '../../../src/upstream/balance/round-robin.js';
import { withPreference } from '../../../src/upstream/balance/preferred.js';
import { counts, view } from './views.js';

test('smooth weighted round-robin spreads 5:1:1 as a a b a c a a', () => {
  const b = createRoundRobinBalancer();
  const eps = [view('a', 5), view('b', 1), view('c', 1)];
  const seq = Array.from({ length: 7 }, () => b.pick(eps, {})!.id).join(' ');
  assert.equal(seq, 'a a b a c a a');
});

test('equal weights alternate; proportions follow weights over many picks', () => {
  const b = createRoundRobinBalancer();
  const eq = [view('x'), view('y'), view('z')];
  assert.deepEqual(
    Array.from({ length: 6 }, () => b.pick(eq, {})!.id),
    ['x', 'y', 'z', 'x', 'y', 'z'],
  );
  const b2 = createRoundRobinBalancer();
  const w = [view('p', 300), view('q', 100), view('r', 200)];
  const c = counts(Array.from({ length: 600 }, () => b2.pick(w, {})!.id));
  assert.deepEqual(c, { p: 300, q: 100, r: 200 });
});

test('unavailable and excluded endpoints are skipped; none available gives undefined', () => {
  const b = createRoundRobinBalancer();
  const eps = [view('a'), view('b'), view('c')];
  eps[1]!.up = false;
  const c = counts(Array.from({ length: 10 }, () => b.pick(eps, { exclude: new Set(['c']) })!.id));
  assert.deepEqual(c, { a: 10 });
  eps[0]!.up = false;
  eps[2]!.up = false;
  assert.equal(b.pick(eps, {}), undefined);
  assert.equal(b.pick([], {}), undefined);
});

test('weight 0 takes no traffic unless every endpoint has weight 0', () => {
  const b = createRoundRobinBalancer();
  const c = counts(Array.from({ length: 10 }, () => b.pick([view('a', 0), view('b', 100)], {})!.id));
  assert.deepEqual(c, { b: 10 });
  const zeros = [view('a', 0), view('b', 0)];
  const c2 = counts(Array.from({ length: 10 }, () => b.pick(zeros, {})!.id));
  assert.deepEqual(c2, { a: 5, b: 5 });
});

test('withPreference: a sticky preference wins while available, else the inner balancer picks', () => {
  const b = withPreference(createRoundRobinBalancer());
  const eps = [view('a'), view('b'), view('c')];
  for (let i = 0; i < 5; i++) assert.equal(b.pick(eps, { preferredId: 'b' })!.id, 'b');
  eps[1]!.up = false;
  const c = counts(Array.from({ length: 4 }, () => b.pick(eps, { preferredId: 'b' })!.id));
  assert.deepEqual(c, { a: 2, c: 2 });
  eps[1]!.up = true;
  // preferred but excluded (it failed this call): another one
  assert.notEqual(b.pick(eps, { preferredId: 'b', exclude: new Set(['b']) })!.id, 'b');
  // an unknown preferred id (endpoint gone): the balancer chooses
  assert.ok(['a', 'b', 'c'].includes(b.pick(eps, { preferredId: 'gone:1' })!.id));
});

test('withPreference applies exclusions for inner balancers that ignore them', () => {
  const naive = { pick: (eps: readonly ReturnType<typeof view>[]) => eps[0] };
  const b = withPreference(naive);
  const eps = [view('a'), view('b')];
  assert.equal(b.pick(eps, { exclude: new Set(['a']) })!.id, 'b');
});

test('createBalancer builds each kind, with preference and outlier ejection in front', async () => {
  const { createBalancer } = await import('../../../src/upstream/balance/create-balancer.js');
  const { createOutlierDetector } = await import('../../../src/upstream/balance/outlier.js');
  const eps = [view('a', 300), view('b', 100)];
  const rr = createBalancer('round-robin');
  assert.deepEqual(counts(Array.from({ length: 8 }, () => rr.pick(eps, {})!.id)), { a: 6, b: 2 });
  const lp = createBalancer('least-pending');
  eps[0]!.load = 50;
  assert.equal(lp.pick(eps, {})!.id, 'b');
  eps[0]!.load = 0;
  const ch = createBalancer('consistent-hash');
  const first = ch.pick(eps, { hashKey: 'user-42' })!.id;
  for (let i = 0; i < 5; i++) assert.equal(ch.pick(eps, { hashKey: 'user-42' })!.id, first);
  assert.equal(ch.pick(eps, { hashKey: 'user-42', preferredId: first === 'a' ? 'b' : 'a' })!.id, first === 'a' ? 'b' : 'a');
  const outlier = createOutlierDetector({ consecutiveFailures: 1 });
  const guarded = createBalancer('round-robin', { outlier });
  outlier.failure('a', 'timeout');
  assert.deepEqual(counts(Array.from({ length: 4 }, () => guarded.pick(eps, { preferredId: 'a' })!.id)), { b: 4 });
});
