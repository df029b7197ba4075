/**
 * The source behind `registry: nacos://...`: providers of one service in both of Dubbo's layouts
 * in Nacos (register-mode `interface`, `instance` and `all` give the same answer):
 * - interface-level: the services `providers:<interface>:<version>:<group>` (nacos.ts);
 * - application-level: the mapping config → applications → their instances → each revision's
 *   MetadataInfo (nacos-apps.ts, app-level.ts).
 * registry-source.ts merges the two, exactly as for ZooKeeper. The merged list is what is kept on
 * disk (endpoint-cache.ts, under the key the interface-level source used alone).
 */
import { safeSink } from './problem-log.js';
import { createEndpointCache, type EndpointCache } from './endpoint-cache.js';
import type { FetchMetadataInfo } from './metadata-store.js';
import { createNacosSource, type NacosSourceOptions } from './nacos.js';
import { acquireNacosApps, type NacosAppsOptions } from './nacos-apps.js';
import { nacosServiceNames, parseNacosRegistry } from './nacos-instances.js';
import { selectorOf, type ServiceSelector } from './provider-url.js';
import { createRegistrySource, type RegistrySource } from './registry-source.js';

/** How long a Nacos source waits for its first complete read at start before it serves the cache file. */
export const NACOS_CACHE_AFTER_MS = 3000;

export interface NacosRegistrySourceOptions extends NacosSourceOptions {
  /** Asks an instance's MetadataService for a revision's MetadataInfo; without it only the metadata report is read. */
  readonly fetchMetadataInfo?: FetchMetadataInfo;
  readonly apps?: Omit<NacosAppsOptions, 'registry' | 'fetchMetadataInfo' | 'onError' | 'access'>;
  readonly cacheAfterMs?: number;
}

export function createNacosRegistrySource(options: NacosRegistrySourceOptions): RegistrySource {
  const selector: ServiceSelector = selectorOf(options);
  const report = safeSink(options.onError);
  // The loader checked the URL; a bad one still only reports (the interface-level source tells it).
  let registry: ReturnType<typeof parseNacosRegistry> | undefined;
  try {
    registry = parseNacosRegistry(options.registry, options.access);
  } catch {
    registry = undefined;
  }
  const interfaceLevel = createNacosSource({ ...options, cacheDir: false });
  if (registry === undefined) {
    return Object.assign(interfaceLevel, { refused: () => [] });
  }
  const serviceKey = nacosServiceNames(selector, registry.legacyNames)?.join(',') ?? options.interface;
  const cache: EndpointCache | undefined =
    registry.fileCache && options.cacheDir !== false
      ? createEndpointCache({
          registry: registry.display,
          service: `${serviceKey}?protocol=${selector.protocol ?? 'dubbo'}`,
          ...(options.cacheDir !== undefined ? { dir: options.cacheDir } : {}),
          onError: report,
        })
      : undefined;
  const apps = acquireNacosApps({
    ...options.apps,
    registry: options.registry,
    ...(options.access !== undefined ? { access: options.access } : {}),
    ...(options.pollIntervalMs !== undefined ? { pollIntervalMs: options.pollIntervalMs } : {}),
    ...(options.requestTimeoutMs !== undefined ? { requestTimeoutMs: options.requestTimeoutMs } : {}),
    ...(options.fetchMetadataInfo !== undefined ? { fetchMetadataInfo: options.fetchMetadataInfo } : {}),
    ...(options.onError !== undefined ? { onError: options.onError } : {}),
  });
  return createRegistrySource({
    selector,
    interfaceLevel,
    registry: apps,
    cache,
    cacheAfterMs: options.cacheAfterMs ?? NACOS_CACHE_AFTER_MS,
    registryName: `Nacos ${registry.display}`,
    emptyProtection: true,
    ...(options.apps?.maxInstancesPerApp !== undefined ? { maxInstancesPerApp: options.apps.maxInstancesPerApp } : {}),
    ...(options.onError !== undefined ? { onError: options.onError } : {}),
  });
}
