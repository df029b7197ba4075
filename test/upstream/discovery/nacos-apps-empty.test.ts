/**
 * Empty protection of Nacos' application-level lists, against a real Nacos (rnacos) restarted
 * empty (its data folder gone, as a server that lost its disk or runs in memory). Data is written
 * through Nacos' Open API the way Dubbo 3.3 lays it out (nacos-apps.ts): the mapping config
 * `<interface>`/`mapping`, the application's instances with Dubbo's instance metadata, the
 * revision's MetadataInfo as config `<app>`/`<revision>`; beside them one interface-level provider.
 *
 * After the restart the providers' Nacos clients register their instances again, but Dubbo writes
 * the mapping only when it exports a service: without protection Ferry would drop the application
 * and never find its instances again (the interface-level provider keeps the merged list non-empty,
 * so the merged list's own protection does not help).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startNacos, type NacosServer } from '../../support/nacos.js';
import { createNacosRegistrySource } from '../../../src/upstream/discovery/nacos-registry.js';
import type { RegistrySource } from '../../../src/upstream/discovery/registry-source.js';
import { standInProviders } from '../../support/ports.js';

const IFACE = 'com.example.nacos.EmptyProtectedService';
const APP = 'protected-app';
const REVISION = 'rev-1';

let nacos: NacosServer | undefined;
const standIns = standInProviders();
const providerPort = (): Promise<number> => standIns.port();
let source: RegistrySource | undefined;

before(async () => {
  nacos = await startNacos();
});

after(async () => {
  await source?.close();
  await standIns.close();
  await nacos?.stop();
});

async function openApi(method: 'POST' | 'DELETE', path: string, form: Record<string, string>): Promise<void> {
  const body = new URLSearchParams(form);
  const r = await fetch(`${nacos!.base}${path}${method === 'DELETE' ? `?${body}` : ''}`, {
    method,
    ...(method === 'POST' ? { body, headers: { 'content-type': 'application/x-www-form-urlencoded' } } : {}),
    signal: AbortSignal.timeout(5000),
  });
  assert.equal(r.status, 200, `${method} ${path}: ${await r.text()}`);
}

const publishConfig = (dataId: string, group: string, content: string): Promise<void> =>
  openApi('POST', '/nacos/v1/cs/configs', { dataId, group, content });

const instanceForm = (service: string, port: number, metadata: Record<string, string>): Record<string, string> => ({
  ip: '127.0.0.1',
  port: String(port),
  serviceName: service,
  groupName: 'DEFAULT_GROUP',
  ephemeral: 'false',
  enabled: 'true',
  healthy: 'true',
  metadata: JSON.stringify(metadata),
});

/** An application instance as Dubbo's NacosServiceDiscovery registers it. */
const registerAppInstance = (port: number): Promise<void> =>
  openApi(
    'POST',
    '/nacos/v1/ns/instance',
    instanceForm(APP, port, {
      'dubbo.metadata.revision': REVISION,
      'dubbo.metadata.storage-type': 'remote',
      'dubbo.endpoints': JSON.stringify([{ port, protocol: 'dubbo' }]),
      timestamp: '1700000000000',
    }),
  );

const deregisterAppInstance = (port: number): Promise<void> =>
  openApi('DELETE', '/nacos/v1/ns/instance', {
    ip: '127.0.0.1',
    port: String(port),
    serviceName: APP,
    groupName: 'DEFAULT_GROUP',
    ephemeral: 'false',
  });

/** An interface-level provider as Dubbo's NacosRegistry registers it. */
const registerInterfaceProvider = (port: number): Promise<void> =>
  openApi(
    'POST',
    '/nacos/v1/ns/instance',
    instanceForm(`providers:${IFACE}:1.0.0:`, port, {
      side: 'provider',
      interface: IFACE,
      version: '1.0.0',
      methods: 'hello',
      protocol: 'dubbo',
      path: IFACE,
      category: 'providers',
      timestamp: '1700000000000',
    }),
  );

async function until(what: string, cond: () => boolean, timeoutMs = 20_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for: ${what} (list ${JSON.stringify(source?.current().map((e) => e.id))})`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

test('a Nacos restarted empty: the application-level providers stay, and the instances that register again are followed without the mapping', async () => {
  const [interfacePort, appPort, movedPort] = await Promise.all([providerPort(), providerPort(), providerPort()]);
  const metadataInfo = JSON.stringify({
    app: APP,
    revision: REVISION,
    services: { [`${IFACE}:1.0.0:dubbo`]: { name: IFACE, version: '1.0.0', protocol: 'dubbo', path: IFACE, params: { methods: 'hello' } } },
  });
  await publishConfig(IFACE, 'mapping', APP);
  await publishConfig(APP, REVISION, metadataInfo);
  await registerAppInstance(appPort);
  await registerInterfaceProvider(interfacePort);

  const a = `127.0.0.1:${interfacePort}`;
  const b = `127.0.0.1:${appPort}`;
  const moved = `127.0.0.1:${movedPort}`;
  const errors: string[] = [];
  source = createNacosRegistrySource({
    registry: nacos!.registryUrl,
    interface: IFACE,
    version: '1.0.0',
    pollIntervalMs: 200,
    cacheDir: false,
    onError: (err) => errors.push(err.message),
  });
  await until('both providers listed', () => source!.current().length === 2).catch(async (err: Error) => {
    const q = async (svc: string): Promise<string> =>
      (await fetch(`${nacos!.base}/nacos/v1/ns/instance/list?serviceName=${encodeURIComponent(svc)}&healthyOnly=false`)).text();
    throw new Error(`${err.message}; A=${a} B=${b}; rnacos: ${await q(APP)} ${await q(`providers:${IFACE}:1.0.0:`)}`);
  });
  assert.deepEqual(
    source.current().map((e) => e.id),
    [a, b].sort(),
    'the interface-level and the application-level provider',
  );
  const seen: string[][] = [];
  source.subscribe((list) => seen.push(list.map((e) => e.id)));

  await nacos!.stopProcess();
  await nacos!.start({ empty: true });
  const listed = await fetch(`${nacos!.base}/nacos/v1/cs/configs?dataId=${IFACE}&group=mapping`);
  assert.equal(listed.status, 404, `the restarted rnacos has no mapping (HTTP ${listed.status} ${await listed.text()})`);
  await until('the empty mapping reported as protected', () => errors.some((m) => m.includes(`no mapping of ${IFACE}`)));
  assert.deepEqual(
    source.current().map((e) => e.id),
    [a, b].sort(),
    'both providers kept while the restarted registry lists nobody',
  );

  // The providers' Nacos clients register again; the mapping and the MetadataInfo are not written again.
  await registerInterfaceProvider(interfacePort);
  await registerAppInstance(appPort);
  // Then the application's instance moves: a new one registers, the old one leaves.
  await registerAppInstance(movedPort);
  await deregisterAppInstance(appPort);
  await until('the moved application instance followed', () => source!.current().some((e) => e.id === moved));
  await until('the old application instance gone', () => !source!.current().some((e) => e.id === b));
  assert.deepEqual(
    source.current().map((e) => e.id),
    [a, moved].sort(),
    'the interface-level provider and the moved instance',
  );
  for (const list of seen) {
    assert.ok(list.includes(b) || list.includes(moved), `a list without any application-level provider was published: ${JSON.stringify(list)}`);
  }
  assert.equal(errors.filter((m) => m.includes(`no mapping of ${IFACE}`)).length, 1, `the lost mapping reported once: ${JSON.stringify(errors)}`);
});
