/**
 * One trace from the HTTP client through Ferry into real providers: the Java Dubbo sample reads
 * `traceparent` from its server attachments (AccountService.receivedAttachments), and the Python
 * grpcio sample echoes the request metadata it saw (Payments.EchoMetadata). Their trace ids must be
 * the ones Ferry's spans carry, and their parent span must be Ferry's CLIENT span.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { SpanKind } from '@opentelemetry/api';
import { InMemorySpanExporter } from '@opentelemetry/sdk-trace-base';
import { startOtel, type OtelHandle } from '../../src/app/otel.js';
import { createTelemetry, extractFromHeaders, injectIntoMetadata } from '../../src/telemetry/index.js';
import { startJavaProvider, type JavaProvider } from '../support/java-provider.js';
import { startGrpcPeer, type GrpcPeer } from '../support/grpc-peer.js';
import { http, startTestFerry, type TestFerry } from '../support/ferry.js';

const TRACE_ID = '5e1f4c8a9b3d2e7f0a1b2c3d4e5f6a7b';
const PARENT_ID = '1122334455667788';
const TRACEPARENT_RE = /^00-([0-9a-f]{32})-([0-9a-f]{16})-0[01]$/;

const exporter = new InMemorySpanExporter();
let otel: OtelHandle;

before(() => {
  otel = startOtel({ serviceName: 'ferry-trace-test', env: {}, exporter, processor: 'simple' });
});
after(async () => {
  await otel.shutdown();
});

describe('Dubbo: HTTP → Ferry → Apache Dubbo (Java)', () => {
  let provider: JavaProvider;
  let ferry: TestFerry;

  before(async () => {
    provider = await startJavaProvider({ name: 'trace' });
    ferry = await startTestFerry({
      dubboAddress: provider.address,
      telemetry: createTelemetry({ tracer: otel.tracerProvider.getTracer('ferry') }),
    });
  });
  after(async () => {
    await ferry?.close();
    await provider?.stop();
  });

  test('the provider continues the client trace: same trace id, parent = Ferry CLIENT span', async () => {
    exporter.reset();
    const res = await http(ferry.base, 'GET', '/attachments', undefined, {
      traceparent: `00-${TRACE_ID}-${PARENT_ID}-01`,
      tracestate: 'acme=7',
      'x-tenant': 'blue',
    });
    assert.equal(res.status, 200, res.text);
    const received = res.json as Record<string, string>;
    const m = TRACEPARENT_RE.exec(received['traceparent'] ?? '');
    assert.ok(m, `provider attachments carry a traceparent: ${res.text}`);
    assert.equal(m[1], TRACE_ID);
    assert.equal(received['tracestate'], 'acme=7');
    assert.equal(received['tenant'], 'blue');

    const spans = exporter.getFinishedSpans();
    const server = spans.find((s) => s.kind === SpanKind.SERVER);
    const client = spans.find((s) => s.kind === SpanKind.CLIENT);
    assert.ok(server && client, `spans: ${spans.map((s) => s.name).join(', ')}`);
    assert.equal(server.spanContext().traceId, TRACE_ID);
    assert.equal(server.parentSpanContext?.spanId, PARENT_ID);
    assert.equal(client.spanContext().traceId, TRACE_ID);
    assert.equal(client.parentSpanContext?.spanId, server.spanContext().spanId);
    assert.equal(m[2], client.spanContext().spanId, 'the provider sees the CLIENT span as its parent');
    assert.equal(client.attributes['rpc.system'], 'apache_dubbo');
    assert.equal(client.attributes['rpc.service'], 'com.example.bank.AccountService');
    assert.equal(client.attributes['rpc.method'], 'receivedAttachments');
    assert.equal(client.attributes['server.port'], provider.dubboPort);
    assert.equal(server.attributes['http.route'], '/attachments');
    assert.equal(server.attributes['http.response.status_code'], 200);
  });

  test('without an incoming traceparent, the provider receives the trace Ferry started', async () => {
    exporter.reset();
    const res = await http(ferry.base, 'GET', '/attachments');
    assert.equal(res.status, 200, res.text);
    const m = TRACEPARENT_RE.exec((res.json as Record<string, string>)['traceparent'] ?? '');
    assert.ok(m);
    const server = exporter.getFinishedSpans().find((s) => s.kind === SpanKind.SERVER);
    assert.ok(server);
    assert.equal(server.parentSpanContext, undefined);
    assert.equal(m[1], server.spanContext().traceId);
  });

  test('argument values stay out of span attributes (input: account id 9007199254740993 in the path)', async () => {
    exporter.reset();
    const res = await http(ferry.base, 'GET', '/accounts/9007199254740993', undefined, { traceparent: `00-${TRACE_ID}-${PARENT_ID}-01` });
    assert.ok(res.status > 0);
    const client = exporter.getFinishedSpans().find((s) => s.kind === SpanKind.CLIENT);
    assert.ok(client);
    for (const v of Object.values(client.attributes))
      assert.ok(!String(v).includes('9007199254740993'), `CLIENT attribute leaks the argument: ${String(v)}`);
  });
});

describe('gRPC: metadata carrier → Python grpcio server', () => {
  let peer: GrpcPeer;
  let client: grpc.Client & Record<string, (...args: any[]) => any>;

  before(async () => {
    peer = await startGrpcPeer({ workers: 2 });
    const def = protoLoader.loadSync(path.resolve('idl/payments/v1/payments.proto'), { includeDirs: [path.resolve('idl')] });
    const pkg = grpc.loadPackageDefinition(def) as any;
    client = new pkg.example.payments.v1.Payments(peer.address, grpc.credentials.createInsecure());
  });
  after(async () => {
    client?.close();
    await peer?.stop();
  });

  test('the server sees traceparent/tracestate with Ferry’s trace id and CLIENT span id', async () => {
    exporter.reset();
    const tel = createTelemetry({ tracer: otel.tracerProvider.getTracer('ferry') });
    const server = tel.startServerSpan(
      extractFromHeaders({ traceparent: `00-${TRACE_ID}-${PARENT_ID}-01`, tracestate: 'acme=9' }),
      'echo',
      'POST',
      '/x',
      '/x',
    );
    const call = tel.startClientSpan(server.ctx, {
      system: 'grpc',
      service: 'example.payments.v1.Payments',
      method: 'EchoMetadata',
      serverAddress: '127.0.0.1',
      serverPort: peer.port,
    });
    const md = new grpc.Metadata();
    injectIntoMetadata(call.ctx, md);
    const reply = await new Promise<{ metadata: Record<string, string> }>((resolve, reject) => {
      client['EchoMetadata']!({ note: 'trace' }, md, (err: grpc.ServiceError | null, r: { metadata: Record<string, string> }) =>
        err ? reject(err) : resolve(r),
      );
    });
    tel.endClientSpan(call.span, { grpcStatus: 0 });
    tel.endServerSpan(server.span, 200);
    const m = TRACEPARENT_RE.exec(reply.metadata['traceparent'] ?? '');
    assert.ok(m, `server saw: ${JSON.stringify(reply.metadata)}`);
    assert.equal(m[1], TRACE_ID);
    const c = exporter.getFinishedSpans().find((s) => s.kind === SpanKind.CLIENT);
    assert.ok(c);
    assert.equal(m[2], c.spanContext().spanId);
    assert.equal(reply.metadata['tracestate'], 'acme=9');
  });
});
