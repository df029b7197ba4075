/**
 * Dubbo 3 application-level discovery in ZooKeeper, as 3.3 writes it (the registry doubling as
 * metadata report, Dubbo's default):
 * - `/<root>/mapping/<interface>`: data = comma-separated application names (persistent);
 * - `/services/<app>/<host:port>`: one ephemeral node per instance, data = Curator's ServiceInstance
 *   JSON with Dubbo's instance metadata (service-instance.ts);
 * - `/<root>/metadata/<app>/<revision>`: the revision's MetadataInfo JSON, when instances publish it
 *   (`dubbo.metadata.storage-type: remote`).
 *
 * One watcher per registry is shared by every service that names it (ref-counted): an application
 * is watched once however many interfaces map to it, each instance node is read once and then on
 * its own data watch, and MetadataInfo is fetched once per (application, revision) for all of them.
 * Registry trouble keeps the last known instances; malformed nodes are skipped and reported once.
 */
import { acquireShared, FunctionIds, type SharedWatcher } from './shared-watchers.js';
import zookeeper from 'node-zookeeper-client';
import type { Client, Event } from 'node-zookeeper-client';
import { RegistryError } from '../../errors/index.js';
import { DEFAULT_MAX_INSTANCES_PER_APP, type AppRegistry } from './app-level.js';
import { createMetadataInfoStore, type FetchMetadataInfo, type MetadataStoreOptions } from './metadata-store.js';
import { createProblemLog } from './problem-log.js';
import {
  DEFAULT_APP_DATA_BUDGETS,
  parseMetadataInfoJson,
  parseZooKeeperInstance,
  type AppDataBudgets,
  type MetadataInfo,
  type ServiceInstance,
} from './service-instance.js';
import { toConnectString } from './zookeeper.js';
import type { RegistryAccess } from '../../config/types.js';
import { zooKeeperAccessKey, zooKeeperAccessOf } from './zookeeper-client.js';
import { acquireZooKeeperSession, type ZooKeeperSession } from './zookeeper-session.js';

/** Most applications one interface maps to (more are ignored and reported). */
export const DEFAULT_MAX_APPS_PER_INTERFACE = 64;
/** ZooKeeper reads in flight at once per registry (instance nodes are read one by one). */
export const DEFAULT_MAX_CONCURRENT_READS = 64;

export interface ZooKeeperAppsOptions {
  /** A registry URL (`zookeeper://host:port?backup=...`) or connect string. */
  readonly connectString: string;
  /** Dubbo's registry / metadata-report root (default `dubbo`). */
  readonly root?: string;
  /** Service-discovery root (default `services`, Dubbo's ZookeeperServiceDiscovery `rootPath`). */
  readonly servicesRoot?: string;
  readonly sessionTimeoutMs?: number;
  readonly retryDelayMs?: number;
  /** Asks an instance for a revision's MetadataInfo (its MetadataService); undefined = metadata report only. */
  readonly fetchMetadataInfo?: FetchMetadataInfo;
  readonly budgets?: Partial<AppDataBudgets>;
  readonly maxAppsPerInterface?: number;
  readonly maxInstancesPerApp?: number;
  readonly maxConcurrentReads?: number;
  /** MetadataInfo cache and fetch limits. */
  readonly metadata?: Omit<MetadataStoreOptions, 'load'>;
  /** TLS and digest credentials (default: the URL's `user:password@`, plain text). */
  readonly access?: RegistryAccess;
  /** Told about registry trouble; each problem once (the first registered sink that is still attached). */
  readonly onError?: (err: Error) => void;
}

/** A handle on the shared watcher of one registry. */
export type ZooKeeperApps = AppRegistry;

interface MappingWatch {
  apps: readonly string[] | undefined;
  readonly listeners: Set<(apps: readonly string[]) => void>;
}

interface AppWatch {
  /** Child name → instance (nodes that failed to parse are absent). */
  readonly instances: Map<string, ServiceInstance>;
  /** Children as last listed. */
  children: Set<string>;
  list: readonly ServiceInstance[];
  listed: boolean;
  listing: boolean;
  listAgain: boolean;
  reads: number;
  readonly listeners: Set<(instances: readonly ServiceInstance[]) => void>;
}

type Shared = SharedWatcher<Omit<ZooKeeperApps, 'release'>>;

const shared = new Map<string, Shared>();
/** Fetchers get an identity so that registries with different fetchers are not shared. */
const fetcherIds = new FunctionIds();

const zkCode = (err: unknown): number | undefined => (err instanceof zookeeper.Exception ? err.getCode() : undefined);

/** Attaches to the shared application-level watcher of a registry, creating it on first use. */
export function acquireZooKeeperApps(options: ZooKeeperAppsOptions): ZooKeeperApps {
  const connectString = toConnectString(options.connectString);
  const fid = fetcherIds.of(options.fetchMetadataInfo);
  // Sources with different roots, fetchers or limits get their own watcher.
  const key = JSON.stringify([
    connectString,
    zooKeeperAccessKey(zooKeeperAccessOf(options.connectString, options.access)),
    options.root ?? 'dubbo',
    options.servicesRoot ?? 'services',
    fid,
    options.budgets ?? {},
    options.maxAppsPerInterface,
    options.maxInstancesPerApp,
    options.maxConcurrentReads,
    options.metadata ?? {},
  ]);
  return acquireShared(shared, key, (forget) => createShared(connectString, options, forget), options.onError);
}

function createShared(connectString: string, options: ZooKeeperAppsOptions, forget: () => void): Shared {
  const root = `/${(options.root ?? 'dubbo').replace(/^\/+|\/+$/g, '')}`;
  const servicesRoot = `/${(options.servicesRoot ?? 'services').replace(/^\/+|\/+$/g, '')}`;
  const budgets: AppDataBudgets = { ...DEFAULT_APP_DATA_BUDGETS, ...options.budgets };
  const maxApps = options.maxAppsPerInterface ?? DEFAULT_MAX_APPS_PER_INTERFACE;
  const maxInstances = options.maxInstancesPerApp ?? DEFAULT_MAX_INSTANCES_PER_APP;
  const maxReads = options.maxConcurrentReads ?? DEFAULT_MAX_CONCURRENT_READS;
  const sinks = new Set<(err: Error) => void>();
  const problems = createProblemLog((err) => sinks.values().next().value?.(err));
  const mappings = new Map<string, MappingWatch>();
  const appWatches = new Map<string, AppWatch>();

  let client: Client | undefined;
  let isConnected = false;
  let closed = false;

  // ---- bounded reads --------------------------------------------------------------------------
  let reading = 0;
  const queue: Array<() => void> = [];
  const withReadSlot = (run: (done: () => void) => void): void => {
    const start = (): void => {
      reading++;
      let finished = false;
      run(() => {
        if (finished) return;
        finished = true;
        reading--;
        queue.shift()?.();
      });
    };
    if (reading < maxReads) start();
    else queue.push(start);
  };

  // ---- the metadata report --------------------------------------------------------------------
  const readReport = (instance: ServiceInstance, revision: string): Promise<MetadataInfo> =>
    new Promise((resolve, reject) => {
      const c = client;
      const path = `${root}/metadata/${instance.app}/${revision}`;
      if (c === undefined || !isConnected) {
        reject(new RegistryError(`${path}: ZooKeeper is not connected`));
        return;
      }
      withReadSlot((done) => {
        c.getData(path, (err, data) => {
          done();
          if (err) {
            reject(
              new RegistryError(zkCode(err) === zookeeper.Exception.NO_NODE ? `${path} is not in the metadata report` : `${path}: ${err.message}`),
            );
            return;
          }
          try {
            resolve(parseMetadataInfoJson(data ?? Buffer.alloc(0), { app: instance.app, revision }, path, budgets));
          } catch (e) {
            reject(e instanceof Error ? e : new RegistryError(String(e)));
          }
        });
      });
    });

  const load: FetchMetadataInfo = async (instance, revision, opts) => {
    const fromService = options.fetchMetadataInfo;
    // As Dubbo: `remote` instances are read from the report only; `local` ones are asked, and the
    // report is read when they cannot answer (a provider may publish both).
    if (instance.storageType === 'remote') return readReport(instance, revision);
    const ways: Array<() => Promise<MetadataInfo>> = [];
    if (fromService !== undefined) ways.push(() => fromService(instance, revision, opts));
    ways.push(() => readReport(instance, revision));
    const reasons: string[] = [];
    for (const way of ways) {
      try {
        return await way();
      } catch (err) {
        reasons.push(err instanceof Error ? err.message : String(err));
      }
    }
    throw new RegistryError(reasons.join('; then '));
  };
  const store = createMetadataInfoStore({ ...options.metadata, load });

  // ---- the interface → application mapping ----------------------------------------------------
  const onMappingWatch = (event: Event): void => {
    const path = event.getPath();
    const prefix = `${root}/mapping/`;
    if (path.startsWith(prefix)) readMapping(path.slice(prefix.length));
  };

  function setMapping(iface: string, apps: readonly string[]): void {
    const m = mappings.get(iface);
    if (m === undefined) return;
    const same = m.apps !== undefined && m.apps.length === apps.length && m.apps.every((a, i) => a === apps[i]);
    m.apps = apps;
    if (same) return;
    for (const l of [...m.listeners]) l(apps);
  }

  function readMapping(iface: string): void {
    const c = client;
    if (c === undefined || closed || !mappings.has(iface)) return;
    const path = `${root}/mapping/${iface}`;
    c.getData(path, onMappingWatch, (err, data) => {
      if (c !== client || closed) return;
      if (err) {
        if (zkCode(err) === zookeeper.Exception.NO_NODE) {
          // Nobody registered this interface application-level yet: watch for the node.
          c.exists(path, onMappingWatch, (existsErr, stat) => {
            if (c !== client || closed) return;
            if (existsErr) problems.report(`zk:${path}`, existsErr);
            else if (stat) readMapping(iface);
            else setMapping(iface, []);
          });
          return;
        }
        problems.report(`zk:${path}`, err);
        return;
      }
      problems.clear(`zk:${path}`);
      const names = [
        ...new Set(
          (data?.toString('utf8') ?? '')
            .split(',')
            .map((a) => a.trim())
            .filter((a) => a !== '' && !a.includes('/')),
        ),
      ];
      if (names.length > maxApps) {
        problems.report(`mapping:${path}`, new RegistryError(`${path} names ${names.length} applications; only the first ${maxApps} are watched`));
      } else {
        problems.clear(`mapping:${path}`);
      }
      setMapping(iface, names.slice(0, maxApps));
    });
  }

  // ---- instances of an application ------------------------------------------------------------
  const onAppWatch = (event: Event): void => {
    const path = event.getPath();
    if (!path.startsWith(`${servicesRoot}/`)) return;
    const rest = path.slice(servicesRoot.length + 1);
    const slash = rest.indexOf('/');
    if (slash < 0) listApp(rest);
    else readInstance(rest.slice(0, slash), rest.slice(slash + 1));
  };

  function publishApp(app: string): void {
    const w = appWatches.get(app);
    if (w === undefined || !w.listed || w.reads > 0) return;
    const next = [...w.instances.values()];
    if (next.length === w.list.length && next.every((inst, i) => inst === w.list[i])) return;
    w.list = Object.freeze(next);
    for (const l of [...w.listeners]) l(w.list);
  }

  function readInstance(app: string, child: string): void {
    const w = appWatches.get(app);
    const c = client;
    if (w === undefined || c === undefined || closed || !w.children.has(child)) return;
    const path = `${servicesRoot}/${app}/${child}`;
    w.reads++;
    withReadSlot((done) => {
      c.getData(path, onAppWatch, (err, data) => {
        done();
        w.reads--;
        if (c !== client || closed || appWatches.get(app) !== w) return;
        if (err) {
          if (zkCode(err) === zookeeper.Exception.NO_NODE) {
            w.instances.delete(child);
            problems.clear(`node:${path}`);
          } else {
            // Connection trouble: keep what was read; the next `connected` lists again.
            problems.report(`zk:${servicesRoot}/${app}`, err);
          }
          publishApp(app);
          return;
        }
        try {
          const inst = parseZooKeeperInstance(app, data, path, budgets);
          const old = w.instances.get(child);
          // Same bytes, same object: listeners and memos see "unchanged".
          if (old === undefined || JSON.stringify(old.metadata) !== JSON.stringify(inst.metadata) || old.id !== inst.id) w.instances.set(child, inst);
          problems.clear(`node:${path}`);
        } catch (e) {
          w.instances.delete(child);
          problems.report(`node:${path}`, e instanceof Error ? e : new Error(String(e)));
        }
        publishApp(app);
      });
    });
  }

  function listApp(app: string): void {
    const w = appWatches.get(app);
    const c = client;
    if (w === undefined || c === undefined || closed) return;
    if (w.listing) {
      w.listAgain = true;
      return;
    }
    w.listing = true;
    w.listAgain = false;
    const path = `${servicesRoot}/${app}`;
    c.getChildren(path, onAppWatch, (err, children) => {
      w.listing = false;
      if (c !== client || closed || appWatches.get(app) !== w) return;
      if (err) {
        if (zkCode(err) === zookeeper.Exception.NO_NODE) {
          c.exists(path, onAppWatch, (existsErr, stat) => {
            if (c !== client || closed || appWatches.get(app) !== w) return;
            if (existsErr) {
              problems.report(`zk:${path}`, existsErr);
              return;
            }
            if (stat) {
              listApp(app);
              return;
            }
            w.children = new Set();
            w.instances.clear();
            w.listed = true;
            publishApp(app);
          });
          return;
        }
        problems.report(`zk:${path}`, err);
        return;
      }
      problems.clear(`zk:${path}`);
      let names = children;
      if (names.length > maxInstances) {
        problems.report(`children:${path}`, new RegistryError(`${path} has ${names.length} instances; only ${maxInstances} are read`));
        names = [...names].sort().slice(0, maxInstances);
      } else {
        problems.clear(`children:${path}`);
      }
      const next = new Set(names);
      for (const child of w.children) {
        if (!next.has(child)) {
          w.instances.delete(child);
          problems.clear(`node:${path}/${child}`);
        }
      }
      const added = names.filter((child) => !w.children.has(child) || !w.instances.has(child));
      w.children = next;
      w.listed = true;
      for (const child of added) readInstance(app, child);
      publishApp(app);
      if (w.listAgain) listApp(app);
    });
  }

  // ---- the session ----------------------------------------------------------------------------
  function readEverything(): void {
    for (const iface of mappings.keys()) readMapping(iface);
    for (const app of appWatches.keys()) listApp(app);
  }

  // The registry's one session, shared with the interface-level sources (zookeeper-session.ts).
  const session: ZooKeeperSession = acquireZooKeeperSession({
    connectString,
    access: zooKeeperAccessOf(options.connectString, options.access),
    ...(options.sessionTimeoutMs !== undefined ? { sessionTimeoutMs: options.sessionTimeoutMs } : {}),
    ...(options.retryDelayMs !== undefined ? { retryDelayMs: options.retryDelayMs } : {}),
  });
  let stopListening: (() => void) | undefined;
  const startListening = (): void => {
    stopListening = session.listen({
      connected: (c) => {
        if (closed) return;
        client = c;
        isConnected = true;
        problems.clear('zk:session');
        problems.clear('zk:tls');
        // Within one session watches survive a reconnect; listing again catches what they cannot.
        readEverything();
      },
      disconnected: () => {
        isConnected = false;
      },
      expired: () => {
        isConnected = false;
        client = undefined;
        problems.report(`zk:session`, new RegistryError(`ZooKeeper session expired (${connectString}); reconnecting`));
        // A new session has no watches: every instance node is read again.
        for (const w of appWatches.values()) {
          w.children = new Set();
          w.listing = false;
        }
      },
      authenticationFailed: () => {
        problems.report(`zk:auth`, new RegistryError(`ZooKeeper authentication failed (${connectString})`, { code: 'FERRY_REGISTRY_AUTH' }));
      },
      tlsError: (err) => problems.report('zk:tls', err),
    });
  };

  const api: Omit<ZooKeeperApps, 'release'> = {
    watchMapping(iface, listener) {
      let m = mappings.get(iface);
      const fresh = m === undefined;
      if (m === undefined) {
        m = { apps: undefined, listeners: new Set() };
        mappings.set(iface, m);
      }
      const watch = m;
      watch.listeners.add(listener);
      if (fresh) readMapping(iface);
      else if (watch.apps !== undefined) listener(watch.apps);
      return () => {
        watch.listeners.delete(listener);
        if (watch.listeners.size === 0 && mappings.get(iface) === watch) mappings.delete(iface);
      };
    },
    watchApp(app, listener) {
      let w = appWatches.get(app);
      const fresh = w === undefined;
      if (w === undefined) {
        w = {
          instances: new Map(),
          children: new Set(),
          list: Object.freeze([]),
          listed: false,
          listing: false,
          listAgain: false,
          reads: 0,
          listeners: new Set(),
        };
        appWatches.set(app, w);
      }
      const watch = w;
      watch.listeners.add(listener);
      if (fresh) listApp(app);
      else if (watch.listed && watch.reads === 0) listener(watch.list);
      return () => {
        watch.listeners.delete(listener);
        if (watch.listeners.size === 0 && appWatches.get(app) === watch) appWatches.delete(app);
      };
    },
    hasRead(iface) {
      const m = mappings.get(iface);
      if (m?.apps === undefined) return false;
      return m.apps.every((app) => {
        const w = appWatches.get(app);
        return w !== undefined && w.listed && w.reads === 0;
      });
    },
    store,
    problems,
    connected: () => isConnected,
  };

  startListening();

  return {
    refs: 0,
    sinks,
    api,
    close() {
      closed = true;
      forget();
      mappings.clear();
      appWatches.clear();
      queue.length = 0;
      client = undefined;
      isConnected = false;
      stopListening?.();
      session.release();
    },
  };
}
