/**
 * Envoy's FULL_DUPLEX_STREAMED body mode, played by the Go client on go-control-plane's types:
 * the body goes to Ferry chunk by chunk without waiting for replies, and Ferry answers with a
 * StreamedImmediateResponse. The route-case table (Java Dubbo provider) must give what the HTTP
 * front end gives; server-streaming gRPC (Python grpcio) and Triple (Java) methods arrive as
 * NDJSON piece by piece; bad input gets a coded answer and a cleanly ended stream.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startGrpcPeer, type GrpcPeer } from '../support/grpc-peer.js';
import { startJavaProvider, type JavaProvider } from '../support/java-provider.js';
import { http, startTestFerry, type TestFerry } from '../support/ferry.js';
import { freePort } from '../support/ports.js';
import { CASE_TRACEPARENT, ROUTE_CASES, writeCaseMappings } from '../support/route-cases.js';
import { ensureEnvoyClient, runScenarios, type Scenario, type ScenarioResult, type StreamedReply } from '../support/envoy-client.js';

let peer: GrpcPeer;
let provider: JavaProvider;
let ferry: TestFerry;
let small: TestFerry;
let table: ScenarioResult[];

const FD = 'FULL_DUPLEX_STREAMED' as const;

// A route whose Dubbo attachments come from what Envoy says of the request.
const ENVOY_CONTEXT = [
  'routes:',
  '  - id: envoy-context',
  '    http: GET /envoy/attachments',
  '    call: accounts.receivedAttachments',
  '    attachments:',
  '      route: attribute.xds.route_name',
  '      peer: attribute.source.address',
  '      team: metadata.ferry.gateway.team',
  '',
].join('\n');
const SMALL_LIMIT = 4096;

/** Splits a body into `n` chunks (at least one character each) as a client might send it. */
function chunked(body: string, n = 3): string[] {
  const size = Math.max(1, Math.ceil(body.length / n));
  const out: string[] = [];
  for (let i = 0; i < body.length; i += size) out.push(body.slice(i, i + size));
  return out;
}

const head = (method: string, path: string, extra: Record<string, string> = {}): Array<[string, string]> => [
  [':method', method],
  [':path', path],
  [':authority', '127.0.0.1'],
  [':scheme', 'http'],
  ...Object.entries(extra),
];

before(async () => {
  await ensureEnvoyClient();
  [peer, provider] = await Promise.all([startGrpcPeer(), startJavaProvider({ name: 'extproc-full-duplex', triple: true })]);
  const ghost = readFileSync(join(writeCaseMappings(provider.address, `127.0.0.1:${await freePort()}`), 'ghost.yaml'), 'utf8');
  const upstreams = { dubboAddress: provider.address, grpcAddress: peer.address, tripleAddress: `127.0.0.1:${provider.triplePort}` };
  ferry = await startTestFerry({ ...upstreams, extra: { 'ghost.yaml': ghost, 'envoy-context.yaml': ENVOY_CONTEXT }, extProcPort: 0 });
  small = await startTestFerry({ ...upstreams, extProcPort: 0, maxBodyBytes: SMALL_LIMIT });
  table = await runScenarios(
    ferry.extProcPort!,
    ROUTE_CASES.map((c) => ({
      name: c.name,
      headers: head(c.method, c.path, { traceparent: CASE_TRACEPARENT, ...(c.headers ?? {}) }),
      requestBodyMode: FD,
      ...(c.body === undefined ? {} : { body: chunked(c.body) }),
    })),
  );
});

after(async () => {
  await small?.close();
  await ferry?.close();
  await Promise.all([peer?.stop(), provider?.stop()]);
});

function streamedOf(r: ScenarioResult): StreamedReply {
  assert.equal(r.error, undefined, `${r.name}: ${r.error}`);
  assert.equal(r.outcome, 'streamed', `${r.name}: a streamed local reply (got ${r.outcome}: ${JSON.stringify(r.responses)})`);
  const s = r.streamed!;
  assert.equal(s.problem, undefined, `${r.name}: ${s.problem}`);
  assert.equal(s.ended, true, `${r.name}: the reply ended with end_of_stream`);
  assert.equal(s.oversized, false, `${r.name}: no body piece over 64 KiB`);
  assert.equal(r.streamEnd, 'ok', `${r.name}: Ferry ended the stream cleanly`);
  return s;
}

const header = (s: StreamedReply, name: string): string[] => s.headers.filter(([k]) => k === name).map(([, v]) => v);

ROUTE_CASES.forEach((c, i) => {
  test(`full duplex, ${c.method} ${c.path}: ${c.name}`, async () => {
    const x = table[i]!;
    assert.equal(x.name, c.name);
    if (c.extProc === 'continue') {
      // Not Ferry's: CONTINUE, and every body chunk comes back unchanged for Envoy to forward.
      assert.equal(x.outcome, 'forwarded', `${c.name}: ${x.error}`);
      assert.equal(x.forwardedBody ?? '', c.body ?? '');
      assert.deepEqual(x.responses[0], { request_headers: { response: {} } }, 'CONTINUE without mode_override');
      return;
    }
    const res = await fetch(`${ferry.base}${c.path}`, {
      method: c.method,
      headers: { traceparent: CASE_TRACEPARENT, ...(c.headers ?? {}) },
      ...(c.body === undefined ? {} : { body: c.body }),
    });
    const body = await res.text();
    assert.equal(res.status, c.status, `HTTP status; body: ${body}`);
    const s = streamedOf(x);
    assert.equal(s.status, res.status, 'status');
    assert.deepEqual(header(s, 'content-type'), [res.headers.get('content-type')], 'content-type');
    assert.deepEqual(header(s, 'set-cookie'), res.headers.getSetCookie(), 'set-cookie');
    assert.equal(s.chunks.join(''), body, 'body');
    // The answer's dynamic metadata rides on its first piece.
    const meta = x.responses[0]?.dynamic_metadata?.['envoy.filters.http.ext_proc'];
    assert.equal(meta?.['code'], c.code ?? 'ferry_ok', `metadata: ${JSON.stringify(x.responses[0])}`);
  });
});

async function oneStream(s: Scenario, on: TestFerry = ferry): Promise<ScenarioResult> {
  const [r] = await runScenarios(on.extProcPort!, [s]);
  assert.ok(r !== undefined, 'one result');
  return r;
}

test('a gRPC server stream (Python grpcio WatchPayments, 3 messages) arrives as NDJSON, one piece per message, as over HTTP', async () => {
  const path = '/v1/accounts/a3/payments:watch?count=3';
  const s = streamedOf(await oneStream({ name: 'grpc watch', headers: head('GET', path), requestBodyMode: FD }));
  const direct = await http(ferry.base, 'GET', path);
  assert.equal(s.status, 200);
  assert.deepEqual(header(s, 'content-type'), ['application/x-ndjson']);
  assert.equal(s.chunks.join(''), direct.text, 'the same NDJSON as the HTTP front end');
  assert.deepEqual(
    s.chunks.map((c) => JSON.parse(c).seq),
    ['9007199254740993', '9007199254740994', '9007199254740995'],
    `one message per piece: ${JSON.stringify(s.chunks)}`,
  );
});

test('a Triple server stream (Java SayHelloStream, 3 messages) arrives as NDJSON, one piece per message, as over HTTP', async () => {
  const path = '/v1/greeter/Cy/stream?count=3';
  const s = streamedOf(await oneStream({ name: 'triple stream', headers: head('GET', path), requestBodyMode: FD }));
  const direct = await http(ferry.base, 'GET', path);
  assert.equal(s.status, 200);
  assert.equal(s.chunks.join(''), direct.text);
  assert.deepEqual(
    s.chunks.map((c) => JSON.parse(c).message),
    ['Hello 1, Cy', 'Hello 2, Cy', 'Hello 3, Cy'],
    `one message per piece: ${JSON.stringify(s.chunks)}`,
  );
});

test('Triple unary with its JSON body in five chunks and trailers ending it (trailer mode SEND)', async () => {
  const s = streamedOf(
    await oneStream({
      name: 'triple chunks',
      headers: head('POST', '/v1/greeter:sayHello', { 'content-type': 'application/json' }),
      body: chunked('{"name":"Duplex","count":"9007199254740993"}', 5),
      trailers: [['x-checksum', 'abc']],
      requestBodyMode: FD,
    }),
  );
  assert.equal(s.status, 200, s.chunks.join(''));
  assert.deepEqual(JSON.parse(s.chunks.join('')), { message: 'Hello, Duplex', count: '9007199254740993', at: '2024-02-29T12:00:00.500Z' });
});

test("a request that is not Ferry's (input: POST /nowhere in 3 chunks with trailers): CONTINUE, each chunk back unchanged, trailers passed", async () => {
  const r = await oneStream({
    name: 'pass through',
    headers: head('POST', '/nowhere', { 'content-type': 'text/plain' }),
    body: ['one,', 'two,', 'three'],
    trailers: [['x-t', '1']],
    requestBodyMode: FD,
  });
  assert.equal(r.outcome, 'forwarded', `${r.error} ${JSON.stringify(r.responses)}`);
  assert.equal(r.forwardedBody, 'one,two,three');
  assert.equal(r.streamEnd, 'ok');
  assert.deepEqual(r.sent, ['request_headers', 'request_body', 'request_body', 'request_body', 'request_trailers']);
});

const b64 = (s: string): string => Buffer.from(s).toString('base64');
const rawHeaders = (method: string, path: string, eos: boolean) => ({
  request_headers: {
    headers: {
      headers: [
        { key: ':method', raw_value: b64(method) },
        { key: ':path', raw_value: b64(path) },
        { key: 'content-type', raw_value: b64('application/json') },
      ],
    },
    end_of_stream: eos,
  },
  protocol_config: { request_body_mode: FD },
});

/** The streamed reply of a raw scenario: status from headers_response, body joined from body_response pieces. */
function rawReply(r: ScenarioResult): { status: number; body: string } {
  const pieces = r.responses.map((m) => m['streamed_immediate_response'] as Record<string, any> | undefined);
  assert.ok(pieces.length > 0 && pieces.every((p) => p !== undefined), `only streamed pieces: ${JSON.stringify(r.responses)}`);
  const status = pieces[0]!['headers_response']?.headers?.headers?.find((h: { key: string }) => h.key === ':status');
  const body = pieces
    .slice(1)
    .map((p) => Buffer.from(p['body_response']?.body ?? '', 'base64').toString())
    .join('');
  assert.equal(pieces.at(-1)!['body_response']?.end_of_stream, true, 'the last piece ends the reply');
  return { status: Number(Buffer.from(status?.raw_value ?? '', 'base64').toString()), body };
}

test('bad input: a body chunk after end_of_stream (input: headers, body {"name":"x"} eos, then "extra") → 400 FERRY_EXT_PROC_PROTOCOL_ERROR, stream ended cleanly', async () => {
  const r = await oneStream({
    name: 'chunk after eos',
    rawNoWait: true,
    raw: [
      rawHeaders('POST', '/v1/greeter:sayHello', false),
      { request_body: { body: b64('{"name":"x"}'), end_of_stream: true } },
      { request_body: { body: b64('extra'), end_of_stream: false } },
    ],
  });
  assert.equal(r.streamEnd, 'ok', `stream end: ${r.streamEnd}`);
  const reply = rawReply(r);
  assert.equal(reply.status, 400, reply.body);
  assert.equal(JSON.parse(reply.body).code, 'FERRY_EXT_PROC_PROTOCOL_ERROR');
});

test('bad input: trailers after headers that said end_of_stream (input: GET headers eos, then request_trailers) → 400 FERRY_EXT_PROC_PROTOCOL_ERROR', async () => {
  const r = await oneStream({
    name: 'trailers not asked for',
    rawNoWait: true,
    raw: [rawHeaders('GET', '/v1/greeter/Bo', true), { request_trailers: { trailers: { headers: [{ key: 'x-late', raw_value: b64('1') }] } } }],
  });
  assert.equal(r.streamEnd, 'ok', `stream end: ${r.streamEnd}`);
  const reply = rawReply(r);
  assert.equal(reply.status, 400, reply.body);
  assert.equal(JSON.parse(reply.body).code, 'FERRY_EXT_PROC_PROTOCOL_ERROR');
});

test(`bad input: a body over the limit in full-duplex mode (input: 10 chunks of 1 000 bytes, limit ${SMALL_LIMIT}) → streamed 413 FERRY_BODY_TOO_LARGE, stream ended cleanly`, async () => {
  const r = await oneStream(
    {
      name: 'over the limit',
      headers: head('POST', '/v1/greeter:sayHello', { 'content-type': 'application/json' }),
      body: Array.from({ length: 10 }, () => 'x'.repeat(1000)),
      requestBodyMode: FD,
    },
    small,
  );
  const s = streamedOf(r);
  assert.equal(s.status, 413);
  assert.equal(JSON.parse(s.chunks.join('')).code, 'FERRY_BODY_TOO_LARGE');
});

test('an Envoy attribute and forwarded metadata as Dubbo attachments (inputs: xds.route_name, source.address, metadata ferry.gateway team); absent over HTTP', async () => {
  const s = streamedOf(
    await oneStream({
      name: 'attributes',
      headers: head('GET', '/envoy/attachments'),
      requestBodyMode: FD,
      attributes: { 'envoy.filters.http.ext_proc': { 'xds.route_name': 'orders-route', 'source.address': '192.0.2.7:40001' } },
      metadata: { 'ferry.gateway': { team: 'blue' } },
    }),
  );
  assert.equal(s.status, 200, s.chunks.join(''));
  const got = JSON.parse(s.chunks.join(''));
  assert.equal(got.route, 'orders-route', JSON.stringify(got));
  assert.equal(got.peer, '192.0.2.7:40001');
  assert.equal(got.team, 'blue');
  const direct = await http(ferry.base, 'GET', '/envoy/attachments');
  assert.equal(direct.status, 200, direct.text);
  assert.equal(direct.json.route, undefined, `no attributes over HTTP: ${direct.text}`);
});

test('the dynamic metadata names the endpoint that answered (Dubbo, gRPC stream, and an ImmediateResponse in BUFFERED mode) and none when no upstream answered', async () => {
  const [dubbo, grpcStream, buffered, ghost] = await runScenarios(ferry.extProcPort!, [
    { name: 'dubbo', headers: head('GET', '/ping'), requestBodyMode: FD },
    { name: 'grpc stream', headers: head('GET', '/v1/accounts/a3/payments:watch?count=2'), requestBodyMode: FD },
    { name: 'buffered', headers: head('GET', '/ping') },
    { name: 'ghost', headers: head('GET', '/ghost/ping'), requestBodyMode: FD },
  ]);
  const meta = (r: ScenarioResult | undefined) => r?.responses[0]?.dynamic_metadata?.['envoy.filters.http.ext_proc'];
  assert.deepEqual(meta(dubbo), { code: 'ferry_ok', route_id: 'ping', service: 'accounts', endpoint: provider.address }, JSON.stringify(dubbo));
  assert.equal(meta(grpcStream)?.['endpoint'], peer.address, JSON.stringify(grpcStream?.responses[0]));
  assert.equal(buffered?.outcome, 'immediate');
  assert.equal(meta(buffered)?.['endpoint'], provider.address);
  assert.equal(meta(ghost)?.['code'], 'FERRY_UPSTREAM_UNAVAILABLE');
  assert.equal(meta(ghost)?.['endpoint'], undefined, 'no endpoint answered');
});
