import { test } from 'node:test';
import assert from 'node:assert/strict';
import { calculateWarmupWeight, DEFAULT_WARMUP_MS, warmedWeight, warmEndMs, warmupMsOf, withWarmup } from '../../../src/upstream/balance/warmup.js';
import { createRoundRobinBalancer } from '../../../src/upstream/balance/round-robin.js';
import { createConsistentHashBalancer } from '../../../src/upstream/balance/consistent-hash.js';
import { createLeastPendingBalancer } from '../../../src/upstream/balance/least-pending.js';
import type { Balancer, EndpointView } from '../../../src/upstream/balance/types.js';
import type { Endpoint } from '../../../src/upstream/discovery/types.js';
import { counts, view } from './views.js';

test("Dubbo's calculateWarmupWeight: trunc(uptime / (warmup / weight)) clamped to [1, weight], in float", () => {
  // Values worked out from the Java expression (int) (uptime / ((float) warmup / weight)).
  assert.equal(calculateWarmupWeight(60_000, 600_000, 100), 10);
  assert.equal(calculateWarmupWeight(59_999, 600_000, 100), 9);
  assert.equal(calculateWarmupWeight(1, 600_000, 100), 1, 'never below 1');
  assert.equal(calculateWarmupWeight(599_999, 600_000, 100), 99);
  assert.equal(calculateWarmupWeight(300_000, 600_000, 7), 3);
  assert.equal(calculateWarmupWeight(1_000, 3_000, 300), 100);
  // Float, as Java computes it: 1000f / 30 = 33.333332f, 500 / 33.333332f = 15.0f → 15 (in double: 14.999… → 14).
  assert.equal(calculateWarmupWeight(500, 1000, 30), 15);
  assert.equal(calculateWarmupWeight(900, 1000, 30), 27);
});

test("warmedWeight follows Dubbo's getWeight: no timestamp, clock skew, within and after warm-up, weight 0", () => {
  const start = 1_000_000;
  assert.equal(warmedWeight(100, undefined, DEFAULT_WARMUP_MS, start + 1000), 100, 'no timestamp: full weight');
  assert.equal(warmedWeight(100, start, DEFAULT_WARMUP_MS, start - 5), 1, "the provider's clock is ahead: 1");
  assert.equal(warmedWeight(100, start, DEFAULT_WARMUP_MS, start), 100, 'uptime exactly 0 is not warming in Dubbo either');
  assert.equal(warmedWeight(100, start, DEFAULT_WARMUP_MS, start + 120_000), 20);
  assert.equal(warmedWeight(100, start, DEFAULT_WARMUP_MS, start + DEFAULT_WARMUP_MS), 100);
  assert.equal(warmedWeight(0, start, DEFAULT_WARMUP_MS, start + 1), 0, 'weight 0 stays 0');
  assert.equal(warmedWeight(100, start, 0, start + 1), 100, 'warmup 0 turns the ramp off');
});

function endpoint(id: string, weight: number, warmupStartMs: number | undefined, labels: Record<string, string> = {}): Endpoint {
  const [host, port] = id.split(':');
  return { id, host: host!, port: Number(port), protocol: 'dubbo', weight, warmupStartMs, labels, cluster: 'default', priority: 0 };
}

test('warm-up parameters: `warmup` (or default.warmup) from the labels, else 10 minutes; warm end = start + warmup', () => {
  assert.equal(warmupMsOf(endpoint('a:1', 100, 5)), DEFAULT_WARMUP_MS);
  assert.equal(warmupMsOf(endpoint('a:1', 100, 5, { warmup: '60000' })), 60_000);
  assert.equal(warmupMsOf(endpoint('a:1', 100, 5, { 'default.warmup': '1000' })), 1000);
  assert.equal(warmupMsOf(endpoint('a:1', 100, 5, { warmup: 'soon' })), DEFAULT_WARMUP_MS);
  assert.equal(warmEndMs(endpoint('a:1', 100, 5, { warmup: '10' })), 15);
  assert.equal(warmEndMs(endpoint('a:1', 100, undefined)), -Infinity);
  assert.equal(warmEndMs(endpoint('a:1', 0, 5)), -Infinity);
});

/** Round-robin behind withWarmup over a fixed clock: counts per id over `n` picks. */
function split(balancer: Balancer, views: readonly EndpointView[], n: number): Record<string, number> {
  return counts(Array.from({ length: n }, () => balancer.pick(views, {})?.id));
}

test('every balancer sees ramped weights: round-robin splits as the formula says, and the caller gets its own view back', () => {
  const now = 10_000_000;
  // a: warm (started long ago); b: 60 s into a 600 s warm-up → weight 10; c: no timestamp.
  const eps = new Map([
    ['a:1', endpoint('a:1', 100, now - 3_600_000)],
    ['b:1', endpoint('b:1', 100, now - 60_000)],
    ['c:1', endpoint('c:1', 100, undefined)],
  ]);
  const views = [view('a:1'), view('b:1'), view('c:1')];
  const rr = withWarmup(
    createRoundRobinBalancer(),
    (id) => eps.get(id),
    () => now,
  );
  assert.deepEqual(split(rr, views, 2100), { 'a:1': 1000, 'b:1': 100, 'c:1': 1000 });
  const picked = rr.pick(views, {});
  assert.ok(views.includes(picked as (typeof views)[number]), 'the pick is one of the views passed in, not a wrapper');

  // Least-pending sees it too: with equal pending, the ramped weights split the calls (b gets its
  // 10 in 210, neither everything nor nothing).
  const lp = withWarmup(
    createLeastPendingBalancer(),
    (id) => eps.get(id),
    () => now,
  );
  assert.deepEqual(split(lp, views, 2100), { 'a:1': 1000, 'b:1': 100, 'c:1': 1000 });
});

test('the ramp moves with time; nothing warming means the inner balancer sees the views as they are', () => {
  let now = 1_000_000;
  const eps = new Map([
    ['a:1', endpoint('a:1', 100, 0)],
    ['b:1', endpoint('b:1', 100, now, { warmup: '100000' })],
  ]);
  const seen: EndpointView[][] = [];
  const spy: Balancer = {
    pick(endpoints) {
      seen.push([...endpoints]);
      return endpoints[0];
    },
  };
  const views = [view('a:1'), view('b:1')];
  const b = withWarmup(
    spy,
    (id) => eps.get(id),
    () => now,
  );
  now += 25_000;
  b.pick(views, {});
  assert.deepEqual(
    seen.at(-1)!.map((v) => v.weight),
    [100, 25],
  );
  now += 50_000;
  b.pick(views, {});
  assert.deepEqual(
    seen.at(-1)!.map((v) => v.weight),
    [100, 75],
  );
  now += 25_000;
  b.pick(views, {});
  assert.equal(seen.at(-1)![1], views[1], 'warm: the original view is passed through');
  assert.equal(seen.at(-1)![0], views[0]);
});

test('views are reused while the ramped weight stands, so consistent hashing rebuilds only when a weight moves', () => {
  let now = 1_000_000;
  const eps = new Map([
    ['a:1', endpoint('a:1', 100, 0)],
    ['b:1', endpoint('b:1', 100, now, { warmup: '100000' })],
  ]);
  const seen: EndpointView[][] = [];
  const spy: Balancer = {
    pick(endpoints) {
      seen.push([...endpoints]);
      return endpoints[1];
    },
  };
  const views = [view('a:1'), view('b:1')];
  const b = withWarmup(
    spy,
    (id) => eps.get(id),
    () => now,
  );
  now += 10_000;
  assert.equal(b.pick(views, {}), views[1], 'the wrapped pick maps back to the caller view');
  now += 500; // still weight 10
  b.pick(views, {});
  assert.equal(seen[0]![1], seen[1]![1], 'same weight: the same view object');
  now += 1_000; // weight 11
  b.pick(views, {});
  assert.notEqual(seen[1]![1], seen[2]![1]);

  // And a real consistent-hash balancer keeps keys on a warm endpoint where they were.
  const ch = withWarmup(
    createConsistentHashBalancer({ fallback: createLeastPendingBalancer() }),
    (id) => eps.get(id),
    () => now,
  );
  const before = Array.from({ length: 200 }, (_, i) => ch.pick(views, { hashKey: `k${i}` })!.id);
  assert.ok(before.filter((id) => id === 'b:1').length < 60, 'a warming endpoint gets fewer keys');
  now += 200_000;
  const after = Array.from({ length: 200 }, (_, i) => ch.pick(views, { hashKey: `k${i}` })!.id);
  const bAfter = after.filter((id) => id === 'b:1').length;
  assert.ok(bAfter > 60, `warm: b gets about half the keys (${bAfter}/200)`);
  assert.ok(
    before.every((id, i) => id === 'a:1' || after[i] === 'b:1'),
    'keys on b stay on b as it warms',
  );
});
