/**
 * Time from a provider registering to the first request it serves, per registry: a real Apache
 * Dubbo 3.3 provider (samples/java-provider) registers in a real ZooKeeper or Nacos (rnacos) while
 * Ferry (the real composition root) serves GET /<registry>/whoami back to back over a provider
 * already there; the clock starts when the registration is visible in the registry (ZooKeeper: a
 * watch on the providers folder fires; Nacos: a 10 ms poll of the instance list sees it) and stops
 * when a reply names the new provider. Each registry gets ROUNDS joins; medians are printed, with
 * Nacos against its poll interval (Ferry re-reads Nacos every 2 s; ZooKeeper notifies).
 *
 *   node --import tsx bench/registry-join.ts [--rounds 3]
 */
import { performance } from 'node:perf_hooks';
import { loadavg } from 'node:os';
import zookeeper from 'node-zookeeper-client';
import type { Client, Event } from 'node-zookeeper-client';
import { startZooKeeper } from '../test/support/zookeeper.js';
import { startNacos } from '../test/support/nacos.js';
import { startJavaProvider, type JavaProvider } from '../test/support/java-provider.js';
import { http, startTestFerry } from '../test/support/ferry.js';
import { freePort } from '../test/support/ports.js';
import { NACOS_POLL_INTERVAL_MS } from '../src/upstream/discovery/nacos.js';

const arg = (name: string, dflt: number): number => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : dflt;
};
const ROUNDS = arg('rounds', 3);
const IFACE = 'com.example.bank.AccountService';
const PROVIDERS = `/dubbo/${IFACE}/providers`;

const loadNow = (): string =>
  loadavg()
    .map((x) => x.toFixed(2))
    .join(' ');
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

const load0 = loadNow();
const [zk, nacos] = await Promise.all([startZooKeeper(), startNacos()]);
const watcher: Client = zookeeper.createClient(zk.connectString, { sessionTimeout: 30_000 });
await new Promise<void>((resolve) => {
  watcher.once('connected', () => resolve());
  watcher.connect();
});
const mapping = `
services:
  zk:
    protocol: dubbo
    interface: ${IFACE}
    version: 1.0.0
    registry: "${zk.registryUrl}"
    timeout: 3s
  nacos:
    protocol: dubbo
    interface: ${IFACE}
    version: 1.0.0
    registry: "${nacos.registryUrl}"
    timeout: 3s
routes:
  - { id: zk-whoami, http: GET /zk/whoami, call: zk.whoami }
  - { id: nacos-whoami, http: GET /nacos/whoami, call: nacos.whoami }
`;
const started: JavaProvider[] = [];
const ferry = await startTestFerry({ withoutSamples: true, extra: { 'join.yaml': mapping } });

/** When ZooKeeper lists a provider on `port` (a watch on the folder; re-armed on every change). */
function zooKeeperRegistered(port: number): Promise<number> {
  return new Promise((resolve) => {
    const look = (): void => {
      watcher.getChildren(
        PROVIDERS,
        (_e: Event) => look(),
        (err, children) => {
          if (err === null && children.some((c) => decodeURIComponent(c).includes(`:${port}/`))) resolve(performance.now());
        },
      );
    };
    look();
  });
}

/** When Nacos lists an instance on `port` (polled every 10 ms). */
async function nacosRegistered(port: number): Promise<number> {
  const url = `${nacos.base}/nacos/v1/ns/instance/list?${new URLSearchParams({ serviceName: `providers:${IFACE}:1.0.0:`, healthyOnly: 'false' })}`;
  for (;;) {
    const r = await fetch(url);
    const body = (await r.json().catch(() => ({}))) as { hosts?: Array<{ port?: number }> };
    if (body.hosts?.some((h) => h.port === port) === true) return performance.now();
    await new Promise((r2) => setTimeout(r2, 10));
  }
}

/** Calls `path` back to back until a reply names `name`; resolves when that reply ended. */
async function firstServedBy(path: string, name: string, timeoutMs = 60_000): Promise<number> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const r = await http(ferry.base, 'GET', path);
    if (r.status === 200 && r.json === name) return performance.now();
    if (Date.now() > end) throw new Error(`${path} never answered ${name}`);
  }
}

async function join(registry: 'zk' | 'nacos', round: number): Promise<number> {
  const name = `${registry}-j${round}`;
  const url = registry === 'zk' ? zk.registryUrl : nacos.registryUrl;
  // Port first, so that the registry can be watched before the provider exists.
  const port = await freePort();
  const registered = registry === 'zk' ? zooKeeperRegistered(port) : nacosRegistered(port);
  const served = firstServedBy(`/${registry}/whoami`, name, 120_000);
  const p = await startJavaProvider({ name, registry: url, dubboPort: port });
  started.push(p);
  const [tReg, tServed] = await Promise.all([registered, served]);
  await p.stop();
  return tServed - tReg;
}

try {
  const base = await Promise.all([
    startJavaProvider({ name: 'zk-base', registry: zk.registryUrl }),
    startJavaProvider({ name: 'nacos-base', registry: nacos.registryUrl }),
  ]);
  started.push(...base);
  await firstServedBy('/zk/whoami', 'zk-base');
  await firstServedBy('/nacos/whoami', 'nacos-base');
  const times: Record<'zk' | 'nacos', number[]> = { zk: [], nacos: [] };
  for (let k = 0; k < ROUNDS; k++) {
    times.zk.push(await join('zk', k));
    times.nacos.push(await join('nacos', k));
  }
  const zkMs = median(times.zk);
  const nacosMs = median(times.nacos);
  console.log(`command: node --import tsx bench/registry-join.ts --rounds ${ROUNDS}`);
  console.log(`load average before: ${load0}; after: ${loadNow()}`);
  console.log(
    `ZooKeeper: registered → first request served ${zkMs.toFixed(0)} ms (median of ${ROUNDS}: ${times.zk.map((x) => x.toFixed(0)).join(', ')} ms)`,
  );
  console.log(
    `Nacos:     registered → first request served ${nacosMs.toFixed(0)} ms (median of ${ROUNDS}: ${times.nacos.map((x) => x.toFixed(0)).join(', ')} ms), ` +
      `${(nacosMs / NACOS_POLL_INTERVAL_MS).toFixed(2)} × the ${NACOS_POLL_INTERVAL_MS} ms poll interval`,
  );
  console.log(`ratio Nacos / ZooKeeper: ×${(nacosMs / zkMs).toFixed(1)}`);
} finally {
  await ferry.close();
  await Promise.all(started.map((p) => p.kill().catch(() => {})));
  watcher.close();
  await Promise.all([zk.stop(), nacos.stop()]);
}
