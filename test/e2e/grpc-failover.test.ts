/**
 * Issue 13: failover and outlier ejection for a gRPC service, end to end, as
 * test/e2e/dubbo-failover.test.ts and test/e2e/discovery-zookeeper.test.ts prove them for Dubbo.
 * Three Python grpcio servers (ferry.peer.v1.Peer) on static endpoints, a fresh set per test
 * (tests kill them); Ferry in-process over HTTP, round-robin over per-endpoint channels.
 *
 * The rule under test: a call that never reached a server (refused connection, dead channel) is
 * always sent to another one; a call that did reach it (in flight when the server died, or timed
 * out) is sent again only when the route is `idempotent: true`. Each server announces every call
 * it receives on its stdout before handling it, so "reached the server" is observed on the server,
 * even on one that was killed.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { performance } from 'node:perf_hooks';
import { startGrpcPeers, type GrpcPeer } from '../support/grpc-peer.js';
import { startTestFerry, type TestFerry } from '../support/ferry.js';
import { call, metricSample, PEER_PROTO, PEER_SERVICE, sequential, tally, until, untilServedByAll, type Reply } from '../support/peer-traffic.js';

const NAMES = ['g1', 'g2', 'g3'];

const mapping = (peers: readonly GrpcPeer[]): string => `
services:
  echo:
    protocol: grpc
    proto: ${PEER_PROTO}
    service: ${PEER_SERVICE}
    endpoints: [${peers.map((p) => p.address).join(', ')}]
    timeout: 5s
    pool: { connections: 2 }
    balance: round-robin

routes:
  - id: once-slow
    http: GET /once/slow/{millis}
    call: echo.Slow
    idempotent: false
  - id: retried-slow
    http: GET /retried/slow/{millis}
    call: echo.Slow
    idempotent: true
  - id: once-whoami
    http: GET /once/whoami
    call: echo.Whoami
    idempotent: false
    timeout: 400ms
`;

interface Rig {
  readonly peers: GrpcPeer[];
  readonly ferry: TestFerry;
  byName(name: string | undefined): GrpcPeer;
}

/** Three fresh servers and a Ferry in front of them, warmed up; both stopped afterwards. */
async function withRig(run: (rig: Rig) => Promise<void>): Promise<void> {
  const peers = await startGrpcPeers(NAMES);
  let ferry: TestFerry | undefined;
  try {
    ferry = await startTestFerry({ withoutSamples: true, adminPort: 0, extra: { 'failover.yaml': mapping(peers) } });
    const f = ferry;
    await untilServedByAll(NAMES, () => call(f.base, 'GET', '/once/whoami?tag=warm-up'));
    await run({
      peers,
      ferry,
      byName(name) {
        const p = peers.find((x) => x.name === name);
        assert.ok(p, `no peer named ${name}`);
        return p;
      },
    });
  } finally {
    await ferry?.close();
    await Promise.all(peers.map((p) => p.kill()));
  }
}

/** Starts `pathname` (tagged), waits until some server has received it, kills that server. */
async function killWhereItLands(rig: Rig, pathname: string, tag: string): Promise<{ reply: Reply; killed: GrpcPeer }> {
  const pending = call(rig.ferry.base, 'GET', `${pathname}?tag=${tag}`);
  const killed = await Promise.any(rig.peers.map((p) => p.waitForCall('Slow', tag, 10_000).then(() => p)));
  await killed.kill();
  return { reply: await pending, killed };
}

const CONNECTION_FAILURES = ['FERRY_UPSTREAM_CONNECTION_LOST', 'FERRY_UPSTREAM_UNAVAILABLE'];

test('a non-idempotent call in flight on a killed server fails and is not sent again; later calls avoid the dead server', async () => {
  await withRig(async (rig) => {
    // tried: GET /once/slow/3000 (idempotent: false); SIGKILL of the server it reached
    const { reply, killed } = await killWhereItLands(rig, '/once/slow/3000', 'inflight-once');
    assert.ok(CONNECTION_FAILURES.includes(reply.code!), `the call in flight fails as a lost connection: ${reply.text}`);
    assert.ok(reply.status === 502 || reply.status === 503, reply.text);
    assert.equal(killed.announced('Slow', 'inflight-once'), 1);
    for (const p of rig.peers.filter((x) => x !== killed)) {
      assert.deepEqual(await p.stats('inflight-once'), { calls: {}, total: 0 }, `${p.name} never saw the call: it was not sent again`);
    }

    // tried: 30 sequential GET /once/whoami (idempotent: false) after the killed server exited.
    // A call that picks the dead endpoint fails before reaching any server, so it may go elsewhere.
    const after = await sequential(30, () => call(rig.ferry.base, 'GET', '/once/whoami?tag=after-kill'));
    console.log(`30 non-idempotent calls after ${killed.name} was killed: ${JSON.stringify(tally(after))}`);
    const failedAfter = after.filter((r) => r.status !== 200);
    assert.equal(failedAfter.length, 0, `no call started after the kill failed: ${JSON.stringify(tally(after))}; first: ${failedAfter[0]?.text}`);
    assert.ok(after.every((r) => r.server !== killed.name));
    const live = rig.peers.filter((x) => x !== killed).map((p) => p.name);
    assert.ok(
      live.every((n) => after.some((r) => r.server === n)),
      `both live servers serve: ${JSON.stringify(tally(after))}`,
    );
  });
});

test('an idempotent call in flight on a killed server is sent once more, to another server, and succeeds', async () => {
  await withRig(async (rig) => {
    // tried: GET /retried/slow/1500 (idempotent: true); SIGKILL of the server it reached
    const { reply, killed } = await killWhereItLands(rig, '/retried/slow/1500', 'inflight-retried');
    assert.equal(reply.status, 200, `the idempotent call is rescued: ${reply.text}`);
    assert.notEqual(reply.server, killed.name);
    assert.equal(reply.bodyServer, reply.server);
    assert.equal(killed.announced('Slow', 'inflight-retried'), 1);
    const elsewhere = await Promise.all(
      rig.peers.filter((x) => x !== killed).map(async (p) => (await p.stats('inflight-retried')).calls['Slow'] ?? 0),
    );
    assert.equal(
      elsewhere.reduce((a, b) => a + b, 0),
      1,
      'exactly one more attempt, on a live server',
    );
  });
});

test('a server killed (SIGKILL) under bounded load costs only the calls in flight on it', async () => {
  await withRig(async (rig) => {
    const g1 = rig.byName('g1');
    const total = 160;
    const concurrency = 4;
    interface Timed extends Reply {
      startedAt: number;
      endedAt: number;
    }
    // tried: 160 non-idempotent calls from 4 workers, alternately GET /once/slow/40 and GET
    // /once/whoami; SIGKILL g1 once 40 calls have completed.
    const outcomes: Timed[] = [];
    let issued = 0;
    let killSentAt = Infinity;
    let exitedAt = Infinity;
    let killing: Promise<void> | undefined;
    await Promise.all(
      Array.from({ length: concurrency }, async () => {
        while (issued < total) {
          const i = issued++;
          const startedAt = performance.now();
          const r = await call(rig.ferry.base, 'GET', i % 2 === 0 ? '/once/slow/40?tag=load' : '/once/whoami?tag=load');
          outcomes.push({ ...r, startedAt, endedAt: performance.now() });
          if (outcomes.length === 40 && killing === undefined) {
            killSentAt = performance.now();
            killing = g1.kill().then(() => {
              exitedAt = performance.now();
            });
          }
        }
      }),
    );
    await killing;
    assert.equal(outcomes.length, total);
    const inFlightAtKill = outcomes.filter((o) => o.startedAt <= exitedAt && o.endedAt >= killSentAt).length;
    const failed = outcomes.filter((o) => o.status !== 200);
    console.log(
      `kill -9 g1 under ${total} calls, ${concurrency} concurrent: ${JSON.stringify(tally(outcomes))}; ` +
        `in flight during the kill: ${inFlightAtKill}; failed: ${failed.length}`,
    );
    assert.ok(failed.length <= inFlightAtKill, `failed ${failed.length} > in flight during the kill ${inFlightAtKill}`);
    for (const f of failed) {
      assert.ok(f.startedAt <= exitedAt, `a call started after g1 had exited failed: ${f.text}`);
      assert.ok(CONNECTION_FAILURES.includes(f.code!), `a kill costs connection failures only: ${f.text}`);
      for (const m of f.detail?.matchAll(/127\.0\.0\.1:(\d+)/g) ?? [])
        assert.equal(Number(m[1]), g1.port, `a failure named another server: ${f.detail}`);
    }
    assert.ok(
      outcomes.some((o) => o.server === 'g1' && o.startedAt < killSentAt),
      'g1 served before the kill',
    );
    const afterExit = outcomes.filter((o) => o.startedAt > exitedAt);
    assert.ok(afterExit.length >= 40, `${afterExit.length} calls after g1 exited`);
    assert.ok(
      afterExit.every((o) => o.status === 200 && o.server !== 'g1'),
      `after the kill: ${JSON.stringify(tally(afterExit))}`,
    );
    const t = tally(afterExit);
    assert.ok((t['g2'] ?? 0) > 0 && (t['g3'] ?? 0) > 0, `traffic moved to both g2 and g3: ${JSON.stringify(t)}`);
  });
});

test('a server whose calls time out is ejected after 5 in a row, /metrics shows it, and it is let back in once well', async () => {
  await withRig(async (rig) => {
    const g3 = rig.byName('g3');
    const admin = rig.ferry.adminPort!;
    const labels = { service: 'echo', endpoint: g3.address };
    // tried: g3 answers Whoami after 1.5 s; the route's timeout is 400 ms (idempotent: false, so a
    // timed-out call is not sent again); 30 sequential GET /once/whoami, round-robin.
    await g3.configure({ delayMs: 1500 });
    const replies = await sequential(30, () => call(rig.ferry.base, 'GET', '/once/whoami?tag=eject'));
    const failed = replies.filter((r) => r.status !== 200);
    console.log(`30 calls with g3 timing out: ${JSON.stringify(tally(replies))}`);
    assert.ok(
      failed.every((r) => r.status === 504 && r.code === 'FERRY_UPSTREAM_TIMEOUT'),
      JSON.stringify(tally(failed)),
    );
    // The outlier detector ejects after 5 consecutive failures (its default, as for Dubbo).
    assert.equal(failed.length, 5, `calls that reached g3 before it was ejected: ${JSON.stringify(tally(replies))}`);
    assert.equal((await g3.stats('eject')).calls['Whoami'], 5, 'g3 received exactly the 5 calls that timed out');
    const lastFailure = replies.lastIndexOf(failed[failed.length - 1]!);
    assert.ok(
      replies.slice(lastFailure + 1).every((r) => r.status === 200 && r.server !== 'g3'),
      'no call reached g3 once it was ejected',
    );
    const t = tally(replies);
    assert.ok((t['g1'] ?? 0) > 0 && (t['g2'] ?? 0) > 0);

    assert.equal(await metricSample(admin, 'ferry_upstream_ejected', labels), 1, 'ferry_upstream_ejected{endpoint=g3} is 1');
    assert.equal(await metricSample(admin, 'ferry_upstream_ejections_total', labels), 1, 'one ejection counted for g3');
    for (const p of [rig.byName('g1'), rig.byName('g2')]) {
      assert.equal(await metricSample(admin, 'ferry_upstream_ejected', { service: 'echo', endpoint: p.address }), 0, `${p.name} is not ejected`);
    }

    // tried: g3 answers at once again; calls every 200 ms until it serves (the first ejection lasts 10 s).
    await g3.configure({});
    let back: Reply | undefined;
    await until(
      'g3 let back in after its ejection',
      async () => {
        back = await call(rig.ferry.base, 'GET', '/once/whoami?tag=readmit');
        assert.ok(back.status === 200, `while g3 is ejected the others serve: ${back.text}`);
        return back.server === 'g3';
      },
      40_000,
      200,
    );
    assert.equal(await metricSample(admin, 'ferry_upstream_ejected', labels), 0, 'ferry_upstream_ejected{endpoint=g3} back to 0');
  });
});
