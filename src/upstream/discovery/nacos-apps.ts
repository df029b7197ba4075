/**
 * Dubbo 3 application-level discovery in Nacos, as 3.3 writes it with `registry: nacos://...`
 * (the registry doubling as metadata report, Dubbo's default), checked against 3.3.6 and rnacos:
 * - the interface → application mapping: config `dataId=<interface>`, `group=mapping`, content =
 *   comma-separated application names;
 * - an application's instances: the Nacos service `<app>` in the registry URL's group, one instance
 *   per provider process, its metadata Dubbo's instance metadata (service-instance.ts);
 * - a revision's MetadataInfo (with `dubbo.metadata.storage-type: remote`): config
 *   `dataId=<app>`, `group=<revision>`, content = the MetadataInfo JSON.
 * All three are read over the Open API (nacos-http.ts) and re-read every `pollIntervalMs`, as the
 * interface-level source does.
 *
 * One watcher per registry is shared by every service that names it (ref-counted): an application
 * is read once per round however many interfaces map to it, and MetadataInfo once per (application,
 * revision) for all of them. Registry trouble keeps the last known lists; malformed instances are
 * skipped and named once. A mapping or an application that suddenly lists nobody (a Nacos
 * restarted empty) keeps its last names or instances (empty protection), reported once.
 */
import type { RegistryAccess } from '../../config/types.js';
import { acquireShared, FunctionIds, type SharedWatcher } from './shared-watchers.js';
import { RegistryError } from '../../errors/index.js';
import { DEFAULT_MAX_INSTANCES_PER_APP, type AppRegistry } from './app-level.js';
import { createMetadataInfoStore, type FetchMetadataInfo, type MetadataStoreOptions } from './metadata-store.js';
import { createNacosHttp, type NacosHttp } from './nacos-http.js';
import { parseInstanceList, parseNacosRegistry, type NacosRegistry } from './nacos-instances.js';
import { createProblemLog } from './problem-log.js';
import {
  DEFAULT_APP_DATA_BUDGETS,
  parseMetadataInfoJson,
  serviceInstanceFromMetadata,
  type AppDataBudgets,
  type MetadataInfo,
  type ServiceInstance,
} from './service-instance.js';
import { DEFAULT_MAX_APPS_PER_INTERFACE } from './zookeeper-apps.js';

/** Dubbo's config group of the interface → application mapping (ServiceNameMapping.DEFAULT_MAPPING_GROUP). */
export const NACOS_MAPPING_GROUP = 'mapping';
/** How often mappings and instance lists are re-read (ms). */
export const NACOS_APPS_POLL_INTERVAL_MS = 2000;
/** Reads in flight at once per registry. */
export const NACOS_APPS_MAX_CONCURRENT_READS = 8;
/** Largest mapping or instance-list reply read (bytes). */
const MAX_LIST_BYTES = 4 * 1024 * 1024;

export interface NacosAppsOptions {
  /** `nacos://host:port[?namespace=..&group=..]` */
  readonly registry: string;
  /** Credentials (username, password) from the mapping; they override the URL's. */
  readonly access?: RegistryAccess;
  readonly pollIntervalMs?: number;
  readonly requestTimeoutMs?: number;
  /** Asks an instance for a revision's MetadataInfo (its MetadataService); undefined = metadata report only. */
  readonly fetchMetadataInfo?: FetchMetadataInfo;
  readonly budgets?: Partial<AppDataBudgets>;
  readonly maxAppsPerInterface?: number;
  readonly maxInstancesPerApp?: number;
  readonly metadata?: Omit<MetadataStoreOptions, 'load'>;
  readonly onError?: (err: Error) => void;
}

interface Watch<T> {
  value: T | undefined;
  readonly listeners: Set<(value: T) => void>;
}

type Shared = SharedWatcher<Omit<AppRegistry, 'release'>>;

const shared = new Map<string, Shared>();
const fetcherIds = new FunctionIds();

/** Attaches to the shared application-level watcher of a Nacos registry, creating it on first use. Throws FERRY_CONFIG_INVALID for a bad URL. */
export function acquireNacosApps(options: NacosAppsOptions): AppRegistry {
  const registry = parseNacosRegistry(options.registry, options.access);
  const fid = fetcherIds.of(options.fetchMetadataInfo);
  const key = JSON.stringify([
    registry.display,
    registry.username ?? '',
    options.access?.identity ?? '',
    fid,
    options.pollIntervalMs,
    options.requestTimeoutMs,
    options.budgets ?? {},
    options.maxAppsPerInterface,
    options.maxInstancesPerApp,
    options.metadata ?? {},
  ]);
  return acquireShared(shared, key, (forget) => createShared(registry, options, forget), options.onError);
}

function createShared(registry: NacosRegistry, options: NacosAppsOptions, forget: () => void): Shared {
  const pollMs = Math.max(50, options.pollIntervalMs ?? NACOS_APPS_POLL_INTERVAL_MS);
  const http: NacosHttp = createNacosHttp(registry, Math.max(50, options.requestTimeoutMs ?? 5000));
  const budgets: AppDataBudgets = { ...DEFAULT_APP_DATA_BUDGETS, ...options.budgets };
  const maxApps = options.maxAppsPerInterface ?? DEFAULT_MAX_APPS_PER_INTERFACE;
  const maxInstances = options.maxInstancesPerApp ?? DEFAULT_MAX_INSTANCES_PER_APP;
  const sinks = new Set<(err: Error) => void>();
  const problems = createProblemLog((err) => sinks.values().next().value?.(err));
  const mappings = new Map<string, Watch<readonly string[]>>();
  const apps = new Map<string, Watch<readonly ServiceInstance[]>>();
  let isConnected = false;
  let closed = false;
  let timer: NodeJS.Timeout | undefined;
  let wake: (() => void) | undefined;

  /** A config's content; undefined when it does not exist (HTTP 404). */
  const readConfig = async (dataId: string, group: string, maxBytes: number): Promise<string | undefined> => {
    const what = `Nacos ${registry.display} config ${group}/${dataId}`;
    const res = await http.get('/nacos/v1/cs/configs', { dataId, group }, maxBytes, what);
    if (res.status === 404) return undefined;
    if (res.status !== 200) throw new RegistryError(`${what}: HTTP ${res.status} ${JSON.stringify(res.text.slice(0, 120))}`);
    return res.text;
  };

  // ---- the metadata report --------------------------------------------------------------------
  const readReport = async (instance: ServiceInstance, revision: string): Promise<MetadataInfo> => {
    const where = `Nacos config ${revision}/${instance.app}`;
    const text = await readConfig(instance.app, revision, budgets.maxMetadataBytes + 1);
    if (text === undefined) throw new RegistryError(`${where} is not in the metadata report`);
    return parseMetadataInfoJson(text, { app: instance.app, revision }, where, budgets);
  };
  const load: FetchMetadataInfo = async (instance, revision, opts) => {
    const fromService = options.fetchMetadataInfo;
    if (instance.storageType === 'remote' || fromService === undefined) return readReport(instance, revision);
    try {
      return await fromService(instance, revision, opts);
    } catch (err) {
      try {
        return await readReport(instance, revision);
      } catch (second) {
        throw new RegistryError(
          `${err instanceof Error ? err.message : String(err)}; then ${second instanceof Error ? second.message : String(second)}`,
        );
      }
    }
  };
  const store = createMetadataInfoStore({ ...options.metadata, load });

  const set = <T>(w: Watch<T>, value: T, same: (a: T, b: T) => boolean): void => {
    const old = w.value;
    w.value = value;
    if (old !== undefined && same(old, value)) return;
    for (const l of [...w.listeners]) {
      try {
        l(value);
      } catch (err) {
        problems.report(`listener:${String(err)}`, err instanceof Error ? err : new Error(String(err)));
      }
    }
  };
  const sameNames = (a: readonly string[], b: readonly string[]): boolean => a.length === b.length && a.every((x, i) => x === b[i]);
  const sameInstances = (a: readonly ServiceInstance[], b: readonly ServiceInstance[]): boolean =>
    a.length === b.length && a.every((x, i) => x === b[i]);

  async function readMapping(iface: string): Promise<boolean> {
    const w = mappings.get(iface);
    if (w === undefined) return true;
    const key = `mapping:${iface}`;
    try {
      const text = (await readConfig(iface, NACOS_MAPPING_GROUP, MAX_LIST_BYTES)) ?? '';
      const names = [
        ...new Set(
          text
            .split(',')
            .map((a) => a.trim())
            .filter((a) => a !== '' && /^[^\s/?#&]{1,255}$/.test(a)),
        ),
      ];
      if (names.length > maxApps) {
        problems.report(
          `${key}:many`,
          new RegistryError(`Nacos mapping of ${iface} names ${names.length} applications; only the first ${maxApps} are watched`),
        );
      } else problems.clear(`${key}:many`);
      problems.clear(key);
      if (names.length === 0 && (w.value?.length ?? 0) > 0) {
        // Empty protection: a Nacos restarted without its data has lost the mapping, and Dubbo
        // writes it only when a service is exported, so the instances that register again would
        // never be found. Keep watching the applications last named.
        problems.report(
          `${key}:empty-protected`,
          new RegistryError(`Nacos ${registry.display} has no mapping of ${iface} any more; keeping its last applications (${w.value!.join(', ')})`),
        );
        return true;
      }
      problems.clear(`${key}:empty-protected`);
      set(w, names.slice(0, maxApps), sameNames);
      return true;
    } catch (err) {
      problems.report(key, err instanceof Error ? err : new RegistryError(String(err)));
      return false;
    }
  }

  async function readApp(app: string): Promise<boolean> {
    const w = apps.get(app);
    if (w === undefined) return true;
    const what = `Nacos ${registry.display} service ${app}`;
    try {
      const res = await http.get(
        '/nacos/v1/ns/instance/list',
        { serviceName: app, groupName: registry.group, healthyOnly: 'false' },
        MAX_LIST_BYTES,
        what,
      );
      if (res.status !== 200) throw new RegistryError(`${what}: HTTP ${res.status} ${JSON.stringify(res.text.slice(0, 120))}`);
      const reply = parseInstanceList(res.text, app);
      const old = new Map((w.value ?? []).map((i) => [i.where, i]));
      const next: ServiceInstance[] = [];
      for (const [index, raw] of reply.hosts.entries()) {
        if (next.length >= maxInstances) {
          problems.report(`instances:${app}`, new RegistryError(`${what} has ${reply.hosts.length} instances; only ${maxInstances} are used`));
          break;
        }
        const r = (typeof raw === 'object' && raw !== null ? raw : {}) as Record<string, unknown>;
        if (r['enabled'] === false || r['healthy'] === false) continue;
        const where = `${what} instance ${typeof r['ip'] === 'string' ? r['ip'].slice(0, 80) : `#${index}`}:${String(r['port']).slice(0, 12)}`;
        try {
          const inst = serviceInstanceFromMetadata(app, r['ip'], r['port'], r['metadata'], where, budgets);
          const prev = old.get(where);
          // Same content, same object: listeners and memos see "unchanged".
          next.push(prev !== undefined && prev.id === inst.id && JSON.stringify(prev.metadata) === JSON.stringify(inst.metadata) ? prev : inst);
          problems.clear(`instance:${where}`);
        } catch (err) {
          problems.report(`instance:${where}`, err instanceof Error ? err : new RegistryError(String(err)));
        }
      }
      next.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
      problems.clear(`app:${app}`);
      if (reply.hosts.length === 0 && (w.value?.length ?? 0) > 0) {
        // Empty protection, as for the interface-level lists (nacos.ts): a Nacos restarted empty
        // lists nobody until the providers register again. Instances that really left fail their
        // health checks and leave balancing on their own.
        problems.report(`app:${app}:empty-protected`, new RegistryError(`${what} lists no instance; keeping the last ${w.value!.length}`));
        return true;
      }
      problems.clear(`app:${app}:empty-protected`);
      set(w, next, sameInstances);
      return true;
    } catch (err) {
      problems.report(`app:${app}`, err instanceof Error ? err : new RegistryError(String(err)));
      return false;
    }
  }

  /** Runs `tasks` with at most NACOS_APPS_MAX_CONCURRENT_READS at once; true when all succeeded. */
  async function bounded(tasks: Array<() => Promise<boolean>>): Promise<boolean> {
    let ok = true;
    let next = 0;
    await Promise.all(
      Array.from({ length: Math.min(NACOS_APPS_MAX_CONCURRENT_READS, tasks.length) }, async () => {
        while (next < tasks.length && !closed) if (!(await tasks[next++]!())) ok = false;
      }),
    );
    return ok;
  }

  async function round(): Promise<void> {
    const a = await bounded([...mappings.keys()].map((iface) => () => readMapping(iface)));
    if (closed) return;
    // Applications a mapping just named are read in the same round.
    const b = await bounded([...apps.keys()].map((app) => () => readApp(app)));
    isConnected = a && b;
  }

  const loop = async (): Promise<void> => {
    try {
      await round();
    } catch (err) {
      problems.report(`bug:${String(err)}`, err instanceof Error ? err : new Error(String(err)));
    }
    if (closed) return;
    await new Promise<void>((resolve) => {
      wake = resolve;
      timer = setTimeout(resolve, pollMs);
      timer.unref();
    });
    wake = undefined;
    if (!closed) void loop();
  };
  // A new watch is read soon rather than a whole interval later.
  const soon = (): void => {
    if (wake === undefined) return;
    clearTimeout(timer);
    const w = wake;
    wake = undefined;
    setImmediate(w);
  };
  void loop();

  const watch = <T>(map: Map<string, Watch<T>>, name: string, listener: (value: T) => void): (() => void) => {
    let w = map.get(name);
    if (w === undefined) {
      w = { value: undefined, listeners: new Set() };
      map.set(name, w);
      soon();
    }
    const entry = w;
    entry.listeners.add(listener);
    if (entry.value !== undefined) listener(entry.value);
    return () => {
      entry.listeners.delete(listener);
      if (entry.listeners.size === 0 && map.get(name) === entry) map.delete(name);
    };
  };

  const api: Omit<AppRegistry, 'release'> = {
    watchMapping: (iface, listener) => watch(mappings, iface, listener),
    watchApp: (app, listener) => watch(apps, app, listener),
    hasRead(iface) {
      const names = mappings.get(iface)?.value;
      return names !== undefined && names.every((app) => apps.get(app)?.value !== undefined);
    },
    store,
    problems,
    connected: () => isConnected,
  };

  return {
    refs: 0,
    sinks,
    api,
    close() {
      closed = true;
      forget();
      clearTimeout(timer);
      wake?.();
      http.close();
      mappings.clear();
      apps.clear();
    },
  };
}
