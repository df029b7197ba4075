/**
 * Per-connection budgets over real sockets: the connection cap, pipelined requests, answers piling
 * up for a client that never reads (bytes queued, write timeout). (Requests arriving while the
 * front end closes: closing.test.ts.) Each refusal is a coded answer, or a closed connection told to the operator's
 * log; the front end keeps serving others, and every request counted in is counted out.
 */
import { afterEach, test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Socket } from 'node:net';
import { exchange, get, openSocket, readAll } from '../../support/raw-http.js';
import { startStubFrontend, type StubFrontend } from './stub.js';

let front: StubFrontend | undefined;
const sockets: Socket[] = [];

afterEach(async () => {
  for (const s of sockets.splice(0)) s.destroy();
  await front?.close();
  front = undefined;
});

async function until(what: string, cond: () => boolean): Promise<void> {
  for (let i = 0; i < 300 && !cond(); i++) await sleep(50);
  assert.ok(cond(), `gave up waiting for ${what}`);
}

test('the connection cap (input: 3 connections, cap 2): the third gets 503 FERRY_TOO_MANY_CONNECTIONS and is closed; once one closes, a new one is served', async () => {
  front = await startStubFrontend({ maxConnections: 2 });
  const port = front.port;
  const a = await openSocket(port);
  const b = await openSocket(port);
  sockets.push(a, b);
  const third = await exchange(port, get('/ok'));
  assert.equal(third.responses[0]?.status, 503);
  assert.equal(third.responses[0].headers['content-type'], 'application/problem+json');
  assert.equal(third.responses[0].json.code, 'FERRY_TOO_MANY_CONNECTIONS');
  assert.equal(third.closedByServer, true);
  assert.equal(front.calls.length, 0, 'the engine was not asked');
  // The two open connections are served.
  const onA = await readAll(a, get('/ok', 'connection: close\r\n'), 3000);
  assert.equal(onA.responses[0]?.status, 200);
  // The server sees that close a moment after the client: a new connection is served once it has.
  let later = await exchange(port, get('/ok', 'connection: close\r\n'));
  for (let i = 0; i < 50 && later.responses[0]?.status === 503; i++) {
    await sleep(50);
    later = await exchange(port, get('/ok', 'connection: close\r\n'));
  }
  assert.equal(later.responses[0]?.status, 200);
});

test('pipelining (input: 12 requests for a 300 ms route on one connection, limit 4): 4 reach the engine and are answered, the 5th gets 429 FERRY_TOO_MANY_PIPELINED and the connection closes', async () => {
  front = await startStubFrontend({ maxPipelinedRequests: 4 });
  const { responses, closedByServer } = await exchange(front.port, get('/slow/300').repeat(12));
  assert.deepEqual(
    responses.map((r) => r.status),
    [200, 200, 200, 200, 429],
  );
  assert.equal(responses[4]!.headers['content-type'], 'application/problem+json');
  assert.equal(responses[4]!.json.code, 'FERRY_TOO_MANY_PIPELINED');
  assert.equal(closedByServer, true);
  assert.equal(front.calls.length, 4);
  await until('every request to be counted out', () => front!.tracked() === 0);
  const next = await exchange(front.port, get('/ok', 'connection: close\r\n'));
  assert.equal(next.responses[0]?.status, 200);
});

test('a client that pipelines 300 requests for 1 MiB answers and never reads (queued-bytes cap 4 MiB): at most the pipelining limit reaches the engine, the connection is closed and logged once, and memory stays bounded', async () => {
  front = await startStubFrontend({ maxPipelinedRequests: 16, maxQueuedBytes: 4 * 1024 * 1024, writeTimeoutMs: 60_000 });
  const rssBefore = process.memoryUsage.rss();
  let rssPeak = rssBefore;
  const socket = await openSocket(front.port);
  sockets.push(socket);
  socket.pause(); // never reads
  let closed = false;
  socket.on('close', () => (closed = true));
  socket.on('error', () => {});
  socket.write(get(`/big/${1024 * 1024}`).repeat(300));
  const sample = setInterval(() => (rssPeak = Math.max(rssPeak, process.memoryUsage.rss())), 10);
  try {
    await until('the refusal', () => front!.refusals.length > 0);
    await until('every request to be counted out', () => front!.tracked() === 0);
  } finally {
    clearInterval(sample);
  }
  assert.equal(front.refusals.length, 1);
  assert.equal(front.refusals[0]!.reason, 'http client stopped reading');
  assert.ok((front.refusals[0]!.fields['queuedBytes'] as number) > 4 * 1024 * 1024);
  assert.ok(front.calls.length <= 16, `${front.calls.length} requests reached the engine`);
  socket.resume();
  await until('the client to see the close', () => closed);
  // Bound (this process holds the front end, the stand-in engine and the client): 16 answers of
  // 1 MiB are 16 MiB; the 300 the attack asked for would be 300 MiB.
  const grown = rssPeak - rssBefore;
  assert.ok(grown < 100 * 1024 * 1024, `RSS grew ${(grown / 1048576).toFixed(1)} MiB`);
  const next = await exchange(front.port, get('/ok', 'connection: close\r\n'));
  assert.equal(next.responses[0]?.status, 200);
});

test('the write timeout (input: one 32 MiB answer to a client that never reads, timeout 300 ms): the connection is closed and logged; other clients are served', async () => {
  front = await startStubFrontend({ writeTimeoutMs: 300, maxQueuedBytes: 1024 * 1024 * 1024 });
  const socket = await openSocket(front.port);
  sockets.push(socket);
  socket.pause();
  socket.on('error', () => {});
  socket.write(get(`/big/${32 * 1024 * 1024}`));
  await until('the refusal', () => front!.refusals.length > 0);
  assert.equal(front.refusals[0]!.reason, 'http client stopped reading');
  assert.equal(front.refusals[0]!.fields['writeTimeoutMs'], 300);
  await until('the request to be counted out', () => front!.tracked() === 0);
  const next = await exchange(front.port, get('/ok', 'connection: close\r\n'));
  assert.equal(next.responses[0]?.status, 200);
});

test('a slow upstream is not a slow client (input: a 700 ms answer, write timeout 200 ms): the answer arrives', async () => {
  front = await startStubFrontend({ writeTimeoutMs: 200 });
  const { responses } = await exchange(front.port, get('/slow/700', 'connection: close\r\n'));
  assert.equal(responses[0]?.status, 200);
  assert.equal(front.refusals.length, 0);
});
