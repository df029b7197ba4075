/**
 * `ferry serve` with TLS on every hop it owns, as an operator runs it: HTTPS (HTTP/2 by curl) on
 * --port with a plain port only because --plain-port asks for it, ext_proc over mTLS for the Go
 * client on Envoy's types, and the gRPC upstream (Python grpcio) over TLS; a certificate path that
 * does not exist stops the start with a message naming it.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { makeTestCerts, type TestCerts } from '../support/certs.js';
import { ensureEnvoyClient, immediateOf, runScenarios } from '../support/envoy-client.js';
import { startFerryProcess, type FerryProcess } from '../support/ferry-process.js';
import { startGrpcPeer, type GrpcPeer } from '../support/grpc-peer.js';

const run = promisify(execFile);
let certs: TestCerts;
let peer: GrpcPeer;
let ferry: FerryProcess;

before(async () => {
  await ensureEnvoyClient();
  certs = makeTestCerts();
  peer = await startGrpcPeer({ name: 'tls-serve', tls: { cert: certs.server.cert, key: certs.server.key } });
  const mapping = `
services:
  peer:
    protocol: grpc
    proto: ${path.resolve('idl/ferry/peer/v1/peer.proto')}
    service: ferry.peer.v1.Peer
    endpoints: [${peer.address}]
    tls: { ca: ${certs.ca} }
`;
  ferry = await startFerryProcess({ withoutSamples: true, extra: { 'peer.yaml': mapping } }, [
    '--tls-cert',
    certs.server.cert,
    '--tls-key',
    certs.server.key,
    '--plain-port',
    '0',
    '--ext-proc-port',
    '0',
    '--ext-proc-tls-cert',
    certs.server.cert,
    '--ext-proc-tls-key',
    certs.server.key,
    '--ext-proc-tls-client-ca',
    certs.ca,
  ]);
});

after(async () => {
  await ferry?.stop();
  await peer?.stop();
  certs?.remove();
});

test('HTTPS over HTTP/2 (curl) reaches the TLS gRPC upstream; the plain port asked for serves too', async () => {
  const { stdout } = await run('curl', [
    '-sS',
    '--max-time',
    '10',
    '--http2',
    '--cacert',
    certs.ca,
    '-w',
    '\n%{http_version}',
    `${ferry.base}/v1/peer/whoami`,
  ]);
  const [body, version] = stdout.split('\n');
  assert.equal(version, '2');
  assert.equal(JSON.parse(body!).server, 'tls-serve');
  assert.ok(ferry.plainHttpPort !== undefined && ferry.plainHttpPort > 0, 'the listening line names the plain port');
  const plain = await fetch(`http://127.0.0.1:${ferry.plainHttpPort}/v1/peer/whoami`);
  assert.equal(plain.status, 200);
  const listening = ferry.logs.find((l) => l['msg'] === 'ferry listening')!;
  assert.equal(listening['https'], ferry.httpPort);
  assert.equal(listening['extProcTls'], 'mtls');
});

test('ext_proc over mTLS: the Go client with a client certificate gets the route answered; without one the stream fails', async () => {
  const scenario = {
    name: 'whoami',
    headers: [
      [':method', 'GET'],
      [':path', '/v1/peer/whoami'],
      [':authority', 'api.example'],
      [':scheme', 'https'],
    ] as Array<[string, string]>,
  };
  const [ok] = await runScenarios(ferry.extProcPort, [scenario], {
    ca: certs.ca,
    cert: certs.client.cert,
    key: certs.client.key,
    serverName: 'localhost',
  });
  assert.equal(ok?.error, undefined, ok?.error);
  const ir = immediateOf(ok!);
  assert.equal(ir.status, 200);
  assert.equal(JSON.parse(ir.body).server, 'tls-serve');
  const [bare] = await runScenarios(ferry.extProcPort, [scenario], { ca: certs.ca, serverName: 'localhost' });
  assert.equal(bare?.outcome, 'error');
});

test('a --tls-cert that does not exist stops `ferry serve` with exit 1 and the path in the message', async () => {
  const missing = path.join(certs.dir, 'no-such.pem');
  await assert.rejects(
    startFerryProcess({ withoutSamples: true, extra: { 'empty.yaml': 'services: {}\n' } }, ['--tls-cert', missing, '--tls-key', certs.server.key]),
    (err: Error) => err.message.includes('exited with 1') && err.message.includes(missing),
  );
});
