/**
 * Issue 18: a legacy Apache Dubbo 2.7 provider (samples/java-provider-27, Dubbo 2.7.23 with Curator)
 * registering interface-level in a real ZooKeeper, found by Ferry's `registry: zookeeper://...`
 * and called through HTTP, beside nothing else: what a shop that has not moved to Dubbo 3 runs.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import zookeeper from 'node-zookeeper-client';
import { startZooKeeper, type ZooKeeperServer } from '../support/zookeeper.js';
import { startLegacyProvider, type LegacyProvider } from '../support/java-provider.js';
import { http, startTestFerry, type TestFerry } from '../support/ferry.js';

const IFACE = 'com.example.legacy.GreetingService';

let zk: ZooKeeperServer | undefined;
let legacy: LegacyProvider | undefined;
let ferry: TestFerry | undefined;

before(async () => {
  zk = await startZooKeeper();
  legacy = await startLegacyProvider({ registry: zk.registryUrl, name: 'legacy-1' });
  ferry = await startTestFerry({
    withoutSamples: true,
    extra: {
      'legacy.yaml': `
services:
  greetings:
    protocol: dubbo
    interface: ${IFACE}
    version: 1.0.0
    registry: ${zk.registryUrl}

routes:
  - id: legacy-whoami
    http: GET /legacy/whoami
    call: greetings.whoami
  - id: legacy-greet
    http: GET /legacy/greet/{name}
    call: greetings.greet
    args:
      - { from: path.name, type: java.lang.String }
`,
    },
  });
});

after(async () => {
  await ferry?.close();
  await legacy?.kill();
  await zk?.stop();
});

async function providerUrls(): Promise<string[]> {
  const c = zookeeper.createClient(zk!.connectString);
  await new Promise<void>((resolve) => {
    c.once('connected', () => resolve());
    c.connect();
  });
  try {
    return await new Promise<string[]>((resolve, reject) =>
      c.getChildren(`/dubbo/${IFACE}/providers`, (err, children) => (err ? reject(err) : resolve(children.map((x) => decodeURIComponent(x))))),
    );
  } finally {
    c.close();
  }
}

test('a Dubbo 2.7 provider registered in ZooKeeper is discovered and called', async () => {
  const urls = await providerUrls();
  console.log(`what Dubbo 2.7 wrote: ${JSON.stringify(urls)}`);
  assert.equal(urls.length, 1);
  assert.match(urls[0]!, new RegExp(`^dubbo://127\\.0\\.0\\.1:${legacy!.dubboPort}/${IFACE.replace(/\./g, '\\.')}\\?`));
  assert.match(urls[0]!, /[?&]release=2\.7\.\d+(&|$)/, 'the provider really is Dubbo 2.7');
  assert.match(urls[0]!, /[?&]version=1\.0\.0(&|$)/);

  let who: { status: number; json?: unknown } | undefined;
  for (let i = 0; i < 200; i++) {
    who = await http(ferry!.base, 'GET', '/legacy/whoami');
    if (who.status === 200) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  assert.equal(who?.status, 200, JSON.stringify(who?.json));
  assert.equal(who?.json, 'legacy-1');
  const greet = await http(ferry!.base, 'GET', '/legacy/greet/Ferry');
  assert.equal(greet.status, 200, JSON.stringify(greet.json));
  assert.equal(greet.json, 'Hello, Ferry (from legacy-1)');
});
