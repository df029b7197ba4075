/**
 * Issue 13: one retry policy, counted on the servers. A failing call makes at most 1 + `retries`
 * attempts (the service's `retries`, default 1, or the route's), and only an idempotent call that
 * reached a server is sent again; an answer from the server (a gRPC status such as
 * FAILED_PRECONDITION) is never retried. (Before issue 13, Dubbo alone retried, in two places, so
 * one request could make up to four attempts.)
 *
 * Peers: three Python grpcio servers (ferry.peer.v1.Peer). Attempts are counted where they land:
 * - Crash: the server announces the call on stdout, then its process exits without answering
 *   (the request reached the wire and the connection drops). Each attempt kills one server, so
 *   attempts = servers that died, each having announced the tagged call.
 * - Fail: the server answers the gRPC status asked for and counts the call (Stats).
 * Round-robin, static endpoints; Ferry in-process over HTTP.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { startGrpcPeers, type GrpcPeer } from '../support/grpc-peer.js';
import { startTestFerry, type TestFerry } from '../support/ferry.js';
import { call, PEER_PROTO, PEER_SERVICE, sequential, tally, untilServedByAll } from '../support/peer-traffic.js';

const NAMES = ['g1', 'g2', 'g3'];

const mapping = (peers: readonly GrpcPeer[]): string => `
services:
  echo:
    protocol: grpc
    proto: ${PEER_PROTO}
    service: ${PEER_SERVICE}
    endpoints: [${peers.map((p) => p.address).join(', ')}]
    timeout: 5s
    balance: round-robin
    retries: 1

routes:
  - id: crash-once
    http: POST /crash/once
    call: echo.Crash
    body: "*"
    idempotent: false
  - id: crash-retried
    http: POST /crash/retried
    call: echo.Crash
    body: "*"
    idempotent: true
  - id: crash-retried-twice
    http: POST /crash/retried-twice
    call: echo.Crash
    body: "*"
    idempotent: true
    retries: 2
  - id: crash-not-retried
    http: POST /crash/not-retried
    call: echo.Crash
    body: "*"
    idempotent: true
    retries: 0
  - id: fail-retried
    http: GET /fail/retried/{code}
    call: echo.Fail
    idempotent: true
    retries: 2
  - id: fail-once
    http: GET /fail/once/{code}
    call: echo.Fail
    idempotent: false
    retries: 2
`;

async function startFerryFor(peers: readonly GrpcPeer[]): Promise<TestFerry> {
  const ferry = await startTestFerry({ withoutSamples: true, extra: { 'attempts.yaml': mapping(peers) } });
  try {
    await untilServedByAll(NAMES, () => call(ferry.base, 'GET', '/v1/peer/whoami?tag=warm-up'));
  } catch (err) {
    await ferry.close();
    throw err;
  }
  return ferry;
}

/**
 * Which servers a tagged Crash call reached: a server that answers Stats is alive and must not
 * have counted the tag; one that does not must have exited after announcing it.
 */
async function crashedBy(peers: readonly GrpcPeer[], tag: string): Promise<string[]> {
  const died: string[] = [];
  for (const p of peers) {
    let alive = true;
    try {
      const s = await p.stats(tag);
      assert.deepEqual(s.calls, {}, `${p.name} is alive, so it never received Crash ${tag}`);
    } catch (err) {
      if (err instanceof assert.AssertionError) throw err;
      alive = false;
    }
    if (alive) continue;
    const exit = await p.exited();
    assert.equal(exit.code, 3, `${p.name} exited through Crash (status 3), not otherwise: ${JSON.stringify(exit)}`);
    assert.equal(p.announced('Crash', tag), 1, `${p.name} died after announcing Crash ${tag} once`);
    died.push(p.name);
  }
  return died;
}

describe('attempts on servers that die mid-call (Crash), three fresh servers per case', () => {
  const cases: Array<{ route: string; what: string; attempts: number }> = [
    { route: '/crash/once', what: 'idempotent: false', attempts: 1 },
    { route: '/crash/not-retried', what: 'idempotent: true, route retries: 0', attempts: 1 },
    { route: '/crash/retried', what: 'idempotent: true, service retries: 1', attempts: 2 },
    { route: '/crash/retried-twice', what: 'idempotent: true, route retries: 2', attempts: 3 },
  ];
  for (const c of cases) {
    test(`POST ${c.route} (${c.what}) reaches exactly ${c.attempts} server(s) of 3`, async () => {
      const peers = await startGrpcPeers(NAMES);
      let ferry: TestFerry | undefined;
      try {
        ferry = await startFerryFor(peers);
        const tag = `crash-${c.route.split('/').pop()}`;
        // tried: one POST with body {"tag": ...}; every server it reaches dies without answering
        const r = await call(ferry.base, 'POST', c.route, { tag });
        assert.ok(
          r.code === 'FERRY_UPSTREAM_CONNECTION_LOST' || r.code === 'FERRY_UPSTREAM_UNAVAILABLE',
          `a call whose every attempt lost its connection fails as such: ${r.text}`,
        );
        const died = await crashedBy(peers, tag);
        console.log(`POST ${c.route} (${c.what}): reached ${died.length} server(s): ${died.join(', ')}`);
        assert.equal(died.length, c.attempts, `attempts = 1 + retries (${c.what}); servers reached: ${died.join(', ')}`);
      } finally {
        await ferry?.close();
        await Promise.all(peers.map((p) => p.kill()));
      }
    });
  }
});

describe('attempts on servers that answer a failure (Fail)', () => {
  let peers: GrpcPeer[] = [];
  let ferry: TestFerry;

  before(async () => {
    peers = await startGrpcPeers(NAMES);
    ferry = await startFerryFor(peers);
  });

  after(async () => {
    await ferry?.close();
    await Promise.all(peers.map((p) => p.kill()));
  });

  async function attempts(tag: string): Promise<Record<string, number>> {
    const out: Record<string, number> = {};
    for (const p of peers) {
      // A killed server cannot answer Stats; what it announced before it exited is complete.
      const n = p.running() ? ((await p.stats(tag)).calls['Fail'] ?? 0) : p.announced('Fail', tag);
      if (n > 0) out[p.name] = n;
    }
    return out;
  }
  const sum = (t: Record<string, number>): number => Object.values(t).reduce((a, b) => a + b, 0);

  test('an answer is never retried: GET /fail/retried/9 (FAILED_PRECONDITION, idempotent, retries: 2) → 1 attempt, 400', async () => {
    // tried: 3 calls, one after the other
    for (let i = 0; i < 3; i++) {
      const tag = `answer-${i}`;
      const r = await call(ferry.base, 'GET', `/fail/retried/9?tag=${tag}`);
      assert.equal(r.status, 400, r.text);
      assert.equal(r.code, 'FERRY_UPSTREAM_STATUS');
      assert.equal(r.json.upstreamStatusName, 'FAILED_PRECONDITION');
      assert.equal(sum(await attempts(tag)), 1, `GET /fail/retried/9 #${i}: ${JSON.stringify(await attempts(tag))}`);
    }
  });

  test('UNAVAILABLE answered by the server, idempotent, retries: 2 → at most 3 attempts, each on another server', async () => {
    // tried: GET /fail/retried/14, 3 times
    for (let i = 0; i < 3; i++) {
      const tag = `unavailable-idem-${i}`;
      const r = await call(ferry.base, 'GET', `/fail/retried/14?tag=${tag}`);
      // The server answered with a status (UNAVAILABLE → 503 in the gRPC→HTTP table); no
      // connection was lost, so FERRY_UPSTREAM_CONNECTION_LOST (502) would misreport it.
      assert.equal(r.status, 503, r.text);
      const t = await attempts(tag);
      console.log(`GET /fail/retried/14 #${i} (idempotent, retries 2): attempts by server ${JSON.stringify(t)}`);
      assert.ok(sum(t) >= 1 && sum(t) <= 3, `1 + retries = 3 at most: ${JSON.stringify(t)}`);
      assert.ok(
        Object.values(t).every((n) => n === 1),
        `a retry goes to another server: ${JSON.stringify(t)}`,
      );
    }
  });

  test('UNAVAILABLE answered by the server to a non-idempotent call → exactly 1 attempt (it reached the server)', async () => {
    // tried: GET /fail/once/14 (idempotent: false, retries: 2), 3 times
    for (let i = 0; i < 3; i++) {
      const tag = `unavailable-once-${i}`;
      const r = await call(ferry.base, 'GET', `/fail/once/14?tag=${tag}`);
      assert.equal(r.status, 503, r.text);
      assert.equal(sum(await attempts(tag)), 1, `GET /fail/once/14 #${i}: ${JSON.stringify(await attempts(tag))}`);
    }
  });

  test('with one server dead, each non-idempotent call still reaches exactly one live server', async () => {
    const g3 = peers.find((p) => p.name === 'g3')!;
    await g3.kill();
    // tried: 12 sequential GET /fail/once/9 (idempotent: false) after g3 exited. A call that picks
    // g3 fails before reaching any server, so it is sent elsewhere; none is sent twice.
    const replies = await sequential(12, (i) => call(ferry.base, 'GET', `/fail/once/9?tag=dead-g3-${i}`));
    console.log(`12 non-idempotent calls with g3 dead: ${JSON.stringify(tally(replies))}`);
    for (let i = 0; i < replies.length; i++) {
      assert.equal(replies[i]!.status, 400, `call ${i} was answered by a live server: ${replies[i]!.text}`);
      const t = await attempts(`dead-g3-${i}`);
      assert.equal(sum(t), 1, `call ${i}: ${JSON.stringify(t)}`);
      assert.ok(!('g3' in t));
    }
  });
});
