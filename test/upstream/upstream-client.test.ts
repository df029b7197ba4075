/**
 * The protocol-neutral upstream client over in-memory transports: which endpoint is picked, how
 * often a call is tried, priority levels, discovery changes. (The same client over real Dubbo
 * pools and gRPC channels is tested against Java and Python peers in test/e2e/.)
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FerryError } from '../../src/errors/index.js';
import { TransportError } from '../../src/errors/transport.js';
import { createBalancer } from '../../src/upstream/balance/create-balancer.js';
import { createOutlierDetector } from '../../src/upstream/balance/outlier.js';
import type { EndpointHealth, EndpointTransport } from '../../src/upstream/balance/types.js';
import type { Endpoint, EndpointSource } from '../../src/upstream/discovery/types.js';
import { createUpstreamClient } from '../../src/upstream/upstream-client.js';

class FakeTransport implements EndpointTransport {
  readonly id: string;
  readonly weight = 100;
  health: EndpointHealth = 'idle';
  connectionCount = 0;
  failure: Error | undefined;
  calls = 0;
  closed = false;
  /** What a call does: answer, or fail with this error. */
  behaviour: 'ok' | Error = 'ok';
  private waiters: Array<() => void> = [];
  constructor(readonly endpoint: Endpoint) {
    this.id = endpoint.id;
  }
  pending(): number {
    return 0;
  }
  available(): boolean {
    return this.health === 'up';
  }
  warm(): void {
    if (this.health === 'idle') this.health = 'connecting';
  }
  settled(): Promise<void> {
    return this.health === 'idle' || this.health === 'connecting' ? new Promise((r) => this.waiters.push(r)) : Promise.resolve();
  }
  setHealth(h: EndpointHealth): void {
    this.health = h;
    for (const w of this.waiters.splice(0)) w();
  }
  async call(): Promise<string> {
    this.calls++;
    if (this.behaviour !== 'ok') throw this.behaviour;
    return this.id;
  }
  async close(): Promise<void> {
    this.closed = true;
    this.health = 'closed';
  }
  destroy(): void {
    this.closed = true;
    this.health = 'closed';
  }
}

function endpoint(id: string, priority = 0): Endpoint {
  const [host, port] = id.split(':');
  return { id, host: host!, port: Number(port), protocol: 'grpc', weight: 100, warmupStartMs: undefined, labels: {}, cluster: 'default', priority };
}

function source(initial: Endpoint[]): EndpointSource & { set(list: Endpoint[]): void } {
  let list = initial;
  const listeners = new Set<(eps: readonly Endpoint[]) => void>();
  return {
    current: () => list,
    subscribe(l) {
      listeners.add(l);
      return () => listeners.delete(l);
    },
    async close() {},
    set(next) {
      list = next;
      for (const l of listeners) l(list);
    },
  };
}

function setup(eps: Endpoint[], up = true) {
  const transports = new Map<string, FakeTransport>();
  const src = source(eps);
  const outlier = createOutlierDetector({ consecutiveFailures: 100 });
  const client = createUpstreamClient<FakeTransport>({
    source: src,
    protocolName: 'test',
    balancer: createBalancer('round-robin', { outlier }),
    outlier,
    connect: (e) => {
      const t = new FakeTransport(e);
      transports.set(e.id, t);
      if (up) t.health = 'up';
      return t;
    },
  });
  return { client, transports, src, outlier };
}

const soon = (ms = 1000) => performance.now() + ms;
const failing = (sent: boolean, id: string) => new TransportError('FERRY_UPSTREAM_CONNECTION_LOST', 'lost', sent, { endpoint: id });

test('an idempotent call failing everywhere is tried 1 + retries times (input: retries 2, 5 endpoints), each on another endpoint', async () => {
  const { client, transports } = setup(['a:1', 'b:1', 'c:1', 'd:1', 'e:1'].map((id) => endpoint(id)));
  for (const t of transports.values()) t.behaviour = failing(true, t.id);
  await assert.rejects(
    client.call((t) => t.call(), { deadline: soon(), idempotent: true, retries: 2 }),
    (e) => e instanceof FerryError && e.code === 'FERRY_UPSTREAM_CONNECTION_LOST',
  );
  const counts = [...transports.values()].map((t) => t.calls);
  assert.equal(
    counts.reduce((a, b) => a + b, 0),
    3,
    `attempts per endpoint: ${counts.join(', ')}`,
  );
  assert.ok(
    counts.every((c) => c <= 1),
    'no endpoint was tried twice',
  );
});

test('a call that may have run is not resent unless idempotent; one that never left is', async () => {
  const { client, transports } = setup([endpoint('a:1'), endpoint('b:1')]);
  for (const t of transports.values()) t.behaviour = failing(true, t.id);
  await assert.rejects(client.call((t) => t.call(), { deadline: soon(), idempotent: false, retries: 3 }));
  assert.equal(
    [...transports.values()].reduce((n, t) => n + t.calls, 0),
    1,
    'sent, not idempotent: one attempt',
  );

  const a = transports.get('a:1')!;
  const b = transports.get('b:1')!;
  a.calls = b.calls = 0;
  a.behaviour = failing(false, 'a:1');
  b.behaviour = 'ok';
  const results = new Set<string>();
  for (let i = 0; i < 4; i++) results.add((await client.call((t) => t.call(), { deadline: soon(), idempotent: false, retries: 1 })).value);
  assert.deepEqual([...results], ['b:1'], 'every call ended on b, unsent failures on a were resent');
});

test('retries: 0 means one attempt even for an unsent failure', async () => {
  const { client, transports } = setup([endpoint('a:1'), endpoint('b:1')]);
  for (const t of transports.values()) t.behaviour = failing(false, t.id);
  await assert.rejects(client.call((t) => t.call(), { deadline: soon(), idempotent: true, retries: 0 }));
  assert.equal(
    [...transports.values()].reduce((n, t) => n + t.calls, 0),
    1,
  );
});

test('provider answers (a Java exception, a gRPC status) are never retried', async () => {
  const { client, transports } = setup([endpoint('a:1'), endpoint('b:1')]);
  for (const t of transports.values()) t.behaviour = new FerryError('FERRY_UPSTREAM_STATUS', 'NOT_FOUND', { endpoint: t.id });
  await assert.rejects(client.call((t) => t.call(), { deadline: soon(), idempotent: true, retries: 3 }));
  assert.equal(
    [...transports.values()].reduce((n, t) => n + t.calls, 0),
    1,
  );
});

test('priority levels: the backup level serves only while the best level has nothing available', async () => {
  const { client, transports } = setup([endpoint('main:1', 0), endpoint('backup:1', 1)]);
  const served = async () => (await client.call((t) => t.call(), { deadline: soon(), idempotent: false, retries: 0 })).value;
  for (let i = 0; i < 4; i++) assert.equal(await served(), 'main:1');
  transports.get('main:1')!.health = 'down';
  for (let i = 0; i < 4; i++) assert.equal(await served(), 'backup:1');
  transports.get('main:1')!.health = 'up';
  assert.equal(await served(), 'main:1');
});

test('priority levels: a best level whose endpoints are all ejected gives way to the backup (no panic routing); with every level ejected, the best level is tried', async () => {
  const { client, outlier } = setup([endpoint('main:1', 0), endpoint('backup:1', 1)]);
  const served = async () => (await client.call((t) => t.call(), { deadline: soon(), idempotent: false, retries: 0 })).value;
  assert.equal(await served(), 'main:1');
  // input: main:1 ejected by outlier detection (100 timeouts in a row) while its connection stays up
  for (let i = 0; i < 100; i++) outlier.failure('main:1', 'timeout');
  assert.equal(outlier.isEjected('main:1'), true, 'main:1 is ejected');
  for (let i = 0; i < 4; i++) assert.equal(await served(), 'backup:1', 'the backup level serves while main:1 is ejected');
  for (let i = 0; i < 100; i++) outlier.failure('backup:1', 'timeout');
  assert.equal(await served(), 'main:1', 'every level ejected: panic routing in the best level');
});

test('discovery: a removed endpoint is closed at once and no longer picked; an added one is connected', async () => {
  const { client, transports, src } = setup([endpoint('a:1'), endpoint('b:1')]);
  src.set([endpoint('b:1'), endpoint('c:1')]);
  assert.equal(transports.get('a:1')!.closed, true);
  assert.deepEqual(
    client
      .transports()
      .map((t) => t.id)
      .sort(),
    ['b:1', 'c:1'],
  );
  const seen = new Set<string>();
  for (let i = 0; i < 6; i++) seen.add((await client.call((t) => t.call(), { deadline: soon(), idempotent: false, retries: 0 })).value);
  assert.deepEqual([...seen].sort(), ['b:1', 'c:1']);
  // A label change alone keeps the transport (and its connections).
  const b = transports.get('b:1')!;
  src.set([{ ...endpoint('b:1'), labels: { 'dubbo.tag': 'gray' } }, endpoint('c:1')]);
  assert.equal(
    client.transports().find((t) => t.id === 'b:1'),
    b,
  );
  assert.equal(client.endpoints().find((e) => e.id === 'b:1')!.labels['dubbo.tag'], 'gray');
});

test('sticky picks are counted per endpoint (input: 3 calls preferring b, 2 hashed, 4 with no hint); a removed endpoint drops its count', async () => {
  const { client, src } = setup([endpoint('a:1'), endpoint('b:1')]);
  const call = (hint: object) => client.call((t) => t.call(), { deadline: soon(), idempotent: false, retries: 0, hint });
  for (let i = 0; i < 3; i++) assert.equal((await call({ preferredId: 'b:1' })).value, 'b:1');
  for (let i = 0; i < 2; i++) await call({ hashKey: 'user-7' });
  for (let i = 0; i < 4; i++) await call({});
  const counts = client.stickyPicks();
  assert.equal(
    [...counts.values()].reduce((a, b) => a + b, 0),
    5,
    `only hinted calls count: ${JSON.stringify([...counts])}`,
  );
  assert.ok((counts.get('b:1') ?? 0) >= 3, `b took the 3 preferred calls: ${JSON.stringify([...counts])}`);
  src.set([endpoint('a:1')]);
  assert.equal(client.stickyPicks().has('b:1'), false, 'the removed endpoint is forgotten');
});

test('a call waits for endpoints still opening their first connection, and fails with the states when none comes up', async () => {
  const { client, transports } = setup([endpoint('a:1')], false);
  const a = transports.get('a:1')!;
  assert.equal(a.health, 'connecting', 'warmed when discovered');
  const pending = client.call((t) => t.call(), { deadline: soon(2000), idempotent: false, retries: 0 });
  setTimeout(() => a.setHealth('up'), 30);
  assert.equal((await pending).value, 'a:1');

  a.setHealth('down');
  await assert.rejects(
    client.call((t) => t.call(), { deadline: soon(100), idempotent: false, retries: 0 }),
    (e) => e instanceof TransportError && e.code === 'FERRY_UPSTREAM_UNAVAILABLE' && e.sent === false && /a:1 down/.test(e.message),
  );
});

test('a closed client refuses calls as unavailable, not sent', async () => {
  const { client, transports } = setup([endpoint('a:1')]);
  await client.close();
  assert.equal(transports.get('a:1')!.closed, true);
  await assert.rejects(
    client.call((t) => t.call(), { deadline: soon(), idempotent: true, retries: 2 }),
    (e) => e instanceof TransportError && e.sent === false,
  );
});

// ---- tag routing: the subset filter in front of the balancer ----------------------------------

const tagged = (id: string, tag: string, priority = 0): Endpoint => ({ ...endpoint(id, priority), labels: { 'dubbo.tag': tag } });
const gray = { label: 'dubbo.tag', tag: 'gray', force: false } as const;

async function landings(client: ReturnType<typeof setup>['client'], hint: Parameters<typeof client.pick>[0], n = 20): Promise<Set<string>> {
  const seen = new Set<string>();
  for (let i = 0; i < n; i++) seen.add((await client.call((t) => t.call(), { deadline: soon(), idempotent: false, retries: 0, hint })).value);
  return seen;
}

test('a subset hint keeps calls on the tagged endpoints; a call naming no tag stays on the untagged ones', async () => {
  const { client } = setup([endpoint('a:1'), endpoint('b:1'), tagged('g:1', 'gray'), tagged('h:1', 'gray'), tagged('x:1', 'blue')]);
  assert.deepEqual([...(await landings(client, { subset: gray }))].sort(), ['g:1', 'h:1']);
  assert.deepEqual([...(await landings(client, { subset: { label: 'dubbo.tag', tag: undefined, force: false } }))].sort(), ['a:1', 'b:1']);
  assert.deepEqual([...(await landings(client, { subset: { ...gray, tag: 'green' } }))].sort(), ['a:1', 'b:1'], 'unknown tag: untagged fallback');
  // Without a subset hint every endpoint takes calls (tag routing off).
  assert.equal((await landings(client, {}, 30)).size, 5);
});

test('a forced tag no endpoint carries fails with FERRY_NO_TAGGED_ENDPOINT without trying any endpoint (input: tag "green", force)', async () => {
  const { client, transports } = setup([endpoint('a:1'), tagged('g:1', 'gray')]);
  await assert.rejects(
    client.call((t) => t.call(), { deadline: soon(), idempotent: true, retries: 2, hint: { subset: { ...gray, tag: 'green', force: true } } }),
    (e) => e instanceof FerryError && e.code === 'FERRY_NO_TAGGED_ENDPOINT' && e.status === 503 && /dubbo\.tag=green/.test(e.message),
  );
  assert.equal(
    [...transports.values()].reduce((n, t) => n + t.calls, 0),
    0,
  );
});

test('tagged endpoints that are all down do not fall back to untagged ones (Dubbo routes on registration, not health)', async () => {
  const { client, transports } = setup([endpoint('a:1'), tagged('g:1', 'gray')]);
  transports.get('g:1')!.setHealth('down');
  await assert.rejects(
    client.call((t) => t.call(), { deadline: soon(), idempotent: false, retries: 1, hint: { subset: gray } }),
    (e) => e instanceof FerryError && e.code === 'FERRY_UPSTREAM_UNAVAILABLE' && /g:1 down/.test(e.message) && !/a:1/.test(e.message),
  );
  assert.equal(transports.get('a:1')!.calls, 0);
});

test('within a subset, a sticky preference and retries with exclusions still work; a preference outside it is not honoured', async () => {
  const { client, transports } = setup([endpoint('a:1'), tagged('g:1', 'gray'), tagged('h:1', 'gray')]);
  assert.deepEqual([...(await landings(client, { subset: gray, preferredId: 'h:1' }, 5))], ['h:1']);
  const outside = await landings(client, { subset: gray, preferredId: 'a:1' }, 6);
  assert.ok(!outside.has('a:1'), `a preference for an untagged endpoint was followed: ${[...outside].join(', ')}`);
  transports.get('g:1')!.behaviour = failing(false, 'g:1');
  const r = await client.call((t) => t.call(), { deadline: soon(), idempotent: false, retries: 1, hint: { subset: gray, preferredId: 'g:1' } });
  assert.equal(r.value, 'h:1', 'the retry went to the other gray endpoint');
  assert.equal(transports.get('a:1')!.calls, 0);
});

test('outlier ejection works inside the subset: an ejected gray endpoint leaves the other gray one, never an untagged one', async () => {
  const transports = new Map<string, FakeTransport>();
  const outlier = createOutlierDetector({ consecutiveFailures: 1, baseEjectionMs: 60_000 });
  const client = createUpstreamClient<FakeTransport>({
    source: source([endpoint('a:1'), tagged('g:1', 'gray'), tagged('h:1', 'gray')]),
    protocolName: 'test',
    balancer: createBalancer('round-robin', { outlier }),
    outlier,
    connect: (e) => {
      const t = new FakeTransport(e);
      t.health = 'up';
      transports.set(e.id, t);
      return t;
    },
  });
  transports.get('g:1')!.behaviour = failing(false, 'g:1');
  await client.call((t) => t.call(), { deadline: soon(), idempotent: false, retries: 1, hint: { subset: gray, preferredId: 'g:1' } });
  assert.ok(outlier.isEjected('g:1'), 'g:1 was ejected after its failure');
  transports.get('g:1')!.behaviour = 'ok';
  const seen = new Set<string>();
  for (let i = 0; i < 10; i++)
    seen.add((await client.call((t) => t.call(), { deadline: soon(), idempotent: false, retries: 0, hint: { subset: gray } })).value);
  assert.deepEqual([...seen], ['h:1']);
});

test('a label change moves an endpoint into or out of a subset at once, keeping its transport', async () => {
  const { client, src, transports } = setup([endpoint('a:1'), tagged('g:1', 'gray')]);
  assert.deepEqual([...(await landings(client, { subset: gray }, 4))], ['g:1']);
  const a = transports.get('a:1')!;
  src.set([tagged('a:1', 'gray'), endpoint('g:1')]);
  assert.deepEqual([...(await landings(client, { subset: gray }, 4))], ['a:1']);
  assert.equal(
    client.transports().find((t) => t.id === 'a:1'),
    a,
  );
});

test('every endpoint tagged: a call naming no tag fails with FERRY_NO_TAGGED_ENDPOINT, naming the label', async () => {
  const { client } = setup([tagged('g:1', 'gray')]);
  await assert.rejects(
    client.call((t) => t.call(), { deadline: soon(), idempotent: false, retries: 0, hint: { subset: { ...gray, tag: undefined } } }),
    (e) => e instanceof FerryError && e.code === 'FERRY_NO_TAGGED_ENDPOINT' && /dubbo\.tag/.test(e.message),
  );
});
