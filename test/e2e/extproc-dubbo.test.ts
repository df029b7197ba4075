/**
 * Envoy's side of ext_proc (a Go client on go-control-plane's ext_proc types) against Ferry's
 * ext_proc server, backed by the real engine and the Apache Dubbo sample provider (Java).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { propagation } from '@opentelemetry/api';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { startFerry, type RunningFerry } from '../../src/app/main.js';
import { loadExtProcService } from '../../src/frontends/ext-proc/index.js';
import type { ProcessingResponse } from '../../src/frontends/ext-proc/protocol.js';
import { startJavaProvider, type JavaProvider } from '../support/java-provider.js';
import { freePort } from '../support/ports.js';
import { writeCaseMappings } from '../support/route-cases.js';
import { ensureEnvoyClient, immediateOf, runScenarios, type Scenario, type ScenarioResult } from '../support/envoy-client.js';

const MAX_BODY = 4096;
const TRACE_ID = '4bf92f3577b34da6a3ce929d0e0e4736';
const TRACEPARENT = `00-${TRACE_ID}-00f067aa0ba902b7-01`;

let provider: JavaProvider;
let ferry: RunningFerry;
/** The ext_proc service of the composition root (same front-end contract as HTTP). */
let extProc: { port: number };
let mappingsDir: string;

before(async () => {
  // The engine extracts trace context through the global propagator, which the composition root
  // registers in production.
  propagation.setGlobalPropagator(new W3CTraceContextPropagator());
  await ensureEnvoyClient();
  provider = await startJavaProvider();
  mappingsDir = writeCaseMappings(provider.address, `127.0.0.1:${await freePort()}`);
  ferry = await startFerry({ mappingsDir, port: 0, maxBodyBytes: MAX_BODY, extProcPort: 0 });
  extProc = { port: ferry.extProcPort! };
});

after(async () => {
  await ferry?.close();
  await provider?.stop();
  propagation.disable();
});

const transfer = JSON.stringify({ to: 3, amount: '10.50', currency: 'CNY', memo: 'rent', executeAt: '2024-05-01T10:00:00', tags: ['home'] });
const post = (path: string): Array<[string, string]> => [
  [':method', 'POST'],
  [':path', path],
  [':authority', 'bank.example'],
  [':scheme', 'http'],
  ['content-type', 'application/json'],
];
const get = (path: string): Array<[string, string]> => [
  [':method', 'GET'],
  [':path', path],
  [':authority', 'bank.example'],
  [':scheme', 'http'],
];

async function one(s: Scenario): Promise<ScenarioResult> {
  const [r] = await runScenarios(extProc.port, [s]);
  assert.ok(r, 'one result');
  assert.equal(r.error, undefined, `${s.name}: ${r.error}`);
  assert.equal(r.streamEnd, 'ok', `${s.name}: Ferry ends the stream cleanly`);
  return r;
}

test('headers only (GET): one ImmediateResponse with status, raw_value-only headers, JSON body, details', async () => {
  const r = await one({ name: 'get', headers: get('/accounts/2') });
  assert.deepEqual(r.sent, ['request_headers']);
  assert.equal(r.responses.length, 1);
  const ir = immediateOf(r);
  assert.equal(ir.status, 200);
  assert.equal(ir.details, 'ferry_ok');
  assert.match(ir.headers['content-type']![0]!, /^application\/json/);
  for (const h of ir.setHeaders!) {
    assert.equal(h.header.value, undefined, 'value stays empty: Envoy reads raw_value only');
    assert.ok(h.header.raw_value, 'raw_value set');
  }
  assert.equal(ir.setHeaders![0]!.append_action, 'OVERWRITE_IF_EXISTS_OR_ADD');
  assert.equal(ir.setHeaders![0]!.append, undefined, 'deprecated append left unset');
  const body = JSON.parse(ir.body);
  assert.equal(body.owner, 'owner-2');
  assert.equal(body.balance, '2000.50');
});

test('header values in `value` (older Envoy) give the same answer as in `raw_value`', async () => {
  const [a, b] = await runScenarios(extProc.port, [
    { name: 'raw', headers: [...get('/accounts/7'), ['x-tenant', 'acme']] },
    { name: 'value', headers: [...get('/accounts/7'), ['x-tenant', 'acme']], headerEncoding: 'value' },
  ]);
  const ra = immediateOf(a!);
  const rb = immediateOf(b!);
  assert.equal(ra.status, 200);
  assert.deepEqual(rb, ra);
  const att = await runScenarios(extProc.port, [
    { name: 'attachment via value', headers: [...get('/attachments'), ['x-tenant', 'acme']], headerEncoding: 'value' },
  ]);
  assert.equal(JSON.parse(immediateOf(att[0]!).body).tenant, 'acme', 'a header read from `value` reaches the provider as an attachment');
});

test('headers then buffered body: CONTINUE, then the ImmediateResponse answers the body message', async () => {
  const r = await one({ name: 'buffered', headers: [...post('/accounts/2/transfers'), ['x-request-id', 'r-9']], body: [transfer] });
  assert.deepEqual(r.sent, ['request_headers', 'request_body']);
  assert.deepEqual(r.responses[0], { request_headers: { response: {} } }, 'CONTINUE (status 0 is omitted by protojson), no mode_override');
  const ir = immediateOf(r);
  assert.equal(ir.status, 200);
  const body = JSON.parse(ir.body);
  assert.equal(body.amount, '10.50');
  assert.equal(body.requestId, 'r-9');
  assert.equal(body.balanceAfter, '1990.00');
});

test('streamed body chunks: CONTINUE for each chunk, the answer on the last, same result as buffered', async () => {
  const cut = [transfer.slice(0, 10), transfer.slice(10, 40), transfer.slice(40)];
  const [streamed, buffered] = await runScenarios(extProc.port, [
    { name: 'streamed', headers: post('/accounts/2/transfers'), body: cut, requestBodyMode: 'STREAMED' },
    { name: 'buffered', headers: post('/accounts/2/transfers'), body: [transfer] },
  ]);
  assert.deepEqual(streamed!.sent, ['request_headers', 'request_body', 'request_body', 'request_body']);
  assert.deepEqual(streamed!.responses.slice(0, 3), [
    { request_headers: { response: {} } },
    { request_body: { response: {} } },
    { request_body: { response: {} } },
  ]);
  assert.equal(immediateOf(streamed!).status, 200);
  assert.equal(immediateOf(streamed!).body, immediateOf(buffered!).body);
});

test('streamed body ending in trailers: the trailers message gets the answer', async () => {
  const r = await one({
    name: 'trailers',
    headers: post('/accounts/2/transfers'),
    body: [transfer.slice(0, 20), transfer.slice(20)],
    trailers: [['x-checksum', 'abc']],
    sendTrailers: true,
    requestBodyMode: 'STREAMED',
  });
  assert.deepEqual(r.sent, ['request_headers', 'request_body', 'request_body', 'request_trailers']);
  assert.equal(immediateOf(r).status, 200);
});

test('Envoy configured with body mode NONE: Ferry asks for BUFFERED through mode_override', async () => {
  const r = await one({
    name: 'override',
    headers: post('/accounts/2/transfers'),
    body: [transfer],
    requestBodyMode: 'NONE',
    allowModeOverride: true,
  });
  assert.equal(r.responses[0]!.mode_override?.['request_body_mode'], 'BUFFERED');
  assert.equal(r.responses[0]!.mode_override?.['response_header_mode'], 'SKIP');
  assert.deepEqual(r.sent, ['request_headers', 'request_body']);
  assert.equal(immediateOf(r).status, 200);
});

test('no match: CONTINUE and Envoy routes the request itself; a body is skipped via mode_override when allowed', async () => {
  const [plain, withOverride, noOverride] = await runScenarios(extProc.port, [
    { name: 'no match GET', headers: get('/nowhere') },
    { name: 'no match POST, override allowed', headers: post('/nowhere'), body: ['{"a":1}'], allowModeOverride: true },
    { name: 'no match POST, override not allowed', headers: post('/nowhere'), body: ['{"a":1}'] },
  ]);
  assert.equal(plain!.outcome, 'forwarded');
  assert.deepEqual(plain!.responses, [{ request_headers: { response: {} } }]);

  assert.equal(withOverride!.outcome, 'forwarded');
  assert.deepEqual(withOverride!.sent, ['request_headers'], 'the body never reaches Ferry');
  assert.equal(withOverride!.responses[0]!.mode_override?.['request_body_mode'], undefined, 'NONE is the zero value, omitted by protojson');
  assert.equal(withOverride!.responses[0]!.mode_override?.['response_header_mode'], 'SKIP');
  assert.equal(withOverride!.forwardedBody, '{"a":1}');

  assert.equal(noOverride!.outcome, 'forwarded');
  assert.deepEqual(noOverride!.sent, ['request_headers', 'request_body']);
  assert.deepEqual(noOverride!.responses[1], { request_body: { response: {} } });
  assert.equal(noOverride!.forwardedBody, '{"a":1}');
});

function problemOf(r: ScenarioResult) {
  const ir = immediateOf(r);
  assert.equal(ir.headers['content-type']![0], 'application/problem+json');
  return { ...ir, doc: JSON.parse(ir.body) };
}

test('bad JSON body (input: `{"to":3,`) → 400 FERRY_BAD_JSON problem, trace id from the traceparent header', async () => {
  const p = problemOf(await one({ name: 'bad json', headers: [...post('/accounts/2/transfers'), ['traceparent', TRACEPARENT]], body: ['{"to":3,'] }));
  assert.equal(p.status, 400);
  assert.equal(p.doc.code, 'FERRY_BAD_JSON');
  assert.equal(p.doc.route, 'create-transfer');
  assert.equal(p.doc.traceId, TRACE_ID);
  assert.equal(p.details, 'FERRY_BAD_JSON');
});

test('unknown upstream (input: route to a closed port) → 503 FERRY_UPSTREAM_UNAVAILABLE', async () => {
  const p = problemOf(await one({ name: 'ghost', headers: get('/ghost/ping') }));
  assert.equal(p.status, 503);
  assert.equal(p.doc.code, 'FERRY_UPSTREAM_UNAVAILABLE');
});

test("provider exceptions (input: missing account 5000; POST /fail) → mapped 404 with the Java class, unmapped 502 without the provider's text", async () => {
  const [missing, failing] = await runScenarios(extProc.port, [
    { name: 'missing', headers: get('/accounts/5000') },
    { name: 'fail', headers: post('/fail'), body: ['{"message":"boom"}'] },
  ]);
  const a = problemOf(missing!);
  assert.equal(a.status, 404);
  assert.equal(a.doc.exception?.class, 'com.example.bank.AccountNotFoundException');
  const b = problemOf(failing!);
  assert.equal(b.status, 502);
  assert.equal(b.doc.code, 'FERRY_UPSTREAM_EXCEPTION');
  assert.equal(b.doc.exception, undefined);
  assert.doesNotMatch(JSON.stringify(b.doc), /boom|IllegalState/);
});

test(`body over the limit (input: ${MAX_BODY + 904} bytes in streamed chunks, limit ${MAX_BODY}) → 413 before the whole body arrived`, async () => {
  const chunk = 'x'.repeat(1000);
  const r = await one({
    name: 'too big',
    headers: post('/accounts/2/transfers'),
    body: [chunk, chunk, chunk, chunk, chunk, chunk.slice(0, 904)],
    requestBodyMode: 'STREAMED',
  });
  const p = problemOf(r);
  assert.equal(p.status, 413);
  assert.equal(p.doc.code, 'FERRY_BODY_TOO_LARGE');
  assert.equal(r.sent.length, 6, 'answered on the fifth chunk: headers + 5 bodies');
});

test('observability mode: Ferry sends nothing and ends the stream when Envoy does', async () => {
  const r = await one({ name: 'observe', headers: post('/accounts/2/transfers'), body: [transfer], observability: true });
  assert.equal(r.outcome, 'observed');
  assert.deepEqual(r.sent, ['request_headers', 'request_body']);
  assert.deepEqual(r.responses, []);
});

test('malformed order (input: request_body before request_headers) → 400 FERRY_EXT_PROC_PROTOCOL_ERROR, server stays up', async () => {
  const r = await one({ name: 'body first', raw: [{ request_body: { body: Buffer.from('{}').toString('base64'), end_of_stream: true } }] });
  const p = problemOf(r);
  assert.equal(p.status, 400);
  assert.equal(p.doc.code, 'FERRY_EXT_PROC_PROTOCOL_ERROR');
  const again = await one({ name: 'still serving', headers: get('/ping') });
  assert.equal(immediateOf(again).status, 200);
});

// Runs last: it changes the mapping folder. The Go client cannot pause inside a stream, so this
// one uses a grpc-js client (the wire format is already covered by the Go client above).
test('hot reload: a stream finishes on the engine it started with; new streams see the new config', async () => {
  const Client = grpc.makeGenericClientConstructor(loadExtProcService(), 'ExternalProcessor');
  const client = new Client(`127.0.0.1:${extProc.port}`, grpc.credentials.createInsecure()) as unknown as grpc.Client & {
    Process(): grpc.ClientDuplexStream<unknown, ProcessingResponse>;
  };
  const headers = (path: string) => ({
    request_headers: { headers: { headers: post(path).map(([key, v]) => ({ key, raw_value: Buffer.from(v) })) }, end_of_stream: false },
    protocol_config: { request_body_mode: 'BUFFERED' },
  });
  const open = () => {
    const call = client.Process();
    const replies: ProcessingResponse[] = [];
    const waiters: Array<() => void> = [];
    call.on('data', (m: ProcessingResponse) => {
      replies.push(m);
      waiters.shift()?.();
    });
    const ended = new Promise<void>((resolve, reject) => {
      call.on('end', resolve);
      call.on('error', reject);
    });
    const next = (): Promise<ProcessingResponse> =>
      replies.length > 0 ? Promise.resolve(replies.shift()!) : new Promise((r) => waiters.push(() => r(replies.shift()!)));
    return { call, next, ended };
  };
  try {
    const old = open();
    old.call.write(headers('/accounts/2/transfers'));
    assert.ok((await old.next()).request_headers, 'CONTINUE before the reload');

    const bank = join(mappingsDir, 'bank.yaml');
    writeFileSync(bank, readFileSync(bank, 'utf8').replace('http: POST /accounts/{id}/transfers', 'http: POST /accounts/{id}/transfers-v2'));
    await ferry.reload();

    old.call.write({ request_body: { body: Buffer.from(transfer), end_of_stream: true } });
    const answer = await old.next();
    assert.equal(String(answer.immediate_response?.status.code), 'OK', 'the open stream still reaches the route it matched');
    old.call.end();
    await old.ended;

    const fresh = open();
    fresh.call.write(headers('/accounts/2/transfers'));
    const r = await fresh.next();
    assert.ok(!r.immediate_response, 'the route is gone for new streams');
    assert.ok(r.request_headers, 'so Ferry answers CONTINUE');
    fresh.call.end();
    await fresh.ended;
  } finally {
    client.close();
  }
});
