/**
 * TLS and mTLS from Ferry to gRPC upstreams, against Python grpcio servers with certificates made
 * by openssl: served over TLS and mTLS, the server name override, and each certificate fault (an
 * expired certificate, one for another name, one from an unknown CA, a client certificate missing,
 * a plaintext server) answered 503 FERRY_UPSTREAM_TLS at once, with a log line naming the endpoint,
 * and never by falling back to plaintext.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { createLogger } from '../../src/app/logger.js';
import { makeTestCerts, type TestCerts } from '../support/certs.js';
import { http, startTestFerry, type TestFerry } from '../support/ferry.js';
import { startGrpcPeer, type GrpcPeer } from '../support/grpc-peer.js';

const PEER_PROTO = path.resolve('idl/ferry/peer/v1/peer.proto');
let certs: TestCerts;
let ferry: TestFerry;
const peers: Record<string, GrpcPeer> = {};
const logLines: string[] = [];

before(async () => {
  certs = makeTestCerts();
  const started = await Promise.all([
    startGrpcPeer({ name: 'tls', tls: { cert: certs.server.cert, key: certs.server.key } }),
    startGrpcPeer({ name: 'mtls', tls: { cert: certs.server.cert, key: certs.server.key, clientCa: certs.ca } }),
    startGrpcPeer({ name: 'expired', tls: { cert: certs.expired.cert, key: certs.expired.key } }),
    startGrpcPeer({ name: 'wrong-name', tls: { cert: certs.wrongName.cert, key: certs.wrongName.key } }),
    startGrpcPeer({ name: 'unknown-ca', tls: { cert: certs.unknownCa.cert, key: certs.unknownCa.key } }),
    startGrpcPeer({ name: 'plain' }),
  ]);
  for (const p of started) peers[p.name] = p;
  ferry = await startTestFerry({
    withoutSamples: true,
    extra: { 'peer.yaml': mapping('tls', { ca: certs.ca }) },
    logger: createLogger({ sink: { write: (line: string) => logLines.push(line) }, level: 'info' }),
  });
});

after(async () => {
  await ferry?.close();
  await Promise.all(Object.values(peers).map((p) => p.stop()));
  certs?.remove();
});

function mapping(peer: string, tls: { ca?: string; cert?: string; key?: string; serverName?: string }): string {
  const keys = Object.entries(tls)
    .map(([k, v]) => `${k}: ${JSON.stringify(v)}`)
    .join(', ');
  return `
services:
  peer:
    protocol: grpc
    proto: ${PEER_PROTO}
    service: ferry.peer.v1.Peer
    endpoints: [${peers[peer]!.address}]
    timeout: 5s
    tls: { ${keys} }
`;
}

/** Points the service at `peer` with `tls`, reloads, and calls Whoami. */
async function whoami(peer: string, tls: Parameters<typeof mapping>[1]): Promise<{ status: number; json: any }> {
  await ferry.writeMapping('peer.yaml', mapping(peer, tls));
  await ferry.reload();
  const r = await http(ferry.base, 'GET', '/v1/peer/whoami');
  return { status: r.status, json: r.json };
}

/** Whether a log line names `endpoint` and matches `text`, waiting a little: the request log is written after the answer. */
async function logged(endpoint: string, text: RegExp): Promise<boolean> {
  const seen = (): boolean => logLines.some((l) => l.includes(endpoint) && text.test(l));
  for (let i = 0; i < 40 && !seen(); i++) await new Promise((r) => setTimeout(r, 50));
  return seen();
}

test('TLS with the CA bundle: the call is served by the TLS server', async () => {
  const r = await whoami('tls', { ca: certs.ca });
  assert.equal(r.status, 200, JSON.stringify(r.json));
  assert.equal(r.json.server, 'tls');
});

test('mTLS: with the client certificate the call is served; without it the server refuses the handshake → 503 FERRY_UPSTREAM_TLS', async () => {
  const ok = await whoami('mtls', { ca: certs.ca, cert: certs.client.cert, key: certs.client.key });
  assert.equal(ok.status, 200, JSON.stringify(ok.json));
  assert.equal(ok.json.server, 'mtls');
  const refused = await whoami('mtls', { ca: certs.ca });
  assert.equal(refused.status, 503);
  assert.equal(refused.json.code, 'FERRY_UPSTREAM_TLS');
  assert.ok(await logged(peers['mtls']!.address, /FERRY_UPSTREAM_TLS/), logLines.slice(-4).join('\n'));
});

test('an expired server certificate → 503 FERRY_UPSTREAM_TLS, logged with the endpoint and "expired"', async () => {
  const r = await whoami('expired', { ca: certs.ca });
  assert.equal(r.status, 503);
  assert.equal(r.json.code, 'FERRY_UPSTREAM_TLS');
  assert.ok(await logged(peers['expired']!.address, /expired/), logLines.slice(-3).join('\n'));
});

test('a certificate for another name → 503 FERRY_UPSTREAM_TLS; with serverName set to that name, served', async () => {
  const r = await whoami('wrong-name', { ca: certs.ca });
  assert.equal(r.status, 503);
  assert.equal(r.json.code, 'FERRY_UPSTREAM_TLS');
  assert.ok(await logged(peers['wrong-name']!.address, /another name/), logLines.slice(-3).join('\n'));
  const named = await whoami('wrong-name', { ca: certs.ca, serverName: 'wrong.example' });
  assert.equal(named.status, 200, JSON.stringify(named.json));
  assert.equal(named.json.server, 'wrong-name');
});

test('a certificate from a CA not in the bundle → 503 FERRY_UPSTREAM_TLS', async () => {
  const r = await whoami('unknown-ca', { ca: certs.ca });
  assert.equal(r.status, 503);
  assert.equal(r.json.code, 'FERRY_UPSTREAM_TLS');
  assert.ok(await logged(peers['unknown-ca']!.address, /trusted CA/), logLines.slice(-3).join('\n'));
});

test('TLS configured, the server speaks plaintext → 503 FERRY_UPSTREAM_TLS, no plaintext call reaches it', async () => {
  const r = await whoami('plain', { ca: certs.ca });
  assert.equal(r.status, 503);
  assert.equal(r.json.code, 'FERRY_UPSTREAM_TLS');
  assert.equal(peers['plain']!.announced('Whoami'), 0, 'the plaintext server was never called');
});
