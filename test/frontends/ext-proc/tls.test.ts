/**
 * The ext_proc server over TLS and mTLS, driven by the Go client on Envoy's own ext_proc types and
 * Go's crypto/tls (as Envoy's transport_socket with an UpstreamTlsContext would connect): served
 * with a client certificate from the CA, refused without one or with one from another CA.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Engine } from '../../../src/gateway/types.js';
import { createFrontendContract } from '../../../src/frontends/contract.js';
import { startExtProcServer, type ExtProcServer } from '../../../src/frontends/ext-proc/index.js';
import { watchServerCertificates, type ServerCertificates } from '../../../src/frontends/tls.js';
import { makeTestCerts, type TestCerts } from '../../support/certs.js';
import { ensureEnvoyClient, immediateOf, runScenarios, type Scenario } from '../../support/envoy-client.js';

let certs: TestCerts;
let mtls: ExtProcServer;
let tlsOnly: ExtProcServer;
const watched: ServerCertificates[] = [];
let engineCalls = 0;

const scenario: Scenario = {
  name: 'get over tls',
  headers: [
    [':method', 'GET'],
    [':path', '/ferry/a'],
    [':authority', 'api.example'],
    [':scheme', 'https'],
  ],
};

before(async () => {
  await ensureEnvoyClient();
  certs = makeTestCerts();
  const engine: Engine = {
    maxBodyBytes: 1 << 20,
    match: (_m, path) =>
      path.startsWith('/ferry/') ? { routeId: 'r', needsBody: false, params: {}, timeoutMs: 1000, serviceName: 'svc' } : undefined,
    async handle() {
      engineCalls++;
      return { status: 200, headers: { 'content-type': 'application/json' }, body: '{"over":"tls"}' };
    },
  };
  const contract = createFrontendContract({ engine: () => engine });
  const withCa = await watchServerCertificates({ certFile: certs.server.cert, keyFile: certs.server.key, clientCaFile: certs.ca });
  const withoutCa = await watchServerCertificates({ certFile: certs.server.cert, keyFile: certs.server.key });
  watched.push(withCa, withoutCa);
  mtls = await startExtProcServer(contract, { port: 0, tls: withCa });
  tlsOnly = await startExtProcServer(contract, { port: 0, tls: withoutCa });
});

after(async () => {
  mtls?.forceClose();
  tlsOnly?.forceClose();
  for (const w of watched) w.close();
  certs?.remove();
});

test('mTLS: the Go client with a client certificate from the CA gets the ImmediateResponse', async () => {
  const before = engineCalls;
  const [r] = await runScenarios(mtls.port, [scenario], { ca: certs.ca, cert: certs.client.cert, key: certs.client.key, serverName: 'localhost' });
  assert.ok(r);
  assert.equal(r.error, undefined, r.error);
  const ir = immediateOf(r);
  assert.equal(ir.status, 200);
  assert.equal(ir.body, '{"over":"tls"}');
  assert.equal(engineCalls, before + 1);
});

test('mTLS: without a client certificate, or with one from a CA the server does not trust, the stream fails and the engine is not asked', async () => {
  const before = engineCalls;
  const [bare] = await runScenarios(mtls.port, [{ ...scenario, name: 'no client cert' }], { ca: certs.ca, serverName: 'localhost' });
  assert.equal(bare?.outcome, 'error', JSON.stringify(bare));
  const [foreign] = await runScenarios(mtls.port, [{ ...scenario, name: 'foreign client cert' }], {
    ca: certs.ca,
    cert: certs.unknownCa.cert,
    key: certs.unknownCa.key,
    serverName: 'localhost',
  });
  assert.equal(foreign?.outcome, 'error', JSON.stringify(foreign));
  assert.equal(engineCalls, before);
});

test('TLS without a client CA: served without a client certificate; a client that does not trust the server CA refuses it; plaintext is not spoken', async () => {
  const [r] = await runScenarios(tlsOnly.port, [scenario], { ca: certs.ca, serverName: 'localhost' });
  assert.equal(r?.error, undefined, r?.error);
  assert.equal(immediateOf(r!).status, 200);
  const [untrusting] = await runScenarios(tlsOnly.port, [{ ...scenario, name: 'other ca' }], { ca: certs.otherCa, serverName: 'localhost' });
  assert.equal(untrusting?.outcome, 'error');
  assert.match(untrusting?.error ?? '', /certificate|authority/i);
  const [plain] = await runScenarios(tlsOnly.port, [{ ...scenario, name: 'plaintext' }]);
  assert.equal(plain?.outcome, 'error');
});
