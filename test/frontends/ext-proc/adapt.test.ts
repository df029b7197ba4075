import { test } from 'node:test';
import assert from 'node:assert/strict';
import { propagation } from '@opentelemetry/api';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { FerryError } from '../../../src/errors/index.js';
import {
  detailsFor,
  durationOf,
  headerMutations,
  headerText,
  planEnvoyBudget,
  readRequestHead,
  toImmediateResponse,
} from '../../../src/frontends/ext-proc/adapt.js';
import { problemResponse } from '../../../src/exchange/index.js';
import { traceIdFromHeaders as traceIdOf } from '../../../src/telemetry/index.js';

// The composition root registers the W3C propagator; the trace id of ext_proc's own error replies
// comes through it.
propagation.setGlobalPropagator(new W3CTraceContextPropagator());

const raw = (key: string, v: string) => ({ key, raw_value: Buffer.from(v, 'latin1'), value: '' });

test('headerText prefers a non-empty raw_value and falls back to value', () => {
  assert.equal(headerText({ value: 'old', raw_value: Buffer.from('new') }), 'new');
  assert.equal(headerText({ value: 'old', raw_value: Buffer.alloc(0) }), 'old');
  assert.equal(headerText({ value: 'old' }), 'old');
  assert.equal(headerText({}), '');
});

test('readRequestHead splits :path, uses :authority as host, merges repeats like Node', () => {
  const head = readRequestHead({
    headers: [
      raw(':method', 'post'),
      raw(':path', '/accounts/42/transfers?dry=1&x=%20'),
      raw(':authority', 'bank.example'),
      raw(':scheme', 'http'),
      raw('content-type', 'application/json'),
      raw('content-type', 'text/plain'),
      raw('cookie', 'a=1'),
      raw('cookie', 'b=2'),
      raw('x-tag', 'one'),
      raw('X-Tag', 'two'),
      raw('set-cookie', 's=1'),
      raw('set-cookie', 't=2'),
    ],
  });
  assert.equal(head.method, 'POST');
  assert.equal(head.path, '/accounts/42/transfers');
  assert.equal(head.rawQuery, 'dry=1&x=%20');
  assert.deepEqual(head.headers, {
    host: 'bank.example',
    'content-type': 'application/json',
    cookie: 'a=1; b=2',
    'x-tag': 'one, two',
    'set-cookie': ['s=1', 't=2'],
  });
});

test('readRequestHead keeps an explicit host header and an empty query', () => {
  const head = readRequestHead({ headers: [raw(':method', 'GET'), raw(':path', '/a?'), raw(':authority', 'x'), raw('host', 'h')] });
  assert.equal(head.path, '/a');
  assert.equal(head.rawQuery, '');
  assert.equal(head.headers['host'], 'h');
});

test('readRequestHead reads value when raw_value is empty (older Envoy)', () => {
  const head = readRequestHead({
    headers: [
      { key: ':method', value: 'GET' },
      { key: ':path', value: '/v' },
      { key: 'x-a', value: 'b' },
    ],
  });
  assert.deepEqual([head.method, head.path, head.headers['x-a']], ['GET', '/v', 'b']);
});

test('readRequestHead rejects headers without :path (input: only :method) with FERRY_EXT_PROC_PROTOCOL_ERROR', () => {
  assert.throws(
    () => readRequestHead({ headers: [raw(':method', 'GET')] }),
    (e: unknown) => e instanceof FerryError && e.code === 'FERRY_EXT_PROC_PROTOCOL_ERROR' && e.status === 400,
  );
  assert.throws(
    () => readRequestHead(null),
    (e: unknown) => e instanceof FerryError && e.code === 'FERRY_EXT_PROC_PROTOCOL_ERROR',
  );
});

test('headerMutations sets raw_value only, overwrites the first value and appends the rest', () => {
  const muts = headerMutations({ 'content-type': 'application/json', 'set-cookie': ['a=1', 'b=2'], 'content-length': '12' });
  assert.deepEqual(muts, [
    { header: { key: 'content-type', raw_value: Buffer.from('application/json') }, append_action: 'OVERWRITE_IF_EXISTS_OR_ADD' },
    { header: { key: 'set-cookie', raw_value: Buffer.from('a=1') }, append_action: 'OVERWRITE_IF_EXISTS_OR_ADD' },
    { header: { key: 'set-cookie', raw_value: Buffer.from('b=2') }, append: { value: true } },
  ]);
  for (const m of muts) assert.equal('value' in m.header, false);
});

test('traceIdOf reads a valid traceparent and ignores malformed or all-zero ones', () => {
  assert.equal(traceIdOf({ traceparent: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01' }), '4bf92f3577b34da6a3ce929d0e0e4736');
  assert.equal(traceIdOf({ traceparent: '00-00000000000000000000000000000000-00f067aa0ba902b7-01' }), undefined);
  assert.equal(traceIdOf({ traceparent: 'garbage' }), undefined);
  assert.equal(traceIdOf({}), undefined);
});

test('problemResponse renders the catalogue problem document', () => {
  const res = problemResponse(new FerryError('FERRY_BODY_TOO_LARGE', 'too big'), 'r1', 'abc');
  assert.equal(res.status, 413);
  assert.equal(res.headers['content-type'], 'application/problem+json');
  const doc = JSON.parse(String(res.body));
  assert.equal(doc.code, 'FERRY_BODY_TOO_LARGE');
  assert.equal(doc.route, 'r1');
  assert.equal(doc.traceId, 'abc');
  assert.equal(doc.status, 413);
});

test('detailsFor names the problem code, or ferry_ok', () => {
  const p = problemResponse(new FerryError('FERRY_BAD_JSON', 'x'));
  assert.equal(detailsFor(p, Buffer.from(String(p.body))), 'FERRY_BAD_JSON');
  assert.equal(detailsFor({ status: 200, headers: {}, body: '' }, Buffer.alloc(0)), 'ferry_ok');
  assert.equal(detailsFor({ status: 500, headers: { 'content-type': 'text/plain' }, body: '' }, Buffer.alloc(0)), 'ferry_status_500');
});

test('toImmediateResponse carries status, headers, the whole body (streamed chunks too) and details', async () => {
  async function* more() {
    yield '{"b":2}\n';
    yield Buffer.from('{"c":3}\n');
  }
  const out = (await toImmediateResponse({ status: 201, headers: { 'content-type': 'application/x-ndjson' }, body: '{"a":1}\n', stream: more() }))!;
  const ir = out.immediate_response!;
  assert.equal(ir.status.code, 201);
  assert.equal(ir.body!.toString(), '{"a":1}\n{"b":2}\n{"c":3}\n');
  assert.equal(ir.details, 'ferry_ok');
  assert.equal(ir.headers!.set_headers![0]!.header.raw_value.toString(), 'application/x-ndjson');
  assert.deepEqual(Object.keys(out), ['immediate_response']);
});

test('a streamed reply over the ImmediateResponse budget (input: 3 chunks of 40 bytes, budget 100) is not gathered: undefined, and the upstream stream is cancelled', async () => {
  let produced = 0;
  let cancelled = false;
  async function* endless() {
    try {
      for (;;) {
        produced++;
        yield Buffer.alloc(40, 0x61);
      }
    } finally {
      cancelled = true;
    }
  }
  const out = await toImmediateResponse({ status: 200, headers: { 'content-type': 'application/x-ndjson' }, body: '', stream: endless() }, 100);
  assert.equal(out, undefined, 'over the budget: no ImmediateResponse');
  assert.equal(cancelled, true, 'the stream was returned (cancelled)');
  assert.equal(produced, 3, 'nothing read past the chunk that crossed the budget');
  const within = await toImmediateResponse({ status: 200, headers: {}, body: 'x', stream: endless() }, 1000);
  assert.equal(within, undefined, 'an endless stream never fits');
});

test('planEnvoyBudget: unknown timers leave the route alone; otherwise override within max, or the shorter budget', () => {
  assert.deepEqual(planEnvoyBudget(3000, undefined), { budgetMs: 3000 });
  assert.deepEqual(planEnvoyBudget(100, { messageTimeoutMs: 200, maxMessageTimeoutMs: 0 }), { budgetMs: 100 });
  assert.deepEqual(planEnvoyBudget(150, { messageTimeoutMs: 200, maxMessageTimeoutMs: 0 }), { budgetMs: 150 });
  assert.deepEqual(planEnvoyBudget(151, { messageTimeoutMs: 200, maxMessageTimeoutMs: 0 }), { budgetMs: 150 });
  assert.deepEqual(planEnvoyBudget(3000, { messageTimeoutMs: 200, maxMessageTimeoutMs: 30_000 }), { budgetMs: 3000, overrideMs: 3050 });
  assert.deepEqual(planEnvoyBudget(60_000, { messageTimeoutMs: 200, maxMessageTimeoutMs: 30_000 }), { budgetMs: 29_950, overrideMs: 30_000 });
  // A max no larger than message_timeout cannot extend anything.
  assert.deepEqual(planEnvoyBudget(3000, { messageTimeoutMs: 200, maxMessageTimeoutMs: 200 }), { budgetMs: 150 });
  // Never a zero or negative budget (input: message_timeout 10 ms, under the margin).
  assert.deepEqual(planEnvoyBudget(3000, { messageTimeoutMs: 10, maxMessageTimeoutMs: 0 }), { budgetMs: 1 });
  assert.deepEqual(durationOf(3050), { seconds: 3, nanos: 50_000_000 });
});
