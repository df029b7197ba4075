/**
 * The ext_proc server on a real gRPC socket (a grpc-js client over the ext_proc proto in idl/,
 * sending what Envoy would not): a stream that never sends anything, a body that never comes, a
 * message over the body limit, and stream counting for drain through the front-end contract.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import * as grpc from '@grpc/grpc-js';
import type { Engine } from '../../../src/gateway/types.js';
import { createFrontendContract } from '../../../src/frontends/contract.js';
import { loadExtProcService, startExtProcServer, type ExtProcServer } from '../../../src/frontends/ext-proc/index.js';

const LIMIT = 64 * 1024;
let server: ExtProcServer;
let client: grpc.Client & { Process(): grpc.ClientDuplexStream<unknown, any> };
let inFlight = 0;
const refusals: string[] = [];
let engineCalls = 0;

before(async () => {
  const engine: Engine = {
    maxBodyBytes: 1 << 30, // the contract's limit is the one that counts
    match: (_m, path) =>
      path.startsWith('/ferry/') ? { routeId: 'r', needsBody: true, params: {}, timeoutMs: 1000, serviceName: 'svc' } : undefined,
    async handle(req) {
      engineCalls++;
      return { status: 200, headers: { 'content-type': 'application/json' }, body: JSON.stringify({ bytes: req.body?.length ?? 0 }) };
    },
  };
  const contract = createFrontendContract({
    engine: () => engine,
    trackRequest: () => {
      inFlight++;
      let done = false;
      return () => {
        if (!done) inFlight--;
        done = true;
      };
    },
    limits: { maxBodyBytes: LIMIT, extProcIdleTimeoutMs: 300 },
    refused: (reason) => void refusals.push(reason),
  });
  server = await startExtProcServer(contract, { port: 0 });
  const Client = grpc.makeGenericClientConstructor(loadExtProcService(), 'ExternalProcessor');
  client = new Client(`127.0.0.1:${server.port}`, grpc.credentials.createInsecure()) as unknown as typeof client;
});

after(async () => {
  client?.close();
  await server?.close();
});

function open() {
  const call = client.Process();
  const replies: any[] = [];
  const ended = new Promise<grpc.StatusObject>((resolve) => {
    call.on('data', (m: unknown) => replies.push(m));
    call.on('status', resolve);
    call.on('error', () => {});
  });
  return { call, replies, ended };
}

const headers = (path: string, eos = false) => ({
  request_headers: {
    headers: {
      headers: [
        [':method', 'POST'],
        [':path', path],
        ['content-type', 'application/json'],
      ].map(([key, v]) => ({ key, raw_value: Buffer.from(v!) })),
    },
    end_of_stream: eos,
  },
  protocol_config: { request_body_mode: 'STREAMED' },
});

async function until(what: string, cond: () => boolean): Promise<void> {
  for (let i = 0; i < 200 && !cond(); i++) await sleep(25);
  assert.ok(cond(), `gave up waiting for ${what}`);
}

test('a stream that never sends anything is ended (DEADLINE_EXCEEDED) after the idle timeout, logged, and counted out', async () => {
  const s = open();
  await until('the stream to be counted in', () => inFlight === 1);
  const status = await s.ended;
  assert.equal(status.code, grpc.status.DEADLINE_EXCEEDED);
  assert.match(status.details, /FERRY_REQUEST_TIMEOUT/);
  assert.ok(refusals.includes('ext_proc stream idle'));
  await until('the stream to be counted out', () => inFlight === 0);
});

test('headers for a body route and then silence → 408 FERRY_REQUEST_TIMEOUT ImmediateResponse; the engine is not called', async () => {
  const calls = engineCalls;
  const s = open();
  s.call.write(headers('/ferry/t'));
  const status = await s.ended;
  assert.equal(status.code, grpc.status.OK);
  assert.ok(s.replies[0].request_headers, 'CONTINUE for the headers');
  const ir = s.replies[1].immediate_response;
  assert.equal(JSON.parse(Buffer.from(ir.body).toString()).code, 'FERRY_REQUEST_TIMEOUT');
  assert.equal(ir.details, 'FERRY_REQUEST_TIMEOUT');
  assert.equal(engineCalls, calls);
  await until('the stream to be counted out', () => inFlight === 0);
});

test(`one body message over the limit (input: 1 MiB in one chunk, limit ${LIMIT} bytes) is refused by the server before it is buffered (RESOURCE_EXHAUSTED); the next stream is served`, async () => {
  const s = open();
  s.call.write(headers('/ferry/t'));
  s.call.write({ request_body: { body: Buffer.alloc(1024 * 1024, 0x31), end_of_stream: true } });
  const status = await s.ended;
  assert.equal(status.code, grpc.status.RESOURCE_EXHAUSTED);
  await until('the stream to be counted out', () => inFlight === 0);

  const ok = open();
  ok.call.write(headers('/ferry/t'));
  ok.call.write({ request_body: { body: Buffer.from('[1]'), end_of_stream: true } });
  await until('the answer', () => ok.replies.length === 2);
  assert.deepEqual(JSON.parse(Buffer.from(ok.replies[1].immediate_response.body).toString()), { bytes: 3 });
  ok.call.end();
  await ok.ended;
});

test('a stream counts as one request in flight from open to end (what drain waits for), also when the client cancels it', async () => {
  const s = open();
  s.call.write(headers('/ferry/t'));
  await until('CONTINUE', () => s.replies.length === 1);
  assert.equal(inFlight, 1);
  s.call.cancel();
  await s.ended;
  await until('the stream to be counted out', () => inFlight === 0);
});
