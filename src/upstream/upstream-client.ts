/**
 * One upstream client for every protocol: the endpoints of a service (from a static list or a
 * registry, followed as they change), one transport per endpoint (Dubbo pool, gRPC channel set),
 * the service's balancer in front of them, outlier ejection, priority levels, and the one retry
 * policy around each call. Transports only move bytes; everything about *which* endpoint and
 * *whether again* is decided here, so it means the same for Dubbo, Triple and gRPC.
 */
import { performance } from 'node:perf_hooks';
import { FerryError } from '../errors/index.js';
import { TransportError } from '../errors/transport.js';
import type { OutlierDetector } from './balance/outlier.js';
import { callWithRetries } from './balance/retry.js';
import { indexByTag, selectSubset, type TagIndex } from './balance/subset.js';
import type { Balancer, EndpointTransport, PickHint, SubsetRequest } from './balance/types.js';
import { withWarmup } from './balance/warmup.js';
import type { Endpoint, EndpointSource } from './discovery/types.js';

/** How long a removed endpoint may finish its calls before it is closed (ms). */
export const DEFAULT_DRAIN_MS = 5_000;

export interface UpstreamClientOptions<T extends EndpointTransport> {
  /** Where endpoints come from (static list or registry); followed until close(). */
  readonly source: EndpointSource;
  /** Opens the transport of one endpoint (idle until warmed or called). */
  readonly connect: (endpoint: Endpoint) => T;
  readonly balancer: Balancer;
  /** Fed with every attempt's outcome; the balancer skips what it ejects. */
  readonly outlier?: OutlierDetector;
  /** For messages: `Dubbo`, `gRPC`, `Triple`. */
  readonly protocolName: string;
  /** How long a removed endpoint may finish its calls (default 5 s). */
  readonly drainMs?: number;
}

export interface UpstreamCallOptions {
  /** Absolute deadline, performance.now() ms. */
  readonly deadline: number;
  readonly hint?: PickHint;
  /** May a call that reached the wire be sent again? (the route's `idempotent`) */
  readonly idempotent: boolean;
  /** Extra attempts allowed by the retry policy (the route's `retries`). */
  readonly retries: number;
  /** Aborted when the caller went away: no further attempt is made. */
  readonly signal?: AbortSignal;
}

export interface UpstreamResult<R, T> {
  readonly value: R;
  /** The transport that answered (its id goes into sticky cookies and spans). */
  readonly transport: T;
}

export interface UpstreamClient<T extends EndpointTransport> {
  /**
   * Runs `attempt` on an endpoint the balancer picks, and again on another one where the retry
   * policy allows. `attempt` gets the time left (ms). Rejects with the last FerryError.
   */
  call<R>(attempt: (transport: T, timeoutMs: number) => Promise<R>, opts: UpstreamCallOptions): Promise<UpstreamResult<R, T>>;
  /** Picks one endpoint (waiting, within the deadline, for endpoints still opening), for calls that are not retried (streams). */
  pick(hint: PickHint, deadline: number): Promise<T>;
  /** Tells outlier detection how a call on `transport` ended (undefined = success), for calls made after pick(). */
  observe(transport: T, err: unknown): void;
  /** The transports in a stable order (metrics, readiness, tests). */
  transports(): readonly T[];
  /** The endpoints as discovered, with their transports. */
  endpoints(): readonly Endpoint[];
  /** The endpoint `transport` connects to, as last discovered (its labels follow the registry); undefined once it is gone. */
  endpointFor(transport: T): Endpoint | undefined;
  /** Calls picked with a sticky hint (a cookie's endpoint or a hash key), per endpoint id still discovered (the console's stickiness share). */
  stickyPicks(): ReadonlyMap<string, number>;
  /** Stops following discovery and drains every transport. */
  close(): Promise<void>;
  /** Fails everything at once. */
  destroy(err?: Error): void;
}

interface Member<T> {
  readonly endpoint: Endpoint;
  readonly transport: T;
}

/** An endpoint's transport is replaced when what it connects with changes (not its labels). */
function sameConnection(a: Endpoint, b: Endpoint): boolean {
  return a.weight === b.weight && a.protocol === b.protocol && a.priority === b.priority && a.cluster === b.cluster;
}

export function createUpstreamClient<T extends EndpointTransport>(options: UpstreamClientOptions<T>): UpstreamClient<T> {
  const { outlier } = options;
  const drainMs = options.drainMs ?? DEFAULT_DRAIN_MS;
  const members = new Map<string, Member<T>>();
  // Every balancer sees provider warm-up (Dubbo's `warmup` + `timestamp`) in the weights.
  const balancer = withWarmup(options.balancer, (id) => members.get(id)?.endpoint);
  /** Snapshots handed to the balancer, replaced (never mutated) when endpoints change. */
  let all: T[] = [];
  /** Transports by priority level, best first (one level in the common case). */
  let levels: T[][] = [];
  let endpointList: readonly Endpoint[] = [];
  /** Tag routing: the levels grouped by a label's value, per label asked for (dropped when the endpoints change). */
  let tagIndexes = new Map<string, TagIndex<T>>();
  const retiring = new Set<Promise<void>>();
  let closed = false;

  const rebuild = (): void => {
    const byPriority = new Map<number, T[]>();
    for (const m of members.values()) {
      const level = byPriority.get(m.endpoint.priority);
      if (level === undefined) byPriority.set(m.endpoint.priority, [m.transport]);
      else level.push(m.transport);
    }
    levels = [...byPriority.entries()].sort((a, b) => a[0] - b[0]).map(([, ts]) => ts);
    all = levels.flat();
    endpointList = [...members.values()].map((m) => m.endpoint);
    tagIndexes = new Map();
  };

  const labelsOf = (t: T): Readonly<Record<string, string>> => members.get(t.id)?.endpoint.labels ?? {};

  /** The levels a call may use: all of them, or its tag subset (Dubbo's TagRouter rule, subset.ts). */
  const levelsFor = (hint: PickHint): readonly (readonly T[])[] => {
    const subset = hint.subset;
    if (subset === undefined) return levels;
    let index = tagIndexes.get(subset.label);
    if (index === undefined) {
      index = indexByTag(levels, subset.label, labelsOf);
      // Labels come from the mapping (a handful), never from requests.
      tagIndexes.set(subset.label, index);
    }
    return selectSubset(index, subset).levels;
  };

  const retire = (t: T): void => {
    outlier?.forget(t.id);
    const done = t.close(drainMs).finally(() => retiring.delete(done));
    retiring.add(done);
  };

  const stickyPicks = new Map<string, number>();
  const apply = (list: readonly Endpoint[]): void => {
    if (closed) return;
    const wanted = new Map(list.map((e) => [e.id, e]));
    for (const [id, m] of members) {
      const next = wanted.get(id);
      if (next !== undefined && sameConnection(next, m.endpoint)) {
        if (next !== m.endpoint) members.set(id, { endpoint: next, transport: m.transport });
        continue;
      }
      // Removed, or changed in a way balancers see (weight, priority): out of balancing now, drained in the background.
      members.delete(id);
      stickyPicks.delete(id);
      retire(m.transport);
    }
    for (const [id, endpoint] of wanted) {
      if (members.has(id)) continue;
      const transport = options.connect(endpoint);
      transport.warm();
      members.set(id, { endpoint, transport });
    }
    rebuild();
  };

  apply(options.source.current());
  const unsubscribe = options.source.subscribe(apply);

  /**
   * The balancer's choice in the best priority level that has one. With several levels, first
   * without panic routing: a level whose endpoints are all ejected (outlier detection) fails over
   * to the next, as one whose endpoints are down or read-only does; only when every level is
   * ejected does the best level's panic routing try an ejected endpoint.
   */
  const choose = (hint: PickHint): T | undefined => {
    const picked = chooseInLevels(hint);
    // One counter per discovered endpoint (removed ones are dropped in apply): bounded.
    if (picked !== undefined && (hint.preferredId !== undefined || hint.hashKey !== undefined))
      stickyPicks.set(picked.id, (stickyPicks.get(picked.id) ?? 0) + 1);
    return picked;
  };
  const chooseInLevels = (hint: PickHint): T | undefined => {
    const levels = levelsFor(hint);
    if (levels.length > 1) {
      const strict: PickHint = { ...hint, honourEjection: true };
      for (const level of levels) {
        const picked = balancer.pick(level, strict) as T | undefined;
        if (picked !== undefined) return picked;
      }
    }
    for (const level of levels) {
      const picked = balancer.pick(level, hint) as T | undefined;
      if (picked !== undefined) return picked;
    }
    return undefined;
  };

  const noEndpoint = (hint: PickHint): TransportError => {
    const subset = hint.subset;
    const candidates = subset === undefined ? all : levelsFor(hint).flat();
    if (subset !== undefined && candidates.length === 0 && all.length > 0) return noTaggedEndpoint(subset);
    const states = candidates.map((t) => `${t.id} ${t.health}`).join(', ');
    const failures = candidates.flatMap((t) => (t.failure !== undefined ? [t.failure] : []));
    const isTls = (f: Error): boolean => f instanceof FerryError && f.code === 'FERRY_UPSTREAM_TLS';
    const cause = failures.find(isTls) ?? failures[0];
    const tried = hint.exclude && hint.exclude.size > 0 ? ` (already tried: ${[...hint.exclude].join(', ')})` : '';
    const message =
      all.length === 0
        ? `no ${options.protocolName} endpoint is configured or discovered`
        : `no ${options.protocolName} endpoint is available: ${states}${tried}`;
    // Every endpoint that failed, failed its TLS handshake: say so with its own code (and never fall back to plaintext).
    if (failures.length > 0 && failures.every(isTls)) {
      const endpoint = (cause as FerryError).details.endpoint;
      return new TransportError('FERRY_UPSTREAM_TLS', `${message}; ${cause!.message}`, false, {
        cause,
        ...(endpoint !== undefined ? { endpoint } : {}),
      });
    }
    return new TransportError('FERRY_UPSTREAM_UNAVAILABLE', message, false, { cause });
  };

  /** Picks; when nothing is available but some endpoints are still opening their first connection, waits for them (until the deadline). */
  const pick = async (hint: PickHint, deadline: number): Promise<T> => {
    if (closed) throw new TransportError('FERRY_UPSTREAM_UNAVAILABLE', `the ${options.protocolName} client is closed`, false);
    for (;;) {
      const picked = choose(hint);
      if (picked !== undefined) return picked;
      const warming = (hint.subset === undefined ? all : levelsFor(hint).flat()).filter(
        (t) => (t.health === 'idle' || t.health === 'connecting') && !hint.exclude?.has(t.id),
      );
      const left = deadline - performance.now();
      if (warming.length === 0 || left <= 0) throw noEndpoint(hint);
      for (const t of warming) t.warm();
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([Promise.race(warming.map((t) => t.settled())), new Promise<void>((resolve) => (timer = setTimeout(resolve, left)))]);
      clearTimeout(timer);
    }
  };

  /** Tag routing left no endpoint: a forced tag nobody carries, or an untagged call to a service whose endpoints are all tagged. */
  const noTaggedEndpoint = (subset: SubsetRequest): TransportError => {
    const asked = subset.tag === undefined || subset.tag === '' ? undefined : subset.tag;
    const message =
      asked !== undefined
        ? `no ${options.protocolName} endpoint has ${subset.label}=${asked}, and the call is forced to that tag`
        : `every ${options.protocolName} endpoint has a ${subset.label}; a call that names no tag goes only to endpoints without one`;
    return new TransportError('FERRY_NO_TAGGED_ENDPOINT', message, false);
  };

  const endpointOf = (r: UpstreamResult<unknown, T>): string => r.transport.id;

  return {
    call<R>(attempt: (transport: T, timeoutMs: number) => Promise<R>, opts: UpstreamCallOptions): Promise<UpstreamResult<R, T>> {
      const once = async (hint: PickHint): Promise<UpstreamResult<R, T>> => {
        if (opts.signal?.aborted) throw new TransportError('FERRY_CLIENT_CLOSED', 'the client went away before the call', false);
        const transport = choose(hint) ?? (await pick(hint, opts.deadline));
        const left = Math.max(1, Math.floor(opts.deadline - performance.now()));
        return { value: await attempt(transport, left), transport };
      };
      return callWithRetries(once, {
        idempotent: opts.idempotent,
        maxAttempts: 1 + opts.retries,
        hint: opts.hint ?? {},
        deadline: opts.deadline,
        endpointOf,
        ...(outlier !== undefined ? { outlier } : {}),
      });
    },
    pick,
    observe(transport, err) {
      outlier?.observe(transport.id, err);
    },
    transports: () => all,
    endpoints: () => endpointList,
    stickyPicks: () => stickyPicks,
    endpointFor: (transport) => {
      const m = members.get(transport.id);
      return m !== undefined && m.transport === transport ? m.endpoint : undefined;
    },
    async close(): Promise<void> {
      if (!closed) {
        closed = true;
        unsubscribe();
        const transports = all;
        members.clear();
        rebuild();
        await Promise.all([...transports.map((t) => t.close(drainMs)), ...retiring]);
      } else {
        await Promise.all([...retiring]);
      }
    },
    destroy(err?: Error): void {
      closed = true;
      unsubscribe();
      for (const t of all) t.destroy(err);
      members.clear();
      rebuild();
    },
  };
}
