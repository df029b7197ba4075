/**
 * ZooKeeper discovery against a real ZooKeeper (Debian's package, started here on a free port).
 * Provider nodes are written the way Dubbo writes them (ephemeral, URL-encoded provider URLs under
 * /dubbo/<interface>/providers); java-providers.test.ts has real Dubbo providers write their own.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import zookeeper from 'node-zookeeper-client';
import type { Client } from 'node-zookeeper-client';
import { startZooKeeper, type ZooKeeperServer } from '../../support/zookeeper.js';
import { createZooKeeperSource, type ZooKeeperSource } from '../../../src/upstream/discovery/zookeeper.js';
import type { Endpoint } from '../../../src/upstream/discovery/types.js';

const IFACE = 'com.example.zk.DemoService';
const PROVIDERS = `/dubbo/${IFACE}/providers`;

let zk: ZooKeeperServer | undefined;
let cacheDir = '';
const sources: ZooKeeperSource[] = [];
const writers: Client[] = [];

before(async () => {
  zk = await startZooKeeper();
  cacheDir = await mkdtemp(join(tmpdir(), 'ferry-zk-cache-'));
});

after(async () => {
  for (const s of sources) await s.close();
  for (const w of writers) w.close();
  await zk?.stop();
  await rm(cacheDir, { recursive: true, force: true, maxRetries: 5 });
});

/** Java's URLEncoder.encode: like encodeURIComponent, but space → '+', and ! ' ( ) ~ escaped. */
function javaUrlEncode(s: string): string {
  return encodeURIComponent(s)
    .replace(/%20/g, '+')
    .replace(/[!'()~]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

function providerNode(port: number, query: string): string {
  return javaUrlEncode(`dubbo://127.0.0.1:${port}/${IFACE}?anyhost=true&interface=${IFACE}&side=provider&${query}`);
}

async function writer(): Promise<Client> {
  const c = zookeeper.createClient(zk!.connectString, { sessionTimeout: 4000 });
  writers.push(c);
  await new Promise<void>((resolve) => {
    c.once('connected', () => resolve());
    c.connect();
  });
  return c;
}

const call = <T>(f: (cb: (err: Error | null, v: T) => void) => void): Promise<T> =>
  new Promise((resolve, reject) => f((err, v) => (err ? reject(err) : resolve(v))));

async function waitFor(what: string, cond: () => boolean, timeoutMs = 15_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for: ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

const ids = (eps: readonly Endpoint[]) => eps.map((e) => e.id);

test('follows providers registering, leaving and their sessions ending; filters version and group', async () => {
  const source = createZooKeeperSource({
    connectString: zk!.registryUrl,
    interface: IFACE,
    version: '1.0.0',
    group: 'retail',
    sessionTimeoutMs: 4000,
    cacheDir,
  });
  sources.push(source);
  const seen: string[][] = [];
  source.subscribe((eps) => seen.push(ids(eps)));

  assert.equal(await source.ready(10_000), true, 'first read done with no providers folder');
  assert.deepEqual(source.current(), []);
  assert.equal(source.connected(), true);

  const w = await writer();
  await call<string>((cb) => w.mkdirp(PROVIDERS, cb));
  const a = `${PROVIDERS}/${providerNode(1111, 'version=1.0.0&group=retail&methods=a,b&serialization=hessian2')}`;
  await call<string>((cb) => w.create(a, null, zookeeper.CreateMode.EPHEMERAL, cb));
  await waitFor('provider 1111', () => ids(source.current()).includes('127.0.0.1:1111'));
  const ep = source.current()[0]!;
  assert.equal(ep.host, '127.0.0.1');
  assert.equal(ep.port, 1111);
  assert.equal(ep.weight, 100);
  assert.equal(ep.labels['methods'], 'a,b');

  // Providers of another version or group are ignored; a matching one with weight is added.
  await call<string>((cb) => w.create(`${PROVIDERS}/${providerNode(2222, 'version=2.0.0&group=retail')}`, null, zookeeper.CreateMode.EPHEMERAL, cb));
  await call<string>((cb) =>
    w.create(`${PROVIDERS}/${providerNode(4444, 'version=1.0.0&group=wholesale')}`, null, zookeeper.CreateMode.EPHEMERAL, cb),
  );
  await call<string>((cb) =>
    w.create(`${PROVIDERS}/${providerNode(3333, 'version=1.0.0&group=retail&weight=50')}`, null, zookeeper.CreateMode.EPHEMERAL, cb),
  );
  await waitFor('provider 3333', () => ids(source.current()).includes('127.0.0.1:3333'));
  assert.deepEqual(ids(source.current()), ['127.0.0.1:1111', '127.0.0.1:3333']);
  assert.equal(source.current()[1]!.weight, 50);

  // A provider that unregisters is removed.
  await call<void>((cb) => w.remove(a, (err) => cb(err, undefined)));
  await waitFor('1111 removed', () => !ids(source.current()).includes('127.0.0.1:1111'));
  assert.deepEqual(ids(source.current()), ['127.0.0.1:3333']);

  // The writer's session ends (a provider process dying): its ephemeral nodes go, so does 3333.
  w.close();
  await waitFor('session end removes 3333', () => source.current().length === 0);
  // Every published list was a real change and never contained a filtered provider.
  for (const list of seen) {
    assert.ok(!list.includes('127.0.0.1:2222') && !list.includes('127.0.0.1:4444'), JSON.stringify(seen));
  }
  assert.deepEqual(seen.at(-1), []);
});

test('keeps the last known list while ZooKeeper is down', async () => {
  const source = createZooKeeperSource({ connectString: zk!.connectString, interface: IFACE, version: '1.0.0', sessionTimeoutMs: 4000, cacheDir });
  sources.push(source);
  const w = await writer();
  await call<string>((cb) => w.mkdirp(PROVIDERS, cb));
  await call<string>((cb) => w.create(`${PROVIDERS}/${providerNode(5555, 'version=1.0.0')}`, null, zookeeper.CreateMode.PERSISTENT, cb));
  await waitFor('provider 5555', () => ids(source.current()).includes('127.0.0.1:5555'));
  assert.equal(source.origin(), 'registry');
  const connectString = zk!.connectString;
  w.close();
  let changes = 0;
  source.subscribe(() => changes++);

  await zk!.stop();
  zk = undefined;
  await waitFor('source notices the outage', () => !source.connected());
  // Give the client time to fail reads and retry a few times (spinDelay 1 s).
  await new Promise((r) => setTimeout(r, 2500));
  assert.deepEqual(ids(source.current()), ['127.0.0.1:5555'], 'last known list kept');
  assert.equal(changes, 0, 'no listener was told the list emptied');

  // A source started now, with ZooKeeper still down, serves the list the first one wrote to disk.
  const restarted = createZooKeeperSource({
    connectString: connectString,
    interface: IFACE,
    version: '1.0.0',
    cacheDir,
    cacheAfterMs: 300,
    retryDelayMs: 200,
  });
  sources.push(restarted);
  assert.equal(await restarted.ready(5000), true);
  assert.equal(restarted.origin(), 'cache');
  assert.deepEqual(ids(restarted.current()), ['127.0.0.1:5555']);
  // ... but only for the same selection: another version has no file
  const other = createZooKeeperSource({
    connectString: connectString,
    interface: IFACE,
    version: '2.0.0',
    cacheDir,
    cacheAfterMs: 300,
    retryDelayMs: 200,
  });
  sources.push(other);
  assert.equal(await other.ready(1500), false);
  assert.deepEqual(other.current(), []);
});

test('a source whose ZooKeeper never answers reports not ready and keeps an empty list', async () => {
  // input tried: a connect string to a closed port
  const source = createZooKeeperSource({ connectString: '127.0.0.1:1', interface: IFACE, retryDelayMs: 200, cacheDir });
  sources.push(source);
  assert.equal(await source.ready(1000), false);
  assert.deepEqual(source.current(), []);
  assert.equal(source.connected(), false);
});
