import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createOutlierDetector, failureKind, withOutlierEjection } from '../../../src/upstream/balance/outlier.js';
import { createRoundRobinBalancer } from '../../../src/upstream/balance/round-robin.js';
import { FerryError } from '../../../src/errors/index.js';
import { counts, view } from './views.js';

test('N consecutive failures eject; a success in between resets the streak', () => {
  let now = 0;
  const events: string[] = [];
  const d = createOutlierDetector({
    consecutiveFailures: 3,
    baseEjectionMs: 1000,
    now: () => now,
    onChange: (id, ejected) => events.push(`${id}:${ejected ? 'out' : 'in'}`),
  });
  d.failure('a', 'timeout');
  d.failure('a', 'timeout');
  d.success('a');
  d.failure('a', 'unavailable');
  d.failure('a', 'connection-lost');
  assert.equal(d.isEjected('a'), false);
  d.failure('a', 'timeout');
  assert.equal(d.isEjected('a'), true);
  assert.equal(d.isEjected('b'), false);
  now = 999;
  assert.equal(d.isEjected('a'), true);
  now = 1000;
  assert.equal(d.isEjected('a'), false, 're-admitted after the base time');
  assert.deepEqual(events, ['a:out', 'a:in']);
});

test('repeated ejections last longer (base × count, capped), and the count decays while healthy', () => {
  let now = 0;
  const d = createOutlierDetector({ consecutiveFailures: 1, baseEjectionMs: 1000, maxEjectionMs: 2500, now: () => now });
  const ejectFor = (): number => {
    d.failure('a', 'unavailable');
    const start = now;
    while (d.isEjected('a')) now += 100;
    return now - start;
  };
  assert.equal(ejectFor(), 1000);
  assert.equal(ejectFor(), 2000);
  assert.equal(ejectFor(), 2500, 'capped');
  // Healthy for a long time: the count decays back, the next ejection is short again.
  now += 10_000;
  assert.equal(ejectFor(), 1000);
});

test('only unavailable / connection-lost / timeout count', () => {
  assert.equal(failureKind(new FerryError('FERRY_UPSTREAM_UNAVAILABLE', 'x')), 'unavailable');
  assert.equal(failureKind(new FerryError('FERRY_UPSTREAM_CONNECTION_LOST', 'x')), 'connection-lost');
  assert.equal(failureKind(new FerryError('FERRY_UPSTREAM_TIMEOUT', 'x')), 'timeout');
  assert.equal(failureKind(new FerryError('FERRY_UPSTREAM_EXCEPTION', 'x')), undefined);
  assert.equal(failureKind(new FerryError('FERRY_BAD_ARGUMENT', 'x')), undefined);
  assert.equal(failureKind(new Error('ECONNRESET')), undefined);
  const d = createOutlierDetector({ consecutiveFailures: 2 });
  d.observe('a', new FerryError('FERRY_UPSTREAM_EXCEPTION', 'java.lang.IllegalStateException'));
  d.observe('a', new FerryError('FERRY_UPSTREAM_EXCEPTION', 'java.lang.IllegalStateException'));
  d.observe('a', new FerryError('FERRY_UPSTREAM_EXCEPTION', 'java.lang.IllegalStateException'));
  assert.equal(d.isEjected('a'), false, 'provider exceptions are answers, not failures');
  d.observe('a', new FerryError('FERRY_UPSTREAM_TIMEOUT', 't'));
  d.observe('a', undefined);
  d.observe('a', new FerryError('FERRY_UPSTREAM_TIMEOUT', 't'));
  assert.equal(d.isEjected('a'), false, 'success reset the streak');
  d.observe('a', new FerryError('FERRY_UPSTREAM_TIMEOUT', 't'));
  assert.equal(d.isEjected('a'), true);
});

test('wrapped views report ejection through available(); balancing skips them', () => {
  let now = 0;
  const d = createOutlierDetector({ consecutiveFailures: 1, baseEjectionMs: 1000, now: () => now });
  const eps = [view('a'), view('b'), view('c')];
  const w = d.wrap(eps[0]!);
  assert.equal(d.wrap(eps[0]!), w, 'cached per view');
  assert.equal(w.id, 'a');
  assert.equal(w.weight, 100);
  eps[0]!.load = 4;
  assert.equal(w.pending(), 4);
  d.failure('a', 'timeout');
  assert.equal(w.available(), false);
  const b = withOutlierEjection(createRoundRobinBalancer(), d);
  const picks = Array.from({ length: 6 }, () => b.pick(eps, {}));
  assert.deepEqual(counts(picks.map((p) => p?.id)), { b: 3, c: 3 });
  assert.ok(
    picks.every((p) => p === eps[1] || p === eps[2]),
    "returns the caller's own views",
  );
  now = 1000;
  assert.equal(w.available(), true);
  assert.deepEqual(counts(Array.from({ length: 6 }, () => b.pick(eps, {})?.id)), { a: 2, b: 2, c: 2 });
  d.forget('a');
  assert.equal(d.isEjected('a'), false);
});

test('panic routing: when every endpoint is ejected, they are all tried rather than none', () => {
  const d = createOutlierDetector({ consecutiveFailures: 1, baseEjectionMs: 60_000 });
  const eps = [view('a'), view('b')];
  d.failure('a', 'unavailable');
  d.failure('b', 'unavailable');
  const b = withOutlierEjection(createRoundRobinBalancer(), d);
  assert.ok(b.pick(eps, {}) !== undefined);
  // but an endpoint that is itself unavailable (no connection) is still not picked
  eps[0]!.up = false;
  eps[1]!.up = false;
  assert.equal(b.pick(eps, {}), undefined);
});

test('honourEjection: with every endpoint ejected, nothing is picked (the upstream client then tries the next priority level)', () => {
  const d = createOutlierDetector({ consecutiveFailures: 1, baseEjectionMs: 60_000 });
  const eps = [view('a'), view('b')];
  d.failure('a', 'timeout');
  const b = withOutlierEjection(createRoundRobinBalancer(), d);
  assert.equal(b.pick(eps, { honourEjection: true })?.id, 'b', 'the endpoint not ejected is picked');
  d.failure('b', 'timeout');
  assert.equal(b.pick(eps, { honourEjection: true }), undefined, 'none when all are ejected');
  assert.ok(b.pick(eps, {}) !== undefined, 'without the flag, panic routing still picks one');
});
