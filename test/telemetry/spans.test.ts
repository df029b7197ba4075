import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Metadata } from '@grpc/grpc-js';
import { context, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import { InMemorySpanExporter } from '@opentelemetry/sdk-trace-base';
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { FerryError } from '../../src/errors/index.js';
import { startOtel } from '../../src/app/otel.js';
import type { OtelHandle } from '../../src/app/otel.js';
import {
  attachmentsGetter,
  createTelemetry,
  errorType,
  extractFromHeaders,
  grpcStatusName,
  injectIntoAttachments,
  injectIntoMetadata,
  metadataGetter,
  spanStatusForHttp,
} from '../../src/telemetry/index.js';
import { propagation } from '@opentelemetry/api';

const TRACE_ID = '4bf92f3577b34da6a3ce929d0e0e4736';
const PARENT_ID = '00f067aa0ba902b7';
const TRACEPARENT = `00-${TRACE_ID}-${PARENT_ID}-01`;

function allAttributeValues(spans: readonly ReadableSpan[]): string[] {
  return spans.flatMap((s) => Object.values(s.attributes).map((v) => String(v)));
}

describe('spans and carriers (in-memory exporter)', () => {
  const exporter = new InMemorySpanExporter();
  let otel: OtelHandle;

  before(() => {
    otel = startOtel({ serviceName: 'ferry-test', env: {}, exporter, processor: 'simple' });
  });
  after(async () => {
    await otel.shutdown();
  });

  test('SERVER span continues the incoming traceparent; CLIENT span is its child; attachments carry the client span', () => {
    exporter.reset();
    const tel = createTelemetry({ tracer: otel.tracerProvider.getTracer('ferry') });
    const headers = { traceparent: TRACEPARENT, tracestate: 'vendor=abc', 'x-secret': 'hunter2' };
    const parent = extractFromHeaders(headers);
    const server = tel.startServerSpan(parent, 'get-account', 'GET', '/accounts/42', '/accounts/{id}');
    const client = tel.startClientSpan(server.ctx, {
      system: 'apache_dubbo',
      service: 'com.example.bank.AccountService',
      method: 'getAccount',
      serverAddress: '127.0.0.1',
      serverPort: 20880,
    });
    const attachments: Record<string, string> = { tenant: 't1' };
    injectIntoAttachments(client.ctx, attachments);
    tel.endClientSpan(client.span);
    tel.endServerSpan(server.span, 200);

    const [c, s] = exporter.getFinishedSpans();
    assert.ok(c !== undefined && s !== undefined);
    assert.equal(s.kind, SpanKind.SERVER);
    assert.equal(c.kind, SpanKind.CLIENT);
    assert.equal(s.spanContext().traceId, TRACE_ID);
    assert.equal(s.parentSpanContext?.spanId, PARENT_ID);
    assert.equal(c.spanContext().traceId, TRACE_ID);
    assert.equal(c.parentSpanContext?.spanId, s.spanContext().spanId);
    assert.equal(tel.traceIdOf(server.ctx), TRACE_ID);

    // The provider sees the CLIENT span as its parent, in the same trace, with tracestate kept.
    assert.equal(attachments['traceparent'], `00-${TRACE_ID}-${c.spanContext().spanId}-01`);
    assert.equal(attachments['tracestate'], 'vendor=abc');
    assert.equal(attachments['tenant'], 't1');

    assert.equal(s.name, 'GET /accounts/{id}');
    assert.deepEqual(s.attributes, {
      'http.request.method': 'GET',
      'http.route': '/accounts/{id}',
      'ferry.route.id': 'get-account',
      'url.path': '/accounts/42',
      'http.response.status_code': 200,
    });
    assert.equal(s.status.code, SpanStatusCode.UNSET);
    assert.equal(c.name, 'com.example.bank.AccountService/getAccount');
    assert.deepEqual(c.attributes, {
      'rpc.system': 'apache_dubbo',
      'rpc.system.name': 'dubbo',
      'rpc.service': 'com.example.bank.AccountService',
      'rpc.method': 'getAccount',
      'server.address': '127.0.0.1',
      'server.port': 20880,
    });
    assert.ok(!allAttributeValues([c, s]).some((v) => v.includes('hunter2')), 'header values never become attributes');
  });

  test('a request without traceparent starts a new trace', () => {
    exporter.reset();
    const tel = createTelemetry({ tracer: otel.tracerProvider.getTracer('ferry') });
    const server = tel.startServerSpan(extractFromHeaders({}), undefined, 'GET', '/nowhere');
    tel.endServerSpan(server.span, 404, new FerryError('FERRY_ROUTE_NOT_FOUND', 'no route for GET /nowhere'));
    const [s] = exporter.getFinishedSpans();
    assert.ok(s !== undefined);
    assert.equal(s.parentSpanContext, undefined);
    assert.match(s.spanContext().traceId, /^[0-9a-f]{32}$/);
    assert.notEqual(s.spanContext().traceId, TRACE_ID);
    assert.equal(s.name, 'GET');
    // 404 is not a server error; the code is still recorded.
    assert.equal(s.status.code, SpanStatusCode.UNSET);
    assert.equal(s.attributes['error.type'], 'FERRY_ROUTE_NOT_FOUND');
    assert.equal(s.attributes['http.route'], undefined);
  });

  test('a malformed traceparent (input: version ff, all-zero trace id) is ignored, not continued', () => {
    exporter.reset();
    const tel = createTelemetry({ tracer: otel.tracerProvider.getTracer('ferry') });
    for (const bad of [`ff-${TRACE_ID}-${PARENT_ID}-01`, `00-${'0'.repeat(32)}-${PARENT_ID}-01`, 'garbage']) {
      const server = tel.startServerSpan(extractFromHeaders({ traceparent: bad }), 'r', 'GET', '/x', '/x');
      tel.endServerSpan(server.span, 200);
    }
    for (const s of exporter.getFinishedSpans()) {
      assert.equal(s.parentSpanContext, undefined);
      assert.notEqual(s.spanContext().traceId, TRACE_ID);
    }
  });

  test('upstream failures: 502 FerryError marks the SERVER span as error without quoting the message', () => {
    exporter.reset();
    const tel = createTelemetry({ tracer: otel.tracerProvider.getTracer('ferry') });
    const server = tel.startServerSpan(
      extractFromHeaders({ traceparent: TRACEPARENT }),
      'transfer',
      'POST',
      '/accounts/7/transfers',
      '/accounts/{id}/transfers',
    );
    const client = tel.startClientSpan(server.ctx, { system: 'apache_dubbo', service: 'com.example.bank.AccountService', method: 'transfer' });
    tel.setPeer(client.span, '10.0.0.5', 20880);
    // The message quotes an argument value, as a Java exception message might.
    const err = new FerryError('FERRY_UPSTREAM_EXCEPTION', 'amount 99999.99 exceeds balance for account 7', {
      exceptionClass: 'com.example.bank.InsufficientFundsException',
    });
    tel.endClientSpan(client.span, { error: err });
    tel.endServerSpan(server.span, 502, err);
    const [c, s] = exporter.getFinishedSpans();
    assert.ok(c !== undefined && s !== undefined);
    assert.equal(c.status.code, SpanStatusCode.ERROR);
    assert.equal(c.attributes['error.type'], 'FERRY_UPSTREAM_EXCEPTION');
    assert.equal(c.attributes['server.address'], '10.0.0.5');
    assert.equal(c.attributes['server.port'], 20880);
    assert.equal(s.status.code, SpanStatusCode.ERROR);
    assert.equal(s.status.message, 'The provider threw an exception');
    assert.equal(s.attributes['http.response.status_code'], 502);
    assert.equal(s.attributes['error.type'], 'FERRY_UPSTREAM_EXCEPTION');
    const everything = [...allAttributeValues([c, s]), s.status.message ?? '', c.status.message ?? ''];
    assert.ok(!everything.some((v) => v.includes('99999.99')), 'argument values never reach span attributes or status');
    assert.equal(s.events.length, 0);
  });

  test('gRPC CLIENT span: status code attributes and metadata carrier with a real grpc-js Metadata', () => {
    exporter.reset();
    const tel = createTelemetry({ tracer: otel.tracerProvider.getTracer('ferry') });
    const server = tel.startServerSpan(
      extractFromHeaders({ traceparent: TRACEPARENT }),
      'search',
      'POST',
      '/v1/payments:search',
      '/v1/payments:search',
    );
    const client = tel.startClientSpan(server.ctx, {
      system: 'grpc',
      service: 'example.payments.v1.Payments',
      method: 'Search',
      serverAddress: '127.0.0.1',
      serverPort: 50051,
    });
    const md = new Metadata();
    md.set('x-tenant', 't9');
    injectIntoMetadata(client.ctx, md);
    tel.endClientSpan(client.span, { grpcStatus: 5 });
    tel.endServerSpan(server.span, 404);
    const [c] = exporter.getFinishedSpans();
    assert.ok(c !== undefined);
    assert.equal(md.get('traceparent')[0], `00-${TRACE_ID}-${c.spanContext().spanId}-01`);
    assert.equal(md.get('x-tenant')[0], 't9');
    assert.equal(c.attributes['rpc.system'], 'grpc');
    assert.equal(c.attributes['rpc.system.name'], 'grpc');
    assert.equal(c.attributes['rpc.grpc.status_code'], 5);
    assert.equal(c.attributes['rpc.status_code'], 'NOT_FOUND');
    assert.equal(c.attributes['error.type'], 'NOT_FOUND');
    assert.equal(c.status.code, SpanStatusCode.ERROR);

    // The getter reads it back: extracting from the metadata gives the client span as remote parent.
    const back = propagation.extract(context.active(), md, metadataGetter);
    assert.equal(trace.getSpanContext(back)?.spanId, c.spanContext().spanId);
    assert.equal(trace.getSpanContext(back)?.traceId, TRACE_ID);
  });

  test('gRPC OK: no error status, rpc.status_code OK', () => {
    exporter.reset();
    const tel = createTelemetry({ tracer: otel.tracerProvider.getTracer('ferry') });
    const client = tel.startClientSpan(extractFromHeaders({}), { system: 'grpc', service: 's.S', method: 'M' });
    tel.endClientSpan(client.span, { grpcStatus: 0 });
    const [c] = exporter.getFinishedSpans();
    assert.ok(c !== undefined);
    assert.equal(c.status.code, SpanStatusCode.UNSET);
    assert.equal(c.attributes['rpc.status_code'], 'OK');
    assert.equal(c.attributes['error.type'], undefined);
  });

  test('urlPath "route" records the template instead of the concrete path', () => {
    exporter.reset();
    const tel = createTelemetry({ tracer: otel.tracerProvider.getTracer('ferry'), urlPath: 'route' });
    const server = tel.startServerSpan(extractFromHeaders({}), 'get-account', 'GET', '/accounts/6217000012345678', '/accounts/{id}');
    tel.endServerSpan(server.span, 200);
    const [s] = exporter.getFinishedSpans();
    assert.equal(s?.attributes['url.path'], '/accounts/{id}');
    assert.ok(!allAttributeValues([s]).some((v) => v.includes('6217000012345678')));
  });

  test('an unknown HTTP method (input: PROPFIND) is recorded as _OTHER with the original kept', () => {
    exporter.reset();
    const tel = createTelemetry({ tracer: otel.tracerProvider.getTracer('ferry') });
    const server = tel.startServerSpan(extractFromHeaders({}), undefined, 'PROPFIND', '/x');
    tel.endServerSpan(server.span, 405);
    const [s] = exporter.getFinishedSpans();
    assert.equal(s?.attributes['http.request.method'], '_OTHER');
    assert.equal(s?.attributes['http.request.method_original'], 'PROPFIND');
    assert.equal(s?.name, 'HTTP');
  });

  test('attachmentsGetter ignores non-string attachment values', () => {
    assert.equal(attachmentsGetter.get({ a: 1, b: 'x' }, 'a'), undefined);
    assert.equal(attachmentsGetter.get({ a: 1, b: 'x' }, 'b'), 'x');
  });
});

describe('status helpers', () => {
  test('HTTP status → span status: server fails on 5xx only, client on 4xx too', () => {
    assert.equal(spanStatusForHttp(404, 'server').code, SpanStatusCode.UNSET);
    assert.equal(spanStatusForHttp(500, 'server').code, SpanStatusCode.ERROR);
    assert.equal(spanStatusForHttp(503, 'server').code, SpanStatusCode.ERROR);
    assert.equal(spanStatusForHttp(404, 'client').code, SpanStatusCode.ERROR);
    assert.equal(spanStatusForHttp(399, 'client').code, SpanStatusCode.UNSET);
  });
  test('error.type: FERRY code, system error code, class name, _OTHER', () => {
    assert.equal(errorType(new FerryError('FERRY_UPSTREAM_TIMEOUT', 'x')), 'FERRY_UPSTREAM_TIMEOUT');
    const sys = Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' });
    assert.equal(errorType(sys), 'ECONNREFUSED');
    assert.equal(errorType(new TypeError('x')), 'TypeError');
    assert.equal(errorType('a string'), '_OTHER');
  });
  test('gRPC status names', () => {
    assert.equal(grpcStatusName(0), 'OK');
    assert.equal(grpcStatusName(14), 'UNAVAILABLE');
    assert.equal(grpcStatusName(99), 'UNKNOWN');
  });
});
