/**
 * Issue 13: Ferry's own balancers and both stickiness forms for a gRPC service, end to end. Three
 * Python grpcio servers (samples/grpc-python, ferry.peer.v1.Peer) on static endpoints; Ferry runs
 * in-process (startTestFerry) with one service per test, over HTTP. Each reply names the server
 * that answered (`served-by` initial metadata → HTTP header `grpc-metadata-served-by`, and the
 * reply's `server` field), and each server counts the calls it received (Stats), so every spread
 * below is checked on the servers as well as on the replies.
 *
 * These are the Dubbo balancing/stickiness tests (test/e2e/sticky-*.test.ts,
 * test/e2e/discovery-zookeeper.test.ts, test/upstream/balance/*) rerun for gRPC: same spreads, same
 * forged-cookie refusals.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { startGrpcPeers, type GrpcPeer } from '../support/grpc-peer.js';
import { startTestFerry, type TestFerry, type TestFerryOptions } from '../support/ferry.js';
import { call, metricSample, PEER_PROTO, PEER_SERVICE, sequential, tally, untilServedByAll, type Reply } from '../support/peer-traffic.js';
import { createStickyCookie } from '../../src/upstream/balance/sticky-cookie.js';
import { assignKeys } from '../../src/upstream/balance/consistent-hash.js';

const KEY = 'grpc-balancing-key-0123456789';
const OTHER_KEY = 'some-other-gateway-key-987654';
const COOKIE = 'ferry-affinity';

let peers: GrpcPeer[] = [];
const NAMES = ['g1', 'g2', 'g3'];

before(async () => {
  peers = await startGrpcPeers(NAMES);
});

after(async () => {
  await Promise.all(peers.map((p) => p.kill()));
});

const byName = (name: string | undefined): GrpcPeer => {
  const p = peers.find((x) => x.name === name);
  assert.ok(p, `no peer named ${name}`);
  return p;
};

/** The one mapping of a test: service `echo` over the three servers, plus `extra` service keys. */
function mapping(extra: string, routes = ''): string {
  return `
services:
  echo:
    protocol: grpc
    proto: ${PEER_PROTO}
    service: ${PEER_SERVICE}
    endpoints: [${peers.map((p) => p.address).join(', ')}]
    timeout: 5s
    pool: { connections: 2 }
${extra
  .trim()
  .split('\n')
  .map((l) => `    ${l}`)
  .join('\n')}
${routes === '' ? '' : `routes:\n${routes}`}
`;
}

async function withFerry(yaml: string, opts: TestFerryOptions, run: (ferry: TestFerry) => Promise<void>): Promise<void> {
  const ferry = await startTestFerry({ withoutSamples: true, ...opts, extra: { 'peer.yaml': yaml } });
  try {
    await run(ferry);
  } finally {
    await ferry.close();
  }
}

/** GET /v1/peer/whoami (route derived from peer.proto's google.api.http option; GET: idempotent). */
const whoami = (ferry: TestFerry, tag: string, headers: Record<string, string> = {}): Promise<Reply> =>
  call(ferry.base, 'GET', `/v1/peer/whoami?tag=${encodeURIComponent(tag)}`, undefined, headers);

/** Every reply was a 200 whose served-by header and body agree. */
function assertServed(replies: readonly Reply[], what: string): void {
  for (const r of replies) {
    assert.equal(r.status, 200, `${what}: ${r.text}`);
    assert.ok(r.server !== undefined && NAMES.includes(r.server), `${what}: served-by names a server: ${r.server}`);
    assert.equal(r.bodyServer, r.server, `${what}: served-by metadata and the reply agree`);
  }
}

/** Whoami calls each server counted for `tag`. */
async function countedOnServers(tag: string): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const p of peers) out[p.name] = (await p.stats(tag)).calls['Whoami'] ?? 0;
  return out;
}

test('round-robin: 30 sequential GET /v1/peer/whoami over 3 servers → 10 each, in rotation, counted on the servers', async () => {
  await withFerry(mapping('balance: round-robin'), { adminPort: 0 }, async (ferry) => {
    await untilServedByAll(NAMES, () => whoami(ferry, 'rr-warm-up'));
    // tried: 30 sequential calls tagged rr
    const replies = await sequential(30, () => whoami(ferry, 'rr'));
    assertServed(replies, 'GET /v1/peer/whoami');
    console.log(`round-robin, 30 sequential calls: ${JSON.stringify(tally(replies))}`);
    assert.deepEqual(tally(replies), { g1: 10, g2: 10, g3: 10 });
    for (let i = 0; i + 3 <= replies.length; i++) {
      const window = new Set(replies.slice(i, i + 3).map((r) => r.server));
      assert.equal(window.size, 3, `calls ${i}..${i + 2} each went to another server: ${replies.map((r) => r.server).join(',')}`);
    }
    assert.deepEqual(await countedOnServers('rr'), { g1: 10, g2: 10, g3: 10 }, 'the servers received exactly the calls that were answered');

    // Per-endpoint pool metrics exist for gRPC as for Dubbo: channels per endpoint within the pool size.
    for (const p of peers) {
      const channels = await metricSample(ferry.adminPort!, 'ferry_upstream_connections', { service: 'echo', endpoint: p.address });
      assert.ok(channels !== undefined && channels >= 1 && channels <= 2, `ferry_upstream_connections for ${p.address}: ${channels}`);
      assert.equal(await metricSample(ferry.adminPort!, 'ferry_upstream_ejected', { service: 'echo', endpoint: p.address }), 0);
    }
  });
});

test('least-pending (the default): 6 concurrent GET /v1/peer/slow/1500 → 2 on each server; sequential calls rotate over all', async () => {
  await withFerry(mapping(''), {}, async (ferry) => {
    await untilServedByAll(NAMES, () => whoami(ferry, 'lp-warm-up'));
    // tried: 6 slow calls (1.5 s each) sent at once, tagged lp-slow
    const concurrent = await Promise.all(Array.from({ length: 6 }, () => call(ferry.base, 'GET', '/v1/peer/slow/1500?tag=lp-slow')));
    assertServed(concurrent, 'GET /v1/peer/slow/1500');
    console.log(`least-pending, 6 concurrent slow calls: ${JSON.stringify(tally(concurrent))}`);
    assert.deepEqual(tally(concurrent), { g1: 2, g2: 2, g3: 2 }, 'each new call went to a server with the fewest calls pending');
    for (const p of peers) assert.equal((await p.stats('lp-slow')).calls['Slow'], 2);

    // tried: 30 sequential calls; with nothing pending, ties rotate (as for Dubbo).
    const replies = await sequential(30, () => whoami(ferry, 'lp'));
    assertServed(replies, 'GET /v1/peer/whoami');
    const t = tally(replies);
    console.log(`least-pending, 30 sequential calls: ${JSON.stringify(t)}`);
    for (const n of NAMES) assert.ok((t[n] ?? 0) >= 5, `${n} served ${t[n] ?? 0} of 30 sequential calls`);

    // tried: g1 answers Whoami after 300 ms, g2 and g3 at once; 60 calls from 3 concurrent workers.
    // Least-pending sends new calls to the idle servers while g1 still holds one; round-robin
    // would give g1 exactly 20.
    await byName('g1').configure({ delayMs: 300 });
    try {
      const loaded: Reply[] = [];
      let issued = 0;
      await Promise.all(
        Array.from({ length: 3 }, async () => {
          while (issued < 60) {
            issued++;
            loaded.push(await whoami(ferry, 'lp-slow-g1'));
          }
        }),
      );
      assertServed(loaded, 'GET /v1/peer/whoami with g1 slow');
      const lt = tally(loaded);
      console.log(`least-pending, 60 calls from 3 workers, g1 slow (300 ms): ${JSON.stringify(lt)}`);
      assert.ok((lt['g1'] ?? 0) <= 10, `the slow server got ${lt['g1']} of 60 calls (round-robin would give 20)`);
      assert.ok((lt['g2'] ?? 0) > 0 && (lt['g3'] ?? 0) > 0);
    } finally {
      await byName('g1').configure({});
    }
  });
});

test('consistent-hash on header.x-user-id: 300 ids × 3 calls → one server per id, the Maglev table over the 3 endpoints, spread evenly', async () => {
  await withFerry(mapping('balance: consistent-hash\nsticky: { hash: header.x-user-id }'), {}, async (ferry) => {
    await untilServedByAll(NAMES, () => whoami(ferry, 'ch-warm-up', { 'x-user-id': `warm-${Math.random()}` }));
    const users = Array.from({ length: 300 }, (_, i) => `user-${(i * 7919).toString(36)}-${i}`);
    const predicted = assignKeys(
      'maglev',
      peers.map((p) => ({ id: p.address, weight: 100 })),
      users,
    );
    const counts: Record<string, number> = {};
    // tried: each of 300 user ids three times, interleaved (id 0,1,…,299, then again, then again)
    const first = new Map<string, string>();
    for (let round = 0; round < 3; round++) {
      for (let i = 0; i < users.length; i++) {
        const r = await whoami(ferry, 'ch', { 'x-user-id': users[i]! });
        assertServed([r], `GET /v1/peer/whoami with x-user-id ${users[i]}`);
        assert.equal(r.setCookie, null, 'hash stickiness sets no cookie');
        if (round === 0) {
          first.set(users[i]!, r.server!);
          counts[r.server!] = (counts[r.server!] ?? 0) + 1;
          assert.equal(byName(r.server).address, predicted[i], `x-user-id ${users[i]} lands where the Maglev table puts it`);
        } else {
          assert.equal(r.server, first.get(users[i]!), `x-user-id ${users[i]} stays on one server (round ${round + 1})`);
        }
      }
    }
    console.log(`300 user ids over 3 gRPC servers (hash on x-user-id): ${JSON.stringify(counts)}`);
    for (const n of NAMES) assert.ok((counts[n] ?? 0) >= 70 && (counts[n] ?? 0) <= 130, `${n} has ${counts[n]} of 300 ids (even: 100)`);
    assert.deepEqual(
      await countedOnServers('ch'),
      Object.fromEntries(NAMES.map((n) => [n, (counts[n] ?? 0) * 3])),
      'the servers received exactly those calls',
    );
    // Without the header the call is still served (least-pending fallback).
    assertServed([await whoami(ferry, 'ch-no-key')], 'GET /v1/peer/whoami without x-user-id');
  });
});

describe('cookie stickiness (sticky: { cookie: ferry-affinity }, round-robin for new sessions)', () => {
  let ferry: TestFerry;
  const cookieFor = (keys = [KEY], service = 'echo') => createStickyCookie({ name: COOKIE, keys, service });
  /** The endpoint a cookie names, as a holder of KEY reads it (undefined: not valid). */
  const endpointIn = (pair: string): string | undefined => cookieFor().read(pair);

  before(async () => {
    ferry = await startTestFerry({
      withoutSamples: true,
      stickyKeys: [KEY],
      extra: { 'peer.yaml': mapping(`balance: round-robin\nsticky: { cookie: ${COOKIE} }`) },
    });
    await untilServedByAll(NAMES, () => whoami(ferry, 'cookie-warm-up'));
  });

  after(async () => {
    await ferry?.close();
  });

  /** `name=value` of a Set-Cookie header, after checking its attributes. */
  function cookiePair(setCookie: string | null): string {
    assert.ok(setCookie, 'a cookie was issued');
    assert.match(setCookie, new RegExp(`^${COOKIE}=v1\\.`));
    assert.match(setCookie, /; Path=\//);
    assert.match(setCookie, /; HttpOnly/);
    assert.match(setCookie, /; SameSite=Lax/);
    return setCookie.split(';')[0]!;
  }

  /** New sessions until one lands on `name` (bounded); its cookie. */
  async function sessionOn(name: string, tag: string): Promise<string> {
    for (let i = 0; i < 9; i++) {
      const r = await whoami(ferry, tag);
      assertServed([r], 'GET /v1/peer/whoami without a cookie');
      const pair = cookiePair(r.setCookie);
      assert.equal(endpointIn(pair), byName(r.server).address, 'the cookie names the server that served');
      if (r.server === name) return pair;
    }
    assert.fail(`no new session landed on ${name} in 9 tries`);
  }

  test('a session stays on the server its cookie names: one session per server, 12 calls each, no cookie re-issued', async () => {
    for (const name of NAMES) {
      const cookie = await sessionOn(name, 'pin-new');
      // tried: 12 calls with that cookie
      const replies = await sequential(12, () => whoami(ferry, `pin-${name}`, { cookie }));
      assertServed(replies, `GET /v1/peer/whoami with the cookie of ${name}`);
      assert.deepEqual(tally(replies), { [name]: 12 }, `session pinned to ${name}`);
      assert.ok(
        replies.every((r) => r.setCookie === null),
        'a valid cookie is not re-issued',
      );
      assert.equal((await byName(name).stats(`pin-${name}`)).calls['Whoami'], 12);
    }
  });

  test('a forged, foreign, tampered, expired or garbled cookie naming g3 is not honoured: 9 calls spread 3/3/3, each with a fresh cookie', async () => {
    const g3 = byName('g3').address;
    const b64 = (s: string): string => Buffer.from(s, 'utf8').toString('base64url');
    const genuineForG1 = await sessionOn('g1', 'forge-genuine');
    const [, g1Value] = genuineForG1.split('=') as [string, string];
    const g1Parts = g1Value.split('.');
    const forged: Array<[string, string]> = [
      ['signed with another key, naming g3', cookieFor([OTHER_KEY]).issue(g3)],
      [
        'genuine cookie for g1 with its endpoint swapped for g3 (signature kept)',
        `${COOKIE}=${[g1Parts[0], b64(g3), g1Parts[2], g1Parts[3]].join('.')}`,
      ],
      ['signed with the real key but for another service, naming g3', cookieFor([KEY], 'payments').issue(g3)],
      [
        'signed with the real key, naming g3, expired an hour ago',
        createStickyCookie({ name: COOKIE, keys: [KEY], service: 'echo', maxAgeSeconds: 60, now: () => Date.now() - 3_600_000 }).issue(g3),
      ],
      ['unsigned (three parts), naming g3', `${COOKIE}=v1.${b64(g3)}.0`],
      ['garbage signature, naming g3', `${COOKIE}=v1.${b64(g3)}.0.${'A'.repeat(43)}`],
      ['garbage', `${COOKIE}=garbage`],
    ].map(([what, setCookie]) => [what!, setCookie!.split(';')[0]!]);

    for (const [what, cookie] of forged) {
      assert.equal(endpointIn(cookie), undefined, `${what}: not valid under the key`);
      // tried: 9 sequential calls carrying the cookie
      const replies = await sequential(9, () => whoami(ferry, 'forged', { cookie }));
      assertServed(replies, `GET /v1/peer/whoami with a cookie ${what}`);
      assert.deepEqual(tally(replies), { g1: 3, g2: 3, g3: 3 }, `a cookie ${what} is ignored: round-robin as without a cookie`);
      for (const r of replies) {
        assert.equal(endpointIn(cookiePair(r.setCookie)), byName(r.server).address, `${what}: the fresh cookie names the serving server`);
      }
    }
  });

  test('a cookie naming a server that is not configured or was killed: served elsewhere, re-issued, and the new cookie sticks', async () => {
    // tried: a correctly signed cookie naming 127.0.0.1:1 (no such endpoint in the mapping)
    const stray = cookieFor().issue('127.0.0.1:1').split(';')[0]!;
    const r0 = await whoami(ferry, 'gone-stray', { cookie: stray });
    assertServed([r0], 'GET /v1/peer/whoami with a cookie naming 127.0.0.1:1');
    assert.equal(endpointIn(cookiePair(r0.setCookie)), byName(r0.server).address);

    // tried: a session pinned to g3, then g3 killed (SIGKILL) and the same cookie sent again
    const g3 = byName('g3');
    const old = await sessionOn('g3', 'gone-pin');
    await g3.kill();
    try {
      const moved = await whoami(ferry, 'gone-after', { cookie: old });
      assert.equal(moved.status, 200, `GET /v1/peer/whoami with g3's cookie after g3 was killed: ${moved.text}`);
      assert.ok(moved.server === 'g1' || moved.server === 'g2', `served by a live server: ${moved.server}`);
      const fresh = cookiePair(moved.setCookie);
      assert.notEqual(fresh, old, 'the cookie was re-issued');
      assert.equal(endpointIn(fresh), byName(moved.server).address);
      const replies = await sequential(10, () => whoami(ferry, 'gone-fresh', { cookie: fresh }));
      assertServed(replies, 'GET /v1/peer/whoami with the re-issued cookie');
      assert.deepEqual(tally(replies), { [moved.server]: 10 }, 'the re-issued cookie sticks');
      assert.ok(
        replies.every((r) => r.setCookie === null),
        'and is not re-issued again',
      );
    } finally {
      await g3.restart();
    }
  });
});
