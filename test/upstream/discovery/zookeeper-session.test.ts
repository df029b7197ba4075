/**
 * One ZooKeeper session per registry, against a real ZooKeeper (Debian's package) that allows only
 * 10 connections per client address (`maxClientCnxns=10`; ZooKeeper's default is 60): 120 services,
 * each with its own provider, all found over one session, both Dubbo layouts watched.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import zookeeper from 'node-zookeeper-client';
import type { Client } from 'node-zookeeper-client';
import { fourLetterWord, startZooKeeper, type ZooKeeperServer } from '../../support/zookeeper.js';
import { createZooKeeperRegistrySource, type ZooKeeperRegistrySource } from '../../../src/upstream/discovery/zookeeper-registry.js';
import { openZooKeeperSessions } from '../../../src/upstream/discovery/zookeeper-session.js';

const LIMIT = 10;
const SERVICES = 120;

let zk: ZooKeeperServer | undefined;
let cacheDir = '';
const sources: ZooKeeperRegistrySource[] = [];
const clients: Client[] = [];

before(async () => {
  zk = await startZooKeeper({ maxClientCnxns: LIMIT });
  cacheDir = await mkdtemp(join(tmpdir(), 'ferry-zk-session-'));
});

after(async () => {
  for (const s of sources) await s.close();
  for (const c of clients) c.close();
  await zk?.stop();
  await rm(cacheDir, { recursive: true, force: true });
});

const call = <T>(f: (cb: (err: Error | null, v: T) => void) => void): Promise<T> =>
  new Promise((resolve, reject) => f((err, v) => (err ? reject(err) : resolve(v))));

/** Connects a plain client; resolves whether it connected within `timeoutMs`. */
function connectClient(timeoutMs: number): Promise<{ client: Client; connected: boolean }> {
  const client = zookeeper.createClient(zk!.connectString, { sessionTimeout: 30_000, retries: 0, spinDelay: 200 });
  clients.push(client);
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve({ client, connected: false }), timeoutMs);
    client.once('connected', () => {
      clearTimeout(timer);
      resolve({ client, connected: true });
    });
    client.connect();
  });
}

/** Client connections the server holds (ZooKeeper's `cons` lists one line per connection, 4lw ones included). */
async function serverConnections(): Promise<number> {
  const answer = await fourLetterWord(zk!.port, 'cons');
  return answer.split('\n').filter((l) => /queued=/.test(l)).length;
}

async function until(what: string, cond: () => boolean, timeoutMs = 30_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for: ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

test(`${SERVICES} services on a ZooKeeper that allows ${LIMIT} connections per address are all served over one session`, async () => {
  const { client: writer, connected } = await connectClient(10_000);
  assert.equal(connected, true, 'the writer connected');
  for (let i = 0; i < SERVICES; i++) {
    const iface = `com.example.session.Service${i}`;
    const url = `dubbo://127.0.0.1:${20000 + i}/${iface}?interface=${iface}&side=provider&methods=hello`;
    await call<string>((cb) => writer.mkdirp(`/dubbo/${iface}/providers/${encodeURIComponent(url)}`, cb));
  }

  for (let i = 0; i < SERVICES; i++) {
    sources.push(
      createZooKeeperRegistrySource({
        connectString: zk!.registryUrl,
        interface: `com.example.session.Service${i}`,
        sessionTimeoutMs: 10_000,
        cacheDir,
      }),
    );
  }
  await until(`all ${SERVICES} services list their provider`, () => sources.every((s, i) => s.current()[0]?.id === `127.0.0.1:${20000 + i}`));
  for (const [i, s] of sources.entries()) {
    assert.deepEqual(
      s.current().map((e) => e.id),
      [`127.0.0.1:${20000 + i}`],
      `service ${i} lists its one provider`,
    );
    assert.equal(s.connected(), true, `service ${i} says it is connected`);
  }
  assert.equal(openZooKeeperSessions(), 1, 'one session for the registry');
  // The writer, Ferry's one session, and the `cons` connection itself.
  const held = await serverConnections();
  assert.ok(held <= 3, `ZooKeeper holds ${held} connections from this address`);

  // A provider that joins is seen over the shared session's watches.
  const iface = 'com.example.session.Service7';
  const url = `dubbo://127.0.0.1:29999/${iface}?interface=${iface}&side=provider&methods=hello`;
  await call<string>((cb) => writer.create(`/dubbo/${iface}/providers/${encodeURIComponent(url)}`, null, zookeeper.CreateMode.EPHEMERAL, cb));
  await until('the joining provider of Service7', () => sources[7]!.current().some((e) => e.id === '127.0.0.1:29999'));

  // The limit is real: plain clients past it are refused (this is what a session per service met).
  // One after the other: ZooKeeper counts a connection once it is set up, so a burst can slip past.
  let accepted = 0;
  let refused = false;
  const extra: Client[] = [];
  while (!refused && accepted <= LIMIT) {
    const c = await connectClient(3000);
    extra.push(c.client);
    if (c.connected) accepted++;
    else refused = true;
  }
  assert.ok(refused, `ZooKeeper accepted ${accepted} more plain clients without refusing one`);
  assert.ok(accepted <= LIMIT - 2, `${accepted} more plain clients were accepted beside the writer and Ferry's session`);
  for (const c of extra) c.close();

  for (const s of sources.splice(0)) await s.close();
  assert.equal(openZooKeeperSessions(), 0, 'the last source to close closed the session');
});
