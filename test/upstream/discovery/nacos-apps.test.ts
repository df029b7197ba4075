/**
 * Application-level discovery from Nacos against a hostile registry: a loopback HTTP server
 * (written here, because no real Nacos answers garbage on purpose) speaking the v1 config and
 * instance-list APIs. Real Nacos (rnacos with Dubbo 3.3 providers) is covered in
 * test/e2e/discovery-nacos.test.ts.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createNacosRegistrySource } from '../../../src/upstream/discovery/nacos-registry.js';

const IFACE = 'com.example.apps.Service';
const REVISION = 'r1';

let server: Server;
let base = '';
/** What the "registry" answers, by request kind. */
const answers = {
  mapping: { status: 200, body: 'good-app, bad/app ,,' },
  instances: { status: 200, body: '' },
  metadata: { status: 200, body: '' },
};
const asked = new Set<string>();

const metadataInfo = (port: number): string =>
  JSON.stringify({
    app: 'good-app',
    revision: REVISION,
    services: {
      [`${IFACE}:1.0.0:dubbo`]: { name: IFACE, version: '1.0.0', protocol: 'dubbo', port, path: IFACE, params: { timeout: '4500', weight: '50' } },
    },
  });

const instance = (port: unknown, extra: Record<string, unknown> = {}): Record<string, unknown> => ({
  ip: '127.0.0.1',
  port,
  healthy: true,
  enabled: true,
  metadata: { 'dubbo.metadata.revision': REVISION, 'dubbo.metadata.storage-type': 'remote', timestamp: '1700000000000' },
  ...extra,
});

before(async () => {
  server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    const q = url.searchParams;
    let a = { status: 200, body: '{"hosts":[]}' };
    if (url.pathname === '/nacos/v1/cs/configs' && q.get('group') === 'mapping' && q.get('dataId') === IFACE) a = answers.mapping;
    else if (url.pathname === '/nacos/v1/cs/configs' && q.get('group') === REVISION && q.get('dataId') === 'good-app') a = answers.metadata;
    else if (url.pathname === '/nacos/v1/cs/configs') a = { status: 404, body: 'config data not exist' };
    else if (url.pathname === '/nacos/v1/ns/instance/list' && q.get('serviceName') === 'good-app') a = answers.instances;
    asked.add(`${url.pathname}?${q.get('serviceName') ?? `${q.get('group')}/${q.get('dataId')}`}`);
    res.statusCode = a.status;
    res.end(a.body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `nacos://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

after(async () => {
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

async function until(what: string, probe: () => boolean, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!probe()) {
    if (Date.now() > end) assert.fail(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

test('malformed instances and application names are skipped and named once; the good instance serves with its MetadataInfo params; garbage keeps the last list', async () => {
  answers.instances.body = JSON.stringify({
    hosts: [
      instance(20880),
      instance('not-a-port'),
      'not an object',
      instance(20881, { metadata: 'not an object' }),
      instance(20882, { healthy: false }),
    ],
  });
  answers.metadata.body = metadataInfo(20880);
  const errors: string[] = [];
  const source = createNacosRegistrySource({
    registry: base,
    interface: IFACE,
    version: '1.0.0',
    pollIntervalMs: 50,
    cacheDir: false,
    onError: (e) => errors.push(e.message),
  });
  try {
    await until('the good instance', () => source.current().length === 1);
    const [e] = source.current();
    assert.equal(e!.id, '127.0.0.1:20880');
    assert.equal(e!.weight, 50);
    assert.equal(e!.labels['timeout'], '4500');
    // bad/app (a "/" in the name) is never asked for
    assert.ok(!asked.has('/nacos/v1/ns/instance/list?bad/app'), JSON.stringify([...asked]));
    await new Promise((r) => setTimeout(r, 300));
    const portErrors = errors.filter((m) => m.includes('not-a-port'));
    assert.equal(portErrors.length, 1, JSON.stringify(errors));
    assert.ok(
      errors.some((m) => m.includes('127.0.0.1:20881') && m.includes('metadata is not an object')),
      JSON.stringify(errors),
    );

    // The instance list turns to garbage: the last list stays, the trouble is told once.
    answers.instances.body = '<html>oops';
    await until('the garbage reported', () => errors.some((m) => m.includes('not JSON')));
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(source.current().length, 1);
    assert.equal(errors.filter((m) => m.includes('not JSON')).length, 1, JSON.stringify(errors));
  } finally {
    await source.close();
  }
});

test('a revision whose MetadataInfo is missing from the report, or over budget, is reported and its instance skipped', async () => {
  answers.instances.body = JSON.stringify({ hosts: [instance(20890)] });
  answers.metadata = { status: 404, body: 'config data not exist' };
  const errors: string[] = [];
  const source = createNacosRegistrySource({
    registry: base,
    interface: IFACE,
    version: '1.0.0',
    pollIntervalMs: 50,
    cacheDir: false,
    onError: (e) => errors.push(e.message),
  });
  try {
    await until('the missing MetadataInfo reported', () => errors.some((m) => m.includes('is not in the metadata report')));
    assert.equal(source.current().length, 0);
  } finally {
    await source.close();
  }
  // 5 MiB of MetadataInfo (the budget is 4 MiB): refused, named.
  answers.metadata = { status: 200, body: JSON.stringify({ app: 'good-app', revision: REVISION, services: {}, pad: 'x'.repeat(5 * 1024 * 1024) }) };
  const errors2: string[] = [];
  const second = createNacosRegistrySource({
    registry: base,
    interface: IFACE,
    version: '1.0.0',
    pollIntervalMs: 50,
    cacheDir: false,
    onError: (e) => errors2.push(e.message),
  });
  try {
    await until('the oversized MetadataInfo reported', () => errors2.some((m) => /limit/.test(m) && m.includes('good-app')));
    assert.equal(second.current().length, 0);
  } finally {
    await second.close();
  }
});
