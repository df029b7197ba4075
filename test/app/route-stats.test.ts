import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Registry } from 'prom-client';
import { createRouteSampler, quantileFromBuckets, readTotals, routeStats, type TotalsSample } from '../../src/app/route-stats.js';
import { createMetrics } from '../../src/telemetry/index.js';

const BOUNDS = [0.001, 0.01, 0.1, Infinity];

test('quantileFromBuckets interpolates inside the bucket the rank falls in (input: 10 requests, 4 under 1 ms, 6 in 1-10 ms)', () => {
  const cumulative = [4, 10, 10, 10];
  assert.equal(quantileFromBuckets(BOUNDS, cumulative, 0.2), 0.0005);
  // rank 5 is the first of 6 in (0.001, 0.01]: 0.001 + 0.009 * 1/6
  assert.ok(Math.abs(quantileFromBuckets(BOUNDS, cumulative, 0.5)! - (0.001 + 0.009 / 6)) < 1e-12, 'median inside the second bucket');
  assert.ok(Math.abs(quantileFromBuckets(BOUNDS, cumulative, 1)! - 0.01) < 1e-12, 'the maximum is the top of its bucket');
});

test('quantileFromBuckets answers null for an empty histogram and the last finite bound for the +Inf bucket (input: all counts in +Inf)', () => {
  assert.equal(quantileFromBuckets(BOUNDS, [0, 0, 0, 0], 0.5), null);
  assert.equal(quantileFromBuckets(BOUNDS, [0, 0, 0, 3], 0.99), 0.1);
});

test('routeStats figures rate, percentiles and errors over the window between two samples', () => {
  const base: TotalsSample = {
    atMs: 0,
    bounds: BOUNDS,
    routes: new Map([['r', { requests: 10, errors: { FERRY_X: 1 }, buckets: [10, 10, 10, 10] }]]),
  };
  const now: TotalsSample = {
    atMs: 4000,
    bounds: BOUNDS,
    routes: new Map([
      ['r', { requests: 30, errors: { FERRY_X: 3 }, buckets: [10, 30, 30, 30] }],
      ['new', { requests: 2, errors: {}, buckets: [2, 2, 2, 2] }],
    ]),
  };
  const [fresh, r] = routeStats(now, base);
  assert.equal(r!.route, 'r');
  assert.equal(r!.rate, 5, '20 requests in 4 s');
  assert.deepEqual(r!.windowErrors, { FERRY_X: 2 });
  assert.deepEqual(r!.errors, { FERRY_X: 3 }, 'totals since start');
  // Every request of the window fell in (1 ms, 10 ms]: the median is its middle.
  assert.equal(r!.p50Ms, 5.5);
  assert.equal(fresh!.route, 'new');
  assert.equal(fresh!.rate, 0.5, 'a route first seen in the window counts from zero');
  assert.equal(routeStats(now, undefined)[1]!.rate, null, 'no window before a second sample');
});

test('readTotals and the sampler read the metrics registry the engine records into', async () => {
  const metrics = createMetrics(new Registry(), { processMetrics: false });
  metrics.observeRequest({ route: 'get-account', method: 'GET', status: 200, durationMs: 2 });
  metrics.observeRequest({ route: 'get-account', method: 'GET', status: 400, durationMs: 0.05, code: 'FERRY_BAD_ARGUMENT' });
  const totals = await readTotals(metrics.registry, 1);
  const t = totals.routes.get('get-account');
  assert.equal(t?.requests, 2);
  assert.deepEqual(t?.errors, { FERRY_BAD_ARGUMENT: 1 });
  assert.equal(totals.bounds[totals.bounds.length - 1], Infinity);
  assert.equal(t?.buckets[t.buckets.length - 1], 2);

  let clock = 10_000;
  const sample = createRouteSampler(metrics.registry, { now: () => clock, minGapMs: 2000, windowMs: 30_000 });
  const first = await sample();
  assert.equal(first.windowSeconds, null, 'the first read has no window');
  clock += 5000;
  for (let i = 0; i < 10; i++) metrics.observeRequest({ route: 'get-account', method: 'GET', status: 200, durationMs: 3 });
  const second = await sample();
  assert.equal(second.windowSeconds, 5);
  assert.equal(second.routes[0]!.rate, 2, '10 requests in 5 s');
  assert.ok(second.routes[0]!.p99Ms! > 2.5 && second.routes[0]!.p99Ms! <= 5, `p99 in the 2.5-5 ms bucket: ${second.routes[0]!.p99Ms}`);
});

test('the sampler keeps a bounded number of samples however often it is read (input: 1000 reads 2 s apart)', async () => {
  const metrics = createMetrics(new Registry(), { processMetrics: false });
  metrics.observeRequest({ route: 'r', method: 'GET', status: 200, durationMs: 1 });
  let clock = 0;
  const sample = createRouteSampler(metrics.registry, { now: () => clock, minGapMs: 2000, windowMs: 30_000 });
  let windowSeconds: number | null = null;
  for (let i = 0; i < 1000; i++) {
    clock += 2000;
    windowSeconds = (await sample()).windowSeconds;
  }
  // The window stays about windowMs long: old samples are dropped.
  assert.ok(windowSeconds !== null && windowSeconds <= 32 && windowSeconds >= 30, `window of ${windowSeconds} s`);
});
