/**
 * ZooKeeper digest auth against Debian's ZooKeeper: providers registered under nodes whose ACL lets
 * only one digest user read them are found with `zookeeper://user:password@host:port`, not without;
 * the password appears in no message the source reports.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import zookeeper from 'node-zookeeper-client';
import type { Client } from 'node-zookeeper-client';
import { startZooKeeper, type ZooKeeperServer } from '../../support/zookeeper.js';
import { createZooKeeperSource, toConnectString, type ZooKeeperSource } from '../../../src/upstream/discovery/zookeeper.js';
import { zooKeeperDigest } from '../../../src/upstream/discovery/zookeeper-client.js';

const IFACE = 'com.example.zk.SecretService';
const PROVIDERS = `/dubbo/${IFACE}/providers`;
const USER = 'ferry';
const PASSWORD = 'pw-S3cret:x';

let zk: ZooKeeperServer | undefined;
let cacheDir = '';
let writer: Client | undefined;
const sources: ZooKeeperSource[] = [];

const call = <T>(f: (cb: (err: Error | null, v: T) => void) => void): Promise<T> =>
  new Promise((resolve, reject) => f((err, v) => (err ? reject(err) : resolve(v))));

before(async () => {
  zk = await startZooKeeper();
  cacheDir = await mkdtemp(join(tmpdir(), 'ferry-zk-auth-'));
  writer = zookeeper.createClient(zk.connectString, { sessionTimeout: 4000 });
  writer.addAuthInfo('digest', Buffer.from(`${USER}:${PASSWORD}`));
  await new Promise<void>((resolve) => {
    writer!.once('connected', () => resolve());
    writer!.connect();
  });
  // ZooKeeper's digest id: user:base64(sha1(user:password)).
  const id = new zookeeper.Id('digest', `${USER}:${createHash('sha1').update(`${USER}:${PASSWORD}`).digest('base64')}`);
  const acls = [new zookeeper.ACL(zookeeper.Permission.ALL, id)];
  await call<string>((cb) => writer!.mkdirp(PROVIDERS, null, acls, zookeeper.CreateMode.PERSISTENT, cb));
  const url = encodeURIComponent(`dubbo://127.0.0.1:7777/${IFACE}?interface=${IFACE}&side=provider&methods=a`);
  await call<string>((cb) => writer!.create(`${PROVIDERS}/${url}`, null, acls, zookeeper.CreateMode.EPHEMERAL, cb));
});

after(async () => {
  for (const s of sources) await s.close();
  writer?.close();
  await zk?.stop();
  await rm(cacheDir, { recursive: true, force: true, maxRetries: 5 });
});

const withAuth = (): string => zk!.registryUrl.replace('zookeeper://', `zookeeper://${USER}:${encodeURIComponent(PASSWORD)}@`);

test('the user info of a registry URL is the digest credential, and is not in the connect string', () => {
  assert.equal(zooKeeperDigest('zookeeper://ferry:pw%3Ax@10.0.0.1:2181?backup=10.0.0.2:2181'), 'ferry:pw:x');
  assert.equal(toConnectString('zookeeper://ferry:pw%3Ax@10.0.0.1:2181?backup=10.0.0.2:2181'), '10.0.0.1:2181,10.0.0.2:2181');
  assert.equal(zooKeeperDigest('zookeeper://10.0.0.1:2181'), undefined);
});

test('with the digest user the providers under the ACL are found', async () => {
  const errors: string[] = [];
  const source = createZooKeeperSource({
    connectString: withAuth(),
    interface: IFACE,
    sessionTimeoutMs: 4000,
    cacheDir,
    onError: (e) => errors.push(e.message),
  });
  sources.push(source);
  assert.equal(await source.ready(10_000), true);
  assert.deepEqual(
    source.current().map((e) => e.id),
    ['127.0.0.1:7777'],
  );
  for (const m of errors) assert.ok(!m.includes(PASSWORD) && !m.includes(encodeURIComponent(PASSWORD)), m);
});

test('without credentials the ACL refuses the read: no endpoint, a reported error that carries no password', async () => {
  const errors: string[] = [];
  const source = createZooKeeperSource({
    connectString: zk!.registryUrl,
    interface: IFACE,
    sessionTimeoutMs: 4000,
    cacheDir: join(cacheDir, 'anon'),
    onError: (e) => errors.push(e.message),
  });
  sources.push(source);
  await source.ready(5_000);
  for (let i = 0; i < 100 && errors.length === 0; i++) await new Promise((r) => setTimeout(r, 50));
  assert.deepEqual(source.current(), []);
  assert.ok(
    errors.some((m) => /NO_AUTH|auth/i.test(m)),
    JSON.stringify(errors),
  );
});
