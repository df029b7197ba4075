/**
 * One service found in several registries (`registries:`: clusters, data centres), as one
 * EndpointSource: each registry's endpoints are tagged with their cluster and priority, and the
 * lists are joined. Which priority serves is decided where availability is known, in the upstream
 * client (upstream-client.ts: a level is used while the best one has nothing available), so a
 * cluster whose providers all die, are ejected or go read-only hands traffic to the next at once,
 * and takes it back when it recovers; this source only says who is where.
 *
 * A provider listed by two clusters (one host:port) is one endpoint, in the best cluster. Each
 * registry keeps its own outage rules (last list kept, cache file): one registry down leaves the
 * others' endpoints and its own last ones.
 */
import { EndpointListeners } from './listeners.js';
import type { RefusedEndpoint } from './registry-source.js';
import type { Endpoint, EndpointSource } from './types.js';

export interface ClusterPart {
  readonly cluster: string;
  readonly priority: number;
  readonly source: EndpointSource & {
    ready?(timeoutMs?: number): Promise<boolean>;
    connected?(): boolean;
    refused?(): readonly RefusedEndpoint[];
  };
}

export interface ClusterState {
  readonly cluster: string;
  readonly priority: number;
  readonly endpoints: number;
  /** Whether its registry answers (true for sources that cannot tell). */
  readonly connected: boolean;
}

export interface ClusterSource extends EndpointSource {
  /** Resolves true once every registry has been read, false after `timeoutMs` (the ones read serve already). */
  ready(timeoutMs?: number): Promise<boolean>;
  /** Whether at least one registry answers. */
  connected(): boolean;
  refused(): readonly RefusedEndpoint[];
  clusters(): readonly ClusterState[];
}

const byId = (a: Endpoint, b: Endpoint): number => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);

/** Endpoints of every part, tagged, one per host:port (best priority, then the order given), sorted by id. Pure. */
export function joinClusters(
  lists: ReadonlyArray<{ readonly cluster: string; readonly priority: number; readonly endpoints: readonly Endpoint[] }>,
): Endpoint[] {
  const seen = new Map<string, Endpoint>();
  const ordered = lists.map((l, i) => ({ ...l, i })).sort((a, b) => a.priority - b.priority || a.i - b.i);
  for (const { cluster, priority, endpoints } of ordered) {
    for (const e of endpoints) {
      if (seen.has(e.id)) continue;
      seen.set(e.id, e.cluster === cluster && e.priority === priority ? e : Object.freeze({ ...e, cluster, priority }));
    }
  }
  return [...seen.values()].sort(byId);
}

export function createClusterSource(parts: readonly ClusterPart[]): ClusterSource {
  const listeners = new EndpointListeners();
  let list: readonly Endpoint[] = Object.freeze([]);
  let closed = false;
  const recompute = (): void => {
    if (closed) return;
    list = Object.freeze(joinClusters(parts.map((p) => ({ cluster: p.cluster, priority: p.priority, endpoints: p.source.current() }))));
    listeners.tell(list);
  };
  const unsubscribes = parts.map((p) => p.source.subscribe(recompute));
  recompute();

  return {
    current: () => list,
    subscribe: (listener) => listeners.subscribe(listener),
    async ready(timeoutMs = 10_000) {
      const all = await Promise.all(parts.map((p) => (p.source.ready !== undefined ? p.source.ready(timeoutMs) : Promise.resolve(true))));
      return all.every(Boolean);
    },
    connected: () => parts.some((p) => p.source.connected?.() ?? true),
    refused: () => parts.flatMap((p) => p.source.refused?.() ?? []),
    clusters: () =>
      parts.map((p) => ({
        cluster: p.cluster,
        priority: p.priority,
        endpoints: list.filter((e) => e.cluster === p.cluster).length,
        connected: p.source.connected?.() ?? true,
      })),
    async close() {
      if (closed) return;
      closed = true;
      for (const u of unsubscribes) u();
      listeners.clear();
      await Promise.allSettled(parts.map((p) => p.source.close()));
    },
  };
}
