/**
 * Reads what a ZooKeeper registry knows of one Dubbo interface, for `ferry import --registry` and
 * `ferry validate --against zookeeper://…`: the full service definition the provider published to
 * the metadata report (`/dubbo/metadata/<interface>[/<version>][/<group>]/provider/<app>`, JSON;
 * Dubbo 3 writes it when the registry doubles as metadata report, or one is configured), and the
 * version and group of each interface-level provider URL (`/dubbo/<interface>/providers`). One
 * short-lived connection, bounded by a timeout; never a watch.
 */
import zookeeper from 'node-zookeeper-client';
import type { Client } from 'node-zookeeper-client';
import { SignatureSourceError } from '../errors/index.js';
import { parseProviderNode, providerParam } from './discovery/provider-url.js';
import { toConnectString } from './discovery/zookeeper.js';
import { createZooKeeperClient, zooKeeperAccessOf } from './discovery/zookeeper-client.js';
import type { RegistryAccess } from '../config/types.js';

/** Largest service definition read (ZooKeeper's own node limit is 1 MiB by default). */
export const MAX_DEFINITION_BYTES = 4 * 1024 * 1024;

export interface RegistryServiceFacts {
  /** The parsed definition JSON, or undefined when the metadata report holds none. */
  readonly definition?: unknown;
  /** The node it came from. */
  readonly where: string;
  /** Version and group of each interface-level provider (empty when none registered that way). */
  readonly exported: ReadonlyArray<{ readonly version?: string; readonly group?: string }>;
}

function call<T>(fn: (cb: (err: Error | null, v: T) => void) => void): Promise<T | undefined> {
  return new Promise((resolve, reject) =>
    fn((err, v) => {
      if (err === null || err === undefined) resolve(v);
      else if ((err as { getCode?: () => number }).getCode?.() === zookeeper.Exception.NO_NODE) resolve(undefined);
      else reject(err);
    }),
  );
}

export async function readZooKeeperService(
  registry: string,
  iface: string,
  selector: { readonly version?: string; readonly group?: string },
  timeoutMs = 10_000,
  access?: RegistryAccess,
): Promise<RegistryServiceFacts> {
  let tlsFailure: Error | undefined;
  const client: Client = createZooKeeperClient(toConnectString(registry), {
    sessionTimeoutMs: timeoutMs,
    access: zooKeeperAccessOf(registry, access),
    onTlsError: (err) => (tlsFailure = err),
  });
  const shown = `zookeeper://${toConnectString(registry)}`;
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () =>
        reject(new SignatureSourceError(`${shown}: no answer within ${timeoutMs} ms${tlsFailure !== undefined ? ` (${tlsFailure.message})` : ''}`)),
      timeoutMs,
    );
  });
  const work = async (): Promise<RegistryServiceFacts> => {
    await new Promise<void>((resolve) => {
      client.once('connected', () => resolve());
      client.connect();
    });
    const exported: { version?: string; group?: string }[] = [];
    const nodes = (await call<string[]>((cb) => client.getChildren(`/dubbo/${iface}/providers`, cb))) ?? [];
    for (const n of nodes) {
      const url = parseProviderNode(n);
      if (url === undefined || url.protocol !== 'dubbo') continue;
      const version = providerParam(url, 'version');
      const group = providerParam(url, 'group');
      exported.push({ ...(version !== undefined ? { version } : {}), ...(group !== undefined ? { group } : {}) });
    }
    // The selected version and group first; else what the providers export (a mapping may name a wrong version).
    const pathOf = (v?: string, g?: string): string =>
      ['/dubbo/metadata', iface, v, g].filter((p) => p !== undefined && p !== '').join('/') + '/provider';
    const candidates = [...new Set([pathOf(selector.version, selector.group), ...exported.map((e) => pathOf(e.version, e.group)), pathOf()])];
    let base = candidates[0]!;
    let app: string | undefined;
    for (const c of candidates) {
      const apps = (await call<string[]>((cb) => client.getChildren(c, cb))) ?? [];
      app = [...apps].sort()[0];
      base = c;
      if (app !== undefined) break;
    }
    if (app === undefined) return { where: candidates[0]!, exported };
    const where = `${base}/${app}`;
    const data = await call<Buffer | undefined>((cb) => client.getData(where, (err, d) => cb(err, d)));
    if (data === undefined || data.length === 0) return { where, exported };
    if (data.length > MAX_DEFINITION_BYTES)
      throw new SignatureSourceError(`${registry}${where}: ${data.length} bytes, over the budget of ${MAX_DEFINITION_BYTES}`);
    let definition: unknown;
    try {
      definition = JSON.parse(data.toString('utf8'));
    } catch (err) {
      throw new SignatureSourceError(`${registry}${where}: not JSON (${(err as Error).message})`);
    }
    return { definition, where: `${registry}${where}`, exported };
  };
  try {
    return await Promise.race([work(), deadline]);
  } catch (err) {
    if (err instanceof SignatureSourceError) throw err;
    throw new SignatureSourceError(`${registry}: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
  } finally {
    clearTimeout(timer);
    client.close();
  }
}
