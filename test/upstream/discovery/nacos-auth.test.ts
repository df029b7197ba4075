/**
 * Nacos login against rnacos with Open API auth on (RNACOS_ENABLE_OPEN_API_AUTH) and access tokens
 * that live 4 seconds (RNACOS_API_LOGIN_TIMEOUT): with the mapping's credentials (`registry:
 * { username, password }`, which override the URL's) the source keeps reading across several token
 * lives without a single refusal reported; a wrong password is FERRY_REGISTRY_AUTH, no endpoints,
 * not ready, and no password in any message.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startNacos, type NacosServer } from '../../support/nacos.js';
import { createNacosSource, type NacosSource } from '../../../src/upstream/discovery/nacos.js';
import { standInProviders } from '../../support/ports.js';

const IFACE = 'com.example.nacos.AuthService';
const SERVICE = `providers:${IFACE}:1.0.0:`;
const USER = 'ferry';
const PASSWORD = 'n4cos&Secret';
const TOKEN_TTL_S = 4;

let nacos: NacosServer | undefined;
const sources: NacosSource[] = [];
const standIns = standInProviders();
const providerPort = (): Promise<number> => standIns.port();

before(async () => {
  nacos = await startNacos({ auth: { username: USER, password: PASSWORD }, apiTokenTtlSeconds: TOKEN_TTL_S });
});

after(async () => {
  for (const s of sources) await s.close();
  await standIns.close();
  await nacos?.stop();
});

/** Registers a provider instance through the Open API, logged in as the test (not through Ferry). */
async function register(port: number): Promise<void> {
  const login = await fetch(`${nacos!.base}/nacos/v1/auth/login`, {
    method: 'POST',
    body: new URLSearchParams({ username: USER, password: PASSWORD }),
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    signal: AbortSignal.timeout(5000),
  });
  assert.equal(login.status, 200, 'the test logs in to register');
  const { accessToken } = (await login.json()) as { accessToken: string };
  const metadata = { side: 'provider', interface: IFACE, version: '1.0.0', protocol: 'dubbo', path: IFACE, category: 'providers', methods: 'a' };
  const r = await fetch(`${nacos!.base}/nacos/v1/ns/instance`, {
    method: 'POST',
    body: new URLSearchParams({
      ip: '127.0.0.1',
      port: String(port),
      serviceName: SERVICE,
      groupName: 'DEFAULT_GROUP',
      ephemeral: 'false',
      metadata: JSON.stringify(metadata),
      accessToken,
    }),
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    signal: AbortSignal.timeout(5000),
  });
  assert.equal(r.status, 200, `register: ${await r.text()}`);
}

function source(password: string, errors: Error[]): NacosSource {
  const s = createNacosSource({
    // The URL's credentials are wrong on purpose: the mapping's (access) must win.
    registry: `${nacos!.registryUrl}?username=${USER}&password=from-the-url`,
    access: { username: USER, password, identity: password },
    interface: IFACE,
    version: '1.0.0',
    pollIntervalMs: 100,
    cacheDir: false,
    onError: (e) => errors.push(e),
  });
  sources.push(s);
  return s;
}

const ids = (s: NacosSource): string[] => s.current().map((e) => e.id);

async function waitFor(what: string, cond: () => boolean, ms = 15_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) assert.fail(`not within ${ms} ms: ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

test('with the mapping credentials the source reads across three token lives, and no refusal is ever reported', async () => {
  const errors: Error[] = [];
  const first = await providerPort();
  await register(first);
  const s = source(PASSWORD, errors);
  await waitFor('the first instance', () => ids(s).join() === `127.0.0.1:${first}`);
  // Polls every 100 ms keep going while tokens expire (3 lives); then a new instance must still be seen.
  await new Promise((r) => setTimeout(r, TOKEN_TTL_S * 3 * 1000));
  const second = await providerPort();
  await register(second);
  await waitFor('the second instance, registered after three token lives', () => ids(s).length === 2);
  assert.deepEqual(
    errors.map((e) => e.message),
    [],
    'the source reported trouble while its tokens expired',
  );
});

test('a wrong password (input: the URL has a wrong one, the mapping another): FERRY_REGISTRY_AUTH, not ready, no password in it', async () => {
  const errors: Error[] = [];
  const s = source('wrong-Pa55', errors);
  await waitFor('a reported login refusal', () => errors.some((e) => (e as { code?: unknown }).code === 'FERRY_REGISTRY_AUTH'));
  assert.equal(await s.ready(200), false, 'a source whose login is refused says ready');
  assert.deepEqual(s.current(), []);
  for (const e of errors) {
    assert.ok(
      !e.message.includes('wrong-Pa55') && !e.message.includes('from-the-url') && !e.message.includes(PASSWORD),
      `a password leaked: ${e.message}`,
    );
  }
});
