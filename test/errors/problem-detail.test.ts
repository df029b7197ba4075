/**
 * What a problem document tells a client (toProblem, the one place that decides): 4xx answers
 * keep their message, 5xx answers only say what failed, unless an operator asked for full detail.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FerryError, MAX_SAFE_DETAIL_CHARS, toProblem } from '../../src/errors/index.js';

const STACK = 'java.lang.RuntimeException: cannot serialize\n\tat com.example.Impl.run(Impl.java:42)\n'.repeat(60);

test('a 5xx (input: a Dubbo status error whose text is a 5 KB Java stack trace from 10.0.0.7:20880) names route and code, never the text or the address', () => {
  const err = new FerryError('FERRY_UPSTREAM_STATUS', `10.0.0.7:20880: ${STACK}`, { upstreamStatus: 70, endpoint: '10.0.0.7:20880' });
  const doc = toProblem(err, 'get-account', 'trace-1');
  assert.equal(doc.code, 'FERRY_UPSTREAM_STATUS');
  assert.equal(doc.route, 'get-account');
  assert.equal(doc.traceId, 'trace-1');
  assert.equal(doc.upstreamStatus, 70);
  assert.equal(doc.detail, doc.title);
  const text = JSON.stringify(doc);
  assert.doesNotMatch(text, /10\.0\.0\.7|Impl\.java|RuntimeException/);
  assert.ok(text.length < 400, `${text.length} characters`);
});

test('an unmapped Java exception (502) loses its class and message; a mapped one (404) keeps both', () => {
  const unmapped = toProblem(
    new FerryError('FERRY_UPSTREAM_EXCEPTION', 'boom: SELECT * FROM accounts', { exceptionClass: 'java.sql.SQLException', endpoint: 'h:1' }),
  );
  assert.equal(unmapped.exception, undefined);
  assert.doesNotMatch(JSON.stringify(unmapped), /SELECT|SQLException/);
  const mapped = toProblem(
    new FerryError('FERRY_UPSTREAM_EXCEPTION', 'account 5000 not found', {
      exceptionClass: 'com.example.bank.AccountNotFoundException',
      status: 404,
    }),
  );
  assert.deepEqual(mapped.exception, { class: 'com.example.bank.AccountNotFoundException', message: 'account 5000 not found' });
  assert.equal(mapped.detail, 'account 5000 not found');
});

test('a 4xx keeps its message but at most MAX_SAFE_DETAIL_CHARS of it, and drops google.rpc.DebugInfo details', () => {
  const err = new FerryError('FERRY_UPSTREAM_STATUS', `INVALID_ARGUMENT: ${'x'.repeat(5000)}`, {
    status: 400,
    upstreamStatusName: 'INVALID_ARGUMENT',
    upstreamDetails: [
      { '@type': 'type.googleapis.com/google.rpc.BadRequest', fieldViolations: [] },
      { '@type': 'type.googleapis.com/google.rpc.DebugInfo', stackEntries: ['at x'] },
    ],
  });
  const doc = toProblem(err);
  assert.equal(doc.detail.length, MAX_SAFE_DETAIL_CHARS + 1);
  assert.ok(doc.detail.startsWith('INVALID_ARGUMENT: xxx'));
  assert.deepEqual(doc.details, [{ '@type': 'type.googleapis.com/google.rpc.BadRequest', fieldViolations: [] }]);
});

test('full detail (the operator setting) tells everything: whole message, exception, DebugInfo, endpoint', () => {
  const err = new FerryError('FERRY_UPSTREAM_EXCEPTION', STACK, {
    exceptionClass: 'java.lang.IllegalStateException',
    endpoint: '10.0.0.7:20880',
    upstreamDetails: [{ '@type': 'type.googleapis.com/google.rpc.DebugInfo' }],
  });
  const doc = toProblem(err, 'fail', undefined, 'full');
  assert.equal(doc.detail, STACK);
  assert.deepEqual(doc.exception, { class: 'java.lang.IllegalStateException', message: STACK });
  assert.equal(doc.endpoint, '10.0.0.7:20880');
  assert.equal(doc.details?.length, 1);
  assert.equal(toProblem(err).endpoint, undefined);
});
