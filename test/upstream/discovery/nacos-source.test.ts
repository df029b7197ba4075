/**
 * The Nacos source against a real Nacos server (rnacos, started here on free ports). Instances are
 * written through Nacos' own Open API the way Dubbo's NacosRegistry lays them out (service
 * `providers:<interface>:<version>:<group>`, URL parameters as metadata); each instance's port is
 * a real listening socket, so rnacos' health probe of persistent instances finds it up.
 * test/e2e/discovery-nacos.test.ts has real Dubbo providers register themselves.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startNacos, type NacosServer } from '../../support/nacos.js';
import { createNacosSource, type NacosSource } from '../../../src/upstream/discovery/nacos.js';
import { standInProviders } from '../../support/ports.js';

const IFACE = 'com.example.nacos.DemoService';
const SERVICE = `providers:${IFACE}:1.0.0:`;

let nacos: NacosServer | undefined;
const sources: NacosSource[] = [];
const standIns = standInProviders();
const providerPort = (): Promise<number> => standIns.port();

before(async () => {
  nacos = await startNacos();
});

after(async () => {
  for (const s of sources) await s.close();
  await standIns.close();
  await nacos?.stop();
});

interface Where {
  service?: string;
  group?: string;
  namespace?: string;
}

function form(port: number, where: Where, extra: Record<string, string> = {}): URLSearchParams {
  return new URLSearchParams({
    ip: '127.0.0.1',
    port: String(port),
    serviceName: where.service ?? SERVICE,
    groupName: where.group ?? 'DEFAULT_GROUP',
    ...(where.namespace !== undefined ? { namespaceId: where.namespace } : {}),
    ephemeral: 'false',
    ...extra,
  });
}

async function nacosCall(method: 'POST' | 'PUT' | 'DELETE', body: URLSearchParams): Promise<void> {
  const r = await fetch(`${nacos!.base}/nacos/v1/ns/instance?${method === 'DELETE' ? body : ''}`, {
    method,
    ...(method !== 'DELETE' ? { body, headers: { 'content-type': 'application/x-www-form-urlencoded' } } : {}),
    signal: AbortSignal.timeout(5000),
  });
  assert.equal(r.status, 200, `${method} instance: ${await r.text()}`);
}

/** Registers an instance with the metadata Dubbo writes for a provider URL. */
async function register(port: number, params: Record<string, string> = {}, where: Where = {}): Promise<void> {
  const metadata = {
    side: 'provider',
    interface: IFACE,
    version: '1.0.0',
    methods: 'a,b',
    protocol: 'dubbo',
    path: IFACE,
    category: 'providers',
    timestamp: String(Date.now()),
    ...params,
  };
  await nacosCall('POST', form(port, where, { metadata: JSON.stringify(metadata), enabled: 'true', healthy: 'true' }));
}

function source(registryQuery = '', selector: { group?: string } = {}): NacosSource {
  const s = createNacosSource({
    registry: `${nacos!.registryUrl}${registryQuery}`,
    interface: IFACE,
    version: '1.0.0',
    ...selector,
    pollIntervalMs: 100,
    cacheDir: false,
  });
  sources.push(s);
  return s;
}

async function waitFor(what: string, cond: () => boolean, timeoutMs = 15_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for: ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

const ids = (s: NacosSource): string[] => s.current().map((e) => e.id);

test('follows instances registering, changing, being disabled and leaving', async () => {
  const s = source();
  assert.equal(await s.ready(10_000), true, 'a first (empty) read');
  assert.deepEqual(ids(s), []);
  assert.equal(s.connected(), true);

  const [a, b] = [await providerPort(), await providerPort()];
  await register(a, { weight: '300', 'dubbo.tag': 'gray' });
  await register(b);
  await waitFor('both instances', () => s.current().length === 2);
  const ea = s.current().find((e) => e.port === a)!;
  assert.equal(ea.weight, 300);
  assert.equal(ea.labels['dubbo.tag'], 'gray');
  assert.equal(ea.protocol, 'dubbo');
  assert.equal(typeof ea.warmupStartMs, 'number');

  // an instance disabled in Nacos (the console's "offline") takes no traffic, and comes back
  await nacosCall('PUT', form(b, {}, { enabled: 'false' }));
  await waitFor('b disabled', () => ids(s).join() === `127.0.0.1:${a}`);
  await nacosCall('PUT', form(b, {}, { enabled: 'true' }));
  await waitFor('b enabled again', () => s.current().length === 2);

  // a provider of another version in the same Nacos service is not ours
  const c = await providerPort();
  await register(c, { version: '2.0.0' });
  // ... and one that leaves is gone
  await nacosCall('DELETE', form(a, {}));
  await waitFor('a gone', () => ids(s).join() === `127.0.0.1:${b}`);
  assert.ok(!ids(s).includes(`127.0.0.1:${c}`));
});

test('namespace and group of the registry URL, and the Dubbo group of the service, are honoured', async () => {
  const p = await providerPort();
  const q = await providerPort();
  await register(p, { group: 'retail' }, { service: `providers:${IFACE}:1.0.0:retail`, group: 'DUBBO', namespace: 'dev' });
  await register(q, {}, { group: 'DUBBO', namespace: 'dev' });
  const dev = source('?namespace=dev&group=DUBBO', { group: 'retail' });
  const devNoGroup = source('?namespace=dev&group=DUBBO');
  const publicNs = source('', { group: 'retail' });
  await waitFor('dev/DUBBO retail provider', () => ids(dev).join() === `127.0.0.1:${p}`);
  await waitFor('dev/DUBBO provider without a Dubbo group', () => ids(devNoGroup).join() === `127.0.0.1:${q}`);
  assert.equal(await publicNs.ready(5000), true);
  assert.deepEqual(ids(publicNs), [], 'the public namespace has none of them');
});

test('a registry URL with username and password logs in and reads with the token; without, it is refused and told', async () => {
  const secured = await startNacos({ auth: { username: 'ferry', password: 'pa55&word' } });
  try {
    const login = await fetch(`${secured.base}/nacos/v1/auth/login`, {
      method: 'POST',
      body: new URLSearchParams({ username: 'ferry', password: 'pa55&word' }),
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      signal: AbortSignal.timeout(5000),
    });
    assert.equal(login.status, 200);
    const { accessToken } = (await login.json()) as { accessToken: string };
    const port = await providerPort();
    const body = form(
      port,
      {},
      {
        metadata: JSON.stringify({ interface: IFACE, version: '1.0.0', protocol: 'dubbo', path: IFACE, category: 'providers' }),
        accessToken,
      },
    );
    const reg = await fetch(`${secured.base}/nacos/v1/ns/instance`, {
      method: 'POST',
      body,
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      signal: AbortSignal.timeout(5000),
    });
    assert.equal(reg.status, 200, await reg.text());

    const errors: string[] = [];
    const mk = (query: string): NacosSource => {
      const s = createNacosSource({
        registry: `${secured.registryUrl}${query}`,
        interface: IFACE,
        version: '1.0.0',
        pollIntervalMs: 100,
        cacheDir: false,
        onError: (e) => errors.push(e.message),
      });
      sources.push(s);
      return s;
    };
    const withCredentials = mk(`?username=ferry&password=${encodeURIComponent('pa55&word')}`);
    const anonymous = mk('');
    const wrong = mk('?username=ferry&password=nope');
    await waitFor('the secured instance', () => ids(withCredentials).join() === `127.0.0.1:${port}`);
    assert.equal(await anonymous.ready(500), false);
    assert.equal(await wrong.ready(500), false);
    assert.ok(
      errors.some((e) => /HTTP 40[13]/.test(e)),
      JSON.stringify(errors),
    );
    assert.ok(
      errors.some((e) => e.includes('refused the login of "ferry"')),
      JSON.stringify(errors),
    );
    assert.ok(!errors.some((e) => e.includes('pa55') || e.includes('nope')), 'no password in messages');
  } finally {
    for (const s of sources.splice(0)) await s.close();
    await secured.stop();
  }
});
