/**
 * Pure parts of Nacos discovery: the registry URL, the service names Dubbo registers under, the
 * instance-list reply and its instances (as Dubbo's NacosRegistry writes them), and the endpoint
 * cache file. nacos-source.test.ts runs the source against rnacos and a hostile HTTP server.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FerryError, RegistryError } from '../../../src/errors/index.js';
import {
  instanceToEndpoint,
  nacosServiceNames,
  parseInstanceList,
  parseNacosRegistry,
  selectNacosProviders,
  NACOS_MAX_INVALID_NAMED,
  NACOS_MAX_METADATA_ENTRIES,
} from '../../../src/upstream/discovery/nacos-instances.js';
import {
  cacheFileName,
  createEndpointCache,
  formatCacheFile,
  parseCacheFile,
  ENDPOINT_CACHE_MAX_BYTES,
} from '../../../src/upstream/discovery/endpoint-cache.js';
import type { Endpoint } from '../../../src/upstream/discovery/types.js';

const IFACE = 'com.example.bank.AccountService';
const SELECTOR = { interface: IFACE, version: '1.0.0' };

/** An instance as Dubbo 3.3's NacosRegistry writes it (metadata = URL parameters + protocol/path/category). */
function dubboInstance(port: number, extra: Record<string, unknown> = {}, meta: Record<string, string> = {}): Record<string, unknown> {
  return {
    ip: '127.0.0.1',
    port,
    weight: 1.0,
    healthy: true,
    enabled: true,
    ephemeral: true,
    clusterName: 'DEFAULT',
    serviceName: `DEFAULT_GROUP@@providers:${IFACE}:1.0.0:`,
    instanceId: `127.0.0.1#${port}#DEFAULT#DEFAULT_GROUP@@providers:${IFACE}:1.0.0:`,
    metadata: {
      side: 'provider',
      release: '3.3.6',
      methods: 'whoami,slow,getAccount',
      dubbo: '2.0.2',
      interface: IFACE,
      version: '1.0.0',
      application: 'ferry-sample-provider',
      protocol: 'dubbo',
      path: IFACE,
      category: 'providers',
      timestamp: '1700000000000',
      ...meta,
    },
    ...extra,
  };
}

const problemOf = (raw: unknown): string => {
  const o = instanceToEndpoint(raw, 0, SELECTOR);
  assert.equal(o.kind, 'invalid', JSON.stringify(o));
  return (o as { problem: string }).problem;
};

// ---- registry URL ---------------------------------------------------------------------------------

test('a nacos:// URL names servers, namespace and group; the port defaults to 8848', () => {
  const r = parseNacosRegistry('nacos://10.0.0.1,10.0.0.2:9848?namespace=dev&group=DUBBO&backup=10.0.0.3:8849');
  assert.deepEqual(r.servers, ['10.0.0.1:8848', '10.0.0.2:9848', '10.0.0.3:8849']);
  assert.equal(r.namespace, 'dev');
  assert.equal(r.group, 'DUBBO');
  assert.equal(r.legacyNames, false);
  assert.equal(r.fileCache, true);
  assert.equal(r.display, 'nacos://10.0.0.1:8848,10.0.0.2:9848,10.0.0.3:8849/dev/DUBBO');

  const d = parseNacosRegistry('nacos://127.0.0.1:8848');
  assert.equal(d.group, 'DEFAULT_GROUP');
  assert.equal(d.namespace, '');
  assert.equal(d.username, undefined);
});

test('credentials come from username/password or user:password@, and never into the display name', () => {
  const q = parseNacosRegistry('nacos://127.0.0.1:8848?username=nacos&password=s%26cret');
  assert.equal(q.username, 'nacos');
  assert.equal(q.password, 's&cret');
  const u = parseNacosRegistry('nacos://ops:pw@127.0.0.1:8848?file.cache=false&nacos.subscribe.legacy-name=true');
  assert.equal(u.username, 'ops');
  assert.equal(u.password, 'pw');
  assert.equal(u.fileCache, false);
  assert.equal(u.legacyNames, true);
  assert.ok(!u.display.includes('pw') && !u.display.includes('ops'), u.display);
});

test('a registry URL that is not nacos://host[:port] is a config error', () => {
  for (const bad of ['zookeeper://127.0.0.1:2181', 'nacos://', 'nacos://host:99999', 'nacos://ho st:8848', 'nacos://h:1/x/y']) {
    assert.throws(
      () => parseNacosRegistry(bad),
      (e: unknown) => e instanceof FerryError && e.code === 'FERRY_CONFIG_INVALID',
      bad,
    );
  }
});

// ---- service names ----------------------------------------------------------------------------------

test('service names follow Dubbo: providers:<interface>:<version>:<group>, empty parts kept', () => {
  assert.deepEqual(nacosServiceNames(SELECTOR), [`providers:${IFACE}:1.0.0:`]);
  assert.deepEqual(nacosServiceNames({ interface: 'com.example.lab.TypeLabService' }), ['providers:com.example.lab.TypeLabService::']);
  assert.deepEqual(nacosServiceNames({ interface: IFACE, version: '1.0.0', group: 'a, b' }), [
    `providers:${IFACE}:1.0.0:a`,
    `providers:${IFACE}:1.0.0:b`,
  ]);
  // 0.0.0 and "no version" are the same service for a provider; both spellings are read
  assert.deepEqual(nacosServiceNames({ interface: IFACE, version: '0.0.0' }), [`providers:${IFACE}:0.0.0:`, `providers:${IFACE}::`]);
  // legacy (Dubbo < 2.7.3) names leave the empty parts out
  assert.deepEqual(nacosServiceNames({ interface: IFACE }, true), [`providers:${IFACE}::`, `providers:${IFACE}`]);
  assert.deepEqual(nacosServiceNames({ interface: IFACE, version: '1.0.0', group: 'g' }, true), [`providers:${IFACE}:1.0.0:g`]);
  assert.equal(nacosServiceNames({ interface: IFACE, version: '*' }), undefined);
  assert.equal(nacosServiceNames({ interface: IFACE, group: '*' }), undefined);
});

// ---- replies ----------------------------------------------------------------------------------------

test('an instance list that is not an object with a hosts array is a registry error naming the service', () => {
  const svc = `providers:${IFACE}:1.0.0:`;
  for (const body of ['<html>502</html>', '', '[1,2]', '"x"', '{"hosts":{"a":1}}', 'null']) {
    assert.throws(
      () => parseInstanceList(body, svc),
      (e: unknown) => e instanceof RegistryError && e.code === 'FERRY_REGISTRY_ERROR' && e.message.includes(svc),
      JSON.stringify(body),
    );
  }
  assert.deepEqual(parseInstanceList('{"name":"x","hosts":null}', svc).hosts, []);
  assert.deepEqual(parseInstanceList('{"name":"x"}', svc).hosts, []);
  assert.equal(parseInstanceList(JSON.stringify({ hosts: [dubboInstance(20880)] }), svc).hosts.length, 1);
});

test('a Dubbo-written instance becomes an endpoint with the provider URL parameters as labels', () => {
  const o = instanceToEndpoint(dubboInstance(20880, {}, { weight: '250', 'dubbo.tag': 'gray' }), 0, SELECTOR);
  assert.equal(o.kind, 'endpoint');
  const e = (o as { endpoint: Endpoint }).endpoint;
  assert.equal(e.id, '127.0.0.1:20880');
  assert.equal(e.host, '127.0.0.1');
  assert.equal(e.port, 20880);
  assert.equal(e.protocol, 'dubbo');
  assert.equal(e.weight, 250, 'Dubbo balances by the URL weight, not the Nacos instance weight');
  assert.equal(e.warmupStartMs, 1700000000000);
  assert.equal(e.labels['dubbo.tag'], 'gray');
  assert.equal(e.labels['methods'], 'whoami,slow,getAccount');
  assert.equal(e.cluster, 'default');

  const v6 = instanceToEndpoint(dubboInstance(20880, { ip: 'fe80::1' }), 0, SELECTOR);
  assert.equal(v6.kind === 'endpoint' && v6.endpoint.id, '[fe80::1]:20880');
});

test('unhealthy, disabled, other-version, other-protocol and consumer instances are left out quietly', () => {
  const filtered = (raw: unknown, sel: Parameters<typeof instanceToEndpoint>[2] = SELECTOR): void =>
    assert.equal(instanceToEndpoint(raw, 0, sel).kind, 'filtered', JSON.stringify(raw).slice(0, 200));
  filtered(dubboInstance(1, { healthy: false }));
  filtered(dubboInstance(1, { enabled: false }));
  filtered(dubboInstance(1, {}, { enabled: 'false' }));
  filtered(dubboInstance(1, {}, { version: '2.0.0' }));
  filtered(dubboInstance(1, {}, { protocol: 'tri' }));
  filtered(dubboInstance(1, {}, { category: 'consumers' }));
  filtered(dubboInstance(1, {}, { group: 'other' }));
  // ... and the Triple one is found when Triple is asked for
  assert.equal(instanceToEndpoint(dubboInstance(1, {}, { protocol: 'tri' }), 0, { ...SELECTOR, protocol: 'tri' }).kind, 'endpoint');
});

test('a malformed instance is invalid, named by ip:port, with what is wrong', () => {
  assert.match(problemOf('127.0.0.1:1'), /not a JSON object/);
  assert.match(problemOf(null), /not a JSON object/);
  assert.match(problemOf(dubboInstance(1, { ip: 42 })), /ip/);
  assert.match(problemOf(dubboInstance(1, { ip: 'a b' })), /ip/);
  assert.match(problemOf(dubboInstance(1, { ip: '10.0.0.1/../x' })), /ip/);
  for (const port of ['20880', 0, 65536, 1.5, -1, null]) assert.match(problemOf(dubboInstance(1, { port })), /port/, String(port));
  assert.match(problemOf(dubboInstance(1, { healthy: 'yes' })), /healthy/);
  assert.match(problemOf(dubboInstance(1, { metadata: ['a'] })), /metadata/);
  assert.match(problemOf(dubboInstance(1, { metadata: { weight: 100 } })), /metadata "weight" is not a string/);
  assert.match(problemOf(dubboInstance(1, {}, { protocol: 'd ubbo' })), /protocol/);
  const many: Record<string, string> = {};
  for (let i = 0; i <= NACOS_MAX_METADATA_ENTRIES; i++) many[`k${i}`] = 'v';
  assert.match(problemOf(dubboInstance(1, { metadata: many })), /metadata entries/);

  const o = instanceToEndpoint(dubboInstance(20999, { port: 'x', instanceId: 'the-id' }), 7, SELECTOR);
  assert.equal(o.kind, 'invalid');
  assert.equal((o as { instance: string }).instance, '#7 127.0.0.1:x (the-id)');
});

test('a reply keeps one endpoint per host:port, sorted, names the first malformed ones and caps the count', () => {
  const hosts = [dubboInstance(3), dubboInstance(1), dubboInstance(1, {}, { weight: '7' }), { ip: 1 }, dubboInstance(2, { healthy: false })];
  const s = selectNacosProviders({ hosts }, SELECTOR, 100);
  assert.deepEqual(
    s.endpoints.map((e) => e.id),
    ['127.0.0.1:1', '127.0.0.1:3'],
  );
  assert.equal(s.endpoints[0]!.weight, 100, 'the first of a duplicated host:port wins');
  assert.equal(s.invalidCount, 1);
  assert.match(s.invalid[0]!.instance, /^#3 /);
  assert.equal(s.truncatedFrom, undefined);

  const lots = Array.from({ length: 50 }, (_, i) => dubboInstance(1000 + i));
  const bad = Array.from({ length: NACOS_MAX_INVALID_NAMED + 5 }, () => ({ nope: true }));
  const t = selectNacosProviders({ hosts: [...lots, ...bad] }, SELECTOR, 10);
  assert.equal(t.endpoints.length, 10);
  assert.equal(t.endpoints[0]!.id, '127.0.0.1:1000');
  assert.equal(t.truncatedFrom, 50);
  assert.equal(t.invalid.length, NACOS_MAX_INVALID_NAMED);
  assert.equal(t.invalidCount, NACOS_MAX_INVALID_NAMED + 5);
});

// ---- endpoint cache ---------------------------------------------------------------------------------

const REG = 'nacos://127.0.0.1:8848/DEFAULT_GROUP';
const SVC = `providers:${IFACE}:1.0.0:?protocol=dubbo`;

function endpoint(port: number, labels: Record<string, string> = { version: '1.0.0' }): Endpoint {
  return {
    id: `127.0.0.1:${port}`,
    host: '127.0.0.1',
    port,
    protocol: 'dubbo',
    weight: 100,
    warmupStartMs: 1700000000000,
    labels,
    cluster: 'default',
    priority: 0,
  };
}

test('a cache file round-trips endpoints and refuses files of another registry or service', () => {
  const text = formatCacheFile(REG, SVC, [endpoint(1), { ...endpoint(2), warmupStartMs: undefined }]);
  const back = parseCacheFile(text, REG, SVC);
  assert.deepEqual(back, [endpoint(1), { ...endpoint(2), warmupStartMs: undefined }]);
  assert.throws(() => parseCacheFile(text, REG, 'other'), /belongs to/);
  assert.throws(() => parseCacheFile(text, 'nacos://elsewhere:8848/DEFAULT_GROUP', SVC), /belongs to/);
  for (const garbage of ['', '{', '[]', '{"format":"x","endpoints":[]}', '{"format":"ferry-endpoint-cache/1","endpoints":{}}']) {
    assert.throws(
      () => parseCacheFile(garbage, REG, SVC),
      (e: unknown) => e instanceof RegistryError && e.code === 'FERRY_REGISTRY_ERROR',
      garbage,
    );
  }
});

test('malformed cache entries are skipped, the good ones kept', () => {
  const good = endpoint(5);
  const entries: unknown[] = [
    good,
    { ...good, port: 0 },
    { ...good, id: '127.0.0.1:6' }, // id does not match host:port
    { ...good, port: 7, id: '127.0.0.1:7', labels: { a: 1 } },
    { ...good, port: 8, id: '127.0.0.1:8', weight: -1 },
    'x',
    null,
    good, // duplicate
  ];
  const text = JSON.stringify({ format: 'ferry-endpoint-cache/1', registry: REG, service: SVC, endpoints: entries });
  assert.deepEqual(parseCacheFile(text, REG, SVC), [good]);
});

test('the cache writes atomically, reads back, ignores an oversized or broken file and never throws', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'ferry-cache-test-'));
  try {
    const errors: string[] = [];
    const cache = createEndpointCache({ dir, registry: REG, service: SVC, onError: (e) => errors.push(e.message) });
    assert.equal(await cache.read(), undefined, 'no file yet');
    await Promise.all([cache.write([endpoint(1)]), cache.write([endpoint(1), endpoint(2)]), cache.write([endpoint(3)])]);
    assert.deepEqual(await cache.read(), [endpoint(3)], 'the latest write wins');
    assert.equal(cache.path, join(dir, cacheFileName(REG, SVC)));
    assert.ok(!(await readFile(cache.path, 'utf8')).includes('password'));
    assert.equal(errors.length, 0, errors.join('; '));

    await writeFile(cache.path, 'not json');
    assert.equal(await cache.read(), undefined);
    assert.match(errors.pop() ?? '', /not JSON/);

    await writeFile(cache.path, Buffer.alloc(ENDPOINT_CACHE_MAX_BYTES + 1, 0x20));
    assert.equal(await cache.read(), undefined);
    assert.match(errors.pop() ?? '', /limit/);

    // a folder that cannot be created: told, not thrown
    const blocked = createEndpointCache({ dir: join(cache.path, 'sub'), registry: REG, service: SVC, onError: (e) => errors.push(e.message) });
    await blocked.write([endpoint(1)]);
    assert.match(errors.pop() ?? '', /cannot write the endpoint cache/);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('cache file names are readable, bounded and distinct per registry and service', () => {
  const a = cacheFileName(REG, SVC);
  assert.match(a, /^[A-Za-z0-9._-]+\.json$/);
  assert.notEqual(a, cacheFileName(REG, `${SVC}x`));
  assert.notEqual(cacheFileName('a/b', 'c'), cacheFileName('a', 'b/c'));
  assert.ok(cacheFileName('x'.repeat(1000), 'y'.repeat(1000)).length < 200);
});
