/**
 * The sample bank through HTTP → Ferry → Apache Dubbo (Java): realistic routes, and every error row
 * of DESIGN.md's table with the input that causes it.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { startJavaProvider, type JavaProvider } from '../support/java-provider.js';
import { freePort } from '../support/ports.js';
import { http, startTestFerry, type TestFerry } from '../support/ferry.js';

let provider: JavaProvider;
let ferry: TestFerry;
let ghostPort: number;

before(async () => {
  provider = await startJavaProvider({ name: 'bank' });
  ghostPort = await freePort(); // nothing listens here
  ferry = await startTestFerry({
    dubboAddress: provider.address,
    maxBodyBytes: 4096,
    extra: {
      'ghost.yaml': [
        'services:',
        '  ghost:',
        '    protocol: dubbo',
        '    interface: com.example.bank.AccountService',
        '    version: 1.0.0',
        `    endpoints: [127.0.0.1:${ghostPort}]`,
        '  wrong-version:',
        '    protocol: dubbo',
        '    interface: com.example.bank.AccountService',
        '    version: 9.9.9',
        `    endpoints: [${provider.address}]`,
        'routes:',
        '  - id: ghost-ping',
        '    http: GET /ghost/ping',
        '    call: ghost.ping',
        '  - id: wrong-version-ping',
        '    http: GET /wrong-version/ping',
        '    call: wrong-version.ping',
        '',
      ].join('\n'),
    },
  });
});

after(async () => {
  await ferry?.close();
  await provider?.stop();
});

const get = (path: string, headers?: Record<string, string>) => http(ferry.base, 'GET', path, undefined, headers);
const post = (path: string, body: unknown, headers?: Record<string, string>) => http(ferry.base, 'POST', path, body, headers);

function assertProblem(r: Awaited<ReturnType<typeof get>>, status: number, code: string): void {
  assert.equal(r.status, status, r.text);
  assert.equal(r.headers.get('content-type'), 'application/problem+json');
  assert.equal(r.json.code, code, r.text);
  assert.equal(r.json.status, status);
  assert.equal(typeof r.json.detail, 'string');
  assert.equal(r.json.type, `urn:ferry:error:${code}`);
}

describe('accounts', () => {
  test('GET /accounts/2: a POJO with BigDecimal, enum, LocalDateTime and List', async () => {
    const r = await get('/accounts/2');
    assert.equal(r.status, 200, r.text);
    assert.equal(r.headers.get('content-type'), 'application/json');
    assert.deepEqual(r.json, {
      id: 2,
      owner: 'owner-2',
      balance: '2000.50',
      currency: 'CNY',
      openedAt: '2020-01-01T00:02',
      tags: ['t2'],
      active: true,
    });
  });

  test('Long.MAX_VALUE as an id in the path, and a 22-digit balance', async () => {
    const r = await get('/accounts/9223372036854775807');
    assert.equal(r.status, 200, r.text);
    assert.match(r.text, /"id":"9223372036854775807"/);
    assert.match(r.text, /"balance":"12345678901234567890.12"/);
    assert.equal(r.json.openedAt, '2021-06-30T23:59:59.123456789');
  });

  test('a declared exception mapped by errors: → 404 with its class', async () => {
    const r = await get('/accounts/5000');
    assertProblem(r, 404, 'FERRY_UPSTREAM_EXCEPTION');
    assert.equal(r.json.route, 'get-account');
    assert.equal(r.json.exception.class, 'com.example.bank.AccountNotFoundException');
    assert.equal(r.json.exception.message, 'account 5000 not found');
  });

  test('a null return is JSON null', async () => {
    const r = await get('/accounts/5000/maybe');
    assert.equal(r.status, 200);
    assert.equal(r.text, 'null');
  });

  test('a list of 20 POJOs from a query parameter', async () => {
    const r = await get('/accounts?limit=20');
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.length, 20);
    assert.equal(r.json[19].id, 20);
    assert.equal(r.json[19].balance, '20005.00');
    assert.deepEqual(r.json[4].tags, ['t2', 'vip']);
  });

  test('Map<String,Object> with mixed values', async () => {
    const r = await get('/accounts/3/summary');
    assert.equal(r.status, 200, r.text);
    assert.deepEqual(r.json, {
      id: 3,
      owner: 'owner-3',
      balance: '3000.75',
      active: true,
      tags: ['t0'],
      openedAt: new Date(1577836800000 + 3 * 60000).toISOString(),
      score: 1.5,
      nested: { level: 2 },
    });
  });
});

describe('transfers', () => {
  const body = { to: 7, amount: '100.10', currency: 'USD', memo: 'rent', executeAt: '2024-02-29T09:30:00', tags: ['home'] };

  test('POST with a POJO body, a path long and an optional header argument', async () => {
    const r = await post('/accounts/3/transfers', body, { 'x-request-id': 'req-1' });
    assert.equal(r.status, 200, r.text);
    assert.match(r.text, /"transferId":"9007199254740996"/);
    assert.equal(r.json.from, 3);
    assert.equal(r.json.to, 7);
    assert.equal(r.json.amount, '100.10');
    assert.equal(r.json.balanceAfter, '2900.65');
    assert.equal(r.json.executeAt, '2024-02-29T09:30');
    assert.equal(r.json.requestId, 'req-1');
    assert.deepEqual(r.json.tags, ['home']);
  });

  test('the optional header may be absent (Java receives null)', async () => {
    const r = await post('/accounts/3/transfers', body);
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.requestId, null);
  });

  test('keys in any order bind by name, and a 22-digit amount sent as a JSON number keeps every digit', async () => {
    const raw = '{"tags":[],"amount":12345678901234567890.11,"to":2,"currency":"EUR"}';
    const r = await post('/accounts/9223372036854775807/transfers', raw);
    assert.equal(r.status, 200, r.text);
    assert.match(r.text, /"amount":"12345678901234567890.11"/);
    assert.match(r.text, /"from":"9223372036854775807"/);
    assert.equal(r.json.balanceAfter, '0.01');
  });

  test('insufficient funds → 422 (mapped)', async () => {
    const r = await post('/accounts/1/transfers', { ...body, amount: '1000.26' });
    assertProblem(r, 422, 'FERRY_UPSTREAM_EXCEPTION');
    assert.equal(r.json.exception.class, 'com.example.bank.InsufficientFundsException');
    assert.match(r.json.exception.message, /short by 0.01/);
  });
});

describe('methods and attachments', () => {
  test('no-argument method, and an overloaded name picked by its declared signature', async () => {
    assert.equal((await get('/ping')).json, 'pong');
    assert.equal((await get('/greet/Ann')).json, 'Hello, Ann');
    assert.equal((await get('/greet/Ann/times/2')).json, 'Hello, Ann Hello, Ann');
  });

  test("with no tracing SDK, the caller's traceparent reaches Java unchanged (Ferry passes the trace through)", async () => {
    const traceparent = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';
    const r = await get('/attachments', { traceparent });
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.traceparent, traceparent);
  });

  test('only attachments the mapping names reach Java', async () => {
    const r = await get('/attachments', { 'x-tenant': 'acme', 'x-secret': 'nope' });
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.tenant, 'acme');
    assert.ok(!Object.values(r.json).includes('nope'), 'an unmapped header leaked into the attachments');
  });
});

describe('errors', () => {
  test('unknown route → 404', async () => {
    const r = await get('/no/such/route');
    assertProblem(r, 404, 'FERRY_ROUTE_NOT_FOUND');
  });

  test('known path, wrong method → 405 with Allow', async () => {
    const r = await http(ferry.base, 'DELETE', '/accounts/1');
    assertProblem(r, 405, 'FERRY_METHOD_NOT_ALLOWED');
    assert.equal(r.headers.get('allow'), 'GET');
  });

  test('malformed JSON → 400 FERRY_BAD_JSON', async () => {
    const r = await post('/accounts/3/transfers', '{"to": 7, "amount": ');
    assertProblem(r, 400, 'FERRY_BAD_JSON');
    assert.equal(r.json.route, 'create-transfer');
  });

  test('wrong type in the path → 400 naming the argument', async () => {
    const r = await get('/accounts/abc');
    assertProblem(r, 400, 'FERRY_BAD_ARGUMENT');
    assert.equal(r.json.argument, 'path.id');
  });

  test('wrong type deep in the body → 400 naming the JSON path', async () => {
    const r = await post('/accounts/3/transfers', { to: 7, amount: '1', tags: ['ok', 42] });
    assertProblem(r, 400, 'FERRY_BAD_ARGUMENT');
    assert.equal(r.json.argument, 'body');
    assert.equal(r.json.jsonPath, '$.tags[1]');
  });

  test('missing required argument → 400', async () => {
    const r = await post('/fail', {});
    assertProblem(r, 400, 'FERRY_MISSING_ARGUMENT');
    assert.equal(r.json.argument, 'body.message');
  });

  test('non-JSON content type → 415', async () => {
    const r = await http(ferry.base, 'POST', '/fail', 'message=x', { 'content-type': 'application/x-www-form-urlencoded' });
    assertProblem(r, 415, 'FERRY_UNSUPPORTED_MEDIA_TYPE');
  });

  test('oversized body (5 000 bytes over a 4 096-byte limit) → 413, and Ferry keeps serving', async () => {
    const r = await post('/fail', { message: 'x'.repeat(5000) });
    assertProblem(r, 413, 'FERRY_BODY_TOO_LARGE');
    assert.equal((await get('/ping')).json, 'pong');
  });

  test('an unmapped Java exception → 502 naming the route and code, not the provider\'s class or message (problem detail "safe")', async () => {
    const r = await post('/fail', { message: 'boom at the provider' });
    assertProblem(r, 502, 'FERRY_UPSTREAM_EXCEPTION');
    assert.equal(r.json.exception, undefined);
    assert.doesNotMatch(r.text, /boom at the provider|IllegalStateException/);
  });

  test('provider not running → 503', async () => {
    const r = await get('/ghost/ping');
    assertProblem(r, 503, 'FERRY_UPSTREAM_UNAVAILABLE');
  });

  test('a version the provider does not export → 502 service not found', async () => {
    const r = await get('/wrong-version/ping');
    assertProblem(r, 502, 'FERRY_UPSTREAM_SERVICE_NOT_FOUND');
  });

  test('route timeout (1 s) against a 3 s call → 504, and the connection keeps working', async () => {
    const r = await get('/slow/3000');
    assertProblem(r, 504, 'FERRY_UPSTREAM_TIMEOUT');
    assert.equal((await get('/ping')).json, 'pong');
  });

  test('a trace id from traceparent appears in the problem document', async () => {
    const traceId = '4bf92f3577b34da6a3ce929d0e0e4736';
    const r = await get('/accounts/abc', { traceparent: `00-${traceId}-00f067aa0ba902b7-01` });
    assert.equal(r.json.traceId, traceId);
  });
});
