/**
 * Issue 18 item 4, end to end: one service in two clusters (`registries:`), each a real ZooKeeper
 * with an Apache Dubbo 3.3 Java provider registered in it. Traffic stays on the primary cluster
 * (dc1), moves to the backup (dc2) when dc1's provider is killed under load — with no failed
 * request, the route being idempotent — comes back when dc1 has a provider again, and keeps
 * flowing with dc1's registry stopped entirely. /readyz and /metrics say which cluster serves.
 * And (item 3) a route with no timeout written takes the providers' declared `timeout`.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startZooKeeper, type ZooKeeperServer } from '../support/zookeeper.js';
import { startJavaProvider, type JavaProvider } from '../support/java-provider.js';
import { http, startTestFerry, type TestFerry } from '../support/ferry.js';
import { tallyServed, untilServedBy } from '../support/served-by.js';

const IFACE = 'com.example.bank.AccountService';

let zk1: ZooKeeperServer | undefined;
let zk2: ZooKeeperServer | undefined;
let ferry: TestFerry | undefined;
const providers = new Map<string, JavaProvider>();

const mapping = (): string => `
services:
  accounts:
    protocol: dubbo
    interface: ${IFACE}
    version: 1.0.0
    registries:
      - { cluster: dc1, registry: "${zk1!.registryUrl}" }
      - { cluster: dc2, registry: "${zk2!.registryUrl}", priority: 5 }
    timeout: 3s
    pool: { connections: 1 }

  # No timeout written: routes without one take the providers' declared timeout (the sample declares 60000 ms).
  lenient:
    protocol: dubbo
    interface: ${IFACE}
    version: 1.0.0
    registry: "${zk2!.registryUrl}"

routes:
  - id: whoami
    http: GET /whoami
    call: accounts.whoami
    idempotent: true
  - id: slow-3s
    http: GET /slow/{millis}
    call: accounts.slow
    args:
      - { from: path.millis, type: int }
  - id: slow-provider-timeout
    http: GET /lenient/slow/{millis}
    call: lenient.slow
    args:
      - { from: path.millis, type: int }
`;

before(async () => {
  [zk1, zk2] = await Promise.all([startZooKeeper(), startZooKeeper()]);
  const [p1, p2] = await Promise.all([
    startJavaProvider({ name: 'p1', registry: zk1.registryUrl }),
    startJavaProvider({ name: 'p2', registry: zk2.registryUrl }),
  ]);
  providers.set('p1', p1);
  providers.set('p2', p2);
  ferry = await startTestFerry({
    withoutSamples: true,
    adminPort: 0,
    extra: { 'clusters.yaml': mapping() },
  });
});

after(async () => {
  await ferry?.close();
  // SIGKILL: with a ZooKeeper gone a provider's graceful shutdown would wait on unregistering.
  await Promise.all([...providers.values()].map((p) => p.kill().catch(() => {})));
  await Promise.all([zk1?.stop(), zk2?.stop()]);
});

interface Outcome {
  served?: string;
  status: number;
  code?: string;
}

async function whoami(): Promise<Outcome> {
  const r = await http(ferry!.base, 'GET', '/whoami');
  return r.status === 200 ? { served: String(r.json), status: 200 } : { status: r.status, code: r.json?.code };
}

async function sequential(n: number): Promise<Outcome[]> {
  const out: Outcome[] = [];
  for (let i = 0; i < n; i++) out.push(await whoami());
  return out;
}

const untilServedByName = (name: string, timeoutMs = 60_000): Promise<Outcome[]> => untilServedBy(() => whoami(), name, timeoutMs);

/** Four workers calling until `stop` resolves; every outcome kept. */
async function underLoad(during: () => Promise<void>): Promise<Outcome[]> {
  const out: Outcome[] = [];
  let done = false;
  const workers = Array.from({ length: 4 }, async () => {
    while (!done) out.push(await whoami());
  });
  try {
    await during();
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

const servingMetric = (text: string, cluster: string): string | undefined =>
  new RegExp(`^ferry_upstream_cluster_serving\\{service="accounts",cluster="${cluster}"\\} (\\d)`, 'm').exec(text)?.[1];

test('traffic stays on the primary cluster while it has a provider; /readyz and /metrics name it', async () => {
  await untilServedByName('p1');
  // dc2's provider is known too (both registries read) before we count.
  for (let i = 0; i < 100 && !(await admin('/readyz')).includes('dc2 (priority 5): 1/1'); i++) await new Promise((r) => setTimeout(r, 100));
  const t = tallyServed(await sequential(40));
  console.log(`40 GET /whoami with p1 in dc1 (priority 0) and p2 in dc2 (priority 5): ${JSON.stringify(t)}`);
  assert.deepEqual(t, { p1: 40 });
  const ready = await admin('/readyz');
  console.log(`/readyz: ${ready}`);
  assert.match(ready, /served by cluster dc1/);
  assert.match(ready, /dc2 \(priority 5\): 1\/1 available/);
  const metrics = await admin('/metrics');
  assert.equal(
    servingMetric(metrics, 'dc1'),
    '1',
    metrics
      .split('\n')
      .filter((l) => l.includes('cluster'))
      .join('\n'),
  );
  assert.equal(servingMetric(metrics, 'dc2'), '0');
  assert.match(metrics, /ferry_upstream_cluster_endpoints\{service="accounts",cluster="dc2",state="available"\} 1/);
});

test("the primary cluster's provider killed under load: calls move to the backup with no failed request, and come back when dc1 has a provider again", async () => {
  const outcomes = await underLoad(async () => {
    await new Promise((r) => setTimeout(r, 500));
    await providers.get('p1')!.kill();
    providers.delete('p1');
    await new Promise((r) => setTimeout(r, 1500));
  });
  const t = tallyServed(outcomes);
  console.log(`${outcomes.length} GET /whoami from 4 workers while p1 (dc1) was killed: ${JSON.stringify(t)}`);
  assert.ok(
    outcomes.every((o) => o.status === 200),
    JSON.stringify(t),
  );
  assert.ok((t['p2'] ?? 0) > 0, JSON.stringify(t));
  const afterKill = tallyServed(await sequential(20));
  assert.deepEqual(afterKill, { p2: 20 });
  assert.match(await admin('/readyz'), /served by cluster dc2/);
  assert.equal(servingMetric(await admin('/metrics'), 'dc2'), '1');

  // dc1 gets a provider again: traffic returns to it.
  providers.set('p3', await startJavaProvider({ name: 'p3', registry: zk1!.registryUrl }));
  const back = await untilServedByName('p3');
  assert.ok(
    back.every((o) => o.status === 200),
    JSON.stringify(tallyServed(back)),
  );
  assert.deepEqual(tallyServed(await sequential(20)), { p3: 20 });
  assert.match(await admin('/readyz'), /served by cluster dc1/);
});

test("dc1's registry stopped entirely: its last known provider keeps serving; then that provider killed, dc2 serves with no failed request", async () => {
  await zk1!.stop();
  zk1 = undefined;
  const during = await sequential(30);
  assert.deepEqual(tallyServed(during), { p3: 30 });
  const outcomes = await underLoad(async () => {
    await new Promise((r) => setTimeout(r, 300));
    await providers.get('p3')!.kill();
    providers.delete('p3');
    await new Promise((r) => setTimeout(r, 1500));
  });
  const t = tallyServed(outcomes);
  console.log(`${outcomes.length} GET /whoami with dc1's ZooKeeper down while p3 (dc1) was killed: ${JSON.stringify(t)}`);
  assert.ok(
    outcomes.every((o) => o.status === 200),
    JSON.stringify(t),
  );
  assert.deepEqual(tallyServed(await sequential(20)), { p2: 20 });
  const ready = await admin('/readyz');
  console.log(`/readyz after dc1 lost its registry and provider: ${ready}`);
  assert.match(ready, /served by cluster dc2/);
  assert.match(ready, /"status":"ready"/);
});

test("a route whose mapping writes no timeout takes the provider's declared timeout (60000 ms) instead of the 3 s default", async () => {
  // The provider's URL in ZooKeeper declares timeout=60000 (SampleProvider sets it).
  const lenient = await http(ferry!.base, 'GET', '/lenient/slow/3500');
  assert.equal(lenient.status, 200, JSON.stringify(lenient.json));
  // The same call through a service with `timeout: 3s` written: cut at 3 s.
  const strict = await http(ferry!.base, 'GET', '/slow/3500');
  assert.equal(strict.status, 504, JSON.stringify(strict.json));
  assert.equal(strict.json?.code, 'FERRY_UPSTREAM_TIMEOUT');
});
