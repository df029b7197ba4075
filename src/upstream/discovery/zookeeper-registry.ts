/**
 * The source behind `registry: zookeeper://...`: providers of one service in both of Dubbo's
 * layouts, so that providers registered with `register-mode` `interface`, `instance` or `all` are all
 * found, and give the same answer:
 * - interface-level: `/dubbo/<interface>/providers` (zookeeper.ts);
 * - application-level: `/dubbo/mapping/<interface>` → applications → their instances → each
 *   revision's MetadataInfo (zookeeper-apps.ts, app-level.ts).
 * registry-source.ts merges the two. The merged list is what is kept on disk (endpoint-cache.ts,
 * under the same key the interface-level source used alone).
 */
import { safeSink } from './problem-log.js';
import type { FetchMetadataInfo } from './metadata-store.js';
import { selectorOf, type ServiceSelector } from './provider-url.js';
import { createEndpointCache, type EndpointCache } from './endpoint-cache.js';
import { createRegistrySource, type RefusedEndpoint, type RegistrySource } from './registry-source.js';
import { acquireZooKeeperApps, type ZooKeeperAppsOptions } from './zookeeper-apps.js';
import { createZooKeeperSource, toConnectString, ZOOKEEPER_CACHE_AFTER_MS, type ZooKeeperSourceOptions } from './zookeeper.js';

export interface ZooKeeperRegistrySourceOptions extends ZooKeeperSourceOptions {
  /** Asks an instance's MetadataService for a revision's MetadataInfo (application-level); without it only the metadata report is read. */
  readonly fetchMetadataInfo?: FetchMetadataInfo;
  /** Application-level limits and roots (the connect string, root and onError above apply). */
  readonly apps?: Omit<
    ZooKeeperAppsOptions,
    'connectString' | 'root' | 'fetchMetadataInfo' | 'onError' | 'sessionTimeoutMs' | 'retryDelayMs' | 'access'
  >;
}

export type ZooKeeperRegistrySource = RegistrySource;
export type { RefusedEndpoint };

export function createZooKeeperRegistrySource(options: ZooKeeperRegistrySourceOptions): ZooKeeperRegistrySource {
  const selector: ServiceSelector = selectorOf(options);
  const report = safeSink(options.onError);
  // The interface-level part keeps no file of its own: the merged list is cached here.
  const interfaceLevel = createZooKeeperSource({ ...options, cacheDir: false });
  const connectString = toConnectString(options.connectString);
  const cache: EndpointCache | undefined =
    options.cacheDir === false
      ? undefined
      : createEndpointCache({
          registry: `zookeeper://${connectString}`,
          service: `/${options.root ?? 'dubbo'}/${options.interface}/providers?protocol=${selector.protocol ?? 'dubbo'}&version=${selector.version ?? ''}&group=${selector.group ?? ''}`,
          ...(options.cacheDir !== undefined ? { dir: options.cacheDir } : {}),
          onError: report,
        });
  const registry = acquireZooKeeperApps({
    ...options.apps,
    connectString: options.connectString,
    ...(options.root !== undefined ? { root: options.root } : {}),
    ...(options.sessionTimeoutMs !== undefined ? { sessionTimeoutMs: options.sessionTimeoutMs } : {}),
    ...(options.retryDelayMs !== undefined ? { retryDelayMs: options.retryDelayMs } : {}),
    ...(options.fetchMetadataInfo !== undefined ? { fetchMetadataInfo: options.fetchMetadataInfo } : {}),
    ...(options.access !== undefined ? { access: options.access } : {}),
    ...(options.onError !== undefined ? { onError: options.onError } : {}),
  });
  return createRegistrySource({
    selector,
    interfaceLevel,
    registry,
    cache,
    cacheAfterMs: options.cacheAfterMs ?? ZOOKEEPER_CACHE_AFTER_MS,
    registryName: `ZooKeeper ${connectString}`,
    ...(options.apps?.maxInstancesPerApp !== undefined ? { maxInstancesPerApp: options.apps.maxInstancesPerApp } : {}),
    ...(options.onError !== undefined ? { onError: options.onError } : {}),
  });
}
