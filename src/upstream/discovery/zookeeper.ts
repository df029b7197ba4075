/**
 * Provider discovery from ZooKeeper in Dubbo's own layout: the children of
 * `/dubbo/<interface>/providers` are URL-encoded provider URLs, ephemeral nodes that vanish when a
 * provider's session ends. The source watches that folder, re-reads it on every change, and keeps
 * the last list it read while ZooKeeper is unreachable (a registry outage must not empty the
 * gateway's view of providers that are still serving). The last list is also kept on disk
 * (endpoint-cache.ts) and served when ZooKeeper cannot be reached at start.
 */
import { safeSink } from './problem-log.js';
import { EndpointListeners } from './listeners.js';
import zookeeper from 'node-zookeeper-client';
import type { RegistryAccess } from '../../config/types.js';
import { zooKeeperAccessOf } from './zookeeper-client.js';
import type { Event } from 'node-zookeeper-client';
import { RegistryError } from '../../errors/index.js';
import { createEndpointCache, type EndpointCache } from './endpoint-cache.js';
import { selectProviders, selectorOf, type ServiceSelector } from './provider-url.js';
import type { Endpoint, EndpointSource } from './types.js';
import { ReadySignal } from './ready-signal.js';
import { acquireZooKeeperSession, type ZooKeeperSession } from './zookeeper-session.js';

export interface ZooKeeperSourceOptions {
  /** `host:port[,host:port...][/chroot]`, or a registry URL `zookeeper://host:port?backup=host:port,...`. */
  readonly connectString: string;
  readonly interface: string;
  readonly version?: string;
  readonly group?: string;
  /** Provider protocol to accept: `dubbo` (default) or `tri`. */
  readonly protocol?: string;
  /** ZooKeeper session timeout (default 30 000 ms). */
  readonly sessionTimeoutMs?: number;
  /** Dubbo's registry root (default `dubbo`, Dubbo's `group` of the registry). */
  readonly root?: string;
  /** Delay between connection attempts while ZooKeeper is down (default 1000 ms). */
  readonly retryDelayMs?: number;
  /** Folder of the endpoint cache file; `false` turns the file off. Default endpoint-cache.ts' defaultCacheDir(). */
  readonly cacheDir?: string | false;
  /** How long to wait for a first read before serving the cache file (default 3000 ms). */
  readonly cacheAfterMs?: number;
  /** TLS and digest credentials (default: the URL's `user:password@`, plain text). */
  readonly access?: RegistryAccess;
  /** Told about registry trouble (for logs); never throws into the gateway. */
  readonly onError?: (err: Error) => void;
}

/** How long a ZooKeeper source waits for its first read at start before it serves the cache file. */
export const ZOOKEEPER_CACHE_AFTER_MS = 3000;

/** An EndpointSource that also says whether it has read the registry yet. */
export interface ZooKeeperSource extends EndpointSource {
  /** Resolves true once the first list has been read, or false when `timeoutMs` passes first. */
  ready(timeoutMs?: number): Promise<boolean>;
  /** Whether the ZooKeeper session is currently connected. */
  connected(): boolean;
  /** Where the current list came from: ZooKeeper, or the cache file while ZooKeeper was unreachable since start. */
  origin(): 'none' | 'registry' | 'cache';
}

/** Turns a Dubbo registry URL into a ZooKeeper connect string; plain connect strings pass through. */
export function toConnectString(registry: string): string {
  const m = /^zookeeper:\/\/(?:[^@/?#]*@)?([^/?#]+)(\/[^?#]*)?(?:\?([^#]*))?$/.exec(registry.trim());
  if (m === null) return registry.trim();
  const hosts = [m[1]!];
  for (const pair of (m[3] ?? '').split('&')) {
    const [k, v] = pair.split('=');
    if (k === 'backup' && v !== undefined && v !== '') hosts.push(...v.split(',').filter((h) => h !== ''));
  }
  return hosts.join(',');
}

function sameList(a: readonly Endpoint[], b: readonly Endpoint[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) {
    const x = a[i]!;
    const y = b[i]!;
    if (x.id !== y.id || x.weight !== y.weight) return false;
    const xk = Object.keys(x.labels);
    if (xk.length !== Object.keys(y.labels).length) return false;
    for (const k of xk) if (x.labels[k] !== y.labels[k]) return false;
  }
  return true;
}

/**
 * Watches one Dubbo service's providers in ZooKeeper, over the registry's shared session (opened
 * at once by the first source); `close()` gives the session back.
 */
export function createZooKeeperSource(options: ZooKeeperSourceOptions): ZooKeeperSource {
  const selector: ServiceSelector = selectorOf(options);
  const connectString = toConnectString(options.connectString);
  const access = zooKeeperAccessOf(options.connectString, options.access);
  const providersPath = `/${options.root ?? 'dubbo'}/${options.interface}/providers`;
  const listeners = new EndpointListeners((err) => report(err));
  const report = safeSink(options.onError);

  const cache: EndpointCache | undefined =
    options.cacheDir === false
      ? undefined
      : createEndpointCache({
          registry: `zookeeper://${connectString}`,
          service: `${providersPath}?protocol=${selector.protocol ?? 'dubbo'}&version=${selector.version ?? ''}&group=${selector.group ?? ''}`,
          ...(options.cacheDir !== undefined ? { dir: options.cacheDir } : {}),
          onError: report,
        });

  let list: readonly Endpoint[] = Object.freeze([]);
  let origin: 'none' | 'registry' | 'cache' = 'none';
  let closed = false;
  let isConnected = false;
  let hasRead = false;
  let reading = false;
  let readAgain = false;
  const readySignal = new ReadySignal();

  const publish = (next: Endpoint[], from: 'registry' | 'cache' = 'registry'): void => {
    const wasRead = hasRead;
    hasRead = true;
    readySignal.settle(true);
    origin = from;
    if (wasRead && sameList(list, next)) return;
    list = Object.freeze(next);
    if (from === 'registry') void cache?.write(list);
    listeners.tell(list);
  };

  // One watcher function for the life of the source: node-zookeeper-client de-duplicates
  // watchers by identity, so re-reads do not pile up notifications.
  const onWatch = (_event: Event): void => {
    refresh();
  };

  function refresh(): void {
    const c = session.client();
    if (closed || c === undefined) return;
    if (reading) {
      readAgain = true;
      return;
    }
    reading = true;
    readAgain = false;
    c.getChildren(providersPath, onWatch, (error, children) => {
      if (c !== session.client() || closed) {
        reading = false;
        return;
      }
      if (error === null) {
        reading = false;
        publish(selectProviders(children, selector));
        if (readAgain) refresh();
        return;
      }
      const code = error instanceof zookeeper.Exception ? error.getCode() : undefined;
      if (code === zookeeper.Exception.NO_NODE) {
        // No providers folder: nobody has registered. Watch for it to appear.
        c.exists(providersPath, onWatch, (existsError, stat) => {
          reading = false;
          if (c !== session.client() || closed) return;
          if (existsError !== null) {
            report(existsError);
            return;
          }
          if (stat !== null) readAgain = true;
          else publish([]);
          if (readAgain) refresh();
        });
        return;
      }
      reading = false;
      // Connection trouble: keep the last list; the next `connected` event reads again.
      report(error);
    });
  }

  // The registry's one session, shared with every other service that reads it (zookeeper-session.ts).
  const session: ZooKeeperSession = acquireZooKeeperSession({
    connectString,
    access,
    ...(options.sessionTimeoutMs !== undefined ? { sessionTimeoutMs: options.sessionTimeoutMs } : {}),
    ...(options.retryDelayMs !== undefined ? { retryDelayMs: options.retryDelayMs } : {}),
  });
  const stopListening = session.listen({
    connected: () => {
      if (closed) return;
      isConnected = true;
      refresh();
    },
    disconnected: () => {
      isConnected = false;
    },
    expired: () => {
      // An expired session's watches are gone: the session opens a new one and says
      // `connected`, and this source reads again; until then the last list stays.
      isConnected = false;
      reading = false;
      report(new Error(`ZooKeeper session expired (${connectString}); reconnecting`));
    },
    authenticationFailed: () => {
      report(new RegistryError(`ZooKeeper authentication failed (${connectString})`, { code: 'FERRY_REGISTRY_AUTH' }));
    },
    tlsError: (err) => report(err),
  });

  // ZooKeeper not reached soon after start: serve the list a previous run left on disk, until
  // the first real read replaces it.
  const cacheTimer =
    cache === undefined
      ? undefined
      : setTimeout(() => {
          void cache.read().then((cached) => {
            if (closed || hasRead || cached === undefined) return;
            report(
              new RegistryError(
                `ZooKeeper ${connectString} unreachable at start: serving ${cached.length} endpoints of ${providersPath} from ${cache.path}`,
              ),
            );
            publish(cached, 'cache');
          });
        }, options.cacheAfterMs ?? ZOOKEEPER_CACHE_AFTER_MS);
  cacheTimer?.unref();

  return {
    current: () => list,
    subscribe: (listener) => listeners.subscribe(listener),
    ready(timeoutMs = 10_000) {
      if (hasRead) return Promise.resolve(true);
      return readySignal.wait(timeoutMs);
    },
    connected: () => isConnected,
    origin: () => origin,
    async close() {
      if (closed) return;
      closed = true;
      if (cacheTimer !== undefined) clearTimeout(cacheTimer);
      listeners.clear();
      readySignal.settle(false);
      isConnected = false;
      stopListening();
      session.release();
    },
  };
}
