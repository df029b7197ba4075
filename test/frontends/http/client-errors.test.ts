/**
 * Requests Node's HTTP parser or fastify refuse (CR/LF and NUL in headers, a bad request line,
 * bad percent-encoding, a head over the limit, a head that never ends, a method no route knows):
 * every answer is problem+json with a FERRY code, sent over a real socket as raw bytes, and the
 * front end keeps serving other connections.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { exchange, get, openSocket, readAll, type RawResponse } from '../../support/raw-http.js';
import { startStubFrontend, type StubFrontend } from './stub.js';

let front: StubFrontend;

before(async () => {
  front = await startStubFrontend({ maxHeaderBytes: 8192, requestTimeoutMs: 500 });
});

after(async () => {
  await front?.close();
});

function assertProblem(r: RawResponse | undefined, status: number, code: string): void {
  assert.ok(r, 'an answer came');
  assert.equal(r.status, status, r.body.toString());
  assert.equal(r.headers['content-type'], 'application/problem+json');
  assert.equal(r.json?.code, code);
  assert.equal(r.json?.status, status);
  assert.equal(r.json?.type, `urn:ferry:error:${code}`);
}

async function stillServing(): Promise<void> {
  const { responses } = await exchange(front.port, get('/ok', 'connection: close\r\n'));
  assert.equal(responses[0]?.status, 200);
  assert.deepEqual(responses[0]?.json, { ok: true });
}

for (const [what, bytes] of [
  ['a CR inside a header value', 'GET /ok HTTP/1.1\r\nhost: x\r\nx-tenant: a\rb\r\n\r\n'],
  ['a NUL inside a header value', 'GET /ok HTTP/1.1\r\nhost: x\r\nx-tenant: a\u0000b\r\n\r\n'],
  ['a space inside a header name', 'GET /ok HTTP/1.1\r\nhost: x\r\nx tenant: a\r\n\r\n'],
  ['a space inside the request target', 'GET /o k HTTP/1.1\r\nhost: x\r\n\r\n'],
  ['a request line that is not HTTP', 'HELLO\r\n\r\n'],
  ['a content-length that is not a number', 'POST /echo HTTP/1.1\r\nhost: x\r\ncontent-length: 1x\r\n\r\n1'],
] as const) {
  test(`${what} (raw bytes) → 400 FERRY_MALFORMED_REQUEST problem+json, then the connection closes; other connections are served`, async () => {
    const { responses, closedByServer } = await exchange(front.port, bytes);
    assertProblem(responses[0], 400, 'FERRY_MALFORMED_REQUEST');
    assert.equal(responses[0]!.headers['connection'], 'close');
    assert.equal(closedByServer, true);
    await stillServing();
  });
}

test('bad percent-encoding in the path (input: GET /accounts/%zz) → 400 FERRY_MALFORMED_REQUEST, the engine is not asked', async () => {
  const before = front.calls.length;
  const { responses } = await exchange(front.port, get('/accounts/%zz'));
  assertProblem(responses[0], 400, 'FERRY_MALFORMED_REQUEST');
  assert.equal(front.calls.length, before);
  await stillServing();
});

test('a head over maxHeaderBytes (input: one 20 000-byte header, limit 8 192) → 431 FERRY_HEADERS_TOO_LARGE, readable although the client sent it all', async () => {
  const { responses } = await exchange(front.port, get('/ok', `x-big: ${'y'.repeat(20_000)}\r\n`));
  assertProblem(responses[0], 431, 'FERRY_HEADERS_TOO_LARGE');
  await stillServing();
});

test('a head that never ends (input: half a request line, then silence) → 408 FERRY_REQUEST_TIMEOUT', async () => {
  const socket = await openSocket(front.port);
  const { responses, closedByServer } = await readAll(socket, 'GET /ok HTTP/1.1\r\nhost: x\r\nx-slow: ', 10_000);
  assertProblem(responses[0], 408, 'FERRY_REQUEST_TIMEOUT');
  assert.equal(closedByServer, true);
  await stillServing();
});

test('a method no route takes (input: PROPFIND /ok) reaches the engine, which answers problem+json (no bare fastify 404)', async () => {
  const { responses } = await exchange(front.port, 'PROPFIND /nothing HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n');
  assertProblem(responses[0], 404, 'FERRY_ROUTE_NOT_FOUND');
  assert.equal(front.calls.at(-1)?.method, 'PROPFIND');
});
