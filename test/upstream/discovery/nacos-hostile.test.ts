/**
 * The Nacos source against a hostile registry: a loopback HTTP server (written here, because no
 * real Nacos answers garbage on purpose) that speaks the v1 instance-list API and can be told to
 * answer garbage, too much, nothing at all, or malformed instances. Real Nacos behaviour is
 * covered against rnacos in nacos-source.test.ts and test/e2e/discovery-nacos.test.ts.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { createNacosSource, type NacosSource } from '../../../src/upstream/discovery/nacos.js';
import { createEndpointCache } from '../../../src/upstream/discovery/endpoint-cache.js';
import { parseNacosRegistry } from '../../../src/upstream/discovery/nacos-instances.js';
import { freePort } from '../../support/ports.js';

const IFACE = 'com.example.hostile.Service';
const POLL_MS = 60;

type Behaviour =
  { kind: 'hosts'; hosts: unknown[] } | { kind: 'raw'; body: string; status?: number } | { kind: 'huge'; chunked: boolean } | { kind: 'hang' };

let server: Server;
let port = 0;
let cacheDir = '';
const behaviour = new Map<string, Behaviour>();
const requests: URL[] = [];
const hung = new Set<ServerResponse>();
const sources: NacosSource[] = [];

/** An instance as Dubbo writes it, for the Dubbo group `group`. */
function instance(p: number, group = '', meta: Record<string, string> = {}): Record<string, unknown> {
  return {
    ip: '127.0.0.1',
    port: p,
    healthy: true,
    enabled: true,
    metadata: {
      interface: IFACE,
      version: '1.0.0',
      protocol: 'dubbo',
      path: IFACE,
      category: 'providers',
      side: 'provider',
      ...(group !== '' ? { group } : {}),
      ...meta,
    },
  };
}

function handle(req: IncomingMessage, res: ServerResponse): void {
  const url = new URL(req.url ?? '/', 'http://x');
  requests.push(url);
  if (requests.length > 5000) requests.splice(0, 1000);
  const b = behaviour.get(url.searchParams.get('serviceName') ?? '') ?? { kind: 'hosts', hosts: [] };
  switch (b.kind) {
    case 'hosts':
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ name: url.searchParams.get('serviceName'), hosts: b.hosts, cacheMillis: 10000 }));
      return;
    case 'raw':
      res.statusCode = b.status ?? 200;
      res.end(b.body);
      return;
    case 'huge': {
      const size = 5 * 1024 * 1024;
      if (!b.chunked) res.setHeader('content-length', String(size));
      // chunked: 64 KiB pieces until the client gives up (bounded to `size`)
      let sent = 0;
      const piece = Buffer.alloc(64 * 1024, 0x20);
      const pump = (): void => {
        while (sent < size) {
          sent += piece.length;
          if (!res.write(piece)) {
            res.once('drain', pump);
            return;
          }
        }
        res.end();
      };
      res.on('error', () => {});
      pump();
      return;
    }
    case 'hang':
      hung.add(res);
      return;
  }
}

before(async () => {
  cacheDir = await mkdtemp(join(tmpdir(), 'ferry-nacos-hostile-'));
  server = createServer(handle);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  port = (server.address() as AddressInfo).port;
});

after(async () => {
  for (const s of sources) await s.close();
  for (const r of hung) r.destroy();
  server.closeAllConnections();
  await new Promise<void>((r) => server.close(() => r()));
  await rm(cacheDir, { recursive: true, force: true, maxRetries: 5 });
});

function source(opts: {
  group?: string;
  registry?: string;
  errors?: string[];
  requestTimeoutMs?: number;
  maxReplyBytes?: number;
  cache?: boolean;
}): NacosSource {
  const s = createNacosSource({
    registry: opts.registry ?? `nacos://127.0.0.1:${port}`,
    interface: IFACE,
    version: '1.0.0',
    ...(opts.group !== undefined ? { group: opts.group } : {}),
    pollIntervalMs: POLL_MS,
    requestTimeoutMs: opts.requestTimeoutMs ?? 2000,
    ...(opts.maxReplyBytes !== undefined ? { maxReplyBytes: opts.maxReplyBytes } : {}),
    cacheDir: opts.cache === false ? false : cacheDir,
    onError: (e) => opts.errors?.push(e.message),
  });
  sources.push(s);
  return s;
}

async function waitFor(what: string, cond: () => boolean, timeoutMs = 10_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for: ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** Lets `n` more polls of `service` reach the server. */
async function polls(service: string, n: number): Promise<void> {
  const count = (): number => requests.filter((u) => u.searchParams.get('serviceName') === service).length;
  const target = count() + n;
  await waitFor(`${n} more polls of ${service}`, () => count() >= target);
}

const ids = (s: NacosSource): string[] => s.current().map((e) => e.id);

test('garbage, an error status and a huge reply keep the last good list, each told once while it lasts', async () => {
  const svc = `providers:${IFACE}:1.0.0:g1`;
  behaviour.set(svc, { kind: 'hosts', hosts: [instance(1, 'g1'), instance(2, 'g1')] });
  const errors: string[] = [];
  const s = source({ group: 'g1', errors, maxReplyBytes: 1024 * 1024 });
  assert.equal(await s.ready(5000), true);
  assert.deepEqual(ids(s), ['127.0.0.1:1', '127.0.0.1:2']);
  assert.equal(s.origin(), 'registry');
  const changes: string[][] = [];
  s.subscribe((l) => changes.push(l.map((e) => e.id)));

  for (const bad of [
    { kind: 'raw', body: '<html>bad gateway</html>' },
    { kind: 'raw', body: '{"hosts": 5}' },
    { kind: 'raw', body: 'caused: no permission', status: 500 },
    { kind: 'huge', chunked: false },
    { kind: 'huge', chunked: true },
  ] as Behaviour[]) {
    errors.length = 0;
    behaviour.set(svc, bad);
    await polls(svc, 4);
    assert.deepEqual(ids(s), ['127.0.0.1:1', '127.0.0.1:2'], `last good list kept under ${JSON.stringify(bad)}`);
    assert.equal(errors.length, 1, `told once over 4 polls: ${JSON.stringify(errors)}`);
    assert.ok(errors[0]!.includes(svc), `the message names the service: ${errors[0]}`);
    assert.equal(s.connected(), false, `connected() under ${JSON.stringify(bad)}`);
  }
  assert.deepEqual(changes, [], 'no change published while the registry answered badly');

  behaviour.set(svc, { kind: 'hosts', hosts: [instance(2, 'g1'), instance(3, 'g1')] });
  await waitFor('the list to follow the registry again', () => ids(s).join() === '127.0.0.1:2,127.0.0.1:3');
  assert.deepEqual(changes, [['127.0.0.1:2', '127.0.0.1:3']]);
  assert.equal(s.connected(), true);
});

test('a malformed instance is skipped and named once; the others serve', async () => {
  const svc = `providers:${IFACE}:1.0.0:g2`;
  behaviour.set(svc, {
    kind: 'hosts',
    hosts: [instance(10, 'g2'), { ...instance(11, 'g2'), port: 'eleven' }, { ...instance(12, 'g2'), metadata: { weight: 5 } }, 'junk'],
  });
  const errors: string[] = [];
  const s = source({ group: 'g2', errors });
  assert.equal(await s.ready(5000), true);
  assert.deepEqual(ids(s), ['127.0.0.1:10']);
  await polls(svc, 4);
  assert.equal(errors.length, 3, JSON.stringify(errors));
  assert.ok(
    errors.some((e) => e.includes('127.0.0.1:eleven') && e.includes('port')),
    JSON.stringify(errors),
  );
  assert.ok(
    errors.some((e) => e.includes('127.0.0.1:12') && e.includes('metadata "weight"')),
    JSON.stringify(errors),
  );
  assert.ok(errors.every((e) => e.includes(svc)));
});

test('a service name that never answers keeps its share and does not hold back the others', async () => {
  const slow = `providers:${IFACE}:1.0.0:slow`;
  const fast = `providers:${IFACE}:1.0.0:fast`;
  behaviour.set(slow, { kind: 'hosts', hosts: [instance(20, 'slow')] });
  behaviour.set(fast, { kind: 'hosts', hosts: [instance(21, 'fast')] });
  const errors: string[] = [];
  const s = source({ group: 'slow,fast', errors, requestTimeoutMs: 200 });
  assert.equal(await s.ready(5000), true);
  assert.deepEqual(ids(s), ['127.0.0.1:20', '127.0.0.1:21']);

  behaviour.set(slow, { kind: 'hang' });
  await polls(slow, 2);
  behaviour.set(fast, { kind: 'hosts', hosts: [instance(21, 'fast'), instance(22, 'fast')] });
  await waitFor('the answering name to be followed', () => ids(s).includes('127.0.0.1:22'));
  assert.deepEqual(ids(s), ['127.0.0.1:20', '127.0.0.1:21', '127.0.0.1:22'], 'the hanging name keeps its last endpoints');
  assert.ok(
    errors.some((e) => e.includes(slow) && e.includes('no answer in time')),
    JSON.stringify(errors),
  );
  assert.equal(errors.filter((e) => e.includes(slow)).length, 1, 'the timeout is told once');
});

test('the next server of the list is tried when one does not answer', async () => {
  const svc = `providers:${IFACE}:1.0.0:g3`;
  behaviour.set(svc, { kind: 'hosts', hosts: [instance(30, 'g3')] });
  const dead = await freePort();
  const errors: string[] = [];
  const s = source({ group: 'g3', registry: `nacos://127.0.0.1:${dead}?backup=127.0.0.1:${port}`, errors });
  assert.equal(await s.ready(5000), true);
  await waitFor('the live server to be read', () => ids(s).join() === '127.0.0.1:30');
  assert.ok(
    errors.some((e) => e.includes('ECONNREFUSED')),
    JSON.stringify(errors),
  );
});

test('a registry down at start: the cache file serves, and the registry takes over when it answers', async () => {
  const dead = await freePort();
  const registry = `nacos://127.0.0.1:${dead}`;
  const svc = `providers:${IFACE}:1.0.0:`;
  // the file a previous run left behind
  const cache = createEndpointCache({ dir: cacheDir, registry: parseNacosRegistry(registry).display, service: `${svc}?protocol=dubbo` });
  await cache.write([
    {
      id: '127.0.0.1:40',
      host: '127.0.0.1',
      port: 40,
      protocol: 'dubbo',
      weight: 100,
      warmupStartMs: undefined,
      labels: { version: '1.0.0' },
      cluster: 'default',
      priority: 0,
    },
  ]);
  const errors: string[] = [];
  const s = source({ registry, errors });
  assert.equal(await s.ready(5000), true);
  assert.equal(s.origin(), 'cache');
  assert.deepEqual(ids(s), ['127.0.0.1:40']);
  assert.ok(
    errors.some((e) => e.includes('from') && e.includes(cache.path)),
    JSON.stringify(errors),
  );

  // the registry comes up on that port: its list replaces the cached one
  behaviour.set(svc, { kind: 'hosts', hosts: [instance(41)] });
  const late = createServer(handle);
  await new Promise<void>((r) => late.listen(dead, '127.0.0.1', () => r()));
  try {
    await waitFor('the registry list', () => ids(s).join() === '127.0.0.1:41');
    assert.equal(s.origin(), 'registry');
  } finally {
    late.closeAllConnections();
    await new Promise<void>((r) => late.close(() => r()));
  }

  // without a cache file, nothing is served, and ready() says so
  const none = source({ registry: `nacos://127.0.0.1:${await freePort()}?group=OTHER`, errors: [] });
  assert.equal(await none.ready(300), false);
  assert.deepEqual(ids(none), []);
  assert.equal(none.origin(), 'none');
});

test('a list read from the registry is written to the cache file', async () => {
  const svc = `providers:${IFACE}:1.0.0:g4`;
  behaviour.set(svc, { kind: 'hosts', hosts: [instance(50, 'g4'), instance(51, 'g4')] });
  const s = source({ group: 'g4' });
  assert.equal(await s.ready(5000), true);
  const cache = createEndpointCache({
    dir: cacheDir,
    registry: parseNacosRegistry(`nacos://127.0.0.1:${port}`).display,
    service: `${svc}?protocol=dubbo`,
  });
  let cached: string[] | undefined;
  const end = Date.now() + 5000;
  while (Date.now() < end) {
    cached = (await cache.read())?.map((e) => e.id);
    if (cached?.length === 2) break;
    await new Promise((r) => setTimeout(r, 20));
  }
  assert.deepEqual(cached, ['127.0.0.1:50', '127.0.0.1:51']);
  // file.cache=false (like cacheDir: false) writes nothing
  const svc6 = `providers:${IFACE}:1.0.0:g6`;
  behaviour.set(svc6, { kind: 'hosts', hosts: [instance(52, 'g6')] });
  const off = source({ group: 'g6', registry: `nacos://127.0.0.1:${port}?file.cache=false` });
  assert.equal(await off.ready(5000), true);
  await polls(svc6, 3);
  const offCache = createEndpointCache({
    dir: cacheDir,
    registry: parseNacosRegistry(`nacos://127.0.0.1:${port}`).display,
    service: `${svc6}?protocol=dubbo`,
  });
  assert.equal(await offCache.read(), undefined);
});

test('close() stops polling', async () => {
  const svc = `providers:${IFACE}:1.0.0:g5`;
  behaviour.set(svc, { kind: 'hosts', hosts: [instance(60, 'g5')] });
  const s = source({ group: 'g5', cache: false });
  assert.equal(await s.ready(5000), true);
  await s.close();
  const count = (): number => requests.filter((u) => u.searchParams.get('serviceName') === svc).length;
  const before = count();
  // another source on another name proves time passed with polling going on
  await polls(`providers:${IFACE}:1.0.0:g4`, 5);
  assert.ok(count() <= before + 1, `no polls after close: ${count() - before}`);
});

test('an unusable registry URL or a "*" version is told once and serves nothing, without throwing', async () => {
  const errors: string[] = [];
  const bad = createNacosSource({ registry: 'nacos://', interface: IFACE, cacheDir: false, onError: (e) => errors.push(e.message) });
  const wild = createNacosSource({
    registry: `nacos://127.0.0.1:${port}`,
    interface: IFACE,
    version: '*',
    cacheDir: false,
    onError: (e) => errors.push(e.message),
  });
  sources.push(bad, wild);
  assert.equal(await bad.ready(200), false);
  assert.equal(await wild.ready(200), false);
  assert.deepEqual([bad.current(), wild.current()], [[], []]);
  assert.equal(errors.length, 2, JSON.stringify(errors));
  assert.match(errors[0]!, /not nacos:\/\/host:port/);
  assert.match(errors[1]!, /"\*" versions or groups are not supported/);
});
