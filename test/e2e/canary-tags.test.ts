/**
 * Canary and tag routing end to end (issue 14, item 4): Apache Dubbo Java providers
 * (samples/java-provider) registered in Debian's ZooKeeper, two untagged and one with
 * `dubbo.tag=gray` (`--tag gray`, i.e. Dubbo's ProviderConfig tag) registered application-level
 * (Dubbo 3 instance + MetadataInfo), so the tag reaches Ferry through the instance's metadata path.
 * Ferry runs in-process on a free port. Every reply names the provider that answered
 * (AccountService.whoami), and invocationAttachments shows the attachments the provider received
 * (Dubbo's ContextFilter hides dubbo.tag from RpcContext attachments, so receivedAttachments would not).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startZooKeeper, type ZooKeeperServer } from '../support/zookeeper.js';
import { startJavaProvider, type JavaProvider } from '../support/java-provider.js';
import { http, startTestFerry, type TestFerry } from '../support/ferry.js';

let zk: ZooKeeperServer | undefined;
let ferry: TestFerry | undefined;
const providers = new Map<string, JavaProvider>();
const STABLE = ['stable-1', 'stable-2'];
const GRAY = 'gray-1';
/** The gray share of requests that name no tag: weights 80 / 20. */
const GRAY_SHARE = 0.2;

const mapping = (registry: string): string => `
services:
  accounts:
    protocol: dubbo
    interface: com.example.bank.AccountService
    version: 1.0.0
    registry: ${registry}
    timeout: 5s
    pool: { connections: 1 }
    balance: round-robin
    canary:
      tagFrom: [header.x-dubbo-tag, cookie.dubbo-tag]
      split: [{ weight: 80 }, { tag: gray, weight: 20 }]

routes:
  - id: whoami
    http: GET /whoami
    call: accounts.whoami
  - id: plain-whoami
    http: GET /plain/whoami
    call: accounts.whoami
    canary: false
  - id: forced-whoami
    http: GET /forced/whoami
    call: accounts.whoami
    canary: { tagFrom: header.x-dubbo-tag, force: true }
  - id: attachments
    http: GET /attachments
    call: accounts.invocationAttachments
    canary: { tagFrom: header.x-dubbo-tag }
  - id: forced-attachments
    http: GET /forced/attachments
    call: accounts.invocationAttachments
    canary: { tagFrom: header.x-dubbo-tag, force: true }
`;

before(async () => {
  zk = await startZooKeeper();
  const started = await Promise.all([
    ...STABLE.map((name) => startJavaProvider({ name, registry: zk!.registryUrl })),
    startJavaProvider({ name: GRAY, registry: zk.registryUrl, registerMode: 'instance', application: 'bank-gray', tag: 'gray' }),
  ]);
  for (const p of started) providers.set(p.name, p);
  ferry = await startTestFerry({ withoutSamples: true, problemDetail: 'full', extra: { 'canary.yaml': mapping(zk.registryUrl) } });
  // Discovery is asynchronous (the gray one through /dubbo/mapping, /services and its MetadataService): wait for all three.
  const seen = new Set<string>();
  const end = Date.now() + 60_000;
  while (seen.size < 3) {
    const r = await http(ferry.base, 'GET', '/plain/whoami');
    if (r.status === 200) seen.add(String(r.json));
    if (Date.now() > end) throw new Error(`GET /plain/whoami reached only ${[...seen].join(', ') || 'nobody'} in 60 s`);
    if (seen.size < 3) await new Promise((r) => setTimeout(r, 100));
  }
});

after(async () => {
  await ferry?.close();
  await Promise.all([...providers.values()].map((p) => p.kill().catch(() => {})));
  await zk?.stop();
});

async function whoami(path: string, headers: Record<string, string> = {}): Promise<string> {
  const r = await http(ferry!.base, 'GET', path, undefined, headers);
  assert.equal(r.status, 200, `GET ${path} ${JSON.stringify(headers)}: ${r.text}`);
  return String(r.json);
}

async function tally(n: number, path: string, headers: Record<string, string> = {}, concurrency = 1): Promise<Record<string, number>> {
  const counts: Record<string, number> = {};
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < n) {
        next++;
        const who = await whoami(path, headers);
        counts[who] = (counts[who] ?? 0) + 1;
      }
    }),
  );
  return counts;
}

test('10,000 requests naming no tag split 80/20 between untagged and gray providers, within 5 standard deviations', async (t) => {
  const n = 10_000;
  const counts = await tally(n, '/whoami', {}, 16);
  const gray = counts[GRAY] ?? 0;
  // Binomial(n, 0.2): sd = sqrt(n p (1 - p)) = 40; 5 sd = 200, so a correct split fails this about once in 1.7 million runs.
  const sd = Math.sqrt(n * GRAY_SHARE * (1 - GRAY_SHARE));
  const expected = n * GRAY_SHARE;
  t.diagnostic(`split: ${JSON.stringify(counts)}; gray ${gray}, expected ${expected} ± ${5 * sd}`);
  assert.ok(Math.abs(gray - expected) <= 5 * sd, `gray served ${gray} of ${n}; expected ${expected} ± ${5 * sd}: ${JSON.stringify(counts)}`);
  assert.deepEqual(Object.keys(counts).sort(), [...STABLE, GRAY].sort(), `only the three providers answered: ${JSON.stringify(counts)}`);
  // The untagged share is balanced over both untagged providers (round-robin: equal within a few calls).
  assert.ok(Math.abs(counts['stable-1']! - counts['stable-2']!) <= 32, `untagged spread: ${JSON.stringify(counts)}`);
});

test('a request naming the gray tag (header or cookie) reaches only the gray provider', async () => {
  assert.deepEqual(await tally(60, '/whoami', { 'x-dubbo-tag': 'gray' }, 4), { [GRAY]: 60 });
  assert.deepEqual(await tally(20, '/whoami', { cookie: 'session=x; dubbo-tag=gray' }), { [GRAY]: 20 });
});

test('a tag no provider carries falls back to the untagged providers (input: x-dubbo-tag: blue)', async () => {
  const counts = await tally(60, '/whoami', { 'x-dubbo-tag': 'blue' }, 4);
  assert.deepEqual(Object.keys(counts).sort(), STABLE, `fallback reached: ${JSON.stringify(counts)}`);
});

test('a forced tag no provider carries is 503 FERRY_NO_TAGGED_ENDPOINT; a forced tag that exists is served by it', async () => {
  const r = await http(ferry!.base, 'GET', '/forced/whoami', undefined, { 'x-dubbo-tag': 'blue' });
  assert.equal(r.status, 503, r.text);
  assert.equal(r.json?.code, 'FERRY_NO_TAGGED_ENDPOINT', r.text);
  assert.match(r.headers.get('content-type') ?? '', /application\/problem\+json/);
  assert.deepEqual(await tally(10, '/forced/whoami', { 'x-dubbo-tag': 'gray' }), { [GRAY]: 10 });
  // A forced route still sends requests without a tag to the untagged providers.
  assert.deepEqual(Object.keys(await tally(20, '/forced/whoami')).sort(), STABLE);
});

test('the provider receives the dubbo.tag attachment (and none without a tag); a bad tag is 400 (input: 200 characters)', async () => {
  const tagged = await http(ferry!.base, 'GET', '/attachments', undefined, { 'x-dubbo-tag': 'gray' });
  assert.equal(tagged.status, 200, tagged.text);
  assert.equal(tagged.json?.['dubbo.tag'], 'gray', `attachments: ${tagged.text}`);
  assert.equal(tagged.json?.['dubbo.force.tag'], undefined, `attachments: ${tagged.text}`);
  const forced = await http(ferry!.base, 'GET', '/forced/attachments', undefined, { 'x-dubbo-tag': 'gray' });
  assert.equal(forced.json?.['dubbo.tag'], 'gray', `attachments: ${forced.text}`);
  assert.equal(forced.json?.['dubbo.force.tag'], 'true', `attachments: ${forced.text}`);
  const untagged = await http(ferry!.base, 'GET', '/attachments');
  assert.equal(untagged.status, 200, untagged.text);
  assert.equal(untagged.json?.['dubbo.tag'], undefined, `attachments: ${untagged.text}`);
  const bad = await http(ferry!.base, 'GET', '/whoami', undefined, { 'x-dubbo-tag': 'g'.repeat(200) });
  assert.equal(bad.status, 400, bad.text);
  assert.equal(bad.json?.code, 'FERRY_BAD_ARGUMENT', bad.text);
});

test('when the gray provider leaves (SIGTERM: it unregisters), gray requests fall back to the untagged providers', async () => {
  await providers.get(GRAY)!.stop();
  providers.delete(GRAY);
  const end = Date.now() + 60_000;
  let last: Record<string, number> = {};
  for (;;) {
    const r = await http(ferry!.base, 'GET', '/whoami', undefined, { 'x-dubbo-tag': 'gray' });
    const key = r.status === 200 ? String(r.json) : `${r.status} ${r.json?.code}`;
    last[key] = (last[key] ?? 0) + 1;
    if (r.status === 200 && STABLE.includes(String(r.json))) break;
    if (Date.now() > end) throw new Error(`gray requests never fell back to an untagged provider in 60 s: ${JSON.stringify(last)}`);
    await new Promise((res) => setTimeout(res, 100));
  }
  last = await tally(20, '/whoami', { 'x-dubbo-tag': 'gray' });
  assert.deepEqual(Object.keys(last).sort(), STABLE, `after the fallback: ${JSON.stringify(last)}`);
  const forced = await http(ferry!.base, 'GET', '/forced/whoami', undefined, { 'x-dubbo-tag': 'gray' });
  assert.equal(forced.json?.code, 'FERRY_NO_TAGGED_ENDPOINT', forced.text);
});
