/**
 * Discovery and failover against real peers: Debian's ZooKeeper and Apache Dubbo Java providers
 * (samples/java-provider) that register themselves. Ferry's side is the ZooKeeper source, the
 * Dubbo client and the balancers; AccountService.whoami() says which provider served each call.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startZooKeeper, type ZooKeeperServer } from '../support/zookeeper.js';
import { startJavaProvider, type JavaProvider } from '../support/java-provider.js';
import { ACCOUNT_SERVICE, ACCOUNT_VERSION, decodeResult, slowBody, whoamiBody } from '../support/hessian-bodies.js';
import { createZooKeeperSource, type ZooKeeperSource } from '../../src/upstream/discovery/zookeeper.js';
import { createDubboClient, type DubboClient } from '../../src/upstream/clients.js';
import { createBalancer } from '../../src/upstream/balance/create-balancer.js';
import { createOutlierDetector, type OutlierDetector } from '../../src/upstream/balance/outlier.js';
import { isFerryError } from '../../src/errors/index.js';

// Dubbo waits up to 10 s for in-flight calls on SIGTERM; 2 s is plenty here.
const JVM_ARGS = ['-Ddubbo.service.shutdown.wait=2000'];

let zk: ZooKeeperServer | undefined;
let source: ZooKeeperSource | undefined;
let client: DubboClient | undefined;
let outlier: OutlierDetector;
let failedAttempts = 0;
const providers: JavaProvider[] = [];

before(async () => {
  zk = await startZooKeeper();
  source = createZooKeeperSource({
    connectString: zk.registryUrl,
    interface: ACCOUNT_SERVICE,
    version: ACCOUNT_VERSION,
    sessionTimeoutMs: 5000,
  });
  assert.equal(await source.ready(10_000), true);
  // Every attempt's outcome reaches the outlier detector: counting failures there counts retries.
  const detector = createOutlierDetector();
  outlier = {
    ...detector,
    observe(id, err) {
      if (err !== undefined) failedAttempts++;
      detector.observe(id, err);
    },
  };
  client = createDubboClient({
    endpoints: source,
    connectionsPerEndpoint: 1,
    balancer: createBalancer('round-robin', { outlier }),
    outlier,
    drainMs: 2000,
  });
});

after(async () => {
  await client?.close();
  await source?.close();
  await Promise.all(providers.map((p) => p.kill().catch(() => {})));
  await zk?.stop();
});

async function waitFor(what: string, cond: () => boolean, timeoutMs = 20_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for: ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

const listed = (p: JavaProvider) => source!.current().some((e) => e.id === p.address);
const ready = (p: JavaProvider) => client!.pools().some((e) => e.id === p.address && e.available());

async function provider(name: string): Promise<JavaProvider> {
  const p = await startJavaProvider({ name, registry: zk!.registryUrl, jvmArgs: JVM_ARGS });
  providers.push(p);
  return p;
}

interface Outcome {
  name?: string;
  endpoint?: string;
  error?: string;
  /** The endpoint the call failed on, when it failed. */
  failedOn?: string;
}

async function whoami(timeoutMs = 3000): Promise<Outcome> {
  try {
    const r = await client!.call(whoamiBody(), { timeoutMs });
    assert.equal(r.status, 20);
    return { name: String(decodeResult(r.body).value), endpoint: r.endpoint };
  } catch (err) {
    if (!isFerryError(err)) throw err;
    return { error: err.code, ...(err.details.endpoint !== undefined ? { failedOn: err.details.endpoint } : {}) };
  }
}

function tally(outcomes: readonly Outcome[]): Record<string, number> {
  const t: Record<string, number> = {};
  for (const o of outcomes) {
    const k = o.name ?? `error:${o.error}`;
    t[k] = (t[k] ?? 0) + 1;
  }
  return t;
}

test('a provider started later receives traffic without restarting the client', async () => {
  const p1 = await provider('p1');
  await waitFor('p1 discovered and connected', () => listed(p1) && ready(p1));
  const first = await Promise.all(Array.from({ length: 6 }, () => whoami()));
  assert.deepEqual(tally(first), { p1: 6 });

  const p2 = await provider('p2');
  await waitFor('p2 discovered and connected', () => listed(p2) && ready(p2));
  const second: Outcome[] = [];
  for (let i = 0; i < 20; i++) second.push(await whoami());
  console.log('after p2 registered:', tally(second));
  assert.deepEqual(tally(second), { p1: 10, p2: 10 }, 'round-robin over both, no errors');
});

test('a provider stopped gracefully takes no new calls, and no call fails', async () => {
  const p3 = await provider('p3');
  await waitFor('p3 discovered and connected', () => listed(p3) && ready(p3));
  const [, p2] = providers as [JavaProvider, JavaProvider, JavaProvider];

  // From the moment p2 leaves ZooKeeper or announces read-only, no call may be started on it.
  let outAt = Infinity;
  const unsubscribe = source!.subscribe((eps) => {
    if (!eps.some((e) => e.id === p2.address)) outAt = Math.min(outAt, performance.now());
  });
  const pool = client!.pools().find((p) => p.id === p2.address)!;
  const onHealth = (to: string) => {
    if (to !== 'up') outAt = Math.min(outAt, performance.now());
  };
  pool.on('health', onHealth);

  const calls: Array<Outcome & { startedAt: number }> = [];
  let stopping = true;
  const worker = async () => {
    while (stopping) {
      const startedAt = performance.now();
      const o = await whoami();
      calls.push({ ...o, startedAt });
      await new Promise((r) => setTimeout(r, 2));
    }
  };
  const workers = Array.from({ length: 4 }, worker);
  await new Promise((r) => setTimeout(r, 300));
  await p2.stop();
  const stoppedAt = performance.now();
  // keep the load going a moment after p2 exited
  while (calls.filter((c) => c.startedAt > stoppedAt).length < 40) await new Promise((r) => setTimeout(r, 20));
  stopping = false;
  await Promise.all(workers);
  unsubscribe();
  pool.off('health', onHealth);

  console.log(`graceful stop of p2 under load: ${JSON.stringify(tally(calls))}, ${calls.length} calls`);
  assert.ok(outAt < stoppedAt, 'p2 was taken out (ZooKeeper removal or read-only) before its process ended');
  assert.deepEqual(
    calls.filter((c) => c.error !== undefined),
    [],
    'a graceful stop costs no call',
  );
  const lateOnP2 = calls.filter((c) => c.startedAt > outAt && c.name === 'p2');
  assert.deepEqual(lateOnP2, [], 'no call started after p2 was taken out reached it');
  assert.ok(
    calls.some((c) => c.name === 'p2' && c.startedAt < outAt),
    'p2 did serve before it left',
  );
  const after = calls.filter((c) => c.startedAt > stoppedAt);
  assert.ok(after.every((c) => c.name === 'p1' || c.name === 'p3'));
  assert.ok(after.some((c) => c.name === 'p1') && after.some((c) => c.name === 'p3'));
  await waitFor('p2 gone from the client', () => !client!.pools().some((e) => e.id === p2.address));
});

test('a provider killed under bounded load costs only the calls in flight on it', async () => {
  const [p1, , p3] = providers as [JavaProvider, JavaProvider, JavaProvider];
  const total = 240;
  const concurrency = 6;
  let issued = 0;
  let killedAt = Infinity;
  let inFlightOnP1AtKill = -1;
  // When the client saw p1 go (its pool left the `up` state).
  let downAt = Infinity;
  const p1Pool = client!.pools().find((p) => p.id === p1.address)!;
  const onHealth = (to: string) => {
    if (to !== 'up') downAt = Math.min(downAt, performance.now());
  };
  p1Pool.on('health', onHealth);
  const calls: Array<Outcome & { startedAt: number }> = [];
  const slow = async (): Promise<Outcome> => {
    try {
      const r = await client!.call(slowBody(40), { timeoutMs: 5000 });
      return { endpoint: r.endpoint, name: r.endpoint === p1.address ? 'p1' : r.endpoint === p3.address ? 'p3' : r.endpoint };
    } catch (err) {
      if (!isFerryError(err)) throw err;
      return { error: err.code, ...(err.details.endpoint !== undefined ? { failedOn: err.details.endpoint } : {}) };
    }
  };
  const worker = async () => {
    while (issued < total) {
      issued++;
      const startedAt = performance.now();
      calls.push({ ...(await slow()), startedAt });
      if (calls.length === 60 && killedAt === Infinity) {
        inFlightOnP1AtKill = p1Pool.pending();
        killedAt = performance.now();
        void p1.kill();
      }
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  p1Pool.off('health', onHealth);

  const failed = calls.filter((c) => c.error !== undefined);
  console.log(`kill -9 p1 under load: ${JSON.stringify(tally(calls))}; in flight on p1 at kill: ${inFlightOnP1AtKill}; failed: ${failed.length}`);
  assert.equal(calls.length, total);
  for (const f of failed) {
    assert.equal(f.failedOn, p1.address, `a failure came from another endpoint: ${JSON.stringify(f)}`);
    assert.ok(f.startedAt < downAt, 'only calls started before the client saw p1 go failed');
  }
  assert.ok(downAt > killedAt && downAt < Infinity, 'the client noticed p1 dying');
  // Calls picked between the kill and the socket closing were written to a dead socket; with
  // `concurrency` workers there can be at most that many beyond those already in flight.
  assert.ok(failed.length <= inFlightOnP1AtKill + concurrency, `failed ${failed.length}, in flight ${inFlightOnP1AtKill}`);
  const late = calls.filter((c) => c.startedAt > downAt);
  assert.ok(late.length > 20, `${late.length} calls after p1 went down`);
  assert.ok(
    late.every((c) => c.endpoint === p3.address),
    'traffic moved to the remaining provider',
  );
});

test('idempotent failover rescues calls in flight on a killed provider; ZooKeeper down keeps the list', async () => {
  const p4 = await provider('p4');
  const p3 = providers[2]!;
  await waitFor('p4 discovered and connected', () => listed(p4) && ready(p4));
  await waitFor('p3 and p4 both ready', () => ready(p3) && ready(p4));

  let killed = false;
  const failedBefore = failedAttempts;
  let inFlightOnP4AtKill = -1;
  const results: string[] = [];
  const worker = async (n: number) => {
    for (let i = 0; i < n; i++) {
      const r = await client!.call(slowBody(40), { timeoutMs: 5000, idempotent: true, retries: 2 });
      results.push(r.endpoint);
      if (results.length === 20 && !killed) {
        killed = true;
        inFlightOnP4AtKill = client!
          .pools()
          .find((p) => p.id === p4.address)!
          .pending();
        void p4.kill();
      }
    }
  };
  await Promise.all(Array.from({ length: 6 }, () => worker(15)));
  console.log(
    `kill -9 p4 with idempotent failover: ${results.length} calls succeeded, ${failedAttempts - failedBefore} retried ` +
      `(in flight on p4 at kill: ${inFlightOnP4AtKill})`,
  );
  assert.equal(results.length, 90, 'every call succeeded');
  assert.ok(failedAttempts > failedBefore, 'some calls were in flight on p4 and were retried elsewhere');
  assert.ok(results.includes(p4.address) && results.includes(p3.address));

  // ZooKeeper goes away: the source keeps its last list, calls keep flowing to p3. (p4 may still be
  // listed: its ZooKeeper session outlives the process by Dubbo's session timeout.)
  const before = source!.current().map((e) => e.id);
  await zk!.stop();
  zk = undefined;
  await waitFor('source notices the outage', () => !source!.connected());
  const during: Outcome[] = [];
  for (let i = 0; i < 10; i++) during.push(await whoami());
  assert.deepEqual(
    source!.current().map((e) => e.id),
    before,
  );
  assert.deepEqual(tally(during), { p3: 10 });
});
