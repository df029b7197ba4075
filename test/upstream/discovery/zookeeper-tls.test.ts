/**
 * ZooKeeper over TLS against Debian's ZooKeeper started with a `secureClientPort` (Netty, PEM key
 * and trust stores made by openssl, client certificates required): providers registered through
 * the plain port are found by a source that reads over TLS with a client certificate; a wrong CA,
 * a wrong name, an expired server certificate and a missing client certificate are each a
 * FERRY_REGISTRY_TLS error naming the endpoint (no password in it) and no endpoints; a plain client
 * on the secure port never gets a session.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeTestCerts, type TestCerts } from '../../support/certs.js';
import { startZooKeeper, type ZooKeeperServer } from '../../support/zookeeper.js';
import { createRegistrar, type Registrar } from '../../support/zookeeper-registrar.js';
import { createZooKeeperRegistrySource, type ZooKeeperRegistrySource } from '../../../src/upstream/discovery/zookeeper-registry.js';
import type { RegistryAccess, UpstreamTls } from '../../../src/config/types.js';

const IFACE = 'com.example.zk.TlsService';
const PASSWORD = 'zk-Secret-pw';

let certs: TestCerts;
let zk: ZooKeeperServer | undefined;
let expiredZk: ZooKeeperServer | undefined;
let registrar: Registrar | undefined;
let cacheDir = '';
const sources: ZooKeeperRegistrySource[] = [];

before(async () => {
  certs = makeTestCerts();
  cacheDir = await mkdtemp(join(tmpdir(), 'ferry-zk-tls-'));
  zk = await startZooKeeper({ tls: { cert: certs.server.cert, key: certs.server.key, ca: certs.ca } });
  expiredZk = await startZooKeeper({ tls: { cert: certs.expired.cert, key: certs.expired.key, ca: certs.ca } });
  registrar = createRegistrar(zk.connectString);
  await registrar.register({ protocol: 'dubbo', address: '127.0.0.1:7781', path: IFACE, params: { methods: 'a' } });
});

after(async () => {
  for (const s of sources) await s.close();
  await registrar?.close();
  await zk?.stop();
  await expiredZk?.stop();
  await rm(cacheDir, { recursive: true, force: true, maxRetries: 5 });
  certs.remove();
});

function tlsOf(files: { ca: string; cert?: string; key?: string; serverName?: string }): UpstreamTls {
  return {
    context: {
      ca: readFileSync(files.ca),
      ...(files.cert !== undefined ? { cert: readFileSync(files.cert) } : {}),
      ...(files.key !== undefined ? { key: readFileSync(files.key) } : {}),
    },
    ...(files.serverName !== undefined ? { servername: files.serverName } : {}),
    identity: JSON.stringify(files),
  };
}

function open(port: number, access: RegistryAccess | undefined, errors: Error[], name: string): ZooKeeperRegistrySource {
  const source = createZooKeeperRegistrySource({
    connectString: `zookeeper://127.0.0.1:${port}`,
    interface: IFACE,
    sessionTimeoutMs: 4000,
    retryDelayMs: 200,
    cacheDir: join(cacheDir, name),
    ...(access !== undefined ? { access } : {}),
    onError: (e) => errors.push(e),
  });
  sources.push(source);
  return source;
}

/** Waits (10 s at most) for a reported error with `code`; fails naming what was reported instead. */
async function reported(errors: Error[], code: string, what: string): Promise<Error> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const hit = errors.find((e) => (e as { code?: unknown }).code === code);
    if (hit !== undefined) return hit;
    if (Date.now() > deadline) assert.fail(`${what}: no ${code} reported in 10 s; reported: ${JSON.stringify(errors.map((e) => e.message))}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const clientCert = (): { cert: string; key: string } => ({ cert: certs.client.cert, key: certs.client.key });

test('providers are found over TLS with a client certificate (mTLS), digest credentials sent inside the TLS session', async () => {
  const errors: Error[] = [];
  const source = open(
    zk!.securePort!,
    { tls: tlsOf({ ca: certs.ca, ...clientCert() }), username: 'ferry', password: PASSWORD, identity: 'ok' },
    errors,
    'ok',
  );
  assert.equal(await source.ready(15_000), true, `the TLS source did not read the registry; errors: ${JSON.stringify(errors.map((e) => e.message))}`);
  assert.deepEqual(
    source.current().map((e) => e.id),
    ['127.0.0.1:7781'],
  );
});

for (const c of [
  {
    name: 'a CA Ferry does not trust',
    files: () => ({ ca: certs.otherCa, ...clientCert() }),
    port: () => zk!.securePort!,
    why: /not from a trusted CA/,
  },
  {
    name: 'a server name the certificate does not carry',
    files: () => ({ ca: certs.ca, ...clientCert(), serverName: 'wrong.example' }),
    port: () => zk!.securePort!,
    why: /another name/,
  },
  { name: 'an expired server certificate', files: () => ({ ca: certs.ca, ...clientCert() }), port: () => expiredZk!.securePort!, why: /expired/ },
  {
    name: 'no client certificate (ZooKeeper requires one)',
    files: () => ({ ca: certs.ca }),
    port: () => zk!.securePort!,
    why: /handshake failed|alert/i,
  },
]) {
  test(`${c.name}: FERRY_REGISTRY_TLS naming the endpoint, no password in it, no endpoints`, async () => {
    const errors: Error[] = [];
    const port = c.port();
    const source = open(
      port,
      { tls: tlsOf(c.files()), username: 'ferry', password: PASSWORD, identity: c.name },
      errors,
      c.name.replace(/\W+/g, '-'),
    );
    const err = await reported(errors, 'FERRY_REGISTRY_TLS', c.name);
    assert.match(err.message, c.why, err.message);
    assert.match(err.message, new RegExp(`127\\.0\\.0\\.1:${port}`), `the error names the endpoint: ${err.message}`);
    for (const e of errors) assert.ok(!e.message.includes(PASSWORD), `a reported error carries the password: ${e.message}`);
    assert.equal(source.connected(), false, 'the source says connected after a failed handshake');
    assert.deepEqual(source.current(), [], 'endpoints were published without a TLS session');
    assert.equal(await source.ready(1), false, 'the source says ready');
  });
}

test('a plain-text client on the secure port gets no session and no endpoints', async () => {
  const errors: Error[] = [];
  const source = open(zk!.securePort!, undefined, errors, 'plain');
  assert.equal(await source.ready(4000), false, 'a plain client read the registry through the TLS port');
  assert.equal(source.connected(), false, 'a plain client is connected to the TLS port');
  assert.deepEqual(source.current(), []);
});
