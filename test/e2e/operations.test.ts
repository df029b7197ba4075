/**
 * Operating Ferry as a whole, through the composition root and the real `ferry serve` process:
 * metrics and readiness on the admin port, OpenAPI served, hot reload from a file change, and traces
 * exported over OTLP/HTTP whose trace id is the one the Java provider received.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { startJavaProvider, type JavaProvider } from '../support/java-provider.js';
import { freePort } from '../support/ports.js';
import { http, startTestFerry, type TestFerry } from '../support/ferry.js';

let provider: JavaProvider;

before(async () => {
  provider = await startJavaProvider({ name: 'ops' });
});

after(async () => {
  await provider?.stop();
});

async function poll<T>(what: string, fn: () => Promise<T | undefined>, tries = 100): Promise<T> {
  for (let i = 0; i < tries; i++) {
    const v = await fn();
    if (v !== undefined) return v;
    await sleep(100);
  }
  throw new Error(`gave up waiting for ${what}`);
}

describe('admin port and reload through startFerry', () => {
  let ferry: TestFerry;
  let admin: string;

  before(async () => {
    ferry = await startTestFerry({ dubboAddress: provider.address, adminPort: 0, watch: true });
    admin = `http://127.0.0.1:${ferry.adminPort}`;
  });

  after(async () => {
    await ferry?.close();
  });

  test('/metrics counts requests per route, status and code, and shows the pools', async () => {
    await http(ferry.base, 'GET', '/accounts/2');
    await http(ferry.base, 'GET', '/accounts/abc');
    const text = (await http(admin, 'GET', '/metrics')).text;
    assert.match(text, /ferry_requests_total\{route="get-account",method="GET",status="200",code="OK"\} 1/);
    assert.match(text, /ferry_requests_total\{route="get-account",method="GET",status="400",code="FERRY_BAD_ARGUMENT"\} 1/);
    assert.match(text, /ferry_request_duration_seconds_bucket\{[^}]*route="get-account"/);
    assert.match(text, new RegExp(`ferry_upstream_connections\\{service="accounts",endpoint="${provider.address}"\\} [1-9]`));
  });

  test('/metrics times each upstream call by service, method and outcome (inputs: an existing account, then 5000, which Java answers with AccountNotFoundException)', async () => {
    const count = async (code: string): Promise<number> => {
      const text = (await http(admin, 'GET', '/metrics')).text;
      const m = new RegExp(`ferry_upstream_call_duration_seconds_count\\{service="accounts",method="getAccount",code="${code}"\\} (\\d+)`).exec(text);
      return m ? Number(m[1]) : 0;
    };
    const ok0 = await count('OK');
    const failed0 = await count('FERRY_UPSTREAM_EXCEPTION');
    assert.equal((await http(ferry.base, 'GET', '/accounts/3')).status, 200);
    assert.equal((await http(ferry.base, 'GET', '/accounts/5000')).status, 404);
    assert.equal(await count('OK'), ok0 + 1);
    assert.equal(await count('FERRY_UPSTREAM_EXCEPTION'), failed0 + 1);
    // A request refused before any call (bad id) is not an upstream call.
    assert.equal((await http(ferry.base, 'GET', '/accounts/abc')).status, 400);
    assert.equal((await count('OK')) + (await count('FERRY_BAD_ARGUMENT')), ok0 + 1);
  });

  test('/healthz, /readyz and /openapi.json', async () => {
    assert.equal((await http(admin, 'GET', '/healthz')).status, 200);
    // Readiness covers every protocol: the shipped gRPC (payments) and Triple (greeter) services have
    // no peer in this test, so they are named; the Dubbo service, whose provider runs, is not.
    const ready = await poll('readiness settled', async () => {
      const r = await http(admin, 'GET', '/readyz');
      return r.json?.reasons?.length === 2 ? r : undefined;
    });
    assert.equal(ready.status, 503, ready.text);
    assert.deepEqual([...ready.json.reasons].sort(), ['service greeter has no available endpoint', 'service payments has no available endpoint']);
    const doc = (await http(admin, 'GET', '/openapi.json')).json;
    assert.equal(doc.openapi, '3.1.0');
    assert.ok(doc.paths['/accounts/{id}']?.get, 'the get-account route is in the OpenAPI document');
  });

  test('a good file change is picked up without a restart; a bad one is refused and the old routes keep answering', async () => {
    await ferry.writeMapping('extra.yaml', 'routes:\n  - id: ping-v2\n    http: GET /v2/ping\n    call: accounts.ping\n');
    const added = await poll('the new route', async () => {
      const r = await http(ferry.base, 'GET', '/v2/ping');
      return r.status === 200 ? r : undefined;
    });
    assert.equal(added.json, 'pong');

    await ferry.writeMapping('extra.yaml', 'routes:\n  - id: ping-v3\n    http: GET /v3/ping\n    call: nowhere.ping\n');
    const refused = await poll('the refused reload in the metrics', async () => {
      const text = (await http(admin, 'GET', '/metrics')).text;
      return /ferry_config_reloads_total\{result="error"\} [1-9]/.test(text) ? text : undefined;
    });
    assert.ok(refused);
    assert.equal((await http(ferry.base, 'GET', '/v2/ping')).json, 'pong', 'the old config keeps serving');
    assert.equal((await http(ferry.base, 'GET', '/v3/ping')).status, 404);
  });
});

test('/readyz answers 503 naming a service with no available endpoint (input: a service on a port nobody listens on)', async () => {
  const ghostPort = await freePort();
  const ferry = await startTestFerry({
    withoutSamples: true,
    adminPort: 0,
    extra: {
      'ghost.yaml': `services:\n  ghost:\n    protocol: dubbo\n    interface: com.example.bank.AccountService\n    version: 1.0.0\n    endpoints: [127.0.0.1:${ghostPort}]\nroutes:\n  - id: ghost-ping\n    http: GET /ping\n    call: ghost.ping\n`,
    },
  });
  try {
    const r = await poll('readiness to settle', async () => {
      const res = await http(`http://127.0.0.1:${ferry.adminPort}`, 'GET', '/readyz');
      return res.status === 503 ? res : undefined;
    });
    assert.match(r.text, /service ghost has no available endpoint/);
  } finally {
    await ferry.close();
  }
});

describe('ferry serve exports traces when OTEL_* says where', () => {
  let receiver: Server;
  const spans: any[] = [];

  before(async () => {
    receiver = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
        for (const rs of body.resourceSpans ?? []) for (const ss of rs.scopeSpans ?? []) spans.push(...(ss.spans ?? []));
        res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
      });
    });
    await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
  });

  after(async () => {
    receiver.closeAllConnections();
    await new Promise((resolve) => receiver.close(resolve));
  });

  test('SERVER and CLIENT spans reach the receiver, and Java saw the same trace id', async () => {
    const { mkdtemp, readFile, writeFile } = await import('node:fs/promises');
    const { tmpdir } = await import('node:os');
    const path = await import('node:path');
    const dir = await mkdtemp(path.join(tmpdir(), 'ferry-otel-'));
    await writeFile(path.join(dir, 'bank.yaml'), (await readFile('mappings/bank.yaml', 'utf8')).replaceAll('127.0.0.1:20880', provider.address));
    const port = await freePort();
    const child = spawn(process.execPath, ['bin/ferry.js', 'serve', '--mappings', dir, '--port', String(port), '--admin-port', '0', '--no-watch'], {
      env: {
        ...process.env,
        OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${(receiver.address() as AddressInfo).port}`,
        OTEL_BSP_SCHEDULE_DELAY: '100',
        OTEL_SERVICE_NAME: 'ferry-e2e',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    try {
      const base = `http://127.0.0.1:${port}`;
      await poll('ferry serve', async () => ((await http(base, 'GET', '/ping').catch(() => undefined))?.status === 200 ? true : undefined));
      const r = await http(base, 'GET', '/attachments', undefined, { 'x-tenant': 'acme' });
      assert.equal(r.status, 200, r.text);
      const traceparent: string = r.json.traceparent;
      assert.match(traceparent, /^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/, 'Java received a W3C traceparent attachment');
      const javaTraceId = traceparent.split('-')[1]!;
      const javaParentSpan = traceparent.split('-')[2]!;
      const client = await poll('the exported CLIENT span', async () =>
        spans.find((s) => s.kind === 3 && s.traceId === javaTraceId && s.name === 'com.example.bank.AccountService/receivedAttachments'),
      );
      assert.equal(client.spanId, javaParentSpan, "the provider's parent is Ferry's CLIENT span");
      const server = spans.find((s) => s.kind === 2 && s.traceId === javaTraceId);
      assert.ok(server, 'the SERVER span of the same trace was exported');
      assert.equal(client.parentSpanId, server.spanId);
      const attrs = Object.fromEntries(client.attributes.map((a: any) => [a.key, a.value.stringValue ?? a.value.intValue]));
      assert.equal(attrs['rpc.system'], 'apache_dubbo');
      assert.equal(attrs['rpc.service'], 'com.example.bank.AccountService');
      assert.equal(attrs['rpc.method'], 'receivedAttachments');
      assert.equal(attrs['server.address'], '127.0.0.1');
    } finally {
      child.kill('SIGTERM');
      await new Promise((resolve) => child.once('exit', resolve));
    }
  });
});
