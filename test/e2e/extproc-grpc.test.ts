/**
 * Envoy's ext_proc filter (played by the Go client on go-control-plane's types) → Ferry → gRPC
 * (Python grpcio) and Triple (Apache Dubbo, Java): the same translation as the HTTP front end.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startGrpcPeer, type GrpcPeer } from '../support/grpc-peer.js';
import { startJavaProvider, type JavaProvider } from '../support/java-provider.js';
import { http, startTestFerry, type TestFerry } from '../support/ferry.js';
import { ensureEnvoyClient, immediateOf, runScenarios, type Scenario } from '../support/envoy-client.js';

let peer: GrpcPeer;
let provider: JavaProvider;
let ferry: TestFerry;

before(async () => {
  await ensureEnvoyClient();
  [peer, provider] = await Promise.all([startGrpcPeer(), startJavaProvider({ name: 'extproc-grpc', triple: true })]);
  ferry = await startTestFerry({
    dubboAddress: provider.address,
    grpcAddress: peer.address,
    tripleAddress: `127.0.0.1:${provider.triplePort}`,
    extProcPort: 0,
  });
});

after(async () => {
  await ferry?.close();
  await Promise.all([peer?.stop(), provider?.stop()]);
});

const headers = (method: string, path: string, json = false): Array<[string, string]> => [
  [':method', method],
  [':path', path],
  [':authority', 'api.example'],
  [':scheme', 'http'],
  ...(json ? ([['content-type', 'application/json']] as Array<[string, string]>) : []),
];

async function viaExtProc(s: Scenario): Promise<{ status: number; body: string; contentType: string | undefined }> {
  const [r] = await runScenarios(ferry.extProcPort!, [s]);
  assert.ok(r);
  assert.equal(r.error, undefined, `${s.name}: ${r.error}`);
  const ir = immediateOf(r);
  return { status: ir.status, body: ir.body, contentType: ir.headers['content-type']?.[0] };
}

test('a gRPC GET route derived from google.api.http: same status and body as over HTTP', async () => {
  const path = '/v1/accounts/a1/payments/p7';
  const ext = await viaExtProc({ name: 'grpc get', headers: headers('GET', path) });
  const direct = await http(ferry.base, 'GET', path);
  assert.equal(ext.status, 200, ext.body);
  assert.equal(ext.body, direct.text);
  assert.equal(ext.contentType, 'application/json');
  assert.equal(JSON.parse(ext.body).amount.units, '9007199254740993');
});

test('a gRPC POST with a buffered body (body "*", custom verb), int64 from a JSON number', async () => {
  const body = '{"parents":["accounts/a1"],"filter":{"minUnits":9223372036854775807}}';
  const ext = await viaExtProc({
    name: 'grpc post',
    headers: headers('POST', '/v1/payments:search', true),
    body: [body],
    requestBodyMode: 'BUFFERED',
  });
  assert.equal(ext.status, 200, ext.body);
  assert.equal(JSON.parse(JSON.parse(ext.body).payments[0].note).filter.minUnits, '9223372036854775807');
});

test('a gRPC error status through ext_proc: 404 problem, like HTTP', async () => {
  const path = '/v1/accounts/a1/payments/missing';
  const ext = await viaExtProc({ name: 'grpc not found', headers: headers('GET', path) });
  const direct = await http(ferry.base, 'GET', path);
  assert.equal(ext.status, 404);
  assert.equal(ext.contentType, 'application/problem+json');
  const a = JSON.parse(ext.body);
  assert.equal(a.code, direct.json.code);
  assert.equal(a.upstreamStatusName, 'NOT_FOUND');
});

test('Triple (Java) with a streamed body in two chunks', async () => {
  const ext = await viaExtProc({
    name: 'triple streamed',
    headers: headers('POST', '/v1/greeter:sayHello', true),
    body: ['{"name":"Ex', 'tProc","count":"3"}'],
    requestBodyMode: 'STREAMED',
  });
  assert.equal(ext.status, 200, ext.body);
  assert.deepEqual(JSON.parse(ext.body), { message: 'Hello, ExtProc', count: '3', at: '2024-02-29T12:00:00.500Z' });
});
