/**
 * Issue 13: ZooKeeper discovery for a gRPC service, end to end, as
 * test/e2e/discovery-zookeeper.test.ts proves it for Dubbo. Debian's ZooKeeper; three Python
 * grpcio servers (ferry.peer.v1.Peer) that cannot register themselves, so this test registers them
 * as a deployment tool would: one ephemeral node per server under
 * `/dubbo/ferry.peer.v1.Peer/providers/<URL-encoded grpc://127.0.0.1:PORT/ferry.peer.v1.Peer?...>`,
 * each in a ZooKeeper session of its own (test/support/zookeeper-registrar.ts). Ferry runs
 * in-process with a mapping that names the registry and no endpoints, round-robin; every reply
 * says which server answered.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startZooKeeper, type ZooKeeperServer } from '../support/zookeeper.js';
import { startGrpcPeers, type GrpcPeer } from '../support/grpc-peer.js';
import { createRegistrar, type ProviderUrlParts, type Registrar, type Registration } from '../support/zookeeper-registrar.js';
import { startTestFerry, type TestFerry } from '../support/ferry.js';
import { call, PEER_PROTO, PEER_SERVICE, sequential, tally, untilServedByAll, untilSteady, type Reply } from '../support/peer-traffic.js';

const VERSION = '1.0.0';

let zk: ZooKeeperServer | undefined;
let registrar: Registrar | undefined;
let ferry: TestFerry | undefined;
let peers: GrpcPeer[] = [];
const registered = new Map<string, Registration>();

const mapping = (registry: string): string => `
services:
  echo:
    protocol: grpc
    proto: ${PEER_PROTO}
    service: ${PEER_SERVICE}
    registry: ${registry}
    version: ${VERSION}
    balance: round-robin
    timeout: 3s
`;

before(async () => {
  zk = await startZooKeeper();
  peers = await startGrpcPeers(['g1', 'g2', 'g3']);
  registrar = createRegistrar(zk.connectString);
});

after(async () => {
  await ferry?.close();
  // Before ZooKeeper goes (when it is still up): the sessions end cleanly.
  await registrar?.close();
  await Promise.all(peers.map((p) => p.kill()));
  await zk?.stop();
});

const byName = (name: string): GrpcPeer => peers.find((p) => p.name === name)!;

/** The URL a deployer writes for a server of this service (`grpc://`, version 1.0.0). */
const providerOf = (p: GrpcPeer, extra: Partial<ProviderUrlParts> = {}): ProviderUrlParts => ({
  protocol: 'grpc',
  address: p.address,
  path: PEER_SERVICE,
  version: VERSION,
  params: { weight: '100' },
  ...extra,
});

async function register(name: string): Promise<void> {
  registered.set(name, await registrar!.register(providerOf(byName(name))));
}

const whoami = (tag: string): Promise<Reply> => call(ferry!.base, 'GET', `/v1/peer/whoami?tag=${tag}`);

async function counted(tag: string): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const p of peers) out[p.name] = (await p.stats(tag)).calls['Whoami'] ?? 0;
  return out;
}

test('registered before Ferry starts: g1 and g2 get all traffic, decoys naming g3 (other version, group, protocol, interface) none', async () => {
  await register('g1');
  await register('g2');
  const g3 = byName('g3');
  // tried: four registrations pointing at g3 that do not match the mapping's service
  await registrar!.register(providerOf(g3, { version: '2.0.0' }));
  await registrar!.register(providerOf(g3, { group: 'blue' }));
  await registrar!.register(providerOf(g3, { protocol: 'tri' }));
  await registrar!.register(providerOf(g3, { path: 'ferry.peer.v1.Other' }));
  const listed = await registrar!.providers(PEER_SERVICE);
  console.log(`/dubbo/${PEER_SERVICE}/providers:\n  ${listed.join('\n  ')}`);
  assert.equal(listed.length, 5, 'g1, g2 and three decoys are under the service; the other interface is elsewhere');
  assert.ok(
    listed.every((u) => /^(grpc|tri):\/\/127\.0\.0\.1:\d+\/ferry\.peer\.v1\.Peer\?/.test(u)),
    listed.join('\n'),
  );

  ferry = await startTestFerry({ withoutSamples: true, extra: { 'discovery.yaml': mapping(zk!.registryUrl) } });
  const warmUp = await untilServedByAll(['g1', 'g2'], () => whoami('warm-up'));
  for (const r of warmUp) {
    if (r.status !== 200) assert.equal(r.code, 'FERRY_UPSTREAM_UNAVAILABLE', `GET /v1/peer/whoami before discovery: ${r.text}`);
  }
  // tried: 30 sequential calls tagged two
  const replies = await sequential(30, () => whoami('two'));
  console.log(`g1 and g2 registered, 30 sequential calls: ${JSON.stringify(tally(replies))}`);
  assert.deepEqual(tally(replies), { g1: 15, g2: 15 });
  assert.deepEqual(await counted('two'), { g1: 15, g2: 15, g3: 0 }, 'g3 (registered only under decoy URLs) received nothing');
});

test('a server registered while Ferry runs gets traffic without a restart, and no call fails meanwhile', async () => {
  // tried: register g3 (grpc://, version 1.0.0) with Ferry running
  await register('g3');
  const joining = await untilServedByAll(['g3'], () => whoami('joining'));
  assert.ok(
    joining.every((r) => r.status === 200),
    `no call failed while g3 joined: ${JSON.stringify(tally(joining))}`,
  );
  const replies = await sequential(30, () => whoami('three'));
  console.log(`g3 registered, 30 sequential calls: ${JSON.stringify(tally(replies))}`);
  assert.deepEqual(tally(replies), { g1: 10, g2: 10, g3: 10 });
  assert.deepEqual(await counted('three'), { g1: 10, g2: 10, g3: 10 });
});

test('a registration deleted from ZooKeeper: the server, still running, gets no more calls', async () => {
  // tried: delete g2's node; g2 keeps running
  await registered.get('g2')!.remove();
  const leaving = await untilSteady(
    'Ferry stops calling g2',
    () => whoami('leaving'),
    (r) => r.status === 200 && r.server !== 'g2',
  );
  assert.ok(
    leaving.every((r) => r.status === 200),
    `no call failed while g2 left: ${JSON.stringify(tally(leaving))}`,
  );
  const replies = await sequential(30, () => whoami('after-remove'));
  console.log(`g2's node deleted, 30 sequential calls: ${JSON.stringify(tally(replies))}`);
  assert.deepEqual(tally(replies), { g1: 15, g3: 15 });
  assert.equal(byName('g2').running(), true, 'g2 still runs: it left by discovery, not by dying');
  assert.deepEqual(await counted('after-remove'), { g1: 15, g2: 0, g3: 15 });
});

test('a registration whose ZooKeeper session ends (the deployer went away): its server gets no more calls', async () => {
  // tried: close the session that holds g1's ephemeral node
  await registered.get('g1')!.endSession();
  assert.ok(!(await registrar!.providers(PEER_SERVICE)).some((u) => u.includes(byName('g1').address)), 'ZooKeeper removed the node');
  await untilSteady(
    'Ferry stops calling g1',
    () => whoami('session-end'),
    (r) => r.status === 200 && r.server !== 'g1',
  );
  const replies = await sequential(20, () => whoami('after-session'));
  assert.deepEqual(tally(replies), { g3: 20 });
  assert.deepEqual(await counted('after-session'), { g1: 0, g2: 0, g3: 20 });
});

test('with ZooKeeper stopped, Ferry keeps serving the servers it last saw', async () => {
  // tried: register g2 again, then stop ZooKeeper and call for ~4 s
  await register('g2');
  await untilServedByAll(['g2', 'g3'], () => whoami('before-outage'));
  await zk!.stop();
  zk = undefined;
  const during: Reply[] = [];
  for (let i = 0; i < 40; i++) {
    during.push(await whoami('outage'));
    await new Promise((r) => setTimeout(r, 100));
  }
  console.log(`40 calls over ~4 s with ZooKeeper stopped: ${JSON.stringify(tally(during))}`);
  assert.ok(
    during.every((r) => r.status === 200),
    JSON.stringify(tally(during)),
  );
  assert.deepEqual(tally(during), { g2: 20, g3: 20 });
});
