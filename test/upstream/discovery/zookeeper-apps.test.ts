/**
 * Application-level discovery against a real ZooKeeper (Debian's package, on a free port). Nodes
 * are written the way Dubbo 3.3.6 writes them (layout and JSON as read from real providers, see
 * samples/java-provider/README.md); test/e2e/discovery-app-level.test.ts has real providers write
 * their own. Here the input is shaped by hand: malformed nodes, unreachable MetadataServices,
 * garbage in the metadata report, an application with 10,000 instances.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import zookeeper from 'node-zookeeper-client';
import type { Client } from 'node-zookeeper-client';
import { startZooKeeper, type ZooKeeperServer } from '../../support/zookeeper.js';
import { freePort } from '../../support/ports.js';
import { createZooKeeperRegistrySource, type ZooKeeperRegistrySource } from '../../../src/upstream/discovery/zookeeper-registry.js';
import { createMetadataServiceFetcher } from '../../../src/upstream/metadata-service.js';
import type { Endpoint } from '../../../src/upstream/discovery/types.js';

let zk: ZooKeeperServer | undefined;
let cacheDir = '';
const sources: ZooKeeperRegistrySource[] = [];
const writers: Client[] = [];

before(async () => {
  zk = await startZooKeeper();
  cacheDir = await mkdtemp(join(tmpdir(), 'ferry-zk-apps-cache-'));
});

after(async () => {
  for (const s of sources) await s.close();
  for (const w of writers) w.close();
  await zk?.stop();
  await rm(cacheDir, { recursive: true, force: true });
});

async function writer(): Promise<Client> {
  const c = zookeeper.createClient(zk!.connectString, { sessionTimeout: 30_000 });
  writers.push(c);
  await new Promise<void>((resolve) => {
    c.once('connected', () => resolve());
    c.connect();
  });
  return c;
}

const call = <T>(f: (cb: (err: Error | null, v: T) => void) => void): Promise<T> =>
  new Promise((resolve, reject) => f((err, v) => (err ? reject(err) : resolve(v))));

async function put(w: Client, path: string, data: string, mode = zookeeper.CreateMode.PERSISTENT): Promise<void> {
  const parent = path.slice(0, path.lastIndexOf('/'));
  if (parent !== '') await call<string>((cb) => w.mkdirp(parent, cb));
  try {
    await call<string>((cb) => w.create(path, Buffer.from(data), mode, cb));
  } catch (err) {
    if ((err as { getCode?: () => number }).getCode?.() !== zookeeper.Exception.NODE_EXISTS) throw err;
    await call((cb) => w.setData(path, Buffer.from(data), cb));
  }
}

async function remove(w: Client, path: string): Promise<void> {
  await call<void>((cb) => w.remove(path, (err) => cb(err, undefined)));
}

async function waitFor(what: string, cond: () => boolean, timeoutMs = 20_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for: ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

const ids = (eps: readonly Endpoint[]) => eps.map((e) => e.id);

/** Curator's ServiceInstance JSON as ZookeeperServiceDiscovery writes it. */
function instanceJson(app: string, host: string, port: number, metadata: Record<string, string>): string {
  const id = `${host}:${port}`;
  return JSON.stringify({
    name: app,
    id,
    address: host,
    port,
    sslPort: null,
    payload: { '@class': 'org.apache.dubbo.registry.zookeeper.ZookeeperInstance', id, name: app, metadata },
    registrationTimeUTC: Date.now(),
    serviceType: 'DYNAMIC',
    uriSpec: null,
  });
}

function remoteMeta(revision: string, port: number, timestamp = '1796161788111'): Record<string, string> {
  return {
    'dubbo.endpoints': JSON.stringify([{ port, protocol: 'dubbo' }]),
    'dubbo.metadata.revision': revision,
    'dubbo.metadata.storage-type': 'remote',
    'meta-v': '1.0.0',
    timestamp,
  };
}

/** The metadata report's MetadataInfo JSON for one service. */
function metadataJson(app: string, revision: string, iface: string, params: Record<string, string> = {}): string {
  return JSON.stringify({
    app,
    revision,
    services: {
      [`${iface}:1.0.0:dubbo`]: {
        name: iface,
        params: { side: 'provider', interface: iface, version: '1.0.0', serialization: 'hessian2', application: app, ...params },
        path: iface,
        port: 0,
        protocol: 'dubbo',
        version: '1.0.0',
      },
    },
  });
}

test('follows the mapping, instances joining, leaving and changing revision; reads MetadataInfo from the metadata report', async () => {
  const IFACE = 'com.example.zk.AppLevelService';
  const w = await writer();
  await put(w, `/dubbo/metadata/shop/r1`, metadataJson('shop', 'r1', IFACE, { weight: '100' }));
  await put(w, `/dubbo/metadata/shop/r2`, metadataJson('shop', 'r2', IFACE, { weight: '50', 'dubbo.tag': 'canary' }));
  await put(w, `/dubbo/metadata/stock/s1`, metadataJson('stock', 's1', IFACE));
  const source = createZooKeeperRegistrySource({
    cacheDir,
    connectString: zk!.registryUrl,
    interface: IFACE,
    version: '1.0.0',
    sessionTimeoutMs: 4000,
  });
  sources.push(source);
  assert.equal(await source.ready(10_000), true, 'ready with no mapping node yet');
  assert.deepEqual(source.current(), []);

  await put(w, `/services/shop/10.0.0.1:2000`, instanceJson('shop', '10.0.0.1', 2000, remoteMeta('r1', 2000)), zookeeper.CreateMode.EPHEMERAL);
  await put(w, `/dubbo/mapping/${IFACE}`, 'shop');
  await waitFor('shop instance', () => source.current().length === 1);
  const e = source.current()[0]!;
  assert.equal(e.id, '10.0.0.1:2000');
  assert.equal(e.weight, 100);
  assert.equal(e.warmupStartMs, 1796161788111);

  // A second instance joins; the first moves to r2 (setData, as Dubbo does on a metadata change).
  await put(w, `/services/shop/10.0.0.2:2000`, instanceJson('shop', '10.0.0.2', 2000, remoteMeta('r1', 2000)), zookeeper.CreateMode.EPHEMERAL);
  await put(w, `/services/shop/10.0.0.1:2000`, instanceJson('shop', '10.0.0.1', 2000, remoteMeta('r2', 2000)));
  await waitFor('two instances, one on r2', () => source.current().length === 2 && source.current()[0]!.weight === 50);
  assert.equal(source.current()[0]!.labels['dubbo.tag'], 'canary');
  assert.equal(source.current()[1]!.weight, 100);

  // A second application joins the mapping (Dubbo writes "a,b"); then the first leaves it.
  await put(w, `/services/stock/10.0.0.3:2000`, instanceJson('stock', '10.0.0.3', 2000, remoteMeta('s1', 2000)), zookeeper.CreateMode.EPHEMERAL);
  await put(w, `/dubbo/mapping/${IFACE}`, 'shop,stock');
  await waitFor('stock joins', () => ids(source.current()).includes('10.0.0.3:2000'));
  assert.deepEqual(ids(source.current()), ['10.0.0.1:2000', '10.0.0.2:2000', '10.0.0.3:2000']);
  await remove(w, `/services/shop/10.0.0.2:2000`);
  await waitFor('10.0.0.2 leaves', () => !ids(source.current()).includes('10.0.0.2:2000'));
  await put(w, `/dubbo/mapping/${IFACE}`, 'stock');
  await waitFor('shop leaves the mapping', () => ids(source.current()).join() === '10.0.0.3:2000');
  assert.equal(source.connected(), true);
});

test('bad input: each problem is logged once with the node named, that instance is skipped, the rest keep working', async () => {
  const IFACE = 'com.example.zk.BadInputService';
  const APP = 'messy';
  const w = await writer();
  const closedPort = await freePort();
  const errors: string[] = [];
  await put(w, `/dubbo/metadata/${APP}/good`, metadataJson(APP, 'good', IFACE));
  await put(w, `/dubbo/metadata/${APP}/garbage`, '{"app": "messy", "revision": "garbage", "services": [');
  const base = `/services/${APP}`;
  await put(w, `${base}/10.0.0.1:1`, instanceJson(APP, '10.0.0.1', 1, remoteMeta('good', 1)), zookeeper.CreateMode.EPHEMERAL);
  await put(w, `${base}/10.0.0.2:1`, '{"name":"messy","address":', zookeeper.CreateMode.EPHEMERAL);
  await put(w, `${base}/10.0.0.3:1`, instanceJson(APP, '10.0.0.3', 1, { 'dubbo.metadata.storage-type': 'remote' }), zookeeper.CreateMode.EPHEMERAL);
  await put(w, `${base}/10.0.0.4:1`, instanceJson(APP, '10.0.0.4', 1, remoteMeta('garbage', 1)), zookeeper.CreateMode.EPHEMERAL);
  await put(w, `${base}/10.0.0.5:1`, instanceJson(APP, '10.0.0.5', 1, remoteMeta('absent', 1)), zookeeper.CreateMode.EPHEMERAL);
  // storage-type local: asked over the dubbo protocol on a port where nobody listens.
  await put(
    w,
    `${base}/127.0.0.1:${closedPort}`,
    instanceJson(APP, '127.0.0.1', closedPort, {
      'dubbo.endpoints': JSON.stringify([{ port: closedPort, protocol: 'dubbo' }]),
      'dubbo.metadata-service.url-params': JSON.stringify({ protocol: 'dubbo', port: String(closedPort), version: '1.0.0' }),
      'dubbo.metadata.revision': 'unreachable',
      'dubbo.metadata.storage-type': 'local',
    }),
    zookeeper.CreateMode.EPHEMERAL,
  );
  await put(w, `/dubbo/mapping/${IFACE}`, APP);

  const source = createZooKeeperRegistrySource({
    cacheDir,
    connectString: zk!.registryUrl,
    interface: IFACE,
    version: '1.0.0',
    fetchMetadataInfo: createMetadataServiceFetcher(),
    onError: (err) => errors.push(err.message),
  });
  sources.push(source);
  assert.equal(await source.ready(15_000), true);
  assert.deepEqual(ids(source.current()), ['10.0.0.1:1'], 'only the good instance');

  // More registry events (instances joining and leaving) re-read the application: nothing is logged twice.
  for (let i = 0; i < 3; i++) {
    await put(w, `${base}/10.0.1.${i}:1`, instanceJson(APP, `10.0.1.${i}`, 1, remoteMeta('good', 1)), zookeeper.CreateMode.EPHEMERAL);
    await waitFor(`10.0.1.${i} joins`, () => ids(source.current()).includes(`10.0.1.${i}:1`));
    await remove(w, `${base}/10.0.1.${i}:1`);
    await waitFor(`10.0.1.${i} leaves`, () => !ids(source.current()).includes(`10.0.1.${i}:1`));
  }
  console.log(`problems logged:\n  ${errors.join('\n  ')}`);
  const once = (pattern: RegExp, what: string): void => {
    const n = errors.filter((m) => pattern.test(m)).length;
    assert.equal(n, 1, `${what}: logged ${n} times in\n${errors.join('\n')}`);
  };
  once(/instance node \/services\/messy\/10\.0\.0\.2:1 is not JSON/, 'malformed JSON');
  once(/instance \/services\/messy\/10\.0\.0\.3:1 of application messy has no metadata revision/, 'no revision');
  once(/revision garbage could not be read .*: MetadataInfo \/dubbo\/metadata\/messy\/garbage is not JSON/, 'garbage MetadataInfo');
  once(/revision absent could not be read .*: \/dubbo\/metadata\/messy\/absent is not in the metadata report$/, 'missing report');
  once(
    new RegExp(
      `revision unreachable could not be read .*MetadataService:1\\.0\\.0 \\(group messy\\) on 127\\.0\\.0\\.1:${closedPort}: cannot connect`,
    ),
    'MetadataService down',
  );
  assert.ok(
    errors.every((m) => /\/services\/messy|messy revision|dubbo\/metadata\/messy/.test(m)),
    'every message names the node or the revision',
  );

  // The malformed node is fixed: it joins, and a later problem with it would be logged again.
  await put(w, `${base}/10.0.0.2:1`, instanceJson(APP, '10.0.0.2', 1, remoteMeta('good', 1)));
  await waitFor('fixed node joins', () => ids(source.current()).includes('10.0.0.2:1'));
});

test('an application with 10,000 instances is served whole; a second service shares the watcher; a smaller budget caps it and says so once', async () => {
  const IFACE = 'com.example.zk.BigService';
  const APP = 'big';
  const N = 10_000;
  const w = await writer();
  await put(w, `/dubbo/metadata/${APP}/r`, metadataJson(APP, 'r', IFACE));
  await call<string>((cb) => w.mkdirp(`/services/${APP}`, cb));
  // Created in batches (one ZooKeeper session, pipelined requests).
  for (let start = 0; start < N; start += 500) {
    await Promise.all(
      Array.from({ length: Math.min(500, N - start) }, (_, k) => {
        const i = start + k;
        const host = `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`;
        return call<string>((cb) =>
          w.create(
            `/services/${APP}/${host}:20880`,
            Buffer.from(instanceJson(APP, host, 20880, remoteMeta('r', 20880))),
            zookeeper.CreateMode.EPHEMERAL,
            cb,
          ),
        );
      }),
    );
  }
  await put(w, `/dubbo/mapping/${IFACE}`, APP);

  global.gc?.();
  const heapBefore = process.memoryUsage().heapUsed;
  const errors: string[] = [];
  const source = createZooKeeperRegistrySource({
    cacheDir,
    connectString: zk!.registryUrl,
    interface: IFACE,
    version: '1.0.0',
    onError: (e) => errors.push(e.message),
  });
  sources.push(source);
  assert.equal(await source.ready(60_000), true);
  assert.equal(source.current().length, N);
  assert.deepEqual(errors, []);
  global.gc?.();
  const heapAfter = process.memoryUsage().heapUsed;
  console.log(
    `${N} instances of one application: heap +${((heapAfter - heapBefore) / 1048576).toFixed(1)} MiB (instances, endpoints, watcher state)`,
  );

  // A second service over the same registry and application shares the watcher: same answer, no second read.
  const second = createZooKeeperRegistrySource({ cacheDir, connectString: zk!.registryUrl, interface: IFACE, version: '1.0.0' });
  sources.push(second);
  assert.equal(await second.ready(30_000), true);
  assert.equal(second.current().length, N);

  const capped: string[] = [];
  const small = createZooKeeperRegistrySource({
    cacheDir,
    connectString: zk!.registryUrl,
    interface: IFACE,
    version: '1.0.0',
    apps: { maxInstancesPerApp: 2_000 },
    onError: (e) => capped.push(e.message),
  });
  sources.push(small);
  assert.equal(await small.ready(30_000), true);
  assert.equal(small.current().length, 2_000);
  // One more instance: the cap message is not repeated.
  await put(w, `/services/${APP}/10.255.0.1:20880`, instanceJson(APP, '10.255.0.1', 20880, remoteMeta('r', 20880)), zookeeper.CreateMode.EPHEMERAL);
  await waitFor('the full source sees it', () => source.current().length === N + 1);
  await new Promise((r) => setTimeout(r, 500));
  assert.deepEqual(capped, ['/services/big has 10000 instances; only 2000 are read'], 'the cap is logged once');
  assert.equal(small.current().length, 2_000);
});

test('keeps the last known application-level endpoints while ZooKeeper is down, and on disk for a source started then', async () => {
  const IFACE = 'com.example.zk.OutageService';
  const w = await writer();
  await put(w, `/dubbo/metadata/steady/r`, metadataJson('steady', 'r', IFACE));
  await put(w, `/services/steady/10.0.9.1:1`, instanceJson('steady', '10.0.9.1', 1, remoteMeta('r', 1)), zookeeper.CreateMode.EPHEMERAL);
  await put(w, `/dubbo/mapping/${IFACE}`, 'steady');
  const source = createZooKeeperRegistrySource({
    cacheDir,
    connectString: zk!.registryUrl,
    interface: IFACE,
    version: '1.0.0',
    sessionTimeoutMs: 4000,
    retryDelayMs: 200,
  });
  sources.push(source);
  assert.equal(await source.ready(10_000), true);
  assert.deepEqual(ids(source.current()), ['10.0.9.1:1']);
  assert.equal(source.origin(), 'registry');
  const registryUrl = zk!.registryUrl;
  let changes = 0;
  source.subscribe(() => changes++);
  await zk!.stop();
  zk = undefined;
  await waitFor('the source notices the outage', () => !source.connected());
  // Reads fail and are retried meanwhile (retry delay 200 ms).
  await new Promise((r) => setTimeout(r, 2500));
  assert.deepEqual(ids(source.current()), ['10.0.9.1:1'], 'last known list kept');
  assert.equal(changes, 0, 'no listener was told the list emptied');

  // A source started now, with ZooKeeper still down, serves the merged list the first one wrote.
  // (The first is closed first: while it lives, a new source shares its watcher's memory instead.)
  await source.close();
  const errors: string[] = [];
  const restarted = createZooKeeperRegistrySource({
    cacheDir,
    connectString: registryUrl,
    interface: IFACE,
    version: '1.0.0',
    cacheAfterMs: 300,
    retryDelayMs: 200,
    onError: (e) => errors.push(e.message),
  });
  sources.push(restarted);
  await waitFor('served from the cache file', () => restarted.origin() === 'cache', 5000);
  assert.deepEqual(ids(restarted.current()), ['10.0.9.1:1']);
  assert.equal(restarted.current()[0]!.labels['dubbo.metadata.revision'], 'r', 'the application-level endpoint, labels and all');
  assert.ok(
    errors.some((m) => /unreachable at start: serving 1 endpoints of com\.example\.zk\.OutageService from /.test(m)),
    errors.join('\n'),
  );
});
