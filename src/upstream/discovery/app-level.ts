/**
 * Application-level endpoints of one service, whatever the registry: given "application X has
 * these instances" (from ZooKeeper's /services/X, or Nacos), it finds each instance's revision's
 * MetadataInfo (through a shared MetadataInfoStore), keeps the instances whose MetadataInfo
 * exports the selected service, and publishes their endpoints. A registry source feeds it with
 * setInstances()/removeApp(); everything after that is here.
 *
 * Bad input never stops the rest: an instance without a revision is skipped; an instance whose
 * new revision cannot be fetched keeps the endpoints of its previous revision (or is skipped when
 * it has none); each is reported once (problem-log.ts). Budgets bound instances per application and
 * revisions per application.
 */
import { RegistryError } from '../../errors/index.js';
import type { MetadataInfoStore } from './metadata-store.js';
import { createProblemLog, type ProblemLog } from './problem-log.js';
import type { ServiceSelector } from './provider-url.js';
import { endpointsOfInstance, mergeEndpoints, sameEndpoints, type MetadataInfo, type ServiceInstance } from './service-instance.js';
import type { Endpoint } from './types.js';

/** Most instances taken from one application (more are ignored and reported). */
export const DEFAULT_MAX_INSTANCES_PER_APP = 20_000;
/** Most distinct revisions used per application at once (instances of further ones are skipped). */
export const DEFAULT_MAX_REVISIONS_PER_APP = 256;

/**
 * What a registry gives application-level discovery, whatever it is (ZooKeeper in
 * zookeeper-apps.ts, Nacos in nacos-apps.ts): the interface → application mapping, each
 * application's instances, and the MetadataInfo store that knows where that registry's metadata
 * report is. Shared per registry (ref-counted); release() detaches one user.
 */
export interface AppRegistry {
  /** Applications that export `iface`; called with the current list now (when known) and on every change. */
  watchMapping(iface: string, listener: (apps: readonly string[]) => void): () => void;
  /** Instances of `app`; called with the current list now (when known) and on every change. */
  watchApp(app: string, listener: (instances: readonly ServiceInstance[]) => void): () => void;
  /** Whether the mapping of `iface` and every application it maps to have been read once. */
  hasRead(iface: string): boolean;
  readonly store: MetadataInfoStore;
  readonly problems: ProblemLog;
  connected(): boolean;
  /** Detaches this handle; the watcher closes when the last one is released. */
  release(): void;
}

export interface AppLevelOptions {
  readonly selector: ServiceSelector;
  readonly store: MetadataInfoStore;
  readonly cluster?: string;
  readonly priority?: number;
  readonly maxInstancesPerApp?: number;
  readonly maxRevisionsPerApp?: number;
  /** Where problems are reported (each once while it lasts); or pass a shared `problems` log. */
  readonly onError?: (err: Error) => void;
  readonly problems?: ProblemLog;
}

export interface AppLevelEndpoints {
  /** The full instance list of `app` (replaces the previous one). */
  setInstances(app: string, instances: readonly ServiceInstance[]): void;
  /** `app` no longer serves this interface (dropped from the mapping). */
  removeApp(app: string): void;
  /** Applications currently fed. */
  apps(): readonly string[];
  /** Endpoints of every application, one per host:port, sorted by id. */
  current(): readonly Endpoint[];
  subscribe(listener: (endpoints: readonly Endpoint[]) => void): () => void;
  /** Resolves when no MetadataInfo lookup is in flight (lookups that fail are retried later). */
  idle(): Promise<void>;
  /** Whether a MetadataInfo lookup is in flight. */
  busy(): boolean;
  close(): void;
}

interface AppState {
  instances: readonly ServiceInstance[];
  endpoints: Endpoint[];
  /** Revisions this app's instances use now, with their MetadataInfo once known. */
  revisions: Map<string, MetadataInfo>;
  /** The last MetadataInfo each instance id resolved with (for a revision that cannot be fetched). */
  lastGood: Map<string, MetadataInfo>;
}

export function createAppLevelEndpoints(options: AppLevelOptions): AppLevelEndpoints {
  const { selector, store } = options;
  const cluster = options.cluster ?? 'default';
  const priority = options.priority ?? 0;
  const maxInstances = options.maxInstancesPerApp ?? DEFAULT_MAX_INSTANCES_PER_APP;
  const maxRevisions = options.maxRevisionsPerApp ?? DEFAULT_MAX_REVISIONS_PER_APP;
  const problems = options.problems ?? createProblemLog(options.onError);
  const apps = new Map<string, AppState>();
  const listeners = new Set<(endpoints: readonly Endpoint[]) => void>();
  /** Endpoints per (instance, MetadataInfo): unchanged instances are not recomputed. */
  const memo = new WeakMap<ServiceInstance, { info: MetadataInfo; endpoints: Endpoint[] }>();
  const pending = new Set<string>();
  /** Revisions whose lookup failed, until when they are not asked again (app/revision → epoch ms). */
  const failed = new Map<string, number>();
  let idleWaiters: Array<() => void> = [];
  let retryTimer: NodeJS.Timeout | undefined;
  let retryAt = Infinity;
  let list: readonly Endpoint[] = Object.freeze([]);
  let closed = false;

  const endpointsOf = (instance: ServiceInstance, info: MetadataInfo): Endpoint[] => {
    const m = memo.get(instance);
    if (m !== undefined && m.info === info) return m.endpoints;
    const endpoints = endpointsOfInstance(instance, info, selector, cluster, priority);
    memo.set(instance, { info, endpoints });
    return endpoints;
  };

  const publish = (): void => {
    const next = mergeEndpoints(...[...apps.values()].map((a) => a.endpoints));
    if (sameEndpoints(list, next)) return;
    list = Object.freeze(next);
    for (const l of [...listeners]) {
      try {
        l(list);
      } catch (err) {
        problems.report(`listener:${String(err)}`, err instanceof Error ? err : new Error(String(err)));
      }
    }
  };

  const settleIdle = (): void => {
    if (pending.size > 0) return;
    const w = idleWaiters;
    idleWaiters = [];
    for (const f of w) f();
  };

  const scheduleRetry = (at: number): void => {
    if (closed || at >= retryAt) return;
    retryAt = at;
    clearTimeout(retryTimer);
    retryTimer = setTimeout(
      () => {
        retryAt = Infinity;
        retryTimer = undefined;
        for (const app of [...apps.keys()]) resolve(app);
      },
      Math.max(0, at - Date.now()),
    );
    retryTimer.unref?.();
  };

  const lookup = (app: string, revision: string, candidates: readonly ServiceInstance[]): void => {
    const key = `${app}/${revision}`;
    if (pending.has(key)) return;
    pending.add(key);
    store.get(app, revision, candidates).then(
      (r) => {
        pending.delete(key);
        if (!closed) {
          if (r.kind === 'found') {
            failed.delete(key);
            problems.clear(`revision:${key}`);
            const state = apps.get(app);
            // Held here too: the store may not keep it (LRU, byte budget).
            if (state !== undefined) {
              state.revisions.set(revision, r.info);
              resolve(app);
            }
          } else {
            failed.set(key, r.retryAt);
            problems.report(`revision:${key}`, r.error);
            scheduleRetry(r.retryAt);
            // Now known to fail: instances that moved to it fall back to their previous revision.
            if (apps.has(app)) resolve(app);
          }
        }
        settleIdle();
      },
      (err: unknown) => {
        // The store resolves failures; a rejection is a bug somewhere below. Report, do not stop.
        pending.delete(key);
        problems.report(`revision:${key}`, err instanceof Error ? err : new Error(String(err)));
        settleIdle();
      },
    );
  };

  function resolve(app: string): void {
    const state = apps.get(app);
    if (state === undefined || closed) return;
    const byRevision = new Map<string, ServiceInstance[]>();
    for (const inst of state.instances) {
      if (inst.revision === undefined) {
        problems.report(
          `no-revision:${inst.where}`,
          new RegistryError(`instance ${inst.where} of application ${app} has no metadata revision (dubbo.metadata.revision); skipped`),
        );
        continue;
      }
      problems.clear(`no-revision:${inst.where}`);
      const group = byRevision.get(inst.revision);
      if (group !== undefined) group.push(inst);
      else if (byRevision.size < maxRevisions) byRevision.set(inst.revision, [inst]);
      else {
        problems.report(
          `revisions:${app}`,
          new RegistryError(
            `application ${app} uses more than ${maxRevisions} metadata revisions at once; instances of further revisions are skipped`,
          ),
        );
      }
    }
    const revisions = new Map<string, MetadataInfo>();
    const now = Date.now();
    for (const [revision, insts] of byRevision) {
      const info = state.revisions.get(revision) ?? store.peek(app, revision);
      if (info !== undefined) {
        revisions.set(revision, info);
        continue;
      }
      const until = failed.get(`${app}/${revision}`);
      // A failed revision waits for the retry timer; everything else is looked up now. The timer is
      // armed again here because Node may fire it a millisecond before Date.now() reaches `until`.
      if (until === undefined || now >= until) lookup(app, revision, insts);
      else scheduleRetry(until);
    }
    for (const key of failed.keys()) {
      if (key.startsWith(`${app}/`) && !byRevision.has(key.slice(app.length + 1))) failed.delete(key);
    }
    state.revisions = revisions;

    const endpoints: Endpoint[] = [];
    const lastGood = new Map<string, MetadataInfo>();
    for (const inst of state.instances) {
      if (inst.revision === undefined) continue;
      let info = revisions.get(inst.revision);
      if (info !== undefined) {
        problems.clear(`stale:${inst.where}`);
      } else {
        info = state.lastGood.get(inst.id);
        if (info === undefined) continue;
        if (!pending.has(`${app}/${inst.revision}`)) {
          problems.report(
            `stale:${inst.where}`,
            new RegistryError(
              `instance ${inst.where} moved to revision ${inst.revision}, whose MetadataInfo cannot be read; kept with revision ${info.revision}`,
            ),
          );
        }
      }
      lastGood.set(inst.id, info);
      for (const e of endpointsOf(inst, info)) endpoints.push(e);
    }
    state.lastGood = lastGood;
    state.endpoints = endpoints;
    publish();
  }

  return {
    setInstances(app, instances) {
      if (closed) return;
      let taken = instances;
      if (instances.length > maxInstances) {
        problems.report(
          `instances:${app}`,
          new RegistryError(`application ${app} has ${instances.length} instances; only the first ${maxInstances} are used`),
        );
        taken = instances.slice(0, maxInstances);
      } else {
        problems.clear(`instances:${app}`);
      }
      const state = apps.get(app);
      if (state === undefined) apps.set(app, { instances: taken, endpoints: [], revisions: new Map(), lastGood: new Map() });
      else state.instances = taken;
      resolve(app);
    },
    removeApp(app) {
      if (!apps.delete(app)) return;
      publish();
    },
    apps: () => [...apps.keys()],
    current: () => list,
    subscribe(listener) {
      listeners.add(listener);
      return () => {
        listeners.delete(listener);
      };
    },
    idle() {
      if (pending.size === 0) return Promise.resolve();
      return new Promise((r) => idleWaiters.push(r));
    },
    busy: () => pending.size > 0,
    close() {
      closed = true;
      clearTimeout(retryTimer);
      listeners.clear();
      apps.clear();
      pending.clear();
      settleIdle();
    },
  };
}
