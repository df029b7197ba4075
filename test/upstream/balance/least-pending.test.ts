import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createLeastPendingBalancer } from '../../../src/upstream/balance/least-pending.js';
import type { EndpointView } from '../../../src/upstream/balance/types.js';

function view(id: string, pending: number, opts: { weight?: number; available?: boolean } = {}): EndpointView {
  return { id, weight: opts.weight ?? 100, pending: () => pending, available: () => opts.available ?? true };
}

test('picks the endpoint with the fewest calls in flight', () => {
  const b = createLeastPendingBalancer();
  const eps = [view('a:1', 5), view('b:1', 2), view('c:1', 9)];
  for (let i = 0; i < 6; i++) assert.equal(b.pick(eps, {})?.id, 'b:1');
});

test('skips unavailable and excluded endpoints; none left gives undefined (input: all unavailable)', () => {
  const b = createLeastPendingBalancer();
  const eps = [view('a:1', 0, { available: false }), view('b:1', 1), view('c:1', 3)];
  assert.equal(b.pick(eps, {})?.id, 'b:1');
  assert.equal(b.pick(eps, { exclude: new Set(['b:1']) })?.id, 'c:1');
  assert.equal(b.pick([view('a:1', 0, { available: false })], {}), undefined);
  assert.equal(b.pick([], {}), undefined);
});

test('ties rotate over all endpoints', () => {
  const b = createLeastPendingBalancer();
  const eps = [view('a:1', 0), view('b:1', 0), view('c:1', 0)];
  const seen = new Map<string, number>();
  for (let i = 0; i < 300; i++) {
    const id = b.pick(eps, {})!.id;
    seen.set(id, (seen.get(id) ?? 0) + 1);
  }
  assert.deepEqual([...seen.values()], [100, 100, 100]);
});

test('fewest in flight first; weight decides among equals (Dubbo LeastActive); weight 0 only when nothing weighted is available', () => {
  const b = createLeastPendingBalancer();
  // a has more in flight, however heavy it is.
  assert.equal(b.pick([view('a:1', 3, { weight: 200 }), view('b:1', 1, { weight: 50 })], {})?.id, 'b:1');
  // Sequential calls (0 pending each): weights 200:100 split 2:1, spread out.
  const eps = [view('heavy:1', 0, { weight: 200 }), view('light:1', 0, { weight: 100 })];
  const seen = new Map<string, number>();
  for (let i = 0; i < 300; i++) {
    const id = b.pick(eps, {})!.id;
    seen.set(id, (seen.get(id) ?? 0) + 1);
  }
  assert.deepEqual(Object.fromEntries(seen), { 'heavy:1': 200, 'light:1': 100 });
  assert.equal(b.pick([view('z:1', 0, { weight: 0 }), view('b:1', 7)], {})?.id, 'b:1');
  assert.equal(b.pick([view('z:1', 0, { weight: 0 }), view('b:1', 7, { available: false })], {})?.id, 'z:1');
});
