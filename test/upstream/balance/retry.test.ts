import { test } from 'node:test';
import assert from 'node:assert/strict';
import { callWithRetries, canRetry } from '../../../src/upstream/balance/retry.js';
import { TransportError, reachedWire } from '../../../src/errors/transport.js';
import { createOutlierDetector } from '../../../src/upstream/balance/outlier.js';
import { FerryError } from '../../../src/errors/index.js';
import type { ErrorCode } from '../../../src/errors/index.js';
import type { PickHint } from '../../../src/upstream/balance/types.js';

/** A transport failure that says whether it reached the wire, or (sent undefined) a plain FerryError that does not. */
function transportError(code: ErrorCode, sent: boolean | undefined, endpoint?: string): FerryError {
  const opts = endpoint === undefined ? {} : { endpoint };
  return sent === undefined ? new FerryError(code, code, opts) : new TransportError(code, code, sent, opts);
}

test('never reached the wire → retry; reached or unknown → only when idempotent', () => {
  for (const code of ['FERRY_UPSTREAM_UNAVAILABLE', 'FERRY_UPSTREAM_CONNECTION_LOST', 'FERRY_UPSTREAM_TIMEOUT'] as const) {
    assert.equal(canRetry(transportError(code, false), false), true, `${code} unsent`);
    assert.equal(canRetry(transportError(code, true), false), false, `${code} sent`);
    assert.equal(canRetry(transportError(code, undefined), false), false, `${code} unknown`);
    assert.equal(canRetry(transportError(code, true), true), true, `${code} sent, idempotent`);
  }
  assert.equal(canRetry(transportError('FERRY_UPSTREAM_OVERLOADED', true), false), true, 'Dubbo 100 never ran the method');
  for (const code of ['FERRY_UPSTREAM_EXCEPTION', 'FERRY_UPSTREAM_SERVICE_NOT_FOUND', 'FERRY_BAD_ARGUMENT'] as const) {
    assert.equal(canRetry(transportError(code, false), true), false, code);
  }
  assert.equal(canRetry(new Error('boom'), true), false);
  assert.equal(reachedWire(new TransportError('FERRY_UPSTREAM_UNAVAILABLE', 'x', false)), false);
  assert.equal(reachedWire({ sent: false }), undefined, 'only a TransportError says it: no duck typing');
  assert.equal(reachedWire(new Error('x')), undefined);
});

test('failover excludes the failed endpoint and returns the next result', async () => {
  const hints: PickHint[] = [];
  const outlier = createOutlierDetector({ consecutiveFailures: 1 });
  const result = await callWithRetries(
    async (hint) => {
      hints.push(hint);
      if (hints.length === 1) throw transportError('FERRY_UPSTREAM_CONNECTION_LOST', false, 'a:1');
      return { endpoint: 'b:1', body: 'ok' };
    },
    { idempotent: false, hint: { hashKey: 'u1' }, endpointOf: (r) => r.endpoint, outlier },
  );
  assert.equal(result.body, 'ok');
  assert.equal(hints.length, 2);
  assert.equal(hints[0]!.exclude, undefined);
  assert.deepEqual([...hints[1]!.exclude!], ['a:1']);
  assert.equal(hints[1]!.hashKey, 'u1', "the caller's hint is kept");
  assert.equal(outlier.isEjected('a:1'), true, 'the failure was recorded');
});

test('a sent, non-idempotent failure is not retried; the error comes back as is', async () => {
  let calls = 0;
  const err = transportError('FERRY_UPSTREAM_CONNECTION_LOST', true, 'a:1');
  await assert.rejects(
    callWithRetries(
      async () => {
        calls++;
        throw err;
      },
      { idempotent: false, maxAttempts: 3 },
    ),
    (e) => e === err,
  );
  assert.equal(calls, 1);
});

test('attempts are bounded, each one excluding every endpoint tried so far', async () => {
  const seen: string[][] = [];
  let n = 0;
  await assert.rejects(
    callWithRetries(
      async (hint) => {
        seen.push([...(hint.exclude ?? [])]);
        throw transportError('FERRY_UPSTREAM_TIMEOUT', true, `e${n++}:1`);
      },
      { idempotent: true, maxAttempts: 3 },
    ),
    (e) => e instanceof FerryError && e.code === 'FERRY_UPSTREAM_TIMEOUT',
  );
  assert.deepEqual(seen, [[], ['e0:1'], ['e0:1', 'e1:1']]);
});

test('no retry without a known endpoint, nor after the deadline', async () => {
  let calls = 0;
  await assert.rejects(
    callWithRetries(
      async () => {
        calls++;
        throw transportError('FERRY_UPSTREAM_UNAVAILABLE', false);
      },
      { idempotent: true, maxAttempts: 3 },
    ),
  );
  assert.equal(calls, 1);
  calls = 0;
  await assert.rejects(
    callWithRetries(
      async () => {
        calls++;
        throw transportError('FERRY_UPSTREAM_UNAVAILABLE', false, 'a:1');
      },
      { idempotent: true, maxAttempts: 3, deadline: performance.now() - 1 },
    ),
  );
  assert.equal(calls, 1);
});
