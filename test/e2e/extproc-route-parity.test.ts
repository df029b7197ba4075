/**
 * The shared route-case table (test/support/route-cases.ts) through both front ends: Ferry's HTTP
 * port and its ext_proc port (driven by the Go client on Envoy's types), over the real engine and
 * the Apache Dubbo sample provider. Status, content-type, set-cookie and body must be identical.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startFerry, type RunningFerry } from '../../src/app/main.js';
import { startJavaProvider, type JavaProvider } from '../support/java-provider.js';
import { freePort } from '../support/ports.js';
import { CASE_TRACEPARENT, ROUTE_CASES, writeCaseMappings, type RouteCase } from '../support/route-cases.js';
import { ensureEnvoyClient, immediateOf, runScenarios, type ScenarioResult } from '../support/envoy-client.js';

let provider: JavaProvider;
let ferry: RunningFerry;
let extProc: { port: number };
let viaExtProc: ScenarioResult[];

before(async () => {
  await ensureEnvoyClient();
  provider = await startJavaProvider();
  const dir = writeCaseMappings(provider.address, `127.0.0.1:${await freePort()}`);
  ferry = await startFerry({ mappingsDir: dir, port: 0, extProcPort: 0 });
  extProc = { port: ferry.extProcPort! };
  // One Go client run for the whole table (one stream per case, as Envoy opens one per request).
  viaExtProc = await runScenarios(
    extProc.port,
    ROUTE_CASES.map((c) => ({
      name: c.name,
      headers: [
        [':method', c.method],
        [':path', c.path],
        [':authority', '127.0.0.1'],
        [':scheme', 'http'],
        ['traceparent', CASE_TRACEPARENT],
        ...Object.entries(c.headers ?? {}),
      ] as Array<[string, string]>,
      ...(c.body === undefined ? {} : { body: [c.body] }),
    })),
  );
});

after(async () => {
  await ferry?.close();
  await provider?.stop();
});

async function viaHttp(c: RouteCase) {
  const res = await fetch(`http://127.0.0.1:${ferry.httpPort}${c.path}`, {
    method: c.method,
    headers: { traceparent: CASE_TRACEPARENT, ...(c.headers ?? {}) },
    ...(c.body === undefined ? {} : { body: c.body }),
  });
  return { status: res.status, contentType: res.headers.get('content-type'), setCookie: res.headers.getSetCookie(), body: await res.text() };
}

ROUTE_CASES.forEach((c, i) => {
  test(`${c.method} ${c.path}: ${c.name}`, async () => {
    const http = await viaHttp(c);
    assert.equal(http.status, c.status, `HTTP status; body: ${http.body}`);
    if (c.code !== undefined) assert.equal(JSON.parse(http.body).code, c.code);
    const x = viaExtProc[i]!;
    assert.equal(x.name, c.name);
    assert.equal(x.error, undefined, x.error);
    if (c.extProc === 'continue') {
      assert.equal(x.outcome, 'forwarded', "not Ferry's request: Envoy routes it");
      assert.equal(x.responses.length, 1);
      assert.equal(x.responses[0]!.immediate_response, undefined);
      return;
    }
    assert.equal(x.outcome, 'immediate');
    const ir = immediateOf(x);
    assert.equal(ir.status, http.status, 'status');
    assert.equal(ir.headers['content-type']?.[0] ?? null, http.contentType, 'content-type');
    assert.deepEqual(ir.headers['set-cookie'] ?? [], http.setCookie, 'set-cookie');
    assert.equal(ir.body, http.body, 'body');
  });
});
