import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { IncomingHttpHeaders, Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { trace } from '@opentelemetry/api';
import { otlpTracesUrl, parseKeyValueList, startOtel } from '../../src/app/otel.js';
import { createTelemetry, extractFromHeaders, injectIntoAttachments } from '../../src/telemetry/index.js';

interface Received {
  path: string;
  headers: IncomingHttpHeaders;
  body: any;
}

/** A plain OTLP/HTTP receiver on loopback that records each export request (JSON bodies). */
async function startReceiver(): Promise<{ url: string; received: Received[]; close(): Promise<void> }> {
  const received: Received[] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      received.push({ path: req.url ?? '', headers: req.headers, body: JSON.parse(text) });
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    received,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((err) => (err ? reject(err) : resolve()));
      }),
  };
}

function attr(list: Array<{ key: string; value: Record<string, unknown> }>, key: string): unknown {
  const found = list.find((a) => a.key === key);
  if (found === undefined) return undefined;
  const v = found.value;
  return v['stringValue'] ?? (v['intValue'] !== undefined ? Number(v['intValue']) : undefined) ?? v['boolValue'];
}

describe('OTLP/HTTP export to a receiver on loopback', () => {
  test('spans reach the endpoint named by OTEL_EXPORTER_OTLP_ENDPOINT with resource, ids, kinds and attributes', async () => {
    const receiver = await startReceiver();
    try {
      const otel = startOtel({
        serviceName: 'ferry-default',
        env: {
          OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
          OTEL_SERVICE_NAME: 'ferry-otlp-test',
          OTEL_RESOURCE_ATTRIBUTES: 'deployment.environment.name=test,team=payments',
          OTEL_EXPORTER_OTLP_HEADERS: 'x-api-key=k%3D1',
        },
      });
      assert.equal(otel.exportTarget, `${receiver.url}/v1/traces`);
      const tel = createTelemetry({ tracer: trace.getTracer('ferry') });
      const parent = extractFromHeaders({ traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01' });
      const server = tel.startServerSpan(parent, 'get-account', 'GET', '/accounts/1', '/accounts/{id}');
      const client = tel.startClientSpan(server.ctx, {
        system: 'apache_dubbo',
        service: 'com.example.bank.AccountService',
        method: 'getAccount',
        serverAddress: '127.0.0.1',
        serverPort: 20880,
      });
      const attachments: Record<string, string> = {};
      injectIntoAttachments(client.ctx, attachments);
      tel.endClientSpan(client.span);
      tel.endServerSpan(server.span, 200);
      await otel.shutdown();

      assert.ok(receiver.received.length >= 1, 'the receiver got at least one export request');
      const first = receiver.received[0]!;
      assert.equal(first.path, '/v1/traces');
      assert.match(String(first.headers['content-type']), /application\/json/);
      assert.equal(first.headers['x-api-key'], 'k=1');

      const resourceSpans = receiver.received.flatMap((r) => r.body.resourceSpans as any[]);
      const resourceAttrs = resourceSpans[0].resource.attributes;
      assert.equal(attr(resourceAttrs, 'service.name'), 'ferry-otlp-test');
      assert.equal(attr(resourceAttrs, 'team'), 'payments');
      const spans = resourceSpans.flatMap((rs: any) => rs.scopeSpans.flatMap((ss: any) => ss.spans));
      assert.equal(spans.length, 2);
      const s = spans.find((x: any) => x.kind === 2); // SPAN_KIND_SERVER
      const c = spans.find((x: any) => x.kind === 3); // SPAN_KIND_CLIENT
      assert.ok(s && c);
      assert.equal(s.traceId, '0af7651916cd43dd8448eb211c80319c');
      assert.equal(s.parentSpanId, 'b7ad6b7169203331');
      assert.equal(c.traceId, '0af7651916cd43dd8448eb211c80319c');
      assert.equal(c.parentSpanId, s.spanId);
      assert.equal(attachments['traceparent'], `00-${c.traceId}-${c.spanId}-01`);
      assert.equal(s.name, 'GET /accounts/{id}');
      assert.equal(attr(s.attributes, 'http.route'), '/accounts/{id}');
      assert.equal(attr(s.attributes, 'http.response.status_code'), 200);
      assert.equal(attr(c.attributes, 'rpc.system'), 'apache_dubbo');
      assert.equal(attr(c.attributes, 'rpc.method'), 'getAccount');
      assert.equal(attr(c.attributes, 'server.port'), 20880);
    } finally {
      await receiver.close();
    }
  });

  test('OTEL_EXPORTER_OTLP_TRACES_ENDPOINT is used as given and wins over the base endpoint', async () => {
    const receiver = await startReceiver();
    try {
      const otel = startOtel({
        serviceName: 'ferry',
        env: { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:1', OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: `${receiver.url}/custom/path` },
      });
      trace.getTracer('t').startSpan('one').end();
      await otel.shutdown();
      assert.equal(receiver.received.length, 1);
      assert.equal(receiver.received[0]!.path, '/custom/path');
    } finally {
      await receiver.close();
    }
  });

  test('OTEL_TRACES_SAMPLER=always_off exports nothing; OTEL_SDK_DISABLED=true leaves tracing off', async () => {
    const receiver = await startReceiver();
    try {
      const off = startOtel({ serviceName: 'ferry', env: { OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url, OTEL_TRACES_SAMPLER: 'always_off' } });
      const span = trace.getTracer('t').startSpan('dropped');
      assert.equal(span.isRecording(), false);
      span.end();
      await off.shutdown();

      const disabled = startOtel({ serviceName: 'ferry', env: { OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url, OTEL_SDK_DISABLED: 'true' } });
      assert.equal(disabled.enabled, false);
      const s2 = trace.getTracer('t').startSpan('not-recorded');
      assert.equal(s2.isRecording(), false);
      s2.end();
      await disabled.shutdown();
      assert.equal(receiver.received.length, 0);
    } finally {
      await receiver.close();
    }
  });

  test('endpoint and key=value parsing', () => {
    assert.equal(otlpTracesUrl({}), 'http://localhost:4318/v1/traces');
    assert.equal(otlpTracesUrl({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://jaeger:4318/' }), 'http://jaeger:4318/v1/traces');
    assert.equal(otlpTracesUrl({ OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://c:4318/x' }), 'http://c:4318/x');
    // Input: an entry without '=' and one with an empty key are skipped.
    assert.deepEqual(parseKeyValueList('a=1, b = two%20words ,broken,=x'), { a: '1', b: 'two words' });
  });
});
