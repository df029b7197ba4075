/**
 * Through the real gateway: Ferry reads ZooKeeper over TLS (Debian's ZooKeeper with a secure client
 * port that requires a client certificate) and calls Apache Dubbo 3.3 providers exported with
 * `token=true`, each with its own random token that it publishes in its provider URL. One provider
 * registers over TLS too (the ZooKeeper client's zookeeper.client.secure settings), the other through
 * the plain port of the same ZooKeeper. Ferry sends each provider its own token; a token named in
 * the mapping wins; no token appears in a log line or an answer.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { createLogger } from '../../src/app/logger.js';
import { makeTestCerts, type TestCerts } from '../support/certs.js';
import { http, startTestFerry, type TestFerry } from '../support/ferry.js';
import { startJavaProvider, type JavaProvider } from '../support/java-provider.js';
import { startZooKeeper, type ZooKeeperServer } from '../support/zookeeper.js';
import { createRegistrar, type Registrar } from '../support/zookeeper-registrar.js';

const IFACE = 'com.example.bank.AccountService';
let certs: TestCerts;
let zk: ZooKeeperServer | undefined;
let ferry: TestFerry | undefined;
let registrar: Registrar | undefined;
const providers: JavaProvider[] = [];
const logLines: string[] = [];
const bodies: string[] = [];

const mapping = (registry: string, extra = ''): string => `
services:
  accounts:
    protocol: dubbo
    interface: ${IFACE}
    version: 1.0.0
    registry: ${registry}
    timeout: 3s
    balance: round-robin
    pool: { connections: 1 }
${extra}
routes:
  - id: whoami
    http: GET /whoami
    call: accounts.whoami
`;

const tlsRegistry = (): string =>
  `{ url: "zookeeper://127.0.0.1:${zk!.securePort}", tls: { ca: ${certs.ca}, cert: ${certs.client.cert}, key: ${certs.client.key} } }`;

before(async () => {
  certs = makeTestCerts();
  zk = await startZooKeeper({ tls: { cert: certs.server.cert, key: certs.server.key, ca: certs.ca } });
  // token-a registers through the plain port; token-b over TLS with a client certificate, through
  // the ZooKeeper client's own TLS settings (Netty socket, PEM stores), as a Dubbo deployment would.
  providers.push(await startJavaProvider({ name: 'token-a', registry: zk.registryUrl, token: 'true' }));
  const keyStore = path.join(certs.dir, 'provider-keystore.pem');
  await writeFile(keyStore, (await readFile(certs.client.cert, 'utf8')) + (await readFile(certs.client.key, 'utf8')));
  providers.push(
    await startJavaProvider({
      name: 'token-b',
      registry: `zookeeper://127.0.0.1:${zk.securePort}`,
      token: 'true',
      jvmArgs: [
        '-Dzookeeper.client.secure=true',
        '-Dzookeeper.clientCnxnSocket=org.apache.zookeeper.ClientCnxnSocketNetty',
        `-Dzookeeper.ssl.keyStore.location=${keyStore}`,
        '-Dzookeeper.ssl.keyStore.type=PEM',
        `-Dzookeeper.ssl.trustStore.location=${certs.ca}`,
        '-Dzookeeper.ssl.trustStore.type=PEM',
      ],
    }),
  );
  registrar = createRegistrar(zk.connectString);
  ferry = await startTestFerry({
    withoutSamples: true,
    logger: createLogger({ sink: { write: (line: string) => logLines.push(line) }, level: 'debug' }),
    extra: { 'discovery.yaml': mapping(tlsRegistry()) },
  });
});

after(async () => {
  await ferry?.close();
  await registrar?.close();
  await Promise.all(providers.map((p) => p.stop().catch(() => {})));
  await zk?.stop();
  certs?.remove();
});

/** The tokens the providers published in their URLs (read through the plain port). */
async function publishedTokens(): Promise<string[]> {
  const urls = await registrar!.providers(IFACE);
  return urls.map((u) => new URL(u).searchParams.get('token') ?? '').filter((t) => t !== '');
}

/** GET /whoami until both providers answered or 40 calls were made; the names that answered 200. */
async function whoServes(): Promise<{ served: Set<string>; statuses: number[] }> {
  const served = new Set<string>();
  const statuses: number[] = [];
  for (let i = 0; i < 40 && served.size < 2; i++) {
    const r = await http(ferry!.base, 'GET', '/whoami');
    bodies.push(r.text);
    statuses.push(r.status);
    if (r.status === 200) served.add(String(r.json));
  }
  return { served, statuses };
}

test('each provider publishes its own random token; read over TLS, Ferry sends each its own: both serve', async () => {
  const deadline = Date.now() + 20_000;
  let tokens = await publishedTokens();
  while (tokens.length < 2 && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 200));
    tokens = await publishedTokens();
  }
  assert.equal(tokens.length, 2, `two provider URLs with a token in ZooKeeper, found ${tokens.length}`);
  assert.notEqual(tokens[0], tokens[1], 'token=true gives each provider its own token');
  let result = await whoServes();
  for (let i = 0; i < 50 && result.served.size < 2; i++) {
    // Discovery over TLS may still be reading: wait for both endpoints.
    await new Promise((r) => setTimeout(r, 200));
    result = await whoServes();
  }
  assert.deepEqual([...result.served].sort(), ['token-a', 'token-b'], `statuses: ${result.statuses.join(',')}`);
  assert.ok(
    result.statuses.slice(-2).every((s) => s === 200),
    `the last calls were refused: ${result.statuses.join(',')}`,
  );
});

test("a token named in the mapping wins over the providers' own (a wrong one is refused by their TokenFilter)", async () => {
  await ferry!.writeMapping('discovery.yaml', mapping(tlsRegistry(), '    token: not-the-token\n'));
  await ferry!.reload();
  // Until the new client set has read the registry the answer is "no endpoint"; then the providers answer.
  let r = await http(ferry!.base, 'GET', '/whoami');
  for (let i = 0; i < 75 && r.json?.code === 'FERRY_UPSTREAM_UNAVAILABLE'; i++) {
    await new Promise((res) => setTimeout(res, 200));
    r = await http(ferry!.base, 'GET', '/whoami');
  }
  bodies.push(r.text);
  // Dubbo's TokenFilter throws an RpcException: status 70 (SERVICE_ERROR) on the wire.
  assert.equal(r.status, 502, `a wrong mapping token was accepted: ${r.status} ${r.text}`);
  assert.equal(r.json.code, 'FERRY_UPSTREAM_STATUS', r.text);
  assert.equal(r.json.upstreamStatus, 70, r.text);
  await ferry!.writeMapping('discovery.yaml', mapping(tlsRegistry()));
  await ferry!.reload();
  // A new client set reads the registry again (over TLS): wait for it, 15 s at most.
  let again = await http(ferry!.base, 'GET', '/whoami');
  for (let i = 0; i < 75 && again.status !== 200; i++) {
    await new Promise((r) => setTimeout(r, 200));
    again = await http(ferry!.base, 'GET', '/whoami');
  }
  bodies.push(again.text);
  assert.equal(again.status, 200, `back to the providers' tokens: ${again.text}`);
});

test('no provider token appears in a log line or an answer body', async () => {
  const tokens = await publishedTokens();
  assert.ok(tokens.length > 0 && logLines.length > 0 && bodies.length > 0, 'there were tokens, log lines and answers to look at');
  for (const line of [...logLines, ...bodies]) for (const t of tokens) assert.ok(!line.includes(t), `a token leaked: ${line}`);
});
