import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Backoff, BACKOFF_INITIAL_MS, BACKOFF_MAX_MS, BACKOFF_MULTIPLIER } from '../../../src/upstream/balance/backoff.js';
import { GRPC_BACKOFF } from '../../../src/upstream/grpc/client.js';

test('without jitter the delays grow by 1.6 from 100 ms and stop at 10 s', () => {
  const b = new Backoff({ random: () => 0.5 }); // 0.5 → zero spread
  const seen = Array.from({ length: 14 }, () => b.next());
  assert.deepEqual(seen.slice(0, 5), [100, 160, 256, 410, 655]);
  assert.equal(BACKOFF_INITIAL_MS, 100);
  assert.equal(BACKOFF_MULTIPLIER, 1.6);
  assert.equal(BACKOFF_MAX_MS, 10_000);
  assert.equal(seen[13], 10_000);
  for (let i = 1; i < seen.length; i++) assert.ok(seen[i]! >= seen[i - 1]!);
  assert.equal(b.attempts, 14);
});

test('jitter stays within ±20 % of the base delay', () => {
  const low = new Backoff({ random: () => 0 });
  const high = new Backoff({ random: () => 0.999999 });
  let base = 100;
  for (let i = 0; i < 15; i++) {
    assert.equal(low.next(), Math.round(base * 0.8));
    assert.equal(high.next(), Math.round(base * 1.2 - 0.000008 * base));
    base = Math.min(base * 1.6, 10_000);
  }
});

test('reset goes back to the initial delay', () => {
  const b = new Backoff({ random: () => 0.5 });
  b.next();
  b.next();
  b.next();
  b.reset();
  assert.equal(b.attempts, 0);
  assert.equal(b.next(), 100);
});

test("the gRPC client's schedule: 200 ms doubling to 5 s", () => {
  const b = new Backoff({ ...GRPC_BACKOFF, random: () => 0.5 });
  assert.deepEqual(
    Array.from({ length: 8 }, () => b.next()),
    [200, 400, 800, 1600, 3200, 5000, 5000, 5000],
  );
});
