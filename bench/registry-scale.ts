/**
 * Registry scale: S services × I provider instances written into a real ZooKeeper (Dubbo's
 * interface-level layout, /dubbo/<interface>/providers/<url>) and into a real Nacos (rnacos; the
 * services `providers:<interface>:1.0.0:` as Dubbo's NacosRegistry writes them, persistent
 * instances on loopback ports that listen, so that rnacos' health probe finds them up), then one
 * Ferry discovery source per service (what `registry: zookeeper://` or `nacos://` creates:
 * interface- and application-level watch; ZooKeeper over one shared session).
 * Measures the time to the first full view (every source lists all its instances), the heap the
 * sources hold (after GC), and the CPU and wall time of one change (one provider joining one
 * service, until that source publishes). A baseline at a tenth of the services runs first in the
 * same process; the ratio says how it scales.
 *
 *   node --expose-gc --import tsx bench/registry-scale.ts [--services 1000] [--instances 50] [--registry zookeeper|nacos|both]
 *
 * bench/registry-join.ts measures the time from a real provider registering to the first request
 * Ferry routes to it.
 */
import { performance } from 'node:perf_hooks';
import { loadavg } from 'node:os';
import zookeeper from 'node-zookeeper-client';
import type { Client } from 'node-zookeeper-client';
import { createServer, type Server } from 'node:net';
import type { AddressInfo } from 'node:net';
import { startZooKeeper, type ZooKeeperServer } from '../test/support/zookeeper.js';
import { startNacos, type NacosServer } from '../test/support/nacos.js';
import { createZooKeeperRegistrySource } from '../src/upstream/discovery/zookeeper-registry.js';
import { createNacosRegistrySource } from '../src/upstream/discovery/nacos-registry.js';
import type { RegistrySource } from '../src/upstream/discovery/registry-source.js';

const arg = (name: string, dflt: number): number => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : dflt;
};
const SERVICES = arg('services', 1000);
const INSTANCES = arg('instances', 50);
const CHANGES = 10;
const REGISTRY = (() => {
  const i = process.argv.indexOf('--registry');
  return i > 0 ? process.argv[i + 1]! : 'both';
})();

const gc = (globalThis as { gc?: () => void }).gc;
const heapMiB = (): number => {
  gc?.();
  gc?.();
  return process.memoryUsage().heapUsed / 1024 / 1024;
};

const iface = (run: string, s: number): string => `com.example.scale${run}.Service${s}`;
const providerUrl = (run: string, s: number, i: number): string =>
  encodeURIComponent(
    `dubbo://10.${(i >> 8) & 255}.${i & 255}.${s % 250}:20880/${iface(run, s)}?anyhost=true&application=scale-app-${s}&dubbo=2.0.2&interface=${iface(run, s)}` +
      `&methods=get,list,put,remove&release=3.3.6&side=provider&timeout=3000&timestamp=1700000000000&version=1.0.0&weight=100&warmup=0`,
  );

async function connect(zk: ZooKeeperServer): Promise<Client> {
  const c = zookeeper.createClient(zk.connectString, { sessionTimeout: 30_000 });
  await new Promise<void>((resolve) => {
    c.once('connected', () => resolve());
    c.connect();
  });
  return c;
}

/** Creates `paths` in transactions of 250, 2 in flight. */
async function createAll(c: Client, paths: readonly string[]): Promise<void> {
  const batches: string[][] = [];
  for (let i = 0; i < paths.length; i += 250) batches.push(paths.slice(i, i + 250));
  let next = 0;
  await Promise.all(
    Array.from({ length: 2 }, async () => {
      while (next < batches.length) {
        const batch = batches[next++]!;
        const t = c.transaction();
        for (const p of batch) t.create(p, Buffer.alloc(0), zookeeper.CreateMode.PERSISTENT);
        await new Promise<void>((resolve, reject) => t.commit((err) => (err ? reject(err) : resolve())));
      }
    }),
  );
}

interface Figures {
  services: number;
  writeMs: number;
  firstViewMs: number;
  heapMiB: number;
  changeCpuMs: number;
  changeWallMs: number;
}

/** One registry under test: writes S × I providers, makes a source per service, adds one provider. */
interface Backend {
  readonly name: string;
  write(label: string, services: number): Promise<void>;
  source(label: string, s: number): RegistrySource;
  /** Registers provider number `i` of service 0. */
  add(label: string, i: number): Promise<void>;
}

function zooKeeperBackend(zk: ZooKeeperServer, writer: Client): Backend {
  return {
    name: 'ZooKeeper',
    async write(label, services) {
      const folders: string[] = [];
      const nodes: string[] = [];
      for (let s = 0; s < services; s++) {
        folders.push(`/dubbo/${iface(label, s)}`, `/dubbo/${iface(label, s)}/providers`);
        for (let i = 0; i < INSTANCES; i++) nodes.push(`/dubbo/${iface(label, s)}/providers/${providerUrl(label, s, i)}`);
      }
      await new Promise<void>((resolve) => writer.mkdirp('/dubbo', () => resolve()));
      await createAll(writer, folders);
      await createAll(writer, nodes);
    },
    source: (label, s) =>
      createZooKeeperRegistrySource({ connectString: zk.registryUrl, interface: iface(label, s), version: '1.0.0', cacheDir: false }),
    add: (label, i) =>
      new Promise<void>((resolve, reject) =>
        writer.create(`/dubbo/${iface(label, 0)}/providers/${providerUrl(label, 0, i)}`, null, zookeeper.CreateMode.PERSISTENT, (err) =>
          err ? reject(err) : resolve(),
        ),
      ),
  };
}

/** Nacos: instance i of every service is 127.0.0.1:<ports[i]>, a port that listens (rnacos probes persistent instances). */
function nacosBackend(nacos: NacosServer, ports: readonly number[]): Backend {
  const register = async (label: string, s: number, i: number): Promise<void> => {
    const metadata = {
      side: 'provider',
      interface: iface(label, s),
      version: '1.0.0',
      methods: 'get,list,put,remove',
      protocol: 'dubbo',
      path: iface(label, s),
      category: 'providers',
      application: `scale-app-${s}`,
      release: '3.3.6',
      timeout: '3000',
      timestamp: '1700000000000',
      weight: '100',
      warmup: '0',
    };
    const body = new URLSearchParams({
      ip: '127.0.0.1',
      port: String(ports[i]!),
      serviceName: `providers:${iface(label, s)}:1.0.0:`,
      groupName: 'DEFAULT_GROUP',
      ephemeral: 'false',
      enabled: 'true',
      healthy: 'true',
      metadata: JSON.stringify(metadata),
    });
    const r = await fetch(`${nacos.base}/nacos/v1/ns/instance`, {
      method: 'POST',
      body,
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      signal: AbortSignal.timeout(30_000),
    });
    const text = await r.text();
    if (r.status !== 200) throw new Error(`rnacos refused instance ${i} of ${iface(label, s)}: HTTP ${r.status} ${text}`);
  };
  return {
    name: 'Nacos',
    async write(label, services) {
      const jobs: Array<[number, number]> = [];
      for (let s = 0; s < services; s++) for (let i = 0; i < INSTANCES; i++) jobs.push([s, i]);
      let next = 0;
      await Promise.all(
        Array.from({ length: 16 }, async () => {
          while (next < jobs.length) {
            const [s, i] = jobs[next++]!;
            await register(label, s, i);
          }
        }),
      );
    },
    source: (label, s) => createNacosRegistrySource({ registry: nacos.registryUrl, interface: iface(label, s), version: '1.0.0', cacheDir: false }),
    add: (label, i) => register(label, 0, i),
  };
}

async function run(backend: Backend, label: string, services: number): Promise<Figures> {
  const w0 = performance.now();
  await backend.write(label, services);
  const writeMs = performance.now() - w0;

  const heapBefore = heapMiB();
  const sources: RegistrySource[] = [];
  let full = 0;
  const t0 = performance.now();
  const allFull = new Promise<void>((resolve) => {
    for (let s = 0; s < services; s++) {
      const src = backend.source(label, s);
      let counted = false;
      const check = (n: number): void => {
        if (!counted && n === INSTANCES) {
          counted = true;
          if (++full === services) resolve();
        }
      };
      src.subscribe((list) => check(list.length));
      sources.push(src);
    }
  });
  await allFull;
  const firstViewMs = performance.now() - t0;
  const heap = heapMiB() - heapBefore;

  // One change at a time: a provider joins service 0; CPU and wall time until its source publishes it.
  const cpu: number[] = [];
  const wall: number[] = [];
  for (let k = 0; k < CHANGES; k++) {
    const want = INSTANCES + k + 1;
    const seen = new Promise<void>((resolve) => {
      const off = sources[0]!.subscribe((list) => {
        if (list.length === want) {
          off();
          resolve();
        }
      });
    });
    const c0 = process.cpuUsage();
    const start = performance.now();
    await backend.add(label, INSTANCES + k);
    await seen;
    wall.push(performance.now() - start);
    const d = process.cpuUsage(c0);
    cpu.push((d.user + d.system) / 1000);
  }
  const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  await Promise.all(sources.map((s) => s.close()));
  return { services, writeMs, firstViewMs, heapMiB: heap, changeCpuMs: median(cpu), changeWallMs: median(wall) };
}

const line = (f: Figures): string =>
  `${String(f.services).padStart(5)} services × ${INSTANCES}: write ${(f.writeMs / 1000).toFixed(1)} s, first full view ${(f.firstViewMs / 1000).toFixed(2)} s, ` +
  `heap ${f.heapMiB.toFixed(1)} MiB (${((f.heapMiB * 1024 * 1024) / (f.services * INSTANCES)).toFixed(0)} B per endpoint), ` +
  `one change: ${f.changeCpuMs.toFixed(1)} ms CPU, ${f.changeWallMs.toFixed(1)} ms wall (median of ${CHANGES})`;
const loadNow = (): string =>
  loadavg()
    .map((x) => x.toFixed(2))
    .join(' ');

async function measure(backend: Backend): Promise<void> {
  const load = loadNow();
  const baseline = await run(backend, 'b', Math.max(1, Math.round(SERVICES / 10)));
  const full = await run(backend, 'f', SERVICES);
  console.log(`--- ${backend.name}`);
  console.log(`load average before: ${load}; after: ${loadNow()}${gc === undefined ? ' (no --expose-gc: heap figures include garbage)' : ''}`);
  console.log(`baseline ${line(baseline)}`);
  console.log(`full     ${line(full)}`);
  console.log(
    `ratio full/baseline (services ×${(full.services / baseline.services).toFixed(0)}): first view ×${(full.firstViewMs / baseline.firstViewMs).toFixed(1)}, ` +
      `heap ×${(full.heapMiB / baseline.heapMiB).toFixed(1)}, one change CPU ×${(full.changeCpuMs / baseline.changeCpuMs).toFixed(1)}`,
  );
}

console.log(`command: node --expose-gc --import tsx bench/registry-scale.ts --services ${SERVICES} --instances ${INSTANCES} --registry ${REGISTRY}`);
if (REGISTRY === 'zookeeper' || REGISTRY === 'both') {
  // 50,000 provider nodes of ~500 bytes need more than the tests' 128 MiB ZooKeeper heap.
  const zk = await startZooKeeper({ heapMb: 1024 });
  const writer = await connect(zk);
  try {
    await measure(zooKeeperBackend(zk, writer));
  } finally {
    writer.close();
    await zk.stop();
  }
}
if (REGISTRY === 'nacos' || REGISTRY === 'both') {
  const nacos = await startNacos();
  const sockets: Server[] = [];
  try {
    const ports: number[] = [];
    for (let i = 0; i < INSTANCES + CHANGES; i++) {
      const srv = createServer((c) => c.destroy());
      sockets.push(srv);
      await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', () => resolve()));
      ports.push((srv.address() as AddressInfo).port);
    }
    await measure(nacosBackend(nacos, ports));
  } finally {
    await Promise.all(sockets.map((srv) => new Promise<void>((resolve) => srv.close(() => resolve()))));
    await nacos.stop();
  }
}
