/**
 * The gRPC binding end to end against a gRPC server nobody here wrote the stack of (Python grpcio,
 * samples/grpc-python/server.py): routes derived from google.api.http, handlers called with neutral
 * requests exactly as the engine will call them, real sockets, real HTTP/2.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { ROOT_CONTEXT } from '@opentelemetry/api';
import { createGrpcBinding, type GrpcBinding } from '../../src/gateway/grpc-binder.js';
import { UpstreamClients } from '../../src/upstream/clients.js';
import type { FerryConfig, GrpcRoute, GrpcService, ProtoService } from '../../src/config/types.js';
import { parseTemplate } from '../../src/router/index.js';
import type { GatewayRequest, GatewayResponse } from '../../src/exchange/index.js';
import type { RouteHandler } from '../../src/gateway/types.js';
import { FerryError, toProblem } from '../../src/errors/index.js';
import { startGrpcPeer, type GrpcPeer } from '../support/grpc-peer.js';
import { freePort } from '../support/ports.js';

const ROOT = path.resolve('.');
const source = { file: 'test.yaml', line: 1, col: 1 };

function service(
  name: string,
  endpoints: string[],
  extra: Partial<Omit<GrpcService, 'protocol'>> = {},
  protocol: ProtoService['protocol'] = 'grpc',
): ProtoService {
  return {
    name,
    protocol,
    interface: 'example.payments.v1.Payments',
    proto: 'idl/payments/v1/payments.proto',
    service: 'example.payments.v1.Payments',
    endpoints,
    timeoutMs: 5000,
    timeoutSet: true,
    connectionsPerEndpoint: 1,
    balance: 'round-robin',
    retries: 1,
    forwardHeaders: ['x-tenant', 'x-blob-bin'],
    source,
    keySources: {},
    ...extra,
  };
}

function request(method: string, p: string, opts: { query?: string; body?: unknown; headers?: Record<string, string> } = {}): GatewayRequest {
  return {
    method,
    path: p,
    rawQuery: opts.query ?? '',
    headers: opts.headers ?? {},
    body: opts.body === undefined ? undefined : Buffer.from(typeof opts.body === 'string' ? opts.body : JSON.stringify(opts.body)),
  };
}

const ctx = (routeId = 'r') => ({ deadline: performance.now() + 10_000, otel: ROOT_CONTEXT, routeId });

async function collect(res: GatewayResponse): Promise<string> {
  let text = String(res.body);
  if (res.stream) for await (const chunk of res.stream) text += String(chunk);
  return text;
}

describe('gRPC binding against the Python grpcio sample server', { timeout: 60_000 }, () => {
  let peer: GrpcPeer;
  let binding: GrpcBinding;
  const clients = new UpstreamClients();
  let svc: ProtoService;
  let config: FerryConfig;
  let routes: GrpcRoute[];
  const handlers = new Map<string, RouteHandler>();

  before(async () => {
    peer = await startGrpcPeer();
    binding = createGrpcBinding({ root: ROOT, clientFor: (s) => clients.forService(s) });
    svc = service('payments', [peer.address]);
    routes = binding.routesFor(svc);
    config = { root: ROOT, services: new Map([[svc.name, svc]]), types: new Map(), routes };
    for (const r of routes) handlers.set(r.id, binding.binder.bind(r, svc, config));
  });
  after(async () => {
    await clients.close();
    await peer?.stop();
  });

  const call = (id: string, req: GatewayRequest, params: Record<string, string> = {}) => handlers.get(id)!.handle(req, params, ctx(id));

  it('derives routes from every google.api.http shape', () => {
    const summary = routes.map((r) => `${r.id} ${r.method} ${r.path} body=${r.body ?? '-'} rb=${r.responseBody ?? '-'}`);
    assert.deepEqual(summary, [
      'payments.GetPayment GET /v1/{name=accounts/*/payments/*} body=- rb=-',
      'payments.ListPayments GET /v1/{parent=accounts/*}/payments body=- rb=-',
      'payments.CreatePayment POST /v1/{parent=accounts/*}/payments body=payment rb=-',
      'payments.UpdatePayment PATCH /v1/{payment.name=accounts/*/payments/*} body=payment rb=-',
      'payments.SearchPayments POST /v1/payments:search body=* rb=-',
      'payments.CapturePayment POST /v1/{name=accounts/*/payments/*}:capture body=* rb=-',
      'payments.CapturePayment#1 POST /v1/captures/{name=**} body=amount rb=-',
      'payments.GetPaymentState GET /v1/{name=accounts/*/payments/*}/state body=- rb=state',
      'payments.DeletePayment DELETE /v1/{name=accounts/*/payments/*} body=- rb=-',
      'payments.HeadPayment HEAD /v1/{name=accounts/*/payments/*} body=- rb=-',
      'payments.WatchPayments GET /v1/{parent=accounts/*}/payments:watch body=- rb=-',
      'payments.Fail POST /v1/debug:fail body=* rb=-',
      'payments.EchoMetadata GET /v1/debug/metadata body=- rb=-',
    ]);
    assert.ok(routes.every((r) => r.fromProto && r.serviceName === 'payments'));
    assert.equal(handlers.get('payments.GetPayment')!.needsBody, false);
    assert.equal(handlers.get('payments.CreatePayment')!.needsBody, true);
  });

  it('GET with a multi-segment path variable; int64/uint64 exact, json_name, wrappers, metadata and trailers as headers', async () => {
    const res = await call('payments.GetPayment', request('GET', '/v1/accounts/1/payments/2'), { name: 'accounts/1/payments/2' });
    assert.equal(res.status, 200);
    assert.equal(res.headers['content-type'], 'application/json');
    assert.equal(res.headers['grpc-metadata-x-served-by'], 'python');
    assert.equal(res.headers['grpc-trailer-x-trailer'], 'done');
    const body = JSON.parse(String(res.body));
    assert.deepEqual(body, {
      name: 'accounts/1/payments/2',
      amount: { currencyCode: 'EUR', units: '9007199254740993', nanos: 500000000 },
      state: 'SETTLED',
      createTime: '2024-05-06T07:08:09.123Z',
      labels: { kind: 'sample' },
      note: 'sample',
      sequence: '18446744073709551615',
      reference: 'ref-1',
    });
  });

  it('maps unbound fields from the query: nested, repeated, enum by name, int64 past 2^53, Timestamp', async () => {
    const query =
      'page_size=2&filter.state=SETTLED&filter.minUnits=9007199254740993&filter.currency_codes=EUR&filter.currencyCodes=USD&since=2024-01-01T00:00:00Z';
    const res = await call('payments.ListPayments', request('GET', '/v1/accounts/7/payments', { query }), { parent: 'accounts/7' });
    const body = JSON.parse(String(res.body));
    assert.equal(body.payments.length, 2);
    assert.equal(body.total, '-9223372036854775808');
    // The server echoes the request it decoded, printed by Python's json_format.
    assert.deepEqual(JSON.parse(body.nextPageToken), {
      parent: 'accounts/7',
      pageSize: 2,
      filter: { state: 'SETTLED', minUnits: '9007199254740993', currencyCodes: ['EUR', 'USD'] },
      since: '2024-01-01T00:00:00Z',
    });
  });

  it('named body field plus a query parameter; a JSON number past 2^53 keeps every digit', async () => {
    const res = await call(
      'payments.CreatePayment',
      request('POST', '/v1/accounts/7/payments', {
        query: 'requestId=abc',
        body: '{"amount":{"currencyCode":"EUR","units":9007199254740993},"note":"hi","state":"PENDING"}',
      }),
      { parent: 'accounts/7' },
    );
    const body = JSON.parse(String(res.body));
    assert.equal(body.name, 'accounts/7/payments/abc');
    assert.equal(body.amount.units, '9007199254740993');
    assert.equal(body.note, 'hi');
    assert.deepEqual(JSON.parse(body.labels.request), {
      parent: 'accounts/7',
      payment: { amount: { currencyCode: 'EUR', units: '9007199254740993' }, note: 'hi', state: 'PENDING' },
      requestId: 'abc',
    });
  });

  it('nested path field inside the body field, FieldMask from the query', async () => {
    const res = await call(
      'payments.UpdatePayment',
      request('PATCH', '/v1/accounts/1/payments/9', {
        query: 'updateMask=state,amount.currencyCode',
        body: { state: 'FAILED', name: 'ignored/by/path' },
      }),
      { 'payment.name': 'accounts/1/payments/9' },
    );
    const body = JSON.parse(String(res.body));
    assert.equal(body.name, 'accounts/1/payments/9');
    assert.equal(body.state, 'FAILED');
    assert.equal(body.labels.update_mask, 'state,amount.currency_code');
  });

  it('body "*" with a custom verb', async () => {
    const res = await call(
      'payments.SearchPayments',
      request('POST', '/v1/payments:search', { body: { parents: ['accounts/1', 'accounts/2'], filter: { state: 2 }, limit: '10' } }),
    );
    const body = JSON.parse(String(res.body));
    assert.deepEqual(
      body.payments.map((p: { name: string }) => p.name),
      ['accounts/1/payments/found', 'accounts/2/payments/found'],
    );
    assert.deepEqual(JSON.parse(body.payments[0].note), { parents: ['accounts/1', 'accounts/2'], filter: { state: 'SETTLED' }, limit: 10 });
  });

  it('additional binding with a ** variable and a named body field', async () => {
    const res = await call('payments.CapturePayment#1', request('POST', '/v1/captures/a/b/c', { body: { currencyCode: 'USD', units: '5' } }), {
      name: 'a/b/c',
    });
    const body = JSON.parse(String(res.body));
    assert.equal(body.name, 'a/b/c');
    assert.deepEqual(body.amount, { currencyCode: 'USD', units: '5' });
  });

  it('response_body returns only that field', async () => {
    const res = await call('payments.GetPaymentState', request('GET', '/v1/accounts/1/payments/2/state'), { name: 'accounts/1/payments/2' });
    assert.equal(String(res.body), '"FAILED"');
  });

  it('google.protobuf.Empty replies are {}; a bool from the query', async () => {
    const res = await call('payments.DeletePayment', request('DELETE', '/v1/accounts/1/payments/locked', { query: 'force=true' }), {
      name: 'accounts/1/payments/locked',
    });
    assert.equal(res.status, 200);
    assert.equal(String(res.body), '{}');
  });

  it('an explicit route for a method without http options (Ping, body "*")', async () => {
    const ping: GrpcRoute = {
      ...routes[0]!,
      id: 'ping',
      method: 'POST',
      path: '/v1/ping',
      template: parseTemplate('/v1/ping'),
      rpcMethod: 'Ping',
      body: '*',
      fromProto: false,
      emitDefaults: true,
    };
    const h = binding.binder.bind(ping, svc, config);
    const res = await h.handle(request('POST', '/v1/ping', { body: { text: '' } }), {}, ctx('ping'));
    const body = JSON.parse(String(res.body));
    assert.equal(body.text, '', 'emitDefaults prints the empty string');
    assert.match(body.serverTimeNanos, /^\d{19}$/);
  });

  it('NOT_FOUND → 404 FERRY_UPSTREAM_STATUS (input name accounts/1/payments/missing)', async () => {
    await assert.rejects(call('payments.GetPayment', request('GET', '/x'), { name: 'accounts/1/payments/missing' }), (err: unknown) => {
      assert.ok(err instanceof FerryError);
      assert.equal(err.code, 'FERRY_UPSTREAM_STATUS');
      assert.equal(err.status, 404);
      assert.equal(err.details.upstreamStatus, 5);
      assert.equal(err.details.upstreamStatusName, 'NOT_FOUND');
      return true;
    });
  });

  it('FAILED_PRECONDITION → 400 (input DELETE of a locked payment without force)', async () => {
    await assert.rejects(
      call('payments.DeletePayment', request('DELETE', '/x'), { name: 'accounts/1/payments/locked' }),
      (err: unknown) => err instanceof FerryError && err.status === 400 && err.details.upstreamStatusName === 'FAILED_PRECONDITION',
    );
  });

  it('google.rpc.Status details are decoded into the problem body (input code 8 with details)', async () => {
    await assert.rejects(
      call('payments.Fail', request('POST', '/v1/debug:fail', { body: { code: 8, message: 'no funds', withDetails: true } })),
      (err: unknown) => {
        assert.ok(err instanceof FerryError);
        assert.equal(err.status, 429);
        const problem = toProblem(err, 'payments.Fail');
        assert.equal(problem.upstreamStatusName, 'RESOURCE_EXHAUSTED');
        assert.match(problem.detail, /no funds/);
        assert.deepEqual(problem.details, [
          {
            '@type': 'type.googleapis.com/google.rpc.ErrorInfo',
            reason: 'INSUFFICIENT_FUNDS',
            domain: 'payments.example.com',
            metadata: { account: '42' },
          },
          { '@type': 'type.googleapis.com/google.rpc.BadRequest', fieldViolations: [{ field: 'amount.units', description: 'must be positive' }] },
          { '@type': 'type.googleapis.com/google.rpc.RetryInfo', retryDelay: '1.500s' },
        ]);
        return true;
      },
    );
  });

  it('every gRPC code maps by the standard table (inputs: codes 1..16 without details)', async () => {
    const expected: Record<number, number> = {
      1: 499,
      2: 500,
      3: 400,
      5: 404,
      6: 409,
      7: 403,
      8: 429,
      9: 400,
      10: 409,
      11: 400,
      12: 501,
      13: 500,
      14: 503,
      15: 500,
      16: 401,
    };
    for (const [code, status] of Object.entries(expected)) {
      await assert.rejects(call('payments.Fail', request('POST', '/v1/debug:fail', { body: { code: Number(code) } })), (err: unknown) => {
        assert.ok(err instanceof FerryError, `code ${code}`);
        assert.equal(err.status, status, `gRPC code ${code}`);
        assert.equal(err.details.upstreamStatus, Number(code));
        return true;
      });
    }
  });

  it('the route timeout becomes the gRPC deadline → 504 (input: server sleeps 3 s, route timeout 300 ms)', async () => {
    const r = { ...routes.find((x) => x.id === 'payments.Fail')!, timeoutMs: 300 };
    const h = binding.binder.bind(r, svc, config);
    await assert.rejects(
      h.handle(request('POST', '/v1/debug:fail', { body: { code: 2, sleepMs: 3000 } }), {}, ctx()),
      (err: unknown) => err instanceof FerryError && err.code === 'FERRY_UPSTREAM_TIMEOUT' && err.status === 504,
    );
  });

  it('an endpoint with nothing listening → 503 FERRY_UPSTREAM_UNAVAILABLE', async () => {
    const dead = service('dead', [`127.0.0.1:${await freePort()}`]);
    const r = { ...routes[0]!, serviceName: 'dead' };
    const h = binding.binder.bind(r, dead, { ...config, services: new Map([['dead', dead]]) });
    await assert.rejects(
      h.handle(request('GET', '/x'), { name: 'accounts/1/payments/1' }, ctx()),
      (err: unknown) => err instanceof FerryError && err.code === 'FERRY_UPSTREAM_UNAVAILABLE' && err.status === 503,
    );
  });

  it('forwards only allowed headers as metadata; response metadata (text and -bin) comes back as headers', async () => {
    const res = await call(
      'payments.EchoMetadata',
      request('GET', '/v1/debug/metadata', {
        query: 'note=n1',
        headers: { 'x-tenant': 't-1', 'x-secret': 's', 'x-blob-bin': 'AAH/', 'content-type': 'text/evil' },
      }),
    );
    const md = JSON.parse(String(res.body)).metadata as Record<string, string>;
    assert.equal(md['x-tenant'], 't-1');
    assert.equal(md['x-blob-bin'], 'AAH/');
    assert.equal(md['x-secret'], undefined);
    assert.notEqual(md['content-type'], 'text/evil');
    assert.equal(res.headers['grpc-metadata-x-echo-note'], 'n1');
    assert.equal(res.headers['grpc-metadata-x-bin-bin'], 'AAH/');
    assert.equal(res.headers['grpc-trailer-x-trailer'], 'echoed');
  });

  it('protocol triple sends Dubbo version and group as tri-service-version / tri-service-group metadata', async () => {
    const tri = service('tri', [peer.address], { version: '1.2.3', group: 'blue' }, 'triple');
    const r = { ...routes.find((x) => x.id === 'payments.EchoMetadata')!, serviceName: 'tri' };
    const h = binding.binder.bind(r, tri, { ...config, services: new Map([['tri', tri]]) });
    const md = JSON.parse(String((await h.handle(request('GET', '/v1/debug/metadata'), {}, ctx())).body)).metadata;
    assert.equal(md['tri-service-version'], '1.2.3');
    assert.equal(md['tri-service-group'], 'blue');
    const plain = JSON.parse(String((await call('payments.EchoMetadata', request('GET', '/v1/debug/metadata'))).body)).metadata;
    assert.equal(plain['tri-service-version'], undefined, 'plain gRPC sends no Dubbo metadata');
  });

  it('spreads calls round robin over connectionsPerEndpoint channels (3 distinct client ports)', async () => {
    const multi = service('multi', [peer.address], { connectionsPerEndpoint: 3 });
    const r = { ...routes.find((x) => x.id === 'payments.EchoMetadata')!, serviceName: 'multi' };
    const h = binding.binder.bind(r, multi, { ...config, services: new Map([['multi', multi]]) });
    const peers = new Set<string>();
    for (let i = 0; i < 6; i++) {
      const res = await h.handle(request('GET', '/v1/debug/metadata'), {}, ctx());
      peers.add(JSON.parse(String(res.body)).metadata['x-peer']);
    }
    assert.equal(peers.size, 3, [...peers].join(' '));
  });

  it('server streaming → NDJSON, one object per line, int64 exact', async () => {
    const res = await call('payments.WatchPayments', request('GET', '/x', { query: 'count=3' }), { parent: 'accounts/5' });
    assert.equal(res.headers['content-type'], 'application/x-ndjson');
    const lines = (await collect(res)).split('\n');
    assert.equal(lines.pop(), '');
    assert.deepEqual(
      lines.map((l) => JSON.parse(l).seq),
      ['9007199254740993', '9007199254740994', '9007199254740995'],
    );
    assert.equal(JSON.parse(lines[2]!).payment.name, 'accounts/5/payments/2');
  });

  it('a stream that fails after two messages ends with an error line (input count=2, fail_with=9)', async () => {
    const res = await call('payments.WatchPayments', request('GET', '/x', { query: 'count=2&failWith=9' }), { parent: 'accounts/5' });
    assert.equal(res.status, 200);
    const lines = (await collect(res))
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    assert.equal(lines.length, 3);
    assert.equal(lines[2].error.code, 'FERRY_UPSTREAM_STATUS');
    assert.equal(lines[2].error.upstreamStatusName, 'FAILED_PRECONDITION');
    assert.equal(lines[2].error.details[0]['@type'], 'type.googleapis.com/google.rpc.ErrorInfo');
  });

  it('a stream that fails before any message is a plain error status (input count=0, fail_with=5)', async () => {
    await assert.rejects(
      call('payments.WatchPayments', request('GET', '/x', { query: 'count=0&failWith=5' }), { parent: 'accounts/5' }),
      (err: unknown) => err instanceof FerryError && err.status === 404,
    );
  });

  it('400s name the field (inputs: unknown enum in body, unknown query parameter, bad int in query, broken JSON)', async () => {
    const create = (body: string, query = '') => call('payments.CreatePayment', request('POST', '/x', { body, query }), { parent: 'accounts/1' });
    await assert.rejects(
      create('{"state":"LOST"}'),
      (e: unknown) => e instanceof FerryError && e.code === 'FERRY_BAD_ARGUMENT' && e.details.jsonPath === '$.state',
    );
    await assert.rejects(
      create('{}', 'colour=red'),
      (e: unknown) => e instanceof FerryError && e.status === 400 && e.details.argument === 'query.colour',
    );
    await assert.rejects(
      call('payments.ListPayments', request('GET', '/x', { query: 'page_size=ten' }), { parent: 'accounts/1' }),
      (e: unknown) => e instanceof FerryError && e.status === 400 && e.details.argument === 'query.page_size',
    );
    await assert.rejects(create('{"amount":'), (e: unknown) => e instanceof FerryError && e.code === 'FERRY_BAD_JSON');
  });
});
