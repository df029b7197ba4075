/**
 * A client that goes away: the upstream call is cancelled (its slot freed), the request ends as
 * 499 FERRY_CLIENT_CLOSED in the outcome that metrics and the access log read, and Ferry keeps
 * serving. Against the Apache Dubbo sample provider and a Python grpcio server.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'node:http';
import type { RequestOutcome } from '../../src/gateway/engine.js';
import { startGrpcPeers, type GrpcPeer } from '../support/grpc-peer.js';
import { http, startTestFerry, type TestFerry } from '../support/ferry.js';
import { startJavaProvider, type JavaProvider } from '../support/java-provider.js';
import { PEER_PROTO, PEER_SERVICE } from '../support/peer-traffic.js';

let provider: JavaProvider;
let peers: GrpcPeer[];
let ferry: TestFerry;
const outcomes: RequestOutcome[] = [];

before(async () => {
  [provider, peers] = await Promise.all([startJavaProvider({}), startGrpcPeers(['c1'])]);
  ferry = await startTestFerry({
    dubboAddress: provider.address,
    adminPort: 0,
    onOutcome: (o) => outcomes.push(o),
    extra: {
      'peer.yaml': `
services:
  peer:
    protocol: grpc
    proto: ${PEER_PROTO}
    service: ${PEER_SERVICE}
    endpoints: [${peers[0]!.address}]
    timeout: 10s
`,
    },
  });
});

after(async () => {
  await ferry?.close();
  await Promise.all([provider?.stop(), ...(peers ?? []).map((p) => p.stop())]);
});

/** Sends GET `path` and destroys the connection after `afterMs`, before any answer. */
function abandon(path: string, afterMs: number): Promise<void> {
  return new Promise((resolve) => {
    const req = request({ host: '127.0.0.1', port: ferry.httpPort, path, agent: false });
    req.on('error', () => resolve());
    req.on('response', () => assert.fail(`${path} was answered before the client left`));
    req.end();
    setTimeout(() => {
      req.destroy();
      resolve();
    }, afterMs);
  });
}

async function outcomeOf(path: string): Promise<RequestOutcome> {
  for (let i = 0; i < 200; i++) {
    const o = outcomes.find((x) => x.path === path);
    if (o !== undefined) return o;
    await new Promise((r) => setTimeout(r, 20));
  }
  assert.fail(`no outcome for ${path}`);
}

async function pendingOn(service: string): Promise<number> {
  const text = (await http(`http://127.0.0.1:${ferry.adminPort}`, 'GET', '/metrics')).text;
  const lines = text.split('\n').filter((l) => l.startsWith('ferry_upstream_pending_calls{') && l.includes(`service="${service}"`));
  assert.ok(lines.length > 0, `the scrape has a pending-calls series for ${service}`);
  return lines.reduce((sum, l) => sum + Number(l.split(' ').pop()), 0);
}

for (const [what, service, path] of [
  ['Dubbo (slow 4000 ms)', 'accounts', '/slow/4000'],
  ['gRPC (Slow 4000 ms)', 'peer', '/v1/peer/slow/4000'],
] as const) {
  test(`${what}: the client leaves after 300 ms → the call is cancelled, 499 FERRY_CLIENT_CLOSED, the slot freed, Ferry keeps serving`, async () => {
    const started = performance.now();
    await abandon(path, 300);
    const o = await outcomeOf(path);
    console.log(`${what}: outcome after ${(performance.now() - started).toFixed(0)} ms, request ${o.durationMs.toFixed(0)} ms`);
    assert.equal(o.status, 499);
    assert.equal(o.code, 'FERRY_CLIENT_CLOSED');
    assert.ok(performance.now() - started < 4000, 'the request ended before the upstream would have answered');
    // The slot is freed at once, not when the provider answers (4 s later).
    assert.equal(await pendingOn(service), 0, 'no call is left pending upstream');
    const ok = await http(ferry.base, 'GET', service === 'accounts' ? '/accounts/1' : '/v1/peer/whoami');
    assert.equal(ok.status, 200, ok.text);
  });
}
