import { propagation } from '@opentelemetry/api';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Engine, RouteMatch } from '../../../src/gateway/types.js';
import type { GatewayRequest } from '../../../src/exchange/index.js';
import { createExtProcSession } from '../../../src/frontends/ext-proc/session.js';
import type { ProcessingRequest, ProcessingResponse } from '../../../src/frontends/ext-proc/protocol.js';

// The composition root registers the W3C propagator; ext_proc's own error replies read the trace id through it.
propagation.setGlobalPropagator(new W3CTraceContextPropagator());

/**
 * A tiny stand-in engine for the adaptation unit tests only: it matches one route, records what
 * reached it and echoes the request. End-to-end tests use the real engine.
 */
function fakeEngine(opts: { needsBody?: boolean; maxBodyBytes?: number; timeoutMs?: number } = {}) {
  const calls: Array<{ req: GatewayRequest; match: RouteMatch | undefined }> = [];
  const engine: Engine = {
    maxBodyBytes: opts.maxBodyBytes ?? 1024,
    match(method, path) {
      return path.startsWith('/ferry/')
        ? { routeId: 'r', needsBody: opts.needsBody ?? method === 'POST', params: {}, timeoutMs: opts.timeoutMs ?? 1000, serviceName: 'svc' }
        : undefined;
    },
    async handle(req, match) {
      calls.push({ req, match });
      return {
        status: 200,
        headers: { 'content-type': 'application/json', 'set-cookie': ['a=1', 'b=2'] },
        body: JSON.stringify({ method: req.method, path: req.path, q: req.rawQuery, body: req.body?.toString() ?? null }),
      };
    },
  };
  return { engine, calls };
}

const hdrs = (pairs: Array<[string, string]>, eos: boolean, mode?: string): ProcessingRequest => ({
  request: 'request_headers',
  request_headers: { headers: { headers: pairs.map(([key, v]) => ({ key, raw_value: Buffer.from(v), value: '' })) }, end_of_stream: eos },
  ...(mode === undefined ? {} : { protocol_config: { request_body_mode: mode as 'BUFFERED' } }),
});
const body = (s: string, eos: boolean): ProcessingRequest => ({
  request: 'request_body',
  request_body: { body: Buffer.from(s), end_of_stream: eos },
});

test('headers with end_of_stream on a matched route: one ImmediateResponse from the engine', async () => {
  const { engine, calls } = fakeEngine();
  const s = createExtProcSession(engine);
  const r = await s.handle(
    hdrs(
      [
        [':method', 'GET'],
        [':path', '/ferry/a?x=1'],
        ['traceparent', 'tp'],
      ],
      true,
      'BUFFERED',
    ),
  );
  assert.equal(r?.immediate_response?.status.code, 200);
  assert.deepEqual(JSON.parse(r.immediate_response.body!.toString()), { method: 'GET', path: '/ferry/a', q: 'x=1', body: null });
  assert.equal(calls.length, 1);
  assert.equal(calls[0]!.match?.routeId, 'r');
  assert.equal(calls[0]!.req.headers['traceparent'], 'tp');
  assert.equal(s.state, 'done');
  assert.equal(await s.handle(body('late', true)), undefined, 'nothing is sent after the ImmediateResponse');
});

test('no match: CONTINUE, asking Envoy (mode_override NONE) not to send the body, and CONTINUE for a body that comes anyway', async () => {
  const { engine, calls } = fakeEngine();
  const s = createExtProcSession(engine);
  const r = await s.handle(
    hdrs(
      [
        [':method', 'POST'],
        [':path', '/other'],
      ],
      false,
      'BUFFERED',
    ),
  );
  assert.deepEqual(r?.request_headers, { response: { status: 'CONTINUE' } });
  assert.equal(r?.mode_override?.request_body_mode, 'NONE');
  assert.equal(r?.mode_override?.response_header_mode, 'SKIP');
  assert.deepEqual(await s.handle(body('x', true)), { request_body: { response: { status: 'CONTINUE' } } });
  assert.deepEqual(await s.handle({ request: 'request_trailers', request_trailers: { trailers: { headers: [] } } }), { request_trailers: {} });
  assert.equal(calls.length, 0);
});

test('no match without a body: plain CONTINUE, no mode_override; response-side messages get CONTINUE too', async () => {
  const { engine } = fakeEngine();
  const s = createExtProcSession(engine);
  const r = await s.handle(
    hdrs(
      [
        [':method', 'GET'],
        [':path', '/other'],
      ],
      true,
      'BUFFERED',
    ),
  );
  assert.deepEqual(r, { request_headers: { response: { status: 'CONTINUE' } } });
  const rh = await s.handle({ request: 'response_headers', response_headers: { headers: { headers: [] }, end_of_stream: false } });
  assert.deepEqual(rh, { response_headers: { response: { status: 'CONTINUE' } } });
});

test('a body follows: CONTINUE the headers, then the ImmediateResponse answers the buffered body', async () => {
  const { engine, calls } = fakeEngine();
  const s = createExtProcSession(engine);
  const r1 = await s.handle(
    hdrs(
      [
        [':method', 'POST'],
        [':path', '/ferry/t'],
      ],
      false,
      'BUFFERED',
    ),
  );
  assert.deepEqual(r1, { request_headers: { response: { status: 'CONTINUE' } } });
  const r2 = await s.handle(body('{"a":1}', true));
  assert.equal(JSON.parse(r2!.immediate_response!.body!.toString()).body, '{"a":1}');
  assert.equal(calls.length, 1);
});

test('Envoy configured with body mode NONE: the headers reply asks for BUFFERED via mode_override', async () => {
  const { engine } = fakeEngine();
  const s = createExtProcSession(engine);
  const r = await s.handle(
    hdrs(
      [
        [':method', 'POST'],
        [':path', '/ferry/t'],
      ],
      false,
      'NONE',
    ),
  );
  assert.equal(r?.request_headers?.response?.status, 'CONTINUE');
  assert.equal(r?.mode_override?.request_body_mode, 'BUFFERED');
});

test('streamed chunks: CONTINUE per chunk, the engine sees the joined body once', async () => {
  const { engine, calls } = fakeEngine();
  const s = createExtProcSession(engine);
  await s.handle(
    hdrs(
      [
        [':method', 'POST'],
        [':path', '/ferry/t'],
      ],
      false,
      'STREAMED',
    ),
  );
  assert.deepEqual(await s.handle(body('{"a"', false)), { request_body: { response: { status: 'CONTINUE' } } });
  assert.deepEqual(await s.handle(body(':', false)), { request_body: { response: { status: 'CONTINUE' } } });
  const last = await s.handle(body('1}', true));
  assert.equal(JSON.parse(last!.immediate_response!.body!.toString()).body, '{"a":1}');
  assert.equal(calls.length, 1);
});

test('trailers end a body that never said end_of_stream', async () => {
  const { engine, calls } = fakeEngine();
  const s = createExtProcSession(engine);
  await s.handle(
    hdrs(
      [
        [':method', 'POST'],
        [':path', '/ferry/t'],
      ],
      false,
      'STREAMED',
    ),
  );
  await s.handle(body('{}', false));
  const r = await s.handle({ request: 'request_trailers', request_trailers: { trailers: { headers: [] } } });
  assert.equal(r?.immediate_response?.status.code, 200);
  assert.equal(calls[0]!.req.body?.toString(), '{}');
});

test('streamed body over maxBodyBytes (input: 3 chunks of 6 bytes, limit 10) → 413 FERRY_BODY_TOO_LARGE, engine not called', async () => {
  const { engine, calls } = fakeEngine({ maxBodyBytes: 10 });
  const s = createExtProcSession(engine);
  await s.handle(
    hdrs(
      [
        [':method', 'POST'],
        [':path', '/ferry/t'],
        ['traceparent', '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01'],
      ],
      false,
      'STREAMED',
    ),
  );
  assert.ok((await s.handle(body('aaaaaa', false)))?.request_body);
  const r = await s.handle(body('bbbbbb', false));
  const ir = r!.immediate_response!;
  assert.equal(ir.status.code, 413);
  const doc = JSON.parse(ir.body!.toString());
  assert.equal(doc.code, 'FERRY_BODY_TOO_LARGE');
  assert.equal(doc.route, 'r');
  assert.equal(doc.traceId, '4bf92f3577b34da6a3ce929d0e0e4736');
  assert.equal(ir.details, 'FERRY_BODY_TOO_LARGE');
  assert.equal(ir.headers!.set_headers![0]!.header.raw_value.toString(), 'application/problem+json');
  assert.equal(calls.length, 0);
  assert.equal(await s.handle(body('cccccc', true)), undefined);
});

test('BUFFERED_PARTIAL part without end_of_stream (input: 4 bytes, eos false) → 413', async () => {
  const { engine, calls } = fakeEngine();
  const s = createExtProcSession(engine);
  await s.handle(
    hdrs(
      [
        [':method', 'POST'],
        [':path', '/ferry/t'],
      ],
      false,
      'BUFFERED_PARTIAL',
    ),
  );
  const r = await s.handle(body('abcd', false));
  assert.equal(r?.immediate_response?.status.code, 413);
  assert.equal(calls.length, 0);
});

test('route that needs no body answers from the headers even when a body follows', async () => {
  const { engine, calls } = fakeEngine({ needsBody: false });
  const s = createExtProcSession(engine);
  const r = await s.handle(
    hdrs(
      [
        [':method', 'DELETE'],
        [':path', '/ferry/x'],
      ],
      false,
      'BUFFERED',
    ),
  );
  assert.equal(r?.immediate_response?.status.code, 200);
  assert.equal(calls[0]!.req.body, undefined);
});

test('protocol errors (input: body before headers; second headers; empty message) → 400 FERRY_EXT_PROC_PROTOCOL_ERROR, a client error', async () => {
  const { engine, calls } = fakeEngine();
  const code = (r: Awaited<ReturnType<ReturnType<typeof createExtProcSession>['handle']>>): [number | undefined, string] => [
    r?.immediate_response?.status.code,
    JSON.parse(r!.immediate_response!.body!.toString()).code,
  ];
  assert.deepEqual(code(await createExtProcSession(engine).handle(body('x', true))), [400, 'FERRY_EXT_PROC_PROTOCOL_ERROR']);

  const s = createExtProcSession(engine);
  await s.handle(
    hdrs(
      [
        [':method', 'POST'],
        [':path', '/ferry/t'],
      ],
      false,
      'BUFFERED',
    ),
  );
  assert.deepEqual(
    code(
      await s.handle(
        hdrs(
          [
            [':method', 'POST'],
            [':path', '/ferry/t'],
          ],
          false,
          'BUFFERED',
        ),
      ),
    ),
    [400, 'FERRY_EXT_PROC_PROTOCOL_ERROR'],
  );

  assert.deepEqual(code(await createExtProcSession(engine).handle({})), [400, 'FERRY_EXT_PROC_PROTOCOL_ERROR']);
  assert.equal(calls.length, 0);
});

test('headers without :path (input: only :method GET) → 400 FERRY_EXT_PROC_PROTOCOL_ERROR', async () => {
  const { engine } = fakeEngine();
  const r = await createExtProcSession(engine).handle(hdrs([[':method', 'GET']], true));
  assert.equal(r?.immediate_response?.status.code, 400);
  assert.equal(JSON.parse(r.immediate_response.body!.toString()).code, 'FERRY_EXT_PROC_PROTOCOL_ERROR');
});

test('CR, LF or NUL in a header value or in :path (input: "a\\r\\nx-injected: 1") → 400 FERRY_MALFORMED_REQUEST, the engine is never called', async () => {
  const { engine, calls } = fakeEngine();
  for (const pairs of [
    [
      [':method', 'GET'],
      [':path', '/ferry/a'],
      ['x-tenant', 'a\r\nx-injected: 1'],
    ],
    [
      [':method', 'GET'],
      [':path', '/ferry/a'],
      ['x-tenant', 'a\nb'],
    ],
    [
      [':method', 'GET'],
      [':path', '/ferry/a'],
      ['x-tenant', 'a\u0000b'],
    ],
    [
      [':method', 'GET'],
      [':path', '/ferry/a\r\nHost: evil'],
    ],
  ] as Array<Array<[string, string]>>) {
    const r = await createExtProcSession(engine).handle(hdrs(pairs, true));
    assert.equal(r?.immediate_response?.status.code, 400, JSON.stringify(pairs));
    assert.equal(JSON.parse(r.immediate_response.body!.toString()).code, 'FERRY_MALFORMED_REQUEST');
  }
  assert.equal(calls.length, 0);
});

test('a head over maxHeaderBytes (input: one 2 000-byte header, limit 1 024) → 431 FERRY_HEADERS_TOO_LARGE', async () => {
  const { engine, calls } = fakeEngine();
  const r = await createExtProcSession(engine, { maxHeaderBytes: 1024 }).handle(
    hdrs(
      [
        [':method', 'GET'],
        [':path', '/ferry/a'],
        ['x-big', 'y'.repeat(2000)],
      ],
      true,
    ),
  );
  assert.equal(r?.immediate_response?.status.code, 431);
  assert.equal(JSON.parse(r.immediate_response.body!.toString()).code, 'FERRY_HEADERS_TOO_LARGE');
  assert.equal(calls.length, 0);
});

test('the idle timeout: a session awaiting its body answers 408 FERRY_REQUEST_TIMEOUT; one awaiting headers has nothing to answer', async () => {
  const { engine, calls } = fakeEngine();
  const s = createExtProcSession(engine);
  assert.equal(s.awaitingMessage, true);
  await s.handle(
    hdrs(
      [
        [':method', 'POST'],
        [':path', '/ferry/t'],
      ],
      false,
      'BUFFERED',
    ),
  );
  assert.equal(s.awaitingMessage, true);
  const r = await s.expire(30_000);
  assert.equal(r?.immediate_response?.status.code, 408);
  assert.equal(JSON.parse(r.immediate_response.body!.toString()).code, 'FERRY_REQUEST_TIMEOUT');
  assert.equal(s.awaitingMessage, false);
  const fresh = createExtProcSession(engine);
  assert.equal(await fresh.expire(30_000), undefined);
  assert.equal(fresh.state, 'done');
  assert.equal(calls.length, 0);
});

test('the body limit comes from the session options (the front-end contract), not the engine (input: 600 bytes, option 500, engine 1 024)', async () => {
  const { engine, calls } = fakeEngine({ maxBodyBytes: 1024 });
  const s = createExtProcSession(engine, { maxBodyBytes: 500 });
  await s.handle(
    hdrs(
      [
        [':method', 'POST'],
        [':path', '/ferry/t'],
      ],
      false,
      'STREAMED',
    ),
  );
  const r = await s.handle(body('x'.repeat(600), false));
  assert.equal(r?.immediate_response?.status.code, 413);
  assert.equal(calls.length, 0);
});

const FD = 'FULL_DUPLEX_STREAMED';
const post = (path: string, eos = false): ProcessingRequest =>
  hdrs(
    [
      [':method', 'POST'],
      [':path', path],
    ],
    eos,
    FD,
  );

async function piecesOf(rest: AsyncIterable<ProcessingResponse> | undefined): Promise<ProcessingResponse[]> {
  const out: ProcessingResponse[] = [];
  for await (const p of rest ?? []) out.push(p);
  return out;
}

test('FULL_DUPLEX_STREAMED: no reply to the headers nor to each chunk; the body answer is a streamed local reply (headers, then body with end_of_stream)', async () => {
  const { engine, calls } = fakeEngine();
  const s = createExtProcSession(engine);
  assert.equal(await s.handle(post('/ferry/t')), undefined, 'the headers wait for the answer');
  assert.equal(await s.handle(body('{"a":', false)), undefined, 'no reply per chunk');
  const first = await s.handle(body('1}', true));
  assert.equal(calls.length, 1);
  assert.equal(calls[0]!.req.body?.toString(), '{"a":1}');
  const h = first?.streamed_immediate_response?.headers_response;
  assert.ok(h !== undefined, `headers_response first: ${JSON.stringify(first)}`);
  assert.equal(h.end_of_stream, false);
  const keys = h.headers.headers.map((x) => [x.key, x.raw_value.toString()]);
  assert.deepEqual(keys, [
    [':status', '200'],
    ['content-type', 'application/json'],
    ['set-cookie', 'a=1'],
    ['set-cookie', 'b=2'],
  ]);
  assert.equal(first?.dynamic_metadata?.['envoy.filters.http.ext_proc']?.['code'], 'ferry_ok');
  const rest = await piecesOf(s.takeRest());
  assert.equal(rest.length, 1);
  assert.equal(rest[0]!.streamed_immediate_response?.body_response?.end_of_stream, true);
  assert.equal(JSON.parse(rest[0]!.streamed_immediate_response.body_response.body.toString()).body, '{"a":1}');
  assert.equal(s.takeRest(), undefined, 'the rest is taken once');
});

test('FULL_DUPLEX_STREAMED: trailers end the body; a request Ferry lets through gets CONTINUE and each chunk back unchanged', async () => {
  const { engine, calls } = fakeEngine();
  const s = createExtProcSession(engine);
  await s.handle(post('/ferry/t'));
  await s.handle(body('xy', false));
  const first = await s.handle({ request: 'request_trailers', request_trailers: { trailers: { headers: [] } } });
  assert.equal(first?.streamed_immediate_response?.headers_response?.headers.headers[0]?.raw_value.toString(), '200');
  assert.equal(calls[0]!.req.body?.toString(), 'xy');

  const other = createExtProcSession(engine);
  const h = await other.handle(post('/other'));
  assert.deepEqual(h, { request_headers: { response: { status: 'CONTINUE' } } }, 'no mode_override: Envoy takes none in this mode');
  const c = await other.handle(body('abc', true));
  assert.equal(c?.request_body?.response?.body_mutation?.streamed_response.body.toString(), 'abc');
  assert.equal(c?.request_body?.response?.body_mutation?.streamed_response.end_of_stream, true);
  assert.deepEqual(await other.handle({ request: 'request_trailers', request_trailers: {} }), { request_trailers: {} });
});

test('FULL_DUPLEX_STREAMED: a streamed upstream reply goes out piece by piece, none over 64 KiB, never joined (input: a 150 000-byte head and 3 stream chunks)', async () => {
  const big = 'x'.repeat(150_000);
  let pulled = 0;
  async function* lines() {
    for (let i = 1; i <= 3; i++) {
      pulled++;
      yield `{"n":${i}}\n`;
    }
  }
  const engine: Engine = {
    ...fakeEngine().engine,
    async handle() {
      return { status: 200, headers: { 'content-type': 'application/x-ndjson' }, body: big, stream: lines() };
    },
  };
  const s = createExtProcSession(engine);
  await s.handle(post('/ferry/s'));
  const first = await s.handle(body('{}', true));
  assert.equal(first?.streamed_immediate_response?.headers_response?.end_of_stream, false);
  assert.equal(pulled, 0, 'nothing is read from the upstream stream before the headers are out');
  const rest = await piecesOf(s.takeRest());
  const sizes = rest.map((p) => p.streamed_immediate_response!.body_response!.body.length);
  assert.deepEqual(sizes, [65536, 65536, 18928, 8, 8, 8, 0]);
  assert.deepEqual(
    rest.map((p) => p.streamed_immediate_response!.body_response!.end_of_stream),
    [false, false, false, false, false, false, true],
  );
});

test('FULL_DUPLEX_STREAMED over maxBodyBytes (input: chunks of 6 bytes, limit 10) → a streamed 413 FERRY_BODY_TOO_LARGE, chunks dropped, later chunks ignored', async () => {
  const { engine, calls } = fakeEngine({ maxBodyBytes: 10 });
  const s = createExtProcSession(engine);
  await s.handle(post('/ferry/t'));
  assert.equal(await s.handle(body('aaaaaa', false)), undefined);
  const first = await s.handle(body('bbbbbb', false));
  assert.equal(first?.streamed_immediate_response?.headers_response?.headers.headers[0]?.raw_value.toString(), '413');
  const [piece] = await piecesOf(s.takeRest());
  assert.equal(JSON.parse(piece!.streamed_immediate_response!.body_response!.body.toString()).code, 'FERRY_BODY_TOO_LARGE');
  assert.equal(await s.handle(body('cccccc', true)), undefined, 'nothing after the answer');
  assert.equal(calls.length, 0);
});

test('FULL_DUPLEX_STREAMED: a chunk after end_of_stream (input: body eos, then another body) cancels the call → 400 FERRY_EXT_PROC_PROTOCOL_ERROR', async () => {
  let signal: AbortSignal | undefined;
  const engine: Engine = {
    ...fakeEngine().engine,
    async handle(req) {
      signal = req.signal;
      return { status: 499, headers: {}, body: '' };
    },
  };
  const s = createExtProcSession(engine);
  const msgs = [post('/ferry/t'), body('{}', true), body('late', false)];
  for (const m of msgs) s.arrived(m); // all three arrive before the first is handled
  assert.equal(s.violation?.code, 'FERRY_EXT_PROC_PROTOCOL_ERROR');
  await s.handle(msgs[0]!);
  const first = await s.handle(msgs[1]!);
  assert.equal(signal?.aborted, true, 'the upstream call was cancelled');
  assert.equal(first?.streamed_immediate_response?.headers_response?.headers.headers[0]?.raw_value.toString(), '400');
  const [piece] = await piecesOf(s.takeRest());
  assert.match(piece!.streamed_immediate_response!.body_response!.body.toString(), /FERRY_EXT_PROC_PROTOCOL_ERROR/);
  // Trailers after headers that said end_of_stream are the same violation.
  const t = createExtProcSession(engine);
  t.arrived(post('/ferry/t', true));
  t.arrived({ request: 'request_trailers', request_trailers: {} });
  assert.match(t.violation?.message ?? '', /request_trailers after/);
});

test('GRPC body mode on a body route (input: protocol_config GRPC) → 500 FERRY_CONFIG_INVALID', async () => {
  const { engine, calls } = fakeEngine();
  const r = await createExtProcSession(engine).handle(
    hdrs(
      [
        [':method', 'POST'],
        [':path', '/ferry/t'],
      ],
      false,
      'GRPC',
    ),
  );
  assert.equal(r?.immediate_response?.status.code, 500);
  assert.equal(JSON.parse(r.immediate_response.body!.toString()).code, 'FERRY_CONFIG_INVALID');
  assert.equal(calls.length, 0);
});

test('observability mode: no replies at all and the engine is never called', async () => {
  const { engine, calls } = fakeEngine();
  const s = createExtProcSession(engine);
  assert.equal(
    await s.handle({
      ...hdrs(
        [
          [':method', 'POST'],
          [':path', '/ferry/t'],
        ],
        false,
        'BUFFERED',
      ),
      observability_mode: true,
    }),
    undefined,
  );
  assert.equal(await s.handle({ ...body('{}', true), observability_mode: true }), undefined);
  assert.equal(calls.length, 0);
  assert.equal(s.state, 'observing');
});

test('an engine that rejects despite its contract still yields a 500 problem reply', async () => {
  const { engine } = fakeEngine();
  engine.handle = async () => {
    throw new Error('boom');
  };
  const r = await createExtProcSession(engine).handle(
    hdrs(
      [
        [':method', 'GET'],
        [':path', '/ferry/a'],
      ],
      true,
    ),
  );
  assert.equal(r?.immediate_response?.status.code, 500);
  assert.equal(JSON.parse(r.immediate_response.body!.toString()).code, 'FERRY_INTERNAL');
});

/** The deadline was set `budgetMs` after a moment between `from` and `to` (when the session ran). */
function within(deadline: number, from: number, to: number, budgetMs: number): void {
  assert.ok(deadline >= from + budgetMs && deadline <= to + budgetMs, `deadline ${deadline - from} ms after the message, budget ${budgetMs} ms`);
}

test("Envoy's timers: a route longer than message_timeout asks for more time first, then runs within what was granted", async () => {
  const get = hdrs(
    [
      [':method', 'GET'],
      [':path', '/ferry/slow'],
    ],
    true,
  );
  // Route 1000 ms; Envoy 200 ms with overrides up to 30 s: one override of 1050 ms, the route keeps its 1000 ms.
  const a = fakeEngine({ timeoutMs: 1000 });
  const interims: unknown[] = [];
  const before = performance.now();
  const r = await createExtProcSession(a.engine, {
    envoyTimers: { messageTimeoutMs: 200, maxMessageTimeoutMs: 30_000 },
    interim: (m) => interims.push(m),
  }).handle(get);
  assert.deepEqual(interims, [{ override_message_timeout: { seconds: 1, nanos: 50_000_000 } }]);
  assert.equal(r?.immediate_response?.status.code, 200);
  within(a.calls[0]!.req.deadline!, before, performance.now(), 1000);

  // Overrides capped at 500 ms: Envoy's 500 wins, Ferry keeps 450 for the call.
  const b = fakeEngine({ timeoutMs: 1000 });
  const capped: unknown[] = [];
  const t0 = performance.now();
  await createExtProcSession(b.engine, { envoyTimers: { messageTimeoutMs: 200, maxMessageTimeoutMs: 500 }, interim: (m) => capped.push(m) }).handle(
    get,
  );
  assert.deepEqual(capped, [{ override_message_timeout: { seconds: 0, nanos: 500_000_000 } }]);
  within(b.calls[0]!.req.deadline!, t0, performance.now(), 450);

  // Overrides disabled (max_message_timeout 0): no override, the request gets Envoy's 200 less the margin.
  const c = fakeEngine({ timeoutMs: 1000 });
  const none: unknown[] = [];
  const t1 = performance.now();
  await createExtProcSession(c.engine, { envoyTimers: { messageTimeoutMs: 200, maxMessageTimeoutMs: 0 }, interim: (m) => none.push(m) }).handle(get);
  assert.deepEqual(none, []);
  within(c.calls[0]!.req.deadline!, t1, performance.now(), 150);

  // A route that fits in message_timeout: nothing asked, the route's own timeout.
  const d = fakeEngine({ timeoutMs: 100 });
  const fits: unknown[] = [];
  await createExtProcSession(d.engine, { envoyTimers: { messageTimeoutMs: 200, maxMessageTimeoutMs: 30_000 }, interim: (m) => fits.push(m) }).handle(
    get,
  );
  assert.deepEqual(fits, []);
});

test('answers carry dynamic metadata (route id, code, service) in the filter namespace, a configured one, or none', async () => {
  const get = hdrs(
    [
      [':method', 'GET'],
      [':path', '/ferry/a'],
    ],
    true,
  );
  const r = await createExtProcSession(fakeEngine().engine).handle(get);
  assert.deepEqual(r?.dynamic_metadata, { 'envoy.filters.http.ext_proc': { code: 'ferry_ok', route_id: 'r', service: 'svc' } });
  const named = await createExtProcSession(fakeEngine().engine, { metadataNamespace: 'ferry' }).handle(get);
  assert.deepEqual(Object.keys(named?.dynamic_metadata ?? {}), ['ferry']);
  const off = await createExtProcSession(fakeEngine().engine, { metadataNamespace: '' }).handle(get);
  assert.equal(off?.dynamic_metadata, undefined);
  // An error answer names its FERRY code (input: a request_body before any headers).
  const bad = await createExtProcSession(fakeEngine().engine).handle(body('x', true));
  assert.equal(bad?.dynamic_metadata?.['envoy.filters.http.ext_proc']?.['code'], 'FERRY_EXT_PROC_PROTOCOL_ERROR');
});

test('BUFFERED mode: a streamed upstream reply over maxStreamedReplyBytes (input: an endless NDJSON stream, budget 1000) → 502 FERRY_REPLY_TOO_LARGE in the ImmediateResponse, the stream cancelled', async () => {
  let cancelled = false;
  async function* endless() {
    try {
      for (;;) yield '{"n":1}\n';
    } finally {
      cancelled = true;
    }
  }
  const engine: Engine = {
    ...fakeEngine().engine,
    async handle() {
      return { status: 200, headers: { 'content-type': 'application/x-ndjson' }, body: '', stream: endless() };
    },
  };
  const s = createExtProcSession(engine, { maxStreamedReplyBytes: 1000 });
  const get = hdrs(
    [
      [':method', 'GET'],
      [':path', '/ferry/s'],
    ],
    true,
    'BUFFERED',
  );
  const r = await s.handle(get);
  const ir = r?.immediate_response;
  assert.equal(ir?.status.code, 502, JSON.stringify(r));
  assert.equal(JSON.parse(ir.body!.toString()).code, 'FERRY_REPLY_TOO_LARGE');
  assert.equal(ir.details, 'FERRY_REPLY_TOO_LARGE');
  assert.equal(cancelled, true, 'the upstream stream was cancelled');
});
