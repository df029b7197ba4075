/**
 * Issue 18 items 2 and 3, end to end: Apache Dubbo 3.3.6 Java providers (samples/java-provider)
 * registering in a real ZooKeeper with `register-mode` interface, instance and all, and Ferry's
 * HTTP front end serving the shipped bank mapping (mappings/bank.yaml) with its static endpoint
 * replaced by `registry: zookeeper://...`. Everything about which provider served a call is
 * observed over HTTP (GET /whoami answers the provider's name).
 *
 * Providers start with warmup 0 unless a test is about warm-up (test/support/java-provider.ts).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import zookeeper from 'node-zookeeper-client';
import type { Client } from 'node-zookeeper-client';
import { startZooKeeper, type ZooKeeperServer } from '../support/zookeeper.js';
import { startJavaProvider, type JavaProvider, type JavaProviderOptions } from '../support/java-provider.js';
import { http, startTestFerry, type TestFerry } from '../support/ferry.js';
import { freePort } from '../support/ports.js';
import { loadConfigFiles } from '../../src/config/loader.js';
import { UpstreamClients } from '../../src/upstream/clients.js';
import { createMetadataServiceFetcher } from '../../src/upstream/metadata-service.js';
import { createZooKeeperRegistrySource } from '../../src/upstream/discovery/zookeeper-registry.js';
import { createZooKeeperSource } from '../../src/upstream/discovery/zookeeper.js';
import type { Endpoint, EndpointSource } from '../../src/upstream/discovery/types.js';
import { tallyServed } from '../support/served-by.js';

const IFACE = 'com.example.bank.AccountService';

let zk: ZooKeeperServer | undefined;
let ferry: TestFerry | undefined;
let zkReader: Client | undefined;
const providers = new Map<string, JavaProvider>();
const closers: Array<() => Promise<void>> = [];
const registryErrors: string[] = [];

/** mappings/bank.yaml as shipped, discovering providers in ZooKeeper instead of a fixed endpoint. */
async function bankMapping(registry: string): Promise<string> {
  const shipped = await readFile('mappings/bank.yaml', 'utf8');
  assert.ok(shipped.includes('endpoints: [127.0.0.1:20880]'), 'the shipped mapping names its endpoint as this test expects');
  return shipped.replace('endpoints: [127.0.0.1:20880]', `registry: ${registry}`);
}

/** A second service on the same interface, balanced round-robin (weights split traffic exactly). */
const roundRobinMapping = (registry: string): string => `
services:
  accounts_rr:
    protocol: dubbo
    interface: ${IFACE}
    version: 1.0.0
    registry: ${registry}
    timeout: 5s
    balance: round-robin
routes:
  - id: rr-whoami
    http: GET /rr/whoami
    call: accounts_rr.whoami
`;

before(async () => {
  zk = await startZooKeeper();
  ferry = await startTestFerry({
    withoutSamples: true,
    adminPort: 0,
    extra: { 'bank.yaml': await bankMapping(zk.registryUrl), 'rr.yaml': roundRobinMapping(zk.registryUrl) },
  });
  zkReader = zookeeper.createClient(zk.connectString);
  await new Promise<void>((resolve) => {
    zkReader!.once('connected', () => resolve());
    zkReader!.connect();
  });
});

after(async () => {
  await ferry?.close();
  for (const c of closers) await c().catch(() => {});
  await Promise.all([...providers.values()].map((p) => p.kill().catch(() => {})));
  zkReader?.close();
  await zk?.stop();
});

async function provider(name: string, opts: JavaProviderOptions): Promise<JavaProvider> {
  const p = await startJavaProvider({ name, registry: zk!.registryUrl, ...opts });
  providers.set(name, p);
  return p;
}

async function stop(name: string): Promise<void> {
  await providers.get(name)?.stop();
  providers.delete(name);
}

interface Outcome {
  served?: string;
  status: number;
  code?: string;
  at: number;
}

async function whoami(path = '/whoami'): Promise<Outcome> {
  const at = Date.now();
  const r = await http(ferry!.base, 'GET', path);
  return r.status === 200 ? { served: String(r.json), status: 200, at } : { status: r.status, code: r.json?.code, at };
}

/** `total` calls from `concurrency` workers (or, with `until`, calls until that epoch ms, each worker pausing `pauseMs`). */
async function load(total: number, concurrency: number, path = '/whoami', until?: { at: number; pauseMs: number }): Promise<Outcome[]> {
  const out: Outcome[] = [];
  let issued = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (until === undefined ? issued < total : Date.now() < until.at) {
        issued++;
        out.push(await whoami(path));
        if (until !== undefined) await new Promise((r) => setTimeout(r, until.pauseMs));
      }
    }),
  );
  return out;
}

/** Calls until every name in `names` has served (bounded); returns the calls made. */
async function untilServedBy(names: readonly string[], path = '/whoami', timeoutMs = 60_000): Promise<Outcome[]> {
  const seen: Outcome[] = [];
  const end = Date.now() + timeoutMs;
  while (!names.every((n) => seen.some((o) => o.served === n))) {
    if (Date.now() > end)
      throw new Error(`GET ${path} never answered all of ${names.join(', ')} in ${timeoutMs} ms: ${JSON.stringify(tallyServed(seen))}`);
    seen.push(await whoami(path));
    if (seen.at(-1)!.status !== 200) await new Promise((r) => setTimeout(r, 50));
  }
  return seen;
}

async function waitFor(what: string, cond: () => boolean, timeoutMs = 60_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for: ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** A registry source of the test's own (the same code Ferry runs), to look at the endpoint set. */
function registrySource(): ReturnType<typeof createZooKeeperRegistrySource> {
  const s = createZooKeeperRegistrySource({
    cacheDir: false,
    connectString: zk!.registryUrl,
    interface: IFACE,
    version: '1.0.0',
    fetchMetadataInfo: createMetadataServiceFetcher(),
    onError: (e) => registryErrors.push(e.message),
  });
  closers.push(() => s.close());
  return s;
}

const ids = (s: EndpointSource): string[] => s.current().map((e) => e.id);

test('providers in every register mode are found and called; a provider in both layouts is one endpoint; one that leaves gets no calls', async () => {
  const started = await Promise.all([
    provider('legacy', { registerMode: 'interface', application: 'bank-legacy' }),
    // Triple on too: its MetadataService URL then names tri (MetadataServiceV2); Ferry asks the 1.0.0 one over the dubbo port.
    provider('app-local', { registerMode: 'instance', application: 'bank-app', metadataType: 'local', triple: true }),
    provider('app-remote', { registerMode: 'instance', application: 'bank-app', metadataType: 'remote' }),
    provider('both', { registerMode: 'all', application: 'bank-both' }),
  ]);
  const names = ['legacy', 'app-local', 'app-remote', 'both'];
  const discovering = await untilServedBy(names);
  for (const o of discovering) if (o.status !== 200) assert.equal(o.code, 'FERRY_UPSTREAM_UNAVAILABLE', JSON.stringify(o));

  const steady = await load(120, 4);
  const t = tallyServed(steady);
  console.log(`120 GET /whoami over providers in interface, instance (local and remote metadata) and all modes: ${JSON.stringify(t)}`);
  assert.deepEqual(Object.keys(t).sort(), [...names].sort(), 'every provider serves, nothing fails');

  // A real call with a typed reply through an application-level provider.
  const account = await http(ferry!.base, 'GET', '/accounts/5');
  assert.equal(account.status, 200);
  assert.equal(account.json.owner, 'owner-5');

  // The endpoint set: four providers, `both` once, each at its own address.
  const merged = registrySource();
  assert.equal(await merged.ready(30_000), true);
  assert.deepEqual(ids(merged), started.map((p) => p.address).sort());
  const interfaceOnly = createZooKeeperSource({ cacheDir: false, connectString: zk!.registryUrl, interface: IFACE, version: '1.0.0' });
  closers.push(() => interfaceOnly.close());
  assert.equal(await interfaceOnly.ready(10_000), true);
  const both = providers.get('both')!;
  assert.deepEqual(ids(interfaceOnly), [providers.get('legacy')!.address, both.address].sort(), 'interface-level: legacy and both');
  assert.equal(merged.current().filter((e) => e.id === both.address).length, 1);

  // An instance-mode provider stops: it unregisters and gets no further call.
  await stop('app-local');
  const stoppedAt = Date.now();
  const afterStop = await load(80, 4);
  assert.deepEqual(
    afterStop.filter((o) => o.status !== 200),
    [],
    `no call failed: ${JSON.stringify(tallyServed(afterStop))}`,
  );
  assert.ok(
    afterStop.every((o) => o.served !== 'app-local'),
    `app-local served after it stopped: ${JSON.stringify(tallyServed(afterStop))}`,
  );
  await waitFor('app-local leaves the endpoint set', () => !ids(merged).includes(started[1].address));
  console.log(`after app-local stopped (${Date.now() - stoppedAt} ms): ${JSON.stringify(tallyServed(afterStop))}`);
  await Promise.all(['legacy', 'app-remote', 'both'].map(stop));
  await waitFor('every provider unregistered', () => merged.current().length === 0);
});

test('the same providers give the same endpoints in interface, instance and all modes (weight, tag, timeout kept)', async () => {
  const ports = [await freePort(), await freePort()];
  const snapshots: Array<Array<Record<string, unknown>>> = [];
  const source = registrySource();
  for (const mode of ['interface', 'instance', 'all'] as const) {
    await Promise.all(
      ports.map((dubboPort, i) =>
        // Equal weights: least-pending (this service's balancer) sends sequential calls to the heaviest.
        provider(`${mode}-${i}`, { registerMode: mode, application: 'bank-modes', dubboPort, weight: 150, tag: 'blue' }),
      ),
    );
    // Ferry, running all along, finds them without a restart.
    await untilServedBy([`${mode}-0`, `${mode}-1`]);
    await waitFor(`${mode}: both in the endpoint set`, () => source.current().length === 2);
    await source.ready(30_000);
    snapshots.push(
      source.current().map((e: Endpoint) => ({
        id: e.id,
        protocol: e.protocol,
        weight: e.weight,
        tag: e.labels['dubbo.tag'],
        timeout: e.labels['timeout'],
        version: e.labels['version'],
        warmup: e.labels['warmup'],
        started: typeof e.warmupStartMs === 'number',
      })),
    );
    await Promise.all([stop(`${mode}-0`), stop(`${mode}-1`)]);
    await waitFor(`${mode}: providers gone`, () => source.current().length === 0);
  }
  console.log(`endpoints per register mode: ${JSON.stringify(snapshots[0])}`);
  assert.deepEqual(snapshots[1], snapshots[0], 'instance mode = interface mode');
  assert.deepEqual(snapshots[2], snapshots[0], 'all mode = interface mode');
  assert.deepEqual(
    snapshots[0]!.map((s) => [s['id'], s['weight'], s['tag'], s['timeout']]),
    ports.map((p) => [`127.0.0.1:${p}`, 150, 'blue', '60000']).sort(),
  );
  // With every provider gone, Ferry answers 503, not a stale endpoint.
  const gone = await whoami();
  assert.equal(gone.status, 503);
  assert.equal(gone.code, 'FERRY_UPSTREAM_UNAVAILABLE');
});

/** Dubbo's warm-up weight (AbstractLoadBalance), written out here independently of src/. */
function dubboWarmupWeight(weight: number, startMs: number, warmupMs: number, nowMs: number): number {
  const uptime = nowMs - startMs;
  if (uptime < 0) return 1;
  if (uptime <= 0 || uptime >= warmupMs) return weight;
  const ww = Math.trunc(Math.fround(uptime / Math.fround(warmupMs / weight)));
  return Math.max(1, Math.min(ww, weight));
}

async function instanceTimestamp(app: string, p: JavaProvider): Promise<number> {
  const data = await new Promise<Buffer | undefined>((resolve, reject) =>
    zkReader!.getData(`/services/${app}/${p.address}`, (err, d) => (err ? reject(err) : resolve(d))),
  );
  return Number(JSON.parse(data!.toString()).payload.metadata.timestamp);
}

test("weights split traffic as declared, and a warming provider gets the share Dubbo's warm-up formula gives", async () => {
  await Promise.all([
    provider('heavy', { registerMode: 'instance', application: 'bank-weights', weight: 200 }),
    provider('light', { registerMode: 'instance', application: 'bank-weights', weight: 100 }),
  ]);
  await untilServedBy(['heavy', 'light'], '/rr/whoami');
  const split = tallyServed(await load(300, 3, '/rr/whoami'));
  console.log(`300 GET /rr/whoami, weights 200:100 (round-robin): ${JSON.stringify(split)}`);
  // Smooth weighted round-robin is exact over whole cycles; ±3 allows for the cycle the load started in.
  assert.deepEqual(Object.keys(split).sort(), ['heavy', 'light']);
  assert.ok(Math.abs(split['heavy']! - 200) <= 3 && Math.abs(split['light']! - 100) <= 3, JSON.stringify(split));

  // light leaves; warming joins: weight 100, warm-up 20 s, so its weight climbs 1 per 200 ms.
  // Calls run (paced) until 80 % of the warm-up, so they see most of the ramp.
  await stop('light');
  const WARMUP = 20_000;
  const warming = await provider('warming', { registerMode: 'instance', application: 'bank-weights', weight: 100, warmupMs: WARMUP });
  const startMs = await instanceTimestamp('bank-weights', warming);
  await untilServedBy(['warming'], '/rr/whoami');
  const outcomes = await load(0, 4, '/rr/whoami', { at: startMs + 0.8 * WARMUP, pauseMs: 5 });
  assert.ok(
    outcomes.every((o) => o.status === 200),
    JSON.stringify(tallyServed(outcomes)),
  );
  let expected = 0;
  for (const o of outcomes) {
    const w = dubboWarmupWeight(100, startMs, WARMUP, o.at);
    expected += w / (200 + w);
  }
  const actual = outcomes.filter((o) => o.served === 'warming').length;
  const uptimes = [outcomes[0]!.at - startMs, outcomes.at(-1)!.at - startMs];
  const tolerance = Math.max(6, 0.1 * expected);
  console.log(
    `${outcomes.length} GET /rr/whoami against heavy (200) and warming (100, warmup ${WARMUP} ms, uptime ${uptimes[0]}..${uptimes[1]} ms): ` +
      `warming served ${actual}, formula expects ${expected.toFixed(1)} (tolerance ±${tolerance.toFixed(1)})`,
  );
  assert.ok(uptimes[1]! < WARMUP, 'the measurement ran inside the warm-up');
  assert.ok(
    uptimes[1]! - uptimes[0]! > WARMUP / 4 && outcomes.length >= 300,
    `the measurement covers a good part of the ramp (${outcomes.length} calls)`,
  );
  assert.ok(Math.abs(actual - expected) <= tolerance, `warming served ${actual}, expected ${expected.toFixed(1)} ± ${tolerance.toFixed(1)}`);
  // And the ramp shows: the later half of the calls gives it a larger share than the first.
  const half = outcomes.length / 2;
  const early = outcomes.slice(0, half).filter((o) => o.served === 'warming').length;
  const late = outcomes.slice(half).filter((o) => o.served === 'warming').length;
  assert.ok(late > early, `early ${early}, late ${late}`);
});

test('a provider whose serialization Ferry does not speak is never called and is listed with the reason, logged once', async () => {
  const fj = await provider('fastjson', { registerMode: 'instance', application: 'bank-weights', serialization: 'fastjson2' });
  // A client set of the test's own, built from the same mapping, to read the refused list.
  const config = loadConfigFiles([{ file: 'bank.yaml', text: await bankMapping(zk!.registryUrl) }], process.cwd());
  const errors: string[] = [];
  const clients = new UpstreamClients({ onRegistryError: (_s, e) => errors.push(e.message) });
  closers.push(() => clients.close());
  clients.forService(config.services.get('accounts')!);
  await waitFor('fastjson refused', () => clients.refusedEndpoints(config).some((r) => r.id === fj.address));
  assert.deepEqual(clients.refusedEndpoints(config), [
    { service: 'accounts', id: fj.address, reason: 'serialization fastjson2; Ferry speaks hessian2 only' },
  ]);
  const calls = tallyServed(await load(60, 3));
  console.log(`60 GET /whoami with a fastjson2-only provider registered: ${JSON.stringify(calls)}`);
  assert.equal(calls['fastjson'], undefined);
  assert.ok((calls['heavy'] ?? 0) + (calls['warming'] ?? 0) === 60, JSON.stringify(calls));
  // Another registry event (a provider joining) recomputes the list: the refusal is not logged again.
  const late = await provider('late', { registerMode: 'instance', application: 'bank-weights' });
  const accounts = clients.forService(config.services.get('accounts')!);
  await waitFor('late discovered', () => accounts.client.upstream.endpoints().some((e) => e.id === late.address));
  assert.ok(!accounts.client.upstream.endpoints().some((e) => e.id === fj.address), 'the refused provider has no transport');
  assert.equal(errors.filter((m) => m.includes(fj.address)).length, 1, errors.join('\n'));
  assert.match(
    errors.find((m) => m.includes(fj.address))!,
    /provider 127\.0\.0\.1:\d+ of com\.example\.bank\.AccountService is not balanced to: serialization fastjson2/,
  );
  // The running Ferry's /readyz names the refused endpoint (it stays ready: others serve).
  const ready = await http(`http://127.0.0.1:${ferry!.adminPort}`, 'GET', '/readyz');
  assert.ok(
    (ready.json?.notes ?? []).some((n: string) => n.includes(fj.address) && n.includes('fastjson2')),
    `readyz: ${ready.text}`,
  );
});
