/**
 * Issue 18, failover between clusters triggered by the provider's own signals, end to end through
 * HTTP: one service in two clusters (`registries:`), dc1 a real ZooKeeper and dc2 a real Nacos
 * (rnacos), each with an Apache Dubbo 3.3 Java provider that registers itself.
 * - dc1's provider frozen (SIGSTOP): its calls time out, outlier ejection takes it out, the traffic
 *   moves to dc2; thawed (SIGCONT), it is let back in when the ejection ends and the traffic returns.
 * - dc1's provider stopped gracefully (SIGTERM): Dubbo sends its read-only event and unregisters,
 *   the traffic moves to dc2 with no failed call; restarted, it gets the traffic back.
 * The route is not idempotent, so nothing is resent: every error a client sees is counted.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startZooKeeper, type ZooKeeperServer } from '../support/zookeeper.js';
import { startNacos, type NacosServer } from '../support/nacos.js';
import { startJavaProvider, type JavaProvider } from '../support/java-provider.js';
import { startTestFerry, type TestFerry } from '../support/ferry.js';
import { tallyServed, untilServedBy, whoamiAt, type ServedOutcome } from '../support/served-by.js';

const IFACE = 'com.example.bank.AccountService';
const WORKERS = 4;
/** Ferry's outlier detection: consecutive failures that eject (src/upstream/balance/outlier.ts). */
const EJECT_AFTER = 5;

let zk: ZooKeeperServer | undefined;
let nacos: NacosServer | undefined;
let ferry: TestFerry | undefined;
let p1: JavaProvider | undefined;
let p2: JavaProvider | undefined;
let frozen = false;

const mapping = (): string => `
services:
  accounts:
    protocol: dubbo
    interface: ${IFACE}
    version: 1.0.0
    registries:
      - { cluster: dc1, registry: "${zk!.registryUrl}" }
      - { cluster: dc2, registry: "${nacos!.registryUrl}", priority: 5 }
    timeout: 1s
    pool: { connections: 1 }

routes:
  - id: whoami
    http: GET /whoami
    call: accounts.whoami
`;

before(async () => {
  [zk, nacos] = await Promise.all([startZooKeeper(), startNacos()]);
  [p1, p2] = await Promise.all([
    startJavaProvider({ name: 'p1', registry: zk.registryUrl }),
    startJavaProvider({ name: 'p2', registry: nacos.registryUrl }),
  ]);
  ferry = await startTestFerry({ withoutSamples: true, adminPort: 0, extra: { 'failover.yaml': mapping() } });
});

after(async () => {
  if (frozen && p1 !== undefined) process.kill(p1.pid, 'SIGCONT');
  await ferry?.close();
  await Promise.all([p1?.kill().catch(() => {}), p2?.kill().catch(() => {})]);
  await Promise.all([zk?.stop(), nacos?.stop()]);
});

type Outcome = ServedOutcome;

const whoami = (): Promise<Outcome> => whoamiAt(ferry!.base);

const untilServedByName = (name: string, timeoutMs = 60_000): Promise<Outcome[]> => untilServedBy(() => whoami(), name, timeoutMs);

/** WORKERS workers calling back to back while `during` runs; every outcome kept. */
async function underLoad(during: (sofar: readonly Outcome[]) => Promise<void>): Promise<Outcome[]> {
  const out: Outcome[] = [];
  let done = false;
  const workers = Array.from({ length: WORKERS }, async () => {
    while (!done) out.push(await whoami());
  });
  try {
    await during(out);
  } finally {
    done = true;
    await Promise.all(workers);
  }
  return out;
}

async function admin(path: string): Promise<string> {
  const r = await fetch(`http://127.0.0.1:${ferry!.adminPort}${path}`, { signal: AbortSignal.timeout(5000) });
  return r.text();
}

async function bothClustersKnown(): Promise<void> {
  let ready = '';
  for (let i = 0; i < 200; i++) {
    ready = await admin('/readyz');
    if (ready.includes('dc2 (priority 5): 1/1')) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  assert.fail(`dc2's provider never known: /readyz ${ready}`);
}

test('dc1 frozen (SIGSTOP): its calls time out, ejection moves the traffic to dc2; thawed, the traffic comes back', async () => {
  await untilServedByName('p1');
  await bothClustersKnown();
  const thaw = (): void => {
    if (frozen) process.kill(p1!.pid, 'SIGCONT');
    frozen = false;
  };
  try {
    let frozenAt = Infinity;
    const outcomes = await underLoad(async (sofar) => {
      await new Promise((r) => setTimeout(r, 300));
      process.kill(p1!.pid, 'SIGSTOP');
      frozen = true;
      frozenAt = performance.now();
      // Until dc2 serves, then a moment more.
      const end = Date.now() + 30_000;
      while (Date.now() < end && !sofar.some((o) => o.served === 'p2')) await new Promise((r) => setTimeout(r, 50));
      await new Promise((r) => setTimeout(r, 1000));
    });
    const t = tallyServed(outcomes);
    console.log(`${outcomes.length} GET /whoami from ${WORKERS} workers while p1 (dc1) was frozen: ${JSON.stringify(t)}`);
    const failed = outcomes.filter((o) => o.status !== 200);
    assert.ok((t['p2'] ?? 0) > 0, `dc2 took the traffic: ${JSON.stringify(t)}`);
    assert.ok(
      failed.every((o) => o.code === 'FERRY_UPSTREAM_TIMEOUT'),
      `only timeouts failed: ${JSON.stringify(t)}`,
    );
    // What failed: the calls in flight on p1 when it froze, and the calls sent to it until the
    // ejection (EJECT_AFTER consecutive failures): at most EJECT_AFTER + WORKERS - 1.
    assert.ok(failed.length <= EJECT_AFTER + WORKERS - 1, `${failed.length} calls failed: ${JSON.stringify(t)}`);
    const afterMove = outcomes.filter((o) => o.startedAt > (outcomes.find((x) => x.served === 'p2')?.endedAt ?? Infinity));
    assert.deepEqual(
      afterMove.filter((o) => o.status !== 200),
      [],
      'no call started after dc2 answered failed',
    );
    assert.ok(
      failed.every((o) => o.startedAt >= frozenAt - 1 || o.endedAt >= frozenAt),
      'the failures are calls made while p1 was frozen',
    );
    assert.match(await admin('/readyz'), /served by cluster dc2/);
  } catch (err) {
    thaw();
    throw err;
  }
  // Thawed: p1 answers again; when its ejection (10 s the first time) ends, dc1 serves again.
  thaw();
  const back = await untilServedByName('p1', 40_000);
  console.log(`GET /whoami after p1 was thawed, until it served: ${JSON.stringify(tallyServed(back))}`);
  assert.deepEqual(
    back.filter((o) => o.status !== 200),
    [],
    'no call failed while p1 came back',
  );
  const settled: Outcome[] = [];
  for (let i = 0; i < 20; i++) settled.push(await whoami());
  assert.deepEqual(tallyServed(settled), { p1: 20 }, 'the traffic is back on dc1');
  assert.match(await admin('/readyz'), /served by cluster dc1/);
});

test("dc1 stopped gracefully (SIGTERM): Dubbo's read-only event moves the traffic to dc2 with no failed call; restarted, dc1 serves again", async () => {
  await untilServedByName('p1');
  const outcomes = await underLoad(async () => {
    await new Promise((r) => setTimeout(r, 300));
    await p1!.stop();
    await new Promise((r) => setTimeout(r, 1000));
  });
  const t = tallyServed(outcomes);
  console.log(`${outcomes.length} GET /whoami from ${WORKERS} workers while p1 (dc1) stopped gracefully: ${JSON.stringify(t)}`);
  assert.deepEqual(
    outcomes.filter((o) => o.status !== 200),
    [],
    `a graceful stop costs no call: ${JSON.stringify(t)}`,
  );
  assert.ok((t['p1'] ?? 0) > 0 && (t['p2'] ?? 0) > 0, `p1 served before it stopped, then p2: ${JSON.stringify(t)}`);
  assert.match(await admin('/readyz'), /served by cluster dc2/);

  await p1!.restart();
  const back = await untilServedByName('p1');
  assert.deepEqual(
    back.filter((o) => o.status !== 200),
    [],
    'no call failed while p1 registered again',
  );
  const settled: Outcome[] = [];
  for (let i = 0; i < 20; i++) settled.push(await whoami());
  assert.deepEqual(tallyServed(settled), { p1: 20 }, 'the traffic is back on dc1');
});
