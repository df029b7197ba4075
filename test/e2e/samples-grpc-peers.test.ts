/**
 * The Python grpcio peers the balancing, failover and discovery tests rely on
 * (samples/grpc-python, ferry.peer.v1.Peer in idl/ferry/peer/v1/peer.proto), checked with grpc-js
 * directly, without Ferry: three start at once on free ports, each names itself in its reply and in
 * `served-by` initial metadata, counts calls per tag, fails and slows down on demand, and dies when
 * told to (Crash) or killed. If one of these facts changed, a Ferry test built on it would prove
 * nothing, so each is asserted here.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { status as GrpcStatus, type ServiceError } from '@grpc/grpc-js';
import { callPeer, peerClient, startGrpcPeer, startGrpcPeers, type GrpcPeer } from '../support/grpc-peer.js';

let peers: GrpcPeer[] = [];
const clients: Array<ReturnType<typeof peerClient>> = [];

before(async () => {
  peers = await startGrpcPeers(['g1', 'g2', 'g3']);
});

after(async () => {
  for (const c of clients) c.close();
  await Promise.all(peers.map((p) => p.kill()));
});

function client(p: GrpcPeer): ReturnType<typeof peerClient> {
  const c = peerClient(p.address);
  clients.push(c);
  return c;
}

async function failure(p: Promise<unknown>): Promise<ServiceError> {
  try {
    await p;
  } catch (err) {
    return err as ServiceError;
  }
  assert.fail('the call succeeded');
}

test('three servers on three ports, each naming itself in the reply and in served-by metadata', async () => {
  assert.equal(new Set(peers.map((p) => p.port)).size, 3);
  for (const p of peers) {
    const { reply, metadata } = await callPeer(client(p), 'Whoami', { tag: 'hello' });
    assert.equal(reply.server, p.name);
    assert.equal(reply.tag, 'hello');
    assert.deepEqual(metadata.get('served-by'), [p.name]);
  }
});

test('calls are counted per tag, in the reply, in Stats and on stdout', async () => {
  const [g1, g2] = peers as [GrpcPeer, GrpcPeer];
  const c = client(g1);
  // tried: 3 Whoami and 1 Slow tagged "count-a", 1 Whoami tagged "count-b", all on g1
  const n: number[] = [];
  for (let i = 0; i < 3; i++) n.push((await callPeer(c, 'Whoami', { tag: 'count-a' })).reply.calls);
  assert.deepEqual(n, [1, 2, 3]);
  await callPeer(c, 'Slow', { tag: 'count-a', millis: 1 });
  await callPeer(c, 'Whoami', { tag: 'count-b' });
  assert.deepEqual(await g1.stats('count-a'), { calls: { Whoami: 3, Slow: 1 }, total: 4 });
  assert.deepEqual(await g1.stats('count-b'), { calls: { Whoami: 1 }, total: 1 });
  assert.deepEqual(await g2.stats('count-a'), { calls: {}, total: 0 }, 'another server counted nothing');
  await g1.waitForCall('Whoami', 'count-b');
  assert.equal(g1.announced('Whoami', 'count-a'), 3);
  assert.equal(g1.announced('Slow', 'count-a'), 1);
});

test('Fail answers the status asked for; Configure makes Whoami slow and failing, then well again', async () => {
  const g2 = peers[1]!;
  const c = client(g2);
  // tried: Fail with code 14 (UNAVAILABLE) and 9 (FAILED_PRECONDITION)
  for (const code of [14, 9]) {
    const err = await failure(callPeer(c, 'Fail', { code, tag: 'fail' }));
    assert.equal(err.code, code);
  }
  assert.equal((await g2.stats('fail')).calls['Fail'], 2, 'failed calls are counted too');

  // tried: Configure { failCode: 14 } then Whoami; Configure { delayMs: 400 } and a 150 ms deadline
  await g2.configure({ failCode: 14 });
  const unavailable = await failure(callPeer(c, 'Whoami', { tag: 'conf' }));
  assert.equal(unavailable.code, 14);
  await g2.configure({ delayMs: 400 });
  const late = await failure(callPeer(c, 'Whoami', { tag: 'conf' }, 150));
  assert.equal(late.code, 4, 'DEADLINE_EXCEEDED');
  await g2.configure({});
  assert.equal((await callPeer(c, 'Whoami', { tag: 'conf' })).reply.server, 'g2');
  assert.equal((await g2.stats('conf')).calls['Whoami'], 3);
});

test('Crash: the call is announced, then the process exits without an answer; restart reuses the port', async () => {
  const g3 = peers[2]!;
  const c = client(g3);
  // tried: one Crash call tagged "boom"
  const err = await failure(callPeer(c, 'Crash', { tag: 'boom' }));
  assert.equal(err.code, 14, `the client sees the connection drop (UNAVAILABLE): ${err.message}`);
  const exit = await g3.exited();
  assert.equal(exit.code, 3);
  assert.equal(g3.running(), false);
  assert.equal(g3.announced('Crash', 'boom'), 1, 'the call reached the server before it died');

  await g3.restart();
  assert.equal(g3.running(), true);
  assert.equal((await callPeer(client(g3), 'Whoami', {})).reply.server, 'g3');
  assert.deepEqual(await g3.stats('boom'), { calls: {}, total: 0 }, 'a new life counts from zero');
});

test('kill (SIGKILL) ends the process; a server on a taken port refuses to start', async () => {
  const g1 = peers[0]!;
  // tried: a second server on g1's port while g1 runs
  await assert.rejects(startGrpcPeer({ name: 'intruder', port: g1.port }), /exited with 2/);
  await g1.kill();
  assert.equal((await g1.exited()).signal, 'SIGKILL');
  assert.equal(g1.running(), false);
  const err = await failure(callPeer(client(g1), 'Whoami', {}, 1000));
  assert.ok(err.code === GrpcStatus.UNAVAILABLE || err.code === GrpcStatus.DEADLINE_EXCEEDED, `nothing answers on ${g1.address}: ${err.message}`);
});
