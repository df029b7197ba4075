/**
 * Issue 5, end to end through the real gateway: a mapping whose service names a ZooKeeper registry
 * instead of endpoints, Debian's ZooKeeper, and Apache Dubbo Java providers (samples/java-provider)
 * that register themselves. Everything is observed over HTTP: GET /whoami answers with the name of
 * the provider that served the call, GET /slow/{ms} keeps a call in flight on a provider.
 *
 * Ferry runs in-process through startFerry (the composition root `ferry serve` uses), on a free port.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { performance } from 'node:perf_hooks';
import { startZooKeeper, type ZooKeeperServer } from '../support/zookeeper.js';
import { startJavaProvider, type JavaProvider } from '../support/java-provider.js';
import { http, startTestFerry, type TestFerry } from '../support/ferry.js';
import { tallyServed, untilServedBy } from '../support/served-by.js';

let zk: ZooKeeperServer | undefined;
let ferry: TestFerry | undefined;
const providers = new Map<string, JavaProvider>();

/** The only mapping this Ferry serves: no `endpoints`, only the registry. */
const mapping = (registry: string): string => `
services:
  accounts:
    protocol: dubbo
    interface: com.example.bank.AccountService
    version: 1.0.0
    registry: ${registry}
    timeout: 3s
    pool: { connections: 1 }

routes:
  - id: whoami
    http: GET /whoami
    call: accounts.whoami
  - id: slow
    http: GET /slow/{millis}
    call: accounts.slow
    args:
      - { from: path.millis, type: int }
`;

before(async () => {
  zk = await startZooKeeper();
  // Full problem detail: the failures below are checked for the provider they name.
  ferry = await startTestFerry({ withoutSamples: true, problemDetail: 'full', extra: { 'discovery.yaml': mapping(zk.registryUrl) } });
});

after(async () => {
  await ferry?.close();
  await Promise.all([...providers.values()].map((p) => p.kill().catch(() => {})));
  await zk?.stop();
});

async function provider(name: string): Promise<JavaProvider> {
  const p = await startJavaProvider({ name, registry: zk!.registryUrl });
  providers.set(name, p);
  return p;
}

interface Outcome {
  /** Provider name (whoami) or `slow` for a successful slow call. */
  served?: string;
  status: number;
  code?: string;
  detail?: string;
  route: 'whoami' | 'slow';
  startedAt: number;
  endedAt: number;
}

async function call(route: 'whoami' | 'slow'): Promise<Outcome> {
  const startedAt = performance.now();
  const r = await http(ferry!.base, 'GET', route === 'whoami' ? '/whoami' : '/slow/40');
  const endedAt = performance.now();
  if (r.status === 200) {
    return { route, status: 200, served: route === 'whoami' ? String(r.json) : 'slow', startedAt, endedAt };
  }
  return { route, status: r.status, code: r.json?.code, detail: r.json?.detail, startedAt, endedAt };
}

const untilServedByName = (name: string, timeoutMs = 30_000): Promise<Outcome[]> => untilServedBy(() => call('whoami'), name, timeoutMs);

/** Runs `total` calls from `concurrency` workers; `route(i)` picks what call number i is. */
async function load(
  total: number,
  concurrency: number,
  route: (i: number) => 'whoami' | 'slow',
  onCall?: (done: number) => void,
): Promise<Outcome[]> {
  const outcomes: Outcome[] = [];
  let issued = 0;
  const worker = async (): Promise<void> => {
    while (issued < total) {
      const i = issued++;
      outcomes.push(await call(route(i)));
      onCall?.(outcomes.length);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return outcomes;
}

test('a provider started after Ferry gets traffic without a Ferry restart', async () => {
  await provider('p1');
  // Before anything is registered Ferry answers 503; once p1 is discovered, p1 serves.
  const warmup = await untilServedByName('p1');
  for (const o of warmup) {
    if (o.status !== 200) assert.equal(o.code, 'FERRY_UPSTREAM_UNAVAILABLE', `GET /whoami before discovery: ${JSON.stringify(o)}`);
  }
  const onlyP1 = await load(12, 3, () => 'whoami');
  assert.deepEqual(tallyServed(onlyP1), { p1: 12 });

  await provider('p2');
  // Same Ferry, no reload: the ZooKeeper watch brings p2 in.
  const discovering = await untilServedByName('p2');
  assert.ok(
    discovering.every((o) => o.status === 200),
    `no call failed while p2 joined: ${JSON.stringify(tallyServed(discovering))}`,
  );
  const both = await load(40, 1, () => 'whoami');
  console.log(`after p2 registered, 40 sequential GET /whoami: ${JSON.stringify(tallyServed(both))}`);
  assert.equal(both.length, 40);
  assert.ok(
    both.every((o) => o.status === 200),
    JSON.stringify(tallyServed(both)),
  );
  // least-pending rotates ties, so sequential calls alternate over both providers
  const t = tallyServed(both);
  assert.ok((t['p1'] ?? 0) >= 10 && (t['p2'] ?? 0) >= 10, `both providers serve: ${JSON.stringify(t)}`);
});

test('a provider stopped gracefully (SIGTERM) takes no new calls and no request fails', async () => {
  await provider('p3');
  await untilServedByName('p3');
  const p2 = providers.get('p2')!;

  let stoppedAt = Infinity;
  const outcomes: Outcome[] = [];
  const worker = async (): Promise<void> => {
    // Runs until p2 has exited and 60 more calls have started after that.
    while (!(stoppedAt < Infinity && outcomes.filter((o) => o.startedAt > stoppedAt).length >= 60)) {
      outcomes.push(await call('whoami'));
      if (outcomes.length > 3000) throw new Error('load did not end (bounded at 3000 calls)');
    }
  };
  const workers = Array.from({ length: 4 }, worker);
  // Let p2 take part in the load first.
  while (!outcomes.some((o) => o.served === 'p2')) await new Promise((r) => setTimeout(r, 10));
  const stopSentAt = performance.now();
  await p2.stop();
  stoppedAt = performance.now();
  await Promise.all(workers);

  const t = tallyServed(outcomes);
  console.log(`graceful stop of p2 under 4 concurrent GET /whoami: ${JSON.stringify(t)}, ${outcomes.length} calls`);
  assert.deepEqual(
    outcomes.filter((o) => o.status !== 200),
    [],
    'GET /whoami during a graceful stop: no call fails',
  );
  assert.ok(
    outcomes.some((o) => o.served === 'p2' && o.startedAt < stopSentAt),
    'p2 served before it was stopped',
  );
  const afterExit = outcomes.filter((o) => o.startedAt > stoppedAt);
  assert.ok(afterExit.length >= 60);
  assert.ok(
    afterExit.every((o) => o.served === 'p1' || o.served === 'p3'),
    'after the stop only p1 and p3 serve',
  );
  assert.ok(afterExit.some((o) => o.served === 'p1') && afterExit.some((o) => o.served === 'p3'), 'both remaining providers serve');
});

test('a provider killed (SIGKILL) under bounded load costs only the calls in flight on it', async () => {
  await provider('p4');
  await untilServedByName('p4');
  const p1 = providers.get('p1')!;
  const total = 200;
  const concurrency = 6;

  // Calls are alternately GET /slow/40 (keeps calls in flight on every provider) and GET /whoami
  // (says who serves). The kill is sent after 60 calls completed; "in flight at the kill" is every
  // HTTP request that was outstanding at some moment between SIGKILL and the JVM's exit.
  let killSentAt = Infinity;
  let exitedAt = Infinity;
  let killing: Promise<void> | undefined;
  const outcomes = await load(
    total,
    concurrency,
    (i) => {
      return i % 2 === 0 ? 'slow' : 'whoami';
    },
    (done) => {
      if (done === 60 && killing === undefined) {
        killSentAt = performance.now();
        killing = p1.kill().then(() => {
          exitedAt = performance.now();
        });
      }
    },
  );
  await killing;
  assert.equal(outcomes.length, total);
  assert.ok(exitedAt < Infinity);

  const inFlightAtKill = outcomes.filter((o) => o.startedAt <= exitedAt && o.endedAt >= killSentAt).length;
  const failed = outcomes.filter((o) => o.status !== 200);
  console.log(
    `kill -9 p1 under ${total} calls, ${concurrency} concurrent: ${JSON.stringify(tallyServed(outcomes))}; ` +
      `HTTP requests in flight during the kill: ${inFlightAtKill}; failed: ${failed.length}` +
      (failed.length > 0 ? `; failures: ${JSON.stringify(failed.map((f) => `${f.route} ${f.code}: ${f.detail}`))}` : ''),
  );
  assert.ok(failed.length <= inFlightAtKill, `failed ${failed.length} > in flight during the kill ${inFlightAtKill}`);
  for (const f of failed) {
    assert.ok(f.startedAt <= exitedAt, `a call started after p1 had exited failed: ${JSON.stringify(f)}`);
    assert.ok(
      f.code === 'FERRY_UPSTREAM_CONNECTION_LOST' || f.code === 'FERRY_UPSTREAM_UNAVAILABLE',
      `a kill costs connection failures only, got ${JSON.stringify(f)}`,
    );
    for (const m of f.detail?.matchAll(/127\.0\.0\.1:(\d+)/g) ?? []) {
      assert.equal(Number(m[1]), p1.dubboPort, `a failure named another provider: ${f.detail}`);
    }
  }
  assert.ok(
    outcomes.some((o) => o.served === 'p1' && o.startedAt < killSentAt),
    'p1 served before the kill',
  );
  const afterExit = outcomes.filter((o) => o.startedAt > exitedAt);
  assert.ok(afterExit.length >= 60, `${afterExit.length} calls after p1 exited`);
  assert.ok(
    afterExit.every((o) => o.status === 200 && o.served !== 'p1'),
    `after the kill: ${JSON.stringify(tallyServed(afterExit))}`,
  );
  const movedTo = tallyServed(afterExit.filter((o) => o.route === 'whoami'));
  assert.ok((movedTo['p3'] ?? 0) > 0 && (movedTo['p4'] ?? 0) > 0, `traffic moved to both p3 and p4: ${JSON.stringify(movedTo)}`);
});

test('with ZooKeeper stopped, Ferry keeps serving the last known providers', async () => {
  // p1 (killed) may still be listed until its ZooKeeper session times out; p3 and p4 serve.
  await zk!.stop();
  zk = undefined;
  const during: Outcome[] = [];
  // ~4 s of traffic with the registry gone: long enough for Ferry's ZooKeeper client to see the
  // connection drop and retry several times (retry delay 1 s).
  for (let i = 0; i < 40; i++) {
    during.push(await call('whoami'));
    await new Promise((r) => setTimeout(r, 100));
  }
  const t = tallyServed(during);
  console.log(`40 GET /whoami over ~4 s with ZooKeeper stopped: ${JSON.stringify(t)}`);
  assert.ok(
    during.every((o) => o.status === 200),
    `registry outage: ${JSON.stringify(t)}`,
  );
  assert.ok((t['p3'] ?? 0) > 0 && (t['p4'] ?? 0) > 0, `both live providers still serve: ${JSON.stringify(t)}`);
});
