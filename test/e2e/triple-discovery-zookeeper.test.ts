/**
 * Issue 13: ZooKeeper discovery, balancing and failover for a Triple service, end to end, as
 * test/e2e/discovery-zookeeper.test.ts proves them for Dubbo. Debian's ZooKeeper and two Apache
 * Dubbo 3.3 providers (samples/java-provider with Triple on) that register themselves:
 * `/dubbo/com.example.sample.greeter.Greeter/providers/tri://127.0.0.1:PORT/ferry.sample.v1.Greeter?...&version=1.0.0`
 * (the Java interface is the registry key; the proto service is the gRPC path). Each SayHello
 * reply carries the response attachment `served-by: <provider>`, a gRPC trailer that Ferry passes
 * on as the HTTP header `grpc-trailer-served-by`. Ferry runs in-process, round-robin, and is never
 * restarted or reloaded here.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { performance } from 'node:perf_hooks';
import { startZooKeeper, type ZooKeeperServer } from '../support/zookeeper.js';
import { startJavaProvider, type JavaProvider } from '../support/java-provider.js';
import { startTestFerry, type TestFerry } from '../support/ferry.js';
import { call, GREETER_PROTO, sequential, tally, untilServedByAll, untilSteady, type Reply } from '../support/peer-traffic.js';

const GREETER_INTERFACE = 'com.example.sample.greeter.Greeter';

let zk: ZooKeeperServer | undefined;
let ferry: TestFerry | undefined;
const providers = new Map<string, JavaProvider>();

/** `greeter` matches the providers (version 1.0.0); `greeter-v2` asks for a version nobody serves. */
const mapping = (registry: string): string => `
services:
  greeter:
    protocol: triple
    proto: ${GREETER_PROTO}
    service: ferry.sample.v1.Greeter
    interface: ${GREETER_INTERFACE}
    version: 1.0.0
    registry: ${registry}
    balance: round-robin
    timeout: 3s
  greeter-v2:
    protocol: triple
    proto: ${GREETER_PROTO}
    service: ferry.sample.v1.Greeter
    interface: ${GREETER_INTERFACE}
    version: 2.0.0
    registry: ${registry}
    timeout: 3s

routes:
  - id: greet
    http: GET /greet/{name}
    call: greeter.SayHello
    idempotent: true
  - id: greet-v2
    http: GET /v2/greet/{name}
    call: greeter-v2.SayHello
    idempotent: true
`;

before(async () => {
  zk = await startZooKeeper();
  ferry = await startTestFerry({ withoutSamples: true, extra: { 'triple.yaml': mapping(zk.registryUrl) } });
});

after(async () => {
  await ferry?.close();
  // Providers before ZooKeeper: a Dubbo provider whose registry is gone hangs on unregistering.
  await Promise.all([...providers.values()].map((p) => p.kill().catch(() => {})));
  await zk?.stop();
});

async function provider(name: string): Promise<JavaProvider> {
  const p = await startJavaProvider({ name, triple: true, registry: zk!.registryUrl });
  providers.set(name, p);
  return p;
}

let seq = 0;
/** GET /greet/<unique name>; checks the reply is the Greeter's for that name. */
async function greet(): Promise<Reply> {
  const name = `n${seq++}`;
  const r = await call(ferry!.base, 'GET', `/greet/${name}`);
  if (r.status === 200) assert.equal(r.json.message, `Hello, ${name}`, r.text);
  return r;
}

test('a provider started after Ferry gets traffic without a restart; a second one shares it evenly', async () => {
  await provider('ta');
  // Before anything is registered Ferry answers 503; once ta is discovered, ta serves.
  const warmUp = await untilServedByAll(['ta'], greet, 600, 60_000);
  for (const r of warmUp) {
    if (r.status !== 200) assert.equal(r.code, 'FERRY_UPSTREAM_UNAVAILABLE', `GET /greet before discovery: ${r.text}`);
  }
  // tried: 12 calls, 3 at a time, with only ta registered
  const only = (await Promise.all(Array.from({ length: 3 }, () => sequential(4, greet)))).flat();
  assert.deepEqual(tally(only), { ta: 12 });

  await provider('tb');
  const joining = await untilServedByAll(['tb'], greet, 600, 60_000);
  assert.ok(
    joining.every((r) => r.status === 200),
    `no call failed while tb joined: ${JSON.stringify(tally(joining))}`,
  );
  // tried: 20 sequential calls with ta and tb registered
  const both = await sequential(20, greet);
  console.log(`ta and tb registered, 20 sequential GET /greet: ${JSON.stringify(tally(both))}`);
  assert.deepEqual(tally(both), { ta: 10, tb: 10 }, 'round-robin over both providers');

  // tried: the same Greeter through a service that asks for version 2.0.0 (nobody registers it)
  const v2 = await call(ferry!.base, 'GET', '/v2/greet/x');
  assert.equal(v2.status, 503, v2.text);
  assert.equal(v2.code, 'FERRY_UPSTREAM_UNAVAILABLE', 'providers of version 1.0.0 do not serve a 2.0.0 reference');
});

test('a provider stopped gracefully (SIGTERM) takes no new calls and no call fails; restarted, it is back', async () => {
  const tb = providers.get('tb')!;
  interface Timed extends Reply {
    startedAt: number;
  }
  const outcomes: Timed[] = [];
  let stoppedAt = Infinity;
  // tried: 3 workers calling GET /greet until tb has exited and 45 more calls have started
  const worker = async (): Promise<void> => {
    while (!(stoppedAt < Infinity && outcomes.filter((o) => o.startedAt > stoppedAt).length >= 45)) {
      const startedAt = performance.now();
      outcomes.push({ ...(await greet()), startedAt });
      if (outcomes.length > 3000) throw new Error('load did not end (bounded at 3000 calls)');
    }
  };
  const workers = Array.from({ length: 3 }, worker);
  const end = Date.now() + 20_000;
  while (!outcomes.some((o) => o.server === 'tb')) {
    if (Date.now() > end) throw new Error('tb never served under load');
    await new Promise((r) => setTimeout(r, 10));
  }
  const stopSentAt = performance.now();
  await tb.stop();
  stoppedAt = performance.now();
  await Promise.all(workers);

  console.log(`graceful stop of tb under 3 workers: ${JSON.stringify(tally(outcomes))}, ${outcomes.length} calls`);
  const failed = outcomes.filter((o) => o.status !== 200);
  assert.equal(failed.length, 0, `a graceful stop costs no call: ${JSON.stringify(tally(outcomes))}; first: ${failed[0]?.text}`);
  assert.ok(
    outcomes.some((o) => o.server === 'tb' && o.startedAt < stopSentAt),
    'tb served before it was stopped',
  );
  const afterExit = outcomes.filter((o) => o.startedAt > stoppedAt);
  assert.deepEqual(tally(afterExit), { ta: afterExit.length }, 'after the stop only ta serves');

  // tried: tb started again on the same ports (it registers again)
  await tb.restart();
  await untilServedByAll(['tb'], greet, 600, 60_000);
  assert.deepEqual(tally(await sequential(20, greet)), { ta: 10, tb: 10 });
});

test('a provider killed (SIGKILL) under load: idempotent calls are all answered, by the other provider from then on', async () => {
  const ta = providers.get('ta')!;
  interface Timed extends Reply {
    startedAt: number;
  }
  // tried: 120 calls of GET /greet (idempotent: true) from 4 workers; SIGKILL ta after 30 answers.
  // ta's ZooKeeper node outlives it until its session times out, so Ferry must route around it.
  const outcomes: Timed[] = [];
  let issued = 0;
  let exitedAt = Infinity;
  let killing: Promise<void> | undefined;
  await Promise.all(
    Array.from({ length: 4 }, async () => {
      while (issued < 120) {
        issued++;
        const startedAt = performance.now();
        outcomes.push({ ...(await greet()), startedAt });
        if (outcomes.length === 30 && killing === undefined) {
          killing = ta.kill().then(() => {
            exitedAt = performance.now();
          });
        }
      }
    }),
  );
  await killing;
  console.log(`kill -9 ta under 120 idempotent calls, 4 workers: ${JSON.stringify(tally(outcomes))}`);
  const failed = outcomes.filter((o) => o.status !== 200);
  assert.equal(failed.length, 0, `idempotent calls survive the kill: ${JSON.stringify(tally(outcomes))}; first: ${failed[0]?.text}`);
  const afterExit = outcomes.filter((o) => o.startedAt > exitedAt);
  assert.ok(afterExit.length >= 30, `${afterExit.length} calls after ta exited`);
  assert.deepEqual(tally(afterExit), { tb: afterExit.length }, 'after the kill only tb serves');
  // And it stays that way without any reload.
  const steady = await untilSteady('only tb serves', greet, (r) => r.status === 200 && r.server === 'tb', 20);
  assert.ok(
    steady.every((r) => r.status === 200),
    JSON.stringify(tally(steady)),
  );
});
