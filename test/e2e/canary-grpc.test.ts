/**
 * Tag routing and claims-into-metadata for gRPC, end to end: three Python grpcio servers
 * (samples/grpc-python) on static endpoints, one labelled `tag: canary` in the mapping; Ferry
 * in-process over HTTP. Replies name the server that answered (`served-by` metadata and the reply's
 * `server` field); EchoMetadata returns the request metadata the server saw.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import path from 'node:path';
import { startGrpcPeers, type GrpcPeer } from '../support/grpc-peer.js';
import { startTestFerry, type TestFerry } from '../support/ferry.js';
import { call, PEER_PROTO, PEER_SERVICE, sequential, tally } from '../support/peer-traffic.js';

const KEY = 'canary-grpc-key-0123456789';
let peers: GrpcPeer[] = [];
let ferry: TestFerry;

before(async () => {
  peers = await startGrpcPeers(['g1', 'g2', 'g3']);
  const [g1, g2, g3] = peers as [GrpcPeer, GrpcPeer, GrpcPeer];
  ferry = await startTestFerry({
    withoutSamples: true,
    problemDetail: 'full',
    extra: {
      'peer.yaml': `
services:
  peer:
    protocol: grpc
    proto: ${PEER_PROTO}
    service: ${PEER_SERVICE}
    endpoints: [${g1.address}, ${g2.address}, { address: ${g3.address}, labels: { tag: canary } }]
    balance: round-robin
    canary: { label: tag, tagFrom: [header.x-canary, claim.tag] }
  pay:
    protocol: grpc
    proto: ${path.resolve('idl/payments/v1/payments.proto')}
    service: example.payments.v1.Payments
    endpoints: [${g1.address}]
routes:
  - id: claims-metadata
    http: GET /md
    call: pay.EchoMetadata
    metadata: { x-user: claim.sub, x-tenant: header.x-tenant }
    policies: { api-key: { keys: [{ name: batch-user, sha256: ${createHash('sha256').update(KEY).digest('hex')} }] } }
  - id: open-metadata
    http: GET /md/open
    call: pay.EchoMetadata
    metadata: { x-user: claim.sub }
`,
    },
  });
});

after(async () => {
  await ferry?.close();
  await Promise.all(peers.map((p) => p.kill()));
});

const whoami = (headers: Record<string, string> = {}) => call(ferry.base, 'GET', '/v1/peer/whoami?tag=c', undefined, headers);

test('requests without a tag stay on the unlabelled servers; x-canary: canary reaches only the labelled one', async () => {
  const plain = tally(await sequential(30, () => whoami()));
  assert.deepEqual(Object.keys(plain).sort(), ['g1', 'g2'], `no tag: ${JSON.stringify(plain)}`);
  const canary = tally(await sequential(20, () => whoami({ 'x-canary': 'canary' })));
  assert.deepEqual(canary, { g3: 20 });
  const unknown = tally(await sequential(20, () => whoami({ 'x-canary': 'nobody-has-it' })));
  assert.deepEqual(Object.keys(unknown).sort(), ['g1', 'g2'], `unknown tag falls back: ${JSON.stringify(unknown)}`);
  // The servers agree: g3 counted exactly the canary calls.
  assert.equal((await peers[2]!.stats('c')).calls['Whoami'], 20);
});

test('a verified claim becomes gRPC metadata where the route names it; a request without the claim sends none', async () => {
  const r = await call(ferry.base, 'GET', '/md', undefined, { 'x-api-key': KEY, 'x-tenant': 't-9' });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.json?.metadata?.['x-user'], 'batch-user', r.text);
  assert.equal(r.json?.metadata?.['x-tenant'], 't-9', r.text);
  assert.equal(r.json?.metadata?.['x-api-key'], undefined, `the key itself is not forwarded: ${r.text}`);
  const refused = await call(ferry.base, 'GET', '/md', undefined, { 'x-tenant': 't-9' });
  assert.equal(refused.status, 401, refused.text);
  // No policy verified anything: claim.sub is absent, whatever the client sends (input: an x-user header).
  const open = await call(ferry.base, 'GET', '/md/open', undefined, { 'x-user': 'mallory' });
  assert.equal(open.status, 200, open.text);
  assert.equal(open.json?.metadata?.['x-user'], undefined, open.text);
});
