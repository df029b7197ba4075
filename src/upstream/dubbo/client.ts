/**
 * The Dubbo client a route binding uses: one pool per provider endpoint, a balancer to choose
 * between them, and endpoint lists that may change at runtime (discovery). It sends serialized
 * request bodies and returns raw replies; Hessian and the mapping of statuses live elsewhere.
 *
 * Retry rule: a call that failed before its bytes were written (`sent === false`, e.g. the
 * connection dropped while the call waited for the next write) is tried once more on another
 * endpoint, because the provider cannot have run it. A call that was sent is never retried here.
 */
import { performance } from 'node:perf_hooks';
import type { FerryError } from '../../errors/index.js';
import { createLeastPendingBalancer } from '../balance/least-pending.js';
import type { Balancer, EndpointView, PickHint } from '../balance/types.js';
import type { DiscoveredEndpoint, EndpointSource } from '../discovery/types.js';
import type { BackoffOptions } from './backoff.js';
import { DEFAULT_DRAIN_MS, type DubboReply, type WriteCoalescing } from './connection.js';
import { DubboTransportError } from './errors.js';
import { createDubboEndpointPool, type DubboEndpointPool } from './pool.js';

export interface DubboClientOptions {
  /** Fixed `host:port` list, or a discovery source whose changes are followed. */
  readonly endpoints: readonly string[] | EndpointSource;
  /** Connections per endpoint (config `pool.connections`). */
  readonly connectionsPerEndpoint: number;
  /** Default: least-pending. */
  readonly balancer?: Balancer;
  readonly heartbeatMs?: number;
  readonly maxFrameBytes?: number;
  readonly connectTimeoutMs?: number;
  readonly coalesce?: WriteCoalescing;
  readonly backoff?: BackoffOptions;
  /** How long a removed endpoint may finish its calls (default 5 s). */
  readonly drainMs?: number;
}

export interface DubboCallOptions {
  readonly timeoutMs: number;
  readonly hint?: PickHint;
}

/** A reply and the endpoint that gave it (sticky sessions name it in their cookie). */
export type DubboClientReply = DubboReply & { readonly endpoint: string };

export interface DubboClient {
  /**
   * Sends one serialized invocation to an endpoint the balancer picks. Resolves with any status
   * (20 = OK); rejects only with FerryError (transport failures are DubboTransportError).
   */
  call(body: Buffer, opts: DubboCallOptions): Promise<DubboClientReply>;
  /** The endpoints as balancers see them, in a stable order. */
  endpoints(): EndpointView[];
  /** The pools themselves (health, events), for readiness checks and metrics. */
  pools(): DubboEndpointPool[];
  /** Stops following discovery and drains every pool. */
  close(): Promise<void>;
  /** Fails everything at once. */
  destroy(err?: FerryError): void;
}

function isSource(endpoints: readonly string[] | EndpointSource): endpoints is EndpointSource {
  return !Array.isArray(endpoints);
}

function unavailable(message: string, cause?: unknown): DubboTransportError {
  return new DubboTransportError('FERRY_UPSTREAM_UNAVAILABLE', message, false, { cause });
}

function isRetryable(err: unknown): boolean {
  return err instanceof DubboTransportError && !err.sent && (err.code === 'FERRY_UPSTREAM_UNAVAILABLE' || err.code === 'FERRY_UPSTREAM_CONNECTION_LOST');
}

/** Builds a Dubbo client over fixed endpoints or a discovery source. Pools start connecting at once. */
export function createDubboClient(options: DubboClientOptions): DubboClient {
  const balancer = options.balancer ?? createLeastPendingBalancer();
  const drainMs = options.drainMs ?? DEFAULT_DRAIN_MS;
  const pools = new Map<string, DubboEndpointPool>();
  /** Snapshot handed to the balancer; replaced (never mutated) when endpoints change. */
  let views: DubboEndpointPool[] = [];
  const retiring = new Set<Promise<void>>();
  let closed = false;

  const makePool = (id: string, weight: number): DubboEndpointPool => {
    const pool = createDubboEndpointPool({
      endpoint: id,
      weight,
      connections: options.connectionsPerEndpoint,
      ...(options.heartbeatMs !== undefined && { heartbeatMs: options.heartbeatMs }),
      ...(options.maxFrameBytes !== undefined && { maxFrameBytes: options.maxFrameBytes }),
      ...(options.connectTimeoutMs !== undefined && { connectTimeoutMs: options.connectTimeoutMs }),
      ...(options.coalesce !== undefined && { coalesce: options.coalesce }),
      ...(options.backoff !== undefined && { backoff: options.backoff }),
    });
    pool.warm();
    return pool;
  };

  const apply = (list: readonly { id: string; weight: number }[]): void => {
    if (closed) return;
    const wanted = new Map(list.map((e) => [e.id, e.weight]));
    for (const [id, pool] of pools) {
      if (wanted.get(id) === pool.weight) continue;
      // Removed (or re-weighted, which needs a new view): out of balancing now, drained in the background.
      pools.delete(id);
      const done = pool.close(drainMs).finally(() => retiring.delete(done));
      retiring.add(done);
    }
    for (const [id, weight] of wanted) if (!pools.has(id)) pools.set(id, makePool(id, weight));
    views = [...pools.values()];
  };

  let unsubscribe: (() => void) | undefined;
  if (isSource(options.endpoints)) {
    const toList = (eps: readonly DiscoveredEndpoint[]): { id: string; weight: number }[] => eps.map((e) => ({ id: e.id, weight: e.weight }));
    apply(toList(options.endpoints.current()));
    unsubscribe = options.endpoints.subscribe((eps) => apply(toList(eps)));
  } else {
    apply(options.endpoints.map((id) => ({ id, weight: 100 })));
  }

  /** Picks an endpoint; when none is available but some are still opening their first connection, waits for them (bounded). */
  const pickOrWait = async (hint: PickHint, deadline: number): Promise<DubboEndpointPool | undefined> => {
    for (;;) {
      const picked = balancer.pick(views, hint) as DubboEndpointPool | undefined;
      if (picked !== undefined) return picked;
      const warming = views.filter((p) => (p.health === 'idle' || p.health === 'connecting') && !hint.exclude?.has(p.id));
      const left = deadline - performance.now();
      if (warming.length === 0 || left <= 0) return undefined;
      for (const p of warming) p.warm();
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        Promise.race(warming.map((p) => p.settled())),
        new Promise<void>((resolve) => (timer = setTimeout(resolve, left))),
      ]);
      clearTimeout(timer);
    }
  };

  const noEndpoint = (hint: PickHint): DubboTransportError => {
    const states = views.map((p) => `${p.id} ${p.health}`).join(', ');
    const cause = views.find((p) => p.failure !== undefined)?.failure;
    const tried = hint.exclude && hint.exclude.size > 0 ? ` (already tried: ${[...hint.exclude].join(', ')})` : '';
    return unavailable(views.length === 0 ? 'no Dubbo endpoint is configured or discovered' : `no Dubbo endpoint is available: ${states}${tried}`, cause);
  };

  const callOnce = async (body: Buffer, timeoutMs: number, hint: PickHint, deadline: number): Promise<DubboClientReply> => {
    let pool = balancer.pick(views, hint) as DubboEndpointPool | undefined;
    if (pool === undefined) pool = await pickOrWait(hint, deadline);
    if (pool === undefined) throw noEndpoint(hint);
    const reply = await pool.call(body, timeoutMs);
    return { status: reply.status, body: reply.body, endpoint: pool.id };
  };

  return {
    async call(body: Buffer, opts: DubboCallOptions): Promise<DubboClientReply> {
      if (closed) throw unavailable('the Dubbo client is closed');
      const hint = opts.hint ?? {};
      const start = performance.now();
      const deadline = start + opts.timeoutMs;
      try {
        return await callOnce(body, opts.timeoutMs, hint, deadline);
      } catch (err) {
        if (!isRetryable(err)) throw err;
        const failedOn = (err as DubboTransportError).details.endpoint;
        const left = Math.floor(deadline - performance.now());
        if (failedOn === undefined || left <= 0 || views.length < 2) throw err;
        const exclude = new Set(hint.exclude ?? []);
        exclude.add(failedOn);
        const retryHint: PickHint = { ...hint, exclude };
        if (balancer.pick(views, retryHint) === undefined) throw err;
        return callOnce(body, left, retryHint, deadline);
      }
    },
    endpoints: () => views.slice(),
    pools: () => views.slice(),
    async close(): Promise<void> {
      if (!closed) {
        closed = true;
        unsubscribe?.();
        const all = [...pools.values()];
        pools.clear();
        views = [];
        await Promise.all([...all.map((p) => p.close(drainMs)), ...retiring]);
      } else {
        await Promise.all([...retiring]);
      }
    },
    destroy(err?: FerryError): void {
      closed = true;
      unsubscribe?.();
      for (const p of pools.values()) p.destroy(err);
      pools.clear();
      views = [];
    },
  };
}
