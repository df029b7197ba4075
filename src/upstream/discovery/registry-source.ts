/**
 * A registry's providers of one service in both of Dubbo's layouts, whatever the registry, so that
 * providers registered with `register-mode` `interface`, `instance` or `all` are all found and give
 * the same answer:
 * - interface-level: an EndpointSource of the registry's own layout (zookeeper.ts, nacos.ts);
 * - application-level: the registry's mapping → applications → their instances → each revision's
 *   MetadataInfo (an AppRegistry: zookeeper-apps.ts, nacos-apps.ts; then app-level.ts).
 * The two lists are merged by `host:port` (a provider in both layouts is one endpoint, the
 * interface-level entry first), filtered by interface/version/group/protocol the same way, and
 * endpoints whose serialization Ferry does not speak are held back (refused(), reported once).
 *
 * The merged list is what is kept on disk (endpoint-cache.ts): a Ferry started while the registry
 * is down serves it until both layouts have been read.
 */
import { safeSink } from './problem-log.js';
import { EndpointListeners } from './listeners.js';
import { RegistryError } from '../../errors/index.js';
import { createAppLevelEndpoints, type AppLevelEndpoints, type AppRegistry } from './app-level.js';
import type { EndpointCache } from './endpoint-cache.js';
import type { ServiceSelector } from './provider-url.js';
import { mergeEndpoints, sameEndpoints, serializationRefusal } from './service-instance.js';
import type { Endpoint, EndpointSource } from './types.js';

/** An endpoint Ferry found but will not call, and why. */
export interface RefusedEndpoint {
  readonly id: string;
  readonly reason: string;
}

/** The interface-level part: a source that says when it has read the registry. */
export interface InterfaceLevelSource extends EndpointSource {
  ready(timeoutMs?: number): Promise<boolean>;
  connected(): boolean;
  origin(): 'none' | 'registry' | 'cache';
}

export interface RegistrySource extends EndpointSource {
  /** Resolves true once both layouts have been read (MetadataInfo lookups included), false after `timeoutMs`. */
  ready(timeoutMs?: number): Promise<boolean>;
  connected(): boolean;
  /** Endpoints held back (for /readyz): serialization Ferry does not speak. */
  refused(): readonly RefusedEndpoint[];
  /** Where the current list came from: the registry, or the cache file while it was unreachable since start. */
  origin(): 'none' | 'registry' | 'cache';
}

export interface RegistrySourceOptions {
  readonly selector: ServiceSelector;
  /** Keeps no cache file of its own: the merged list is cached here. */
  readonly interfaceLevel: InterfaceLevelSource;
  /** Released on close(). */
  readonly registry: AppRegistry;
  readonly cache: EndpointCache | undefined;
  /** How long to wait for a first read before serving the cache file (ms). */
  readonly cacheAfterMs: number;
  /** For messages: `ZooKeeper 127.0.0.1:2181`, `Nacos nacos://...`. */
  readonly registryName: string;
  readonly maxInstancesPerApp?: number;
  /**
   * A merged list that turns empty while it held endpoints keeps the last ones (Dubbo consumers'
   * empty protection). For Nacos, whose servers in memory mode come back empty after a restart
   * before providers register again; ZooKeeper's lists empty only when providers really left.
   */
  readonly emptyProtection?: boolean;
  readonly onError?: (err: Error) => void;
}

export function createRegistrySource(options: RegistrySourceOptions): RegistrySource {
  const { selector, interfaceLevel, registry, cache } = options;
  const report = safeSink(options.onError);
  const appLevel: AppLevelEndpoints = createAppLevelEndpoints({
    selector,
    store: registry.store,
    problems: registry.problems,
    ...(options.maxInstancesPerApp !== undefined ? { maxInstancesPerApp: options.maxInstancesPerApp } : {}),
  });

  const listeners = new EndpointListeners((err) => report(err));
  let list: readonly Endpoint[] = Object.freeze([]);
  let refusedList: readonly RefusedEndpoint[] = Object.freeze([]);
  let origin: 'none' | 'registry' | 'cache' = 'none';
  let cacheWritten = false;
  let closed = false;

  /** Both layouts read once (mapping, instance lists and MetadataInfo lookups included). */
  const fullyRead = (): boolean => interfaceLevel.origin() === 'registry' && registry.hasRead(selector.interface) && !appLevel.busy();

  const publish = (next: readonly Endpoint[]): void => {
    if (sameEndpoints(list, next)) return;
    list = Object.freeze([...next]);
    listeners.tell(list);
  };

  const recompute = (): void => {
    if (closed) return;
    // Serving the cache file: keep it until the registry has given both layouts, not half of them.
    if (origin === 'cache' && !fullyRead()) return;
    const merged = mergeEndpoints(interfaceLevel.current(), appLevel.current());
    const usable: Endpoint[] = [];
    const refused: RefusedEndpoint[] = [];
    for (const e of merged) {
      const reason = serializationRefusal(e);
      if (reason === undefined) {
        usable.push(e);
        registry.problems.clear(`refused:${selector.interface}:${e.id}`);
      } else {
        refused.push({ id: e.id, reason });
        registry.problems.report(
          `refused:${selector.interface}:${e.id}`,
          new RegistryError(`provider ${e.id} of ${selector.interface} is not balanced to: ${reason}`),
        );
      }
    }
    refusedList = Object.freeze(refused);
    const protectKey = `empty-protected:${selector.interface}`;
    if (options.emptyProtection === true && usable.length === 0 && list.length > 0) {
      registry.problems.report(
        protectKey,
        new RegistryError(`${options.registryName} lists no provider of ${selector.interface}; keeping the last ${list.length}`),
      );
      return;
    }
    registry.problems.clear(protectKey);
    if (interfaceLevel.origin() === 'registry' || registry.hasRead(selector.interface)) origin = 'registry';
    const changed = !sameEndpoints(list, usable);
    publish(usable);
    // Only complete lists go to disk: the first once both layouts are read, then every change.
    if (fullyRead() && (changed || !cacheWritten)) {
      cacheWritten = true;
      void cache?.write(list);
    }
  };

  // Until both layouts have been read once, look every 100 ms (a layout that reads as empty
  // publishes no change, yet completes the list).
  let settleTimer: NodeJS.Timeout | undefined;
  const settle = (): void => {
    settleTimer = undefined;
    if (closed) return;
    if (fullyRead()) {
      recompute();
      return;
    }
    settleTimer = setTimeout(settle, 100);
    settleTimer.unref();
  };
  settle();

  // The registry not reached soon after start: serve the list a previous run left on disk until
  // both layouts have been read.
  let cacheTimer: NodeJS.Timeout | undefined;
  if (cache !== undefined) {
    cacheTimer = setTimeout(() => {
      cacheTimer = undefined;
      void cache.read().then((cached) => {
        if (closed || origin !== 'none' || cached === undefined) return;
        report(
          new RegistryError(
            `${options.registryName} unreachable at start: serving ${cached.length} endpoints of ${selector.interface} from ${cache.path}`,
          ),
        );
        origin = 'cache';
        publish(cached);
      });
    }, options.cacheAfterMs);
    cacheTimer.unref();
  }

  const unsubscribeInterface = interfaceLevel.subscribe(recompute);
  const unsubscribeApps = appLevel.subscribe(recompute);

  // Applications that export the interface come and go with the mapping node.
  const appWatches = new Map<string, () => void>();
  const unwatchMapping = registry.watchMapping(selector.interface, (apps) => {
    if (closed) return;
    const wanted = new Set(apps);
    for (const [app, unwatch] of appWatches) {
      if (wanted.has(app)) continue;
      unwatch();
      appWatches.delete(app);
      appLevel.removeApp(app);
    }
    for (const app of apps) {
      if (appWatches.has(app)) continue;
      appWatches.set(
        app,
        registry.watchApp(app, (instances) => appLevel.setInstances(app, instances)),
      );
    }
  });

  const appsRead = async (deadline: number): Promise<boolean> => {
    while (!registry.hasRead(selector.interface)) {
      if (closed || Date.now() >= deadline) return false;
      await new Promise((r) => setTimeout(r, 20));
    }
    let timer: NodeJS.Timeout | undefined;
    const left = Math.max(0, deadline - Date.now());
    const idle = await Promise.race([appLevel.idle().then(() => true), new Promise<boolean>((r) => (timer = setTimeout(() => r(false), left)))]);
    clearTimeout(timer);
    return idle;
  };

  return {
    current: () => list,
    subscribe: (listener) => listeners.subscribe(listener),
    async ready(timeoutMs = 10_000) {
      const deadline = Date.now() + timeoutMs;
      const [a, b] = await Promise.all([interfaceLevel.ready(timeoutMs), appsRead(deadline)]);
      return a && b;
    },
    connected: () => interfaceLevel.connected() && registry.connected(),
    refused: () => refusedList,
    origin: () => origin,
    async close() {
      if (closed) return;
      closed = true;
      clearTimeout(cacheTimer);
      clearTimeout(settleTimer);
      listeners.clear();
      unsubscribeInterface();
      unsubscribeApps();
      unwatchMapping();
      for (const unwatch of appWatches.values()) unwatch();
      appWatches.clear();
      appLevel.close();
      registry.release();
      await interfaceLevel.close();
    },
  };
}
