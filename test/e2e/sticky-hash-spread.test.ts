/**
 * Issue 5, measured through the real gateway: consistent hashing (`sticky: { hash: header.x-user-id }`,
 * Maglev) over Apache Dubbo providers discovered in a real ZooKeeper. 1 000 distinct user ids are
 * sent through Ferry over HTTP; GET /users/whoami names the provider that served each one.
 *
 * Prints: the spread over 2 and 3 providers, how many ids moved when a third provider registered
 * (ideal 1/3) and when one left (ideal: only its own). Asserts that Ferry's routing equals the
 * Maglev table computed from the same endpoint ids, key for key, and that the moves stay close to
 * the ideal.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startZooKeeper, type ZooKeeperServer } from '../support/zookeeper.js';
import { startJavaProvider, type JavaProvider } from '../support/java-provider.js';
import { http, startTestFerry, type TestFerry } from '../support/ferry.js';
import { assignKeys } from '../../src/upstream/balance/consistent-hash.js';

let zk: ZooKeeperServer | undefined;
let ferry: TestFerry | undefined;
const providers: JavaProvider[] = [];

const USERS = Array.from({ length: 1000 }, (_, i) => `user-${(i * 7919).toString(36)}-${i}`);

const mapping = (registry: string): string => `
services:
  accounts-by-user:
    protocol: dubbo
    interface: com.example.bank.AccountService
    version: 1.0.0
    registry: ${registry}
    timeout: 3s
    pool: { connections: 1 }
    sticky: { hash: header.x-user-id }

routes:
  - id: whoami-by-user
    http: GET /users/whoami
    call: accounts-by-user.whoami
`;

before(async () => {
  zk = await startZooKeeper();
  const [a, b] = await Promise.all([
    startJavaProvider({ name: 'pa', registry: zk.registryUrl }),
    startJavaProvider({ name: 'pb', registry: zk.registryUrl }),
  ]);
  providers.push(a, b);
  ferry = await startTestFerry({ withoutSamples: true, extra: { 'hash.yaml': mapping(zk.registryUrl) } });
});

after(async () => {
  await ferry?.close();
  await Promise.all(providers.map((p) => p.kill().catch(() => {})));
  await zk?.stop();
});

const byName = (name: string): JavaProvider => providers.find((p) => p.name === name)!;

async function whoFor(user: string): Promise<string> {
  const r = await http(ferry!.base, 'GET', '/users/whoami', undefined, { 'x-user-id': user });
  assert.equal(r.status, 200, `GET /users/whoami with x-user-id ${user}: ${r.text}`);
  return String(r.json);
}

/** Provider name for every user id (8 requests at a time). */
async function assignment(users: readonly string[]): Promise<string[]> {
  const out = new Array<string>(users.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < users.length) {
      const i = next++;
      out[i] = await whoFor(users[i]!);
    }
  };
  await Promise.all(Array.from({ length: 8 }, worker));
  return out;
}

/** What the Maglev table over these providers says, as provider names. */
function predicted(names: readonly string[]): string[] {
  const eps = names.map((n) => ({ id: byName(n).address, weight: 100 }));
  const idToName = new Map(names.map((n) => [byName(n).address, n]));
  return assignKeys('maglev', eps, USERS).map((id) => idToName.get(id)!);
}

function counts(names: readonly string[]): Record<string, number> {
  const c: Record<string, number> = {};
  for (const n of [...names].sort()) c[n] = (c[n] ?? 0) + 1;
  return c;
}

/** Repeats `assignment(USERS)` until it equals `want` (Ferry has seen the change), bounded. */
async function settledAssignment(want: readonly string[], what: string, timeoutMs = 20_000): Promise<string[]> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const got = await assignment(USERS);
    const diff = got.filter((g, i) => g !== want[i]).length;
    if (diff === 0) return got;
    if (Date.now() > end) {
      assert.fail(`${what}: Ferry's routing still differs from the Maglev table for ${diff} of ${USERS.length} ids: ${JSON.stringify(counts(got))}`);
    }
    await new Promise((r) => setTimeout(r, 200));
  }
}

test('1 000 user ids through Ferry: spread, and moves when a provider joins and leaves', async () => {
  // Until Ferry's first ZooKeeper read, calls answer 503 (no endpoint discovered yet).
  const end = Date.now() + 20_000;
  for (;;) {
    const r = await http(ferry!.base, 'GET', '/users/whoami', undefined, { 'x-user-id': 'warm-up' });
    if (r.status === 200) break;
    assert.equal(r.json?.code, 'FERRY_UPSTREAM_UNAVAILABLE', `GET /users/whoami before discovery: ${r.text}`);
    if (Date.now() > end) assert.fail('no provider discovered in 20 s');
    await new Promise((res) => setTimeout(res, 100));
  }
  // Two providers discovered: every id lands where the table over them says.
  const two = await settledAssignment(predicted(['pa', 'pb']), 'pa and pb registered');
  console.log(`1000 ids over 2 providers: ${JSON.stringify(counts(two))}`);

  // A third provider registers; Ferry rebuilds its table without a restart.
  providers.push(await startJavaProvider({ name: 'pc', registry: zk!.registryUrl }));
  const three = await settledAssignment(predicted(['pa', 'pb', 'pc']), 'pc registered');
  const c3 = counts(three);
  const movedIn = three.filter((n, i) => n !== two[i]);
  const movedBetweenOld = movedIn.filter((n) => n !== 'pc').length;
  console.log(
    `1000 ids over 3 providers: ${JSON.stringify(c3)}; adding pc moved ${movedIn.length} ids ` +
      `(${((movedIn.length / USERS.length) * 100).toFixed(1)} %, ideal 33.3 %), ${movedBetweenOld} of them between pa and pb`,
  );
  for (const n of ['pa', 'pb', 'pc']) {
    assert.ok(c3[n]! > 250 && c3[n]! < 420, `${n} has ${c3[n]} of 1000 ids (even would be 333)`);
  }
  assert.ok(movedIn.length > 250 && movedIn.length < 420, `adding 1 provider to 2 moved ${movedIn.length} of 1000 ids`);
  assert.ok(movedBetweenOld <= 20, `${movedBetweenOld} ids moved between the old providers`);

  // pb leaves gracefully (unregisters from ZooKeeper): its ids go elsewhere, the others mostly stay.
  await byName('pb').stop();
  const left = await settledAssignment(predicted(['pa', 'pc']), 'pb unregistered');
  const movedOut = left.filter((n, i) => n !== three[i]);
  const strayMoves = three.filter((n, i) => n !== 'pb' && left[i] !== n).length;
  console.log(
    `after pb left: ${JSON.stringify(counts(left))}; ${movedOut.length} ids moved ` +
      `(pb had ${c3['pb']}), ${strayMoves} of them had not been on pb`,
  );
  assert.ok(left.every((n) => n !== 'pb'));
  assert.ok(strayMoves <= 20, `${strayMoves} ids that were not on pb moved`);
});
