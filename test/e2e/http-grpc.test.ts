/**
 * HTTP → Ferry → gRPC (Python grpcio) and Triple (Apache Dubbo, Java), through fastify and the
 * shipped mappings: routes derived from google.api.http options, canonical proto3 JSON both ways,
 * gRPC status → HTTP, server streaming as NDJSON.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { startGrpcPeer, type GrpcPeer } from '../support/grpc-peer.js';
import { startJavaProvider, type JavaProvider } from '../support/java-provider.js';
import { http, startTestFerry, type TestFerry } from '../support/ferry.js';

let peer: GrpcPeer;
let provider: JavaProvider;
let ferry: TestFerry;

before(async () => {
  [peer, provider] = await Promise.all([startGrpcPeer(), startJavaProvider({ name: 'triple', triple: true })]);
  ferry = await startTestFerry({
    dubboAddress: provider.address,
    grpcAddress: peer.address,
    tripleAddress: `127.0.0.1:${provider.triplePort}`,
  });
});

after(async () => {
  await ferry?.close();
  await Promise.all([peer?.stop(), provider?.stop()]);
});

describe('gRPC routes from google.api.http options', () => {
  test('GET with a multi-segment path variable: int64/uint64 as strings, enum by name, Timestamp, wrapper, json_name', async () => {
    const r = await http(ferry.base, 'GET', '/v1/accounts/a1/payments/p9');
    assert.equal(r.status, 200, r.text);
    assert.equal(r.headers.get('content-type'), 'application/json');
    assert.equal(r.json.name, 'accounts/a1/payments/p9');
    assert.deepEqual(r.json.amount, { currencyCode: 'EUR', units: '9007199254740993', nanos: 500000000 });
    assert.equal(r.json.state, 'SETTLED');
    assert.equal(r.json.createTime, '2024-05-06T07:08:09.123Z');
    assert.equal(r.json.sequence, '18446744073709551615');
    assert.equal(r.json.note, 'sample');
    assert.equal(r.json.reference, 'ref-1');
    assert.equal(r.headers.get('grpc-metadata-x-served-by'), 'python');
  });

  test('POST with body "*" and a custom verb; int64 sent as a JSON number keeps its digits', async () => {
    const r = await http(
      ferry.base,
      'POST',
      '/v1/payments:search',
      '{"parents":["accounts/a1"],"filter":{"minUnits":9223372036854775807,"state":"PENDING"},"limit":2}',
    );
    assert.equal(r.status, 200, r.text);
    const seen = JSON.parse(r.json.payments[0].note);
    assert.equal(seen.filter.minUnits, '9223372036854775807');
    assert.equal(seen.filter.state, 'PENDING');
  });

  test('a named body field plus path and query parameters', async () => {
    const r = await http(ferry.base, 'POST', '/v1/accounts/a2/payments?requestId=r-7', {
      amount: { currencyCode: 'USD', units: '12', nanos: 5 },
      note: 'hi',
    });
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.name, 'accounts/a2/payments/r-7');
    assert.equal(r.json.state, 'PENDING');
    assert.equal(r.json.note, 'hi');
  });

  test('an unknown field in the body → 400 naming it', async () => {
    const r = await http(ferry.base, 'POST', '/v1/payments:search', { parents: [], bogus: 1 });
    assert.equal(r.status, 400, r.text);
    assert.equal(r.headers.get('content-type'), 'application/problem+json');
    assert.match(r.json.code, /^FERRY_BAD_(ARGUMENT|JSON)$/);
    assert.match(r.text, /bogus/);
  });

  test('gRPC NOT_FOUND → 404 problem with the upstream status', async () => {
    const r = await http(ferry.base, 'GET', '/v1/accounts/a1/payments/missing');
    assert.equal(r.status, 404, r.text);
    assert.equal(r.json.code, 'FERRY_UPSTREAM_STATUS');
    assert.equal(r.json.upstreamStatusName, 'NOT_FOUND');
  });

  test('server streaming → newline-delimited JSON', async () => {
    const r = await http(ferry.base, 'GET', '/v1/accounts/a3/payments:watch?count=3');
    assert.equal(r.status, 200, r.text);
    assert.equal(r.headers.get('content-type'), 'application/x-ndjson');
    const lines = r.text
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    assert.equal(lines.length, 3);
    assert.deepEqual(
      lines.map((l) => l.seq),
      ['9007199254740993', '9007199254740994', '9007199254740995'],
    );
  });

  test('each call is timed in ferry_upstream_call_duration_seconds by service, method and outcome (inputs: p9, then "missing" → NOT_FOUND, then a 3-message stream)', async () => {
    const count = async (method: string, code: string): Promise<number> => {
      const text = await ferry.metrics.registry.getSingleMetricAsString('ferry_upstream_call_duration_seconds');
      const m = new RegExp(`_count\\{service="payments",method="${method}",code="${code}"\\} (\\d+)`).exec(text);
      return m ? Number(m[1]) : 0;
    };
    const [ok0, missing0, stream0] = [
      await count('GetPayment', 'OK'),
      await count('GetPayment', 'FERRY_UPSTREAM_STATUS'),
      await count('WatchPayments', 'OK'),
    ];
    assert.equal((await http(ferry.base, 'GET', '/v1/accounts/a1/payments/p9')).status, 200);
    assert.equal((await http(ferry.base, 'GET', '/v1/accounts/a1/payments/missing')).status, 404);
    assert.equal((await http(ferry.base, 'GET', '/v1/accounts/a3/payments:watch?count=3')).status, 200);
    assert.equal(await count('GetPayment', 'OK'), ok0 + 1);
    assert.equal(await count('GetPayment', 'FERRY_UPSTREAM_STATUS'), missing0 + 1);
    // A stream is one call, counted when its last message has been read.
    assert.equal(await count('WatchPayments', 'OK'), stream0 + 1);
  });

  test('a YAML route for a method without options', async () => {
    const r = await http(ferry.base, 'GET', '/v1/ping?text=hey');
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.text, 'hey');
    assert.match(r.json.serverTimeNanos, /^\d+$/);
  });
});

describe('Triple (Apache Dubbo, Java) through the same path', () => {
  test('unary with body "*"', async () => {
    const r = await http(ferry.base, 'POST', '/v1/greeter:sayHello', { name: 'Ann', count: '9007199254740993' });
    assert.equal(r.status, 200, r.text);
    assert.deepEqual(r.json, { message: 'Hello, Ann', count: '9007199254740993', at: '2024-02-29T12:00:00.500Z' });
  });

  test('unary with a path parameter', async () => {
    const r = await http(ferry.base, 'GET', '/v1/greeter/Bo');
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.message, 'Hello, Bo');
  });

  test('server streaming from Java', async () => {
    const r = await http(ferry.base, 'GET', '/v1/greeter/Cy/stream?count=3');
    assert.equal(r.status, 200, r.text);
    const lines = r.text
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    assert.deepEqual(
      lines.map((l) => l.message),
      ['Hello 1, Cy', 'Hello 2, Cy', 'Hello 3, Cy'],
    );
  });
});
