/**
 * The Dubbo client (pools + balancer + discovery) against two real Apache Dubbo providers: killed,
 * restarted and gracefully stopped ones, plus a garbage-speaking peer of our own.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer, type Server } from 'node:net';
import { FerryError } from '../../../src/errors/index.js';
import type { Endpoint, EndpointSource } from '../../../src/upstream/discovery/types.js';
import { createDubboClient, type DubboClient } from '../../../src/upstream/clients.js';
import { wasSent } from '../../../src/upstream/dubbo/errors.js';
import type { DubboEndpointPool, PoolHealth } from '../../../src/upstream/dubbo/pool.js';
import { startJavaProvider, type JavaProvider } from '../../support/java-provider.js';
import { freePort } from '../../support/ports.js';
import { decodeResult, pingBody, slowBody, whoamiBody } from '../../support/hessian-bodies.js';

let alpha: JavaProvider;
let beta: JavaProvider;
const clients: DubboClient[] = [];
const servers: Server[] = [];
const FAST_BACKOFF = { initialMs: 50, maxMs: 500 };

function client(endpoints: readonly string[] | EndpointSource, connectionsPerEndpoint = 1): DubboClient {
  const c = createDubboClient({ endpoints, connectionsPerEndpoint, backoff: FAST_BACKOFF });
  clients.push(c);
  return c;
}

function codeOf(err: unknown): string {
  return err instanceof FerryError ? err.code : `not a FerryError: ${String(err)}`;
}

function poolOf(c: DubboClient, id: string): DubboEndpointPool {
  const p = c.pools().find((x) => x.id === id);
  assert.ok(p, `pool ${id} exists`);
  return p;
}

async function whoami(c: DubboClient): Promise<{ endpoint: string; name: unknown }> {
  const r = await c.call(whoamiBody(), { timeoutMs: 10_000 });
  assert.equal(r.status, 20);
  return { endpoint: r.endpoint, name: decodeResult(r.body).value };
}

/** An EndpointSource whose list the test sets (discovery itself is tested elsewhere). */
function mutableSource(initial: string[]): EndpointSource & { set(ids: string[]): void } {
  let list: Endpoint[] = [];
  const listeners = new Set<(eps: readonly Endpoint[]) => void>();
  const toEndpoint = (id: string): Endpoint => {
    const [host, port] = id.split(':');
    return {
      id,
      host: host!,
      port: Number(port),
      protocol: 'dubbo',
      weight: 100,
      warmupStartMs: undefined,
      labels: {},
      cluster: 'default',
      priority: 0,
    };
  };
  list = initial.map(toEndpoint);
  return {
    current: () => list,
    subscribe(l) {
      listeners.add(l);
      return () => listeners.delete(l);
    },
    async close() {},
    set(ids) {
      list = ids.map(toEndpoint);
      for (const l of listeners) l(list);
    },
  };
}

before(async () => {
  [alpha, beta] = await Promise.all([startJavaProvider({ name: 'alpha' }), startJavaProvider({ name: 'beta' })]);
});

after(async () => {
  for (const c of clients) c.destroy();
  for (const s of servers) s.close();
  await Promise.all(clients.flatMap((c) => c.pools().map((p) => p.close(0))));
  await Promise.all([alpha?.stop(), beta?.stop()]);
});

test('two endpoints: calls spread over both, each reply names the endpoint that answered', async () => {
  const c = client([alpha.address, beta.address]);
  const seen = new Map<string, unknown>();
  for (let i = 0; i < 20; i++) {
    const { endpoint, name } = await whoami(c);
    seen.set(endpoint, name);
  }
  assert.deepEqual(Object.fromEntries(seen), { [alpha.address]: 'alpha', [beta.address]: 'beta' });
});

test('connections are opened lazily up to connectionsPerEndpoint (input: 3) under concurrent load', async () => {
  const c = client([alpha.address], 3);
  const pool = poolOf(c, alpha.address);
  await whoami(c);
  assert.equal(pool.connectionCount, 1, 'one connection after a single call');
  await Promise.all(Array.from({ length: 30 }, () => c.call(slowBody(100), { timeoutMs: 10_000 })));
  await Promise.all(Array.from({ length: 30 }, () => c.call(slowBody(100), { timeoutMs: 10_000 })));
  assert.equal(pool.connectionCount, 3);
  assert.equal(pool.pending(), 0);
});

test('a call that failed before it was written is retried once on another endpoint', async () => {
  const c = client([alpha.address, beta.address]);
  await Promise.all([whoami(c), whoami(c)]);
  assert.ok(c.pools().every((e) => e.available()));
  const call = c.call(whoamiBody(), { timeoutMs: 10_000 });
  // The frame is queued for this turn's write; kill its pool before the write happens.
  const first = c.pools().find((p) => p.pending() > 0);
  assert.ok(first, 'the call is pending on one pool');
  first.destroy();
  const reply = await call;
  assert.notEqual(reply.endpoint, first.id);
  assert.equal(decodeResult(reply.body).value, reply.endpoint === alpha.address ? 'alpha' : 'beta');
});

test('connect to a port nobody listens on → UNAVAILABLE (not sent) instead of waiting for the 30 s timeout', async () => {
  const port = await freePort();
  const c = client([`127.0.0.1:${port}`]);
  await assert.rejects(c.call(pingBody(), { timeoutMs: 30_000 }), (err: unknown) => {
    assert.equal(codeOf(err), 'FERRY_UPSTREAM_UNAVAILABLE');
    assert.equal(wasSent(err), false);
    assert.match((err as Error).message, new RegExp(`127\\.0\\.0\\.1:${port} down`));
    return true;
  });
});

test('no endpoints at all → UNAVAILABLE without touching the wire (input: empty list)', async () => {
  const c = client([]);
  await assert.rejects(
    c.call(pingBody(), { timeoutMs: 1000 }),
    (err: unknown) => codeOf(err) === 'FERRY_UPSTREAM_UNAVAILABLE' && wasSent(err) === false,
  );
});

test('a garbage-speaking endpoint fails its call with PROTOCOL_ERROR, leaves balancing, and the good endpoint keeps serving', async () => {
  const garbage = createServer((s) => {
    s.on('error', () => {});
    s.on('data', () => s.write('-ERR unknown command\r\n'));
  });
  servers.push(garbage);
  garbage.listen(0, '127.0.0.1');
  await once(garbage, 'listening');
  const gAddr = `127.0.0.1:${(garbage.address() as { port: number }).port}`;
  const c = client([gAddr, alpha.address]);
  let protocolErrors = 0;
  for (let i = 0; i < 10 && protocolErrors === 0; i++) {
    try {
      const r = await c.call(whoamiBody(), { timeoutMs: 10_000 });
      assert.equal(r.endpoint, alpha.address);
    } catch (err) {
      assert.equal(codeOf(err), 'FERRY_UPSTREAM_PROTOCOL_ERROR');
      assert.equal((err as FerryError).details.endpoint, gAddr);
      protocolErrors++;
    }
  }
  assert.equal(protocolErrors, 1, 'the garbage endpoint was tried and failed');
  const gPool = poolOf(c, gAddr);
  assert.equal(gPool.available(), false);
  for (let i = 0; i < 20; i++) assert.deepEqual(await whoami(c), { endpoint: alpha.address, name: 'alpha' });
  // Reconnects to the garbage peer are probed with a heartbeat and never count as up.
  await new Promise((r) => setTimeout(r, 400));
  assert.notEqual(gPool.health, 'up');
});

test('discovery: added endpoints get pools, removed ones leave balancing at once and drain their calls', async () => {
  const source = mutableSource([alpha.address]);
  const c = client(source);
  assert.equal((await whoami(c)).name, 'alpha');
  source.set([alpha.address, beta.address]);
  assert.deepEqual(
    c.pools().map((e) => e.id),
    [alpha.address, beta.address],
  );
  const names = new Set<unknown>();
  for (let i = 0; i < 20; i++) names.add((await whoami(c)).name);
  assert.deepEqual([...names].sort(), ['alpha', 'beta']);

  // A slow call in flight on alpha when alpha is removed still completes.
  const alphaPool = poolOf(c, alpha.address);
  const inFlight = alphaPool.call(slowBody(300), 10_000);
  source.set([beta.address]);
  assert.deepEqual(
    c.pools().map((e) => e.id),
    [beta.address],
  );
  for (let i = 0; i < 10; i++) assert.equal((await whoami(c)).name, 'beta');
  assert.equal(decodeResult((await inFlight).body).value, 'slept 300');
  await alphaPool.close();
  assert.equal(alphaPool.health, 'closed');
});

test(
  'provider killed (SIGKILL) with calls in flight → CONNECTION_LOST at once; then UNAVAILABLE; restarted on the same port → served again by the same client',
  { timeout: 45_000 },
  async () => {
    const c = client([alpha.address]);
    const pool = poolOf(c, alpha.address);
    await whoami(c);
    const health: PoolHealth[] = [];
    pool.on('health', (to) => health.push(to));
    // Outcomes are captured at once so that a rejection is never left unhandled.
    const inFlight = Array.from({ length: 3 }, () =>
      c.call(slowBody(20_000), { timeoutMs: 60_000 }).then(
        () => 'resolved',
        (err: unknown) => err,
      ),
    );
    await new Promise((r) => setTimeout(r, 100)); // let the requests reach the provider
    await alpha.kill();
    for (const err of await Promise.all(inFlight)) {
      assert.equal(codeOf(err), 'FERRY_UPSTREAM_CONNECTION_LOST');
      assert.equal(wasSent(err), true);
    }
    assert.equal(pool.available(), false);
    await assert.rejects(c.call(pingBody(), { timeoutMs: 5000 }), (err: unknown) => {
      assert.equal(codeOf(err), 'FERRY_UPSTREAM_UNAVAILABLE');
      assert.equal(wasSent(err), false);
      return true;
    });

    const up = once(pool, 'up');
    await alpha.restart();
    await up;
    assert.deepEqual(await whoami(c), { endpoint: alpha.address, name: 'alpha' });
    assert.equal(health[0], 'down');
    assert.equal(health.at(-1), 'up');
  },
);

test('graceful stop (SIGTERM): the read-only event takes the endpoint out of balancing before the socket closes', { timeout: 30_000 }, async () => {
  const c = client([beta.address]);
  const pool = poolOf(c, beta.address);
  await whoami(c);
  const health: PoolHealth[] = [];
  let availableAtReadonly: boolean | undefined;
  pool.on('health', (to) => health.push(to));
  pool.on('readonly', () => (availableAtReadonly = pool.available()));
  const inFlight = c.call(slowBody(500), { timeoutMs: 10_000 }).then(
    (r) => decodeResult(r.body).value,
    (err: unknown) => err,
  );
  await new Promise((r) => setTimeout(r, 50)); // the request reaches the provider first
  const stopped = beta.stop();
  await once(pool, 'readonly');
  assert.equal(availableAtReadonly, false);
  await assert.rejects(
    c.call(pingBody(), { timeoutMs: 5000 }),
    (err: unknown) => codeOf(err) === 'FERRY_UPSTREAM_UNAVAILABLE' && wasSent(err) === false,
  );
  assert.equal(await inFlight, 'slept 500', 'the call in flight completed during the graceful shutdown');
  await stopped;
  if (pool.health !== 'down') await once(pool, 'down');
  assert.deepEqual(health.slice(0, 2), ['readonly', 'down']);
});
