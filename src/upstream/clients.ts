/**
 * Every upstream of the running gateway, for every protocol, with one lifecycle: a service's
 * client set (endpoint source, transports, balancer, outlier detector, stickiness) is created when
 * a config first names it, kept across reloads while its connection identity is unchanged, and
 * retired when no config names it any more. Dubbo, Triple and gRPC differ only in the transport
 * each endpoint gets (a Dubbo connection pool, a set of gRPC channels).
 */
import type { FerryConfig, RegistryAccess, ServiceConfig, UpstreamTls } from '../config/types.js';
import { withRequestAttachment } from '../codec/dubbo-body.js';
import { RegistryError } from '../errors/index.js';
import { servingClusters, type UpstreamSnapshot } from '../telemetry/index.js';
import { balanceKindFor, createBalancer } from './balance/create-balancer.js';
import { createOutlierDetector, type OutlierDetector } from './balance/outlier.js';
import { DEFAULT_RETRIES } from './balance/retry.js';
import { createStickiness, type StickinessPolicy } from './balance/sticky-cookie.js';
import type { Balancer, PickHint } from './balance/types.js';
import { createStaticSource } from './discovery/static.js';
import type { Endpoint, EndpointSource } from './discovery/types.js';
import { createClusterSource } from './discovery/clusters.js';
import { createNacosRegistrySource } from './discovery/nacos-registry.js';
import type { RegistrySource } from './discovery/registry-source.js';
import { createZooKeeperRegistrySource, type RefusedEndpoint } from './discovery/zookeeper-registry.js';
import type { BackoffOptions } from './balance/backoff.js';
import type { DubboReply } from './dubbo/connection.js';
import { DubboEndpointPool } from './dubbo/pool.js';
import { GrpcEndpoint, type GrpcCallOptions, type GrpcStreamResult, type GrpcUnaryResult } from './grpc/client.js';
import { createMetadataServiceFetcher } from './metadata-service.js';
import { createUpstreamClient, type UpstreamClient } from './upstream-client.js';

/** What every call through a client set says about retrying. */
export interface RetryFacts {
  /** Aborted when the client went away: the call is cancelled (FERRY_CLIENT_CLOSED). */
  readonly signal?: AbortSignal;
  /** May a call that reached the wire be sent again? (the route's `idempotent`) */
  readonly idempotent?: boolean;
  /** Extra attempts (the route's `retries`, default 1). */
  readonly retries?: number;
  readonly hint?: PickHint;
}

// ---- Dubbo ---------------------------------------------------------------------------------------

export interface DubboClientOptions {
  /** Fixed `host:port` list, or a discovery source whose changes are followed. */
  readonly endpoints: readonly string[] | EndpointSource;
  /** Connections per endpoint (config `pool.connections`). */
  readonly connectionsPerEndpoint: number;
  /** Default: least-pending. */
  readonly balancer?: Balancer;
  readonly outlier?: OutlierDetector;
  readonly heartbeatMs?: number;
  readonly maxFrameBytes?: number;
  readonly connectTimeoutMs?: number;
  readonly backoff?: BackoffOptions;
  readonly drainMs?: number;
  /** TLS to every endpoint; plaintext when absent. */
  readonly tls?: UpstreamTls;
  /**
   * Send each endpoint's own `token` (the `token` parameter of its provider URL: Dubbo's
   * `token=true` makes a random one per provider) as the `token` attachment, added to the body once
   * the endpoint is picked. Off when the mapping names the token.
   */
  readonly endpointTokens?: boolean;
}

/** The token an endpoint's provider URL publishes (Dubbo writes the generated value, never `true`). */
function endpointToken(e: Endpoint | undefined): string | undefined {
  const t = e?.labels['token'];
  return t === undefined || t === '' || t === 'true' || t === 'false' || t === 'default' ? undefined : t;
}

export interface DubboCallOptions extends RetryFacts {
  readonly timeoutMs: number;
}

/** A reply and the endpoint that gave it (sticky sessions name it in their cookie). */
export type DubboClientReply = DubboReply & { readonly endpoint: string };

export interface DubboClient {
  /** Sends one serialized invocation; resolves with any Dubbo status (20 = OK), rejects with FerryError. */
  call(body: Buffer, opts: DubboCallOptions): Promise<DubboClientReply>;
  /** The endpoint pools (health, events), for readiness checks, metrics and tests. */
  pools(): readonly DubboEndpointPool[];
  readonly upstream: UpstreamClient<DubboEndpointPool>;
  close(): Promise<void>;
  destroy(err?: Error): void;
}

function sourceOf(endpoints: readonly string[] | EndpointSource, protocol: string): EndpointSource {
  return Array.isArray(endpoints) ? createStaticSource(endpoints as readonly string[], protocol) : (endpoints as EndpointSource);
}

/** A Dubbo client over fixed endpoints or a discovery source. Pools start connecting at once. */
export function createDubboClient(options: DubboClientOptions): DubboClient {
  const upstream = createUpstreamClient<DubboEndpointPool>({
    source: sourceOf(options.endpoints, 'dubbo'),
    protocolName: 'Dubbo',
    balancer: options.balancer ?? createBalancer('least-pending', options.outlier !== undefined ? { outlier: options.outlier } : {}),
    ...(options.outlier !== undefined ? { outlier: options.outlier } : {}),
    ...(options.drainMs !== undefined ? { drainMs: options.drainMs } : {}),
    connect: (e: Endpoint) =>
      new DubboEndpointPool({
        endpoint: e.id,
        weight: e.weight,
        connections: options.connectionsPerEndpoint,
        ...(options.heartbeatMs !== undefined && { heartbeatMs: options.heartbeatMs }),
        ...(options.maxFrameBytes !== undefined && { maxFrameBytes: options.maxFrameBytes }),
        ...(options.connectTimeoutMs !== undefined && { connectTimeoutMs: options.connectTimeoutMs }),
        ...(options.backoff !== undefined && { backoff: options.backoff }),
        ...(options.tls !== undefined && { tls: options.tls }),
      }),
  });
  return {
    async call(body, opts) {
      const r = await upstream.call(
        (pool, timeoutMs) => {
          const token = options.endpointTokens === true ? endpointToken(upstream.endpointFor(pool)) : undefined;
          return pool.call(token !== undefined ? withRequestAttachment(body, 'token', token) : body, timeoutMs, opts.signal);
        },
        {
          deadline: performance.now() + opts.timeoutMs,
          idempotent: opts.idempotent ?? false,
          retries: opts.retries ?? DEFAULT_RETRIES,
          ...(opts.hint !== undefined ? { hint: opts.hint } : {}),
          ...(opts.signal !== undefined ? { signal: opts.signal } : {}),
        },
      );
      return { status: r.value.status, body: r.value.body, endpoint: r.transport.id };
    },
    pools: () => upstream.transports(),
    upstream,
    close: () => upstream.close(),
    destroy: (err) => upstream.destroy(err),
  };
}

// ---- gRPC and Triple -----------------------------------------------------------------------------

export interface GrpcClientOptions {
  readonly endpoints: readonly string[] | EndpointSource;
  readonly channelsPerEndpoint: number;
  readonly balancer?: Balancer;
  readonly outlier?: OutlierDetector;
  readonly drainMs?: number;
  /** For messages: `gRPC` or `Triple`. */
  readonly protocolName?: string;
  /** TLS to every endpoint; plaintext when absent. */
  readonly tls?: UpstreamTls;
}

export interface GrpcClientCallOptions extends RetryFacts, Omit<GrpcCallOptions, 'deadline'> {
  /** Absolute deadline, performance.now() ms. */
  readonly deadline: number;
}

export interface GrpcClient {
  /** A unary call, retried on another endpoint where the retry policy allows. */
  unary(path: string, request: Uint8Array, opts: GrpcClientCallOptions): Promise<GrpcUnaryResult>;
  /** A server-streaming call on one picked endpoint (a stream that began is never resent). */
  serverStream(path: string, request: Uint8Array | readonly Uint8Array[], opts: GrpcClientCallOptions): Promise<GrpcStreamResult>;
  readonly upstream: UpstreamClient<GrpcEndpoint>;
  close(): Promise<void>;
  destroy(err?: Error): void;
}

/** A gRPC (or Triple) client over fixed endpoints or a discovery source: per-endpoint channels, Ferry's own balancing. */
export function createGrpcClient(options: GrpcClientOptions): GrpcClient {
  const outlier = options.outlier;
  const upstream = createUpstreamClient<GrpcEndpoint>({
    source: sourceOf(options.endpoints, 'grpc'),
    protocolName: options.protocolName ?? 'gRPC',
    balancer: options.balancer ?? createBalancer('least-pending', outlier !== undefined ? { outlier } : {}),
    ...(outlier !== undefined ? { outlier } : {}),
    ...(options.drainMs !== undefined ? { drainMs: options.drainMs } : {}),
    connect: (e: Endpoint) =>
      new GrpcEndpoint({
        endpoint: e.id,
        weight: e.weight,
        channels: options.channelsPerEndpoint,
        ...(options.tls !== undefined ? { tls: options.tls } : {}),
      }),
  });
  const callOptions = (opts: GrpcClientCallOptions, timeoutMs: number, first: boolean): GrpcCallOptions => ({
    // Each attempt after the first gets its own copy of the metadata (the caller's stays as built).
    metadata: first ? opts.metadata : opts.metadata.clone(),
    deadline: Date.now() + timeoutMs,
    ...(opts.decodeDetails !== undefined ? { decodeDetails: opts.decodeDetails } : {}),
    ...(opts.signal !== undefined ? { signal: opts.signal } : {}),
  });
  return {
    async unary(path, request, opts) {
      let attempts = 0;
      const r = await upstream.call((endpoint, timeoutMs) => endpoint.unary(path, request, callOptions(opts, timeoutMs, attempts++ === 0)), {
        deadline: opts.deadline,
        idempotent: opts.idempotent ?? false,
        retries: opts.retries ?? DEFAULT_RETRIES,
        ...(opts.hint !== undefined ? { hint: opts.hint } : {}),
        ...(opts.signal !== undefined ? { signal: opts.signal } : {}),
      });
      return r.value;
    },
    async serverStream(path, request, opts) {
      const endpoint = await upstream.pick(opts.hint ?? {}, opts.deadline);
      const call = endpoint.serverStream(path, request, callOptions(opts, Math.max(1, opts.deadline - performance.now()), true));
      call.headers.then(
        () => upstream.observe(endpoint, undefined),
        (err: unknown) => upstream.observe(endpoint, err),
      );
      return call;
    },
    upstream,
    close: () => upstream.close(),
    destroy: (err) => upstream.destroy(err),
  };
}

/** One service's upstream state, as the admin console shows it. */
export interface UpstreamServiceView {
  readonly service: string;
  readonly protocol: string;
  readonly balance: string;
  /** How calls stick (`cookie NAME`, `hash on header.x`), when they do. */
  readonly sticky?: string;
  readonly endpoints: ReadonlyArray<{
    readonly id: string;
    readonly cluster: string;
    readonly priority: number;
    readonly weight: number;
    readonly labels: Readonly<Record<string, string>>;
    readonly connections: number;
    readonly pending: number;
    readonly ejected: boolean;
    readonly available: boolean;
    /** Of the service's sticky calls (a cookie's endpoint, a hash key) since the endpoint was discovered, the share this one took (0..1); sticky services only. */
    readonly stickyShare?: number;
  }>;
  readonly registries: ReadonlyArray<{
    readonly cluster: string;
    readonly priority: number;
    readonly address: string;
    readonly connected: boolean;
    readonly origin?: string;
  }>;
}

/** Provider URL parameter names that may carry a secret. */
const SECRET_LABEL = /token|secret|passw|credential|key|auth/i;

/** Labels without the ones that may carry a secret. Pure. */
export function publicLabels(labels: Readonly<Record<string, string>>): Record<string, string> {
  return Object.fromEntries(Object.entries(labels).filter(([k]) => !SECRET_LABEL.test(k)));
}

/** A registry address without user info or query (`nacos://user:pw@h:8848?x=y` → `nacos://h:8848`). Pure. */
export function publicAddress(address: string): string {
  return address.replace(/^([a-z][a-z0-9+.-]*:\/\/)[^@/]*@/i, '$1').replace(/[?#].*$/, '');
}

// ---- the set of every service's clients ----------------------------------------------------------

export interface UpstreamClientsOptions {
  /** Dubbo heartbeat interval (idle time before a heartbeat), ms. */
  readonly heartbeatMs?: number;
  /** Keys for signed sticky cookies (first signs, all verify). */
  readonly stickyKeys?: readonly string[];
  /** Told when outlier ejection takes an endpoint out or lets it back. */
  readonly onEjection?: (service: string, endpoint: string, ejected: boolean) => void;
  /** Told about registry trouble (logs). */
  readonly onRegistryError?: (service: string, err: Error) => void;
}

/** The clients of one configured service: its transport client, stickiness and ejection state. */
export type ServiceUpstream =
  | { readonly protocol: 'dubbo'; readonly service: string; readonly client: DubboClient; readonly stickiness: StickinessPolicy | undefined }
  | {
      readonly protocol: 'grpc' | 'triple';
      readonly service: string;
      readonly client: GrpcClient;
      readonly stickiness: StickinessPolicy | undefined;
    };

interface Managed {
  readonly upstream: ServiceUpstream;
  readonly outlier: OutlierDetector;
  readonly source: EndpointSource;
  close(): Promise<void>;
}

/** A service's connection identity: a reload keeps its clients while this is unchanged. */
function upstreamKey(s: ServiceConfig): string {
  return JSON.stringify([
    s.name,
    s.protocol,
    s.interface,
    s.protocol === 'dubbo' ? undefined : s.service,
    s.version,
    s.group,
    s.endpoints,
    s.endpointLabels,
    s.registry,
    s.registryAccess?.identity,
    // Each entry's access by identity: its secrets stay out of the key.
    s.registries?.map((r) => [r.cluster, r.registry, r.priority, r.access?.identity]),
    s.connectionsPerEndpoint,
    balanceKindFor(s),
    s.sticky,
    s.tls?.identity,
    // Whether each endpoint's own token is sent (the mapping names none).
    s.protocol === 'dubbo' && s.token === undefined,
  ]);
}

export class UpstreamClients {
  private readonly managed = new Map<string, Managed>();
  /** Application-level discovery asks instances for MetadataInfo with this (one per client set, so registries are shared). */
  private readonly fetchMetadataInfo = createMetadataServiceFetcher();

  constructor(private readonly opts: UpstreamClientsOptions = {}) {}

  /** The client set of a service, created on first use and shared by every config that names it unchanged. */
  forService(service: ServiceConfig): ServiceUpstream {
    const key = upstreamKey(service);
    let m = this.managed.get(key);
    if (m === undefined) {
      m = this.create(service);
      this.managed.set(key, m);
    }
    return m.upstream;
  }

  private create(service: ServiceConfig): Managed {
    const protocol = service.protocol;
    const wireProtocol = protocol === 'dubbo' ? 'dubbo' : protocol === 'triple' ? 'tri' : 'grpc';
    const registryOptions = {
      // The registry key; for gRPC/Triple the loader resolves it (`interface:`, else the proto service name).
      interface: service.interface,
      protocol: wireProtocol,
      ...(service.version !== undefined ? { version: service.version } : {}),
      ...(service.group !== undefined ? { group: service.group } : {}),
      ...(this.opts.onRegistryError ? { onError: (err: Error) => this.opts.onRegistryError?.(service.name, err) } : {}),
    };
    // First what can refuse the service (a sticky cookie without a signing key): it throws before a
    // registry session or pool is opened, which nothing would close (the process would linger).
    const stickiness =
      service.sticky &&
      createStickiness({
        service: service.name,
        keys: this.opts.stickyKeys ?? [],
        ...(service.sticky.cookie !== undefined ? { cookie: service.sticky.cookie } : {}),
        ...(service.sticky.hashOn !== undefined ? { hashOn: service.sticky.hashOn } : {}),
        ...(service.sticky.maxAgeSeconds !== undefined ? { maxAgeSeconds: service.sticky.maxAgeSeconds } : {}),
      });
    const inRegistry = (registry: string, access: RegistryAccess | undefined, cluster?: string): RegistrySource => {
      const onError = this.opts.onRegistryError;
      const options = {
        ...registryOptions,
        ...(access !== undefined ? { access } : {}),
        ...(onError !== undefined && cluster !== undefined
          ? {
              onError: (err: Error) =>
                onError(
                  service.name,
                  new RegistryError(`cluster ${cluster}: ${err.message}`, { code: err instanceof RegistryError ? err.code : 'FERRY_REGISTRY_ERROR' }),
                ),
            }
          : {}),
      };
      return registry.startsWith('nacos://')
        ? createNacosRegistrySource({ registry, fetchMetadataInfo: this.fetchMetadataInfo, ...options })
        : createZooKeeperRegistrySource({ connectString: registry, fetchMetadataInfo: this.fetchMetadataInfo, ...options });
    };
    const source: EndpointSource =
      service.registries !== undefined
        ? createClusterSource(
            service.registries.map((r) => ({ cluster: r.cluster, priority: r.priority, source: inRegistry(r.registry, r.access, r.cluster) })),
          )
        : service.registry !== undefined
          ? inRegistry(service.registry, service.registryAccess)
          : createStaticSource(service.endpoints, wireProtocol, service.endpointLabels);
    const onEjection = this.opts.onEjection;
    const outlier = createOutlierDetector(onEjection ? { onChange: (id, ejected) => onEjection(service.name, id, ejected) } : {});
    const balancer = createBalancer(balanceKindFor(service), { outlier });
    const upstream: ServiceUpstream =
      protocol === 'dubbo'
        ? {
            protocol,
            service: service.name,
            stickiness,
            client: createDubboClient({
              endpoints: source,
              connectionsPerEndpoint: service.connectionsPerEndpoint,
              balancer,
              outlier,
              ...(this.opts.heartbeatMs !== undefined ? { heartbeatMs: this.opts.heartbeatMs } : {}),
              ...(service.tls !== undefined ? { tls: service.tls } : {}),
              // Without a token in the mapping, each provider's own (token=true: a random one per provider).
              endpointTokens: service.protocol === 'dubbo' && service.token === undefined,
            }),
          }
        : {
            protocol,
            service: service.name,
            stickiness,
            client: createGrpcClient({
              endpoints: source,
              channelsPerEndpoint: service.connectionsPerEndpoint,
              balancer,
              outlier,
              protocolName: protocol === 'triple' ? 'Triple' : 'gRPC',
              ...(service.tls !== undefined ? { tls: service.tls } : {}),
            }),
          };
    return {
      upstream,
      outlier,
      source,
      async close() {
        await upstream.client.close();
        await source.close();
      },
    };
  }

  /** Per-endpoint state of every client, for the metrics scrape. */
  snapshots(): UpstreamSnapshot[] {
    const out: UpstreamSnapshot[] = [];
    for (const m of this.managed.values()) {
      const upstream = m.upstream.client.upstream;
      const endpoints = new Map(upstream.endpoints().map((e) => [e.id, e]));
      for (const t of upstream.transports()) {
        const e = endpoints.get(t.id);
        const ejected = m.outlier.isEjected(t.id);
        out.push({
          service: m.upstream.service,
          endpoint: t.id,
          connections: t.connectionCount,
          pending: t.pending(),
          ejected,
          cluster: e?.cluster ?? 'default',
          priority: e?.priority ?? 0,
          // As the snapshot says: an ejected endpoint cannot take a call (its cluster is passed over).
          available: t.available() && !ejected,
        });
      }
    }
    return out;
  }

  /**
   * Per service of `config`, for the admin console: its endpoints with their state and its registries
   * with theirs. Labels that could hold a secret (a provider's `token=`, passwords, keys) are left out,
   * and registry addresses lose their user info and query.
   */
  describe(config: FerryConfig): UpstreamServiceView[] {
    const snaps = this.snapshots();
    const out: UpstreamServiceView[] = [];
    for (const s of config.services.values()) {
      const m = this.managed.get(upstreamKey(s));
      const discovered = new Map((m?.upstream.client.upstream.endpoints() ?? []).map((e) => [e.id, e]));
      const sticky = s.sticky !== undefined ? m?.upstream.client.upstream.stickyPicks() : undefined;
      let stickyTotal = 0;
      for (const n of sticky?.values() ?? []) stickyTotal += n;
      const endpoints = snaps
        .filter((x) => x.service === s.name)
        .map((x) => {
          const e = discovered.get(x.endpoint);
          return {
            id: x.endpoint,
            cluster: x.cluster ?? 'default',
            priority: x.priority ?? 0,
            weight: e?.weight ?? 100,
            labels: publicLabels(e?.labels ?? {}),
            connections: x.connections,
            pending: x.pending,
            ejected: x.ejected === true,
            available: x.available === true,
            ...(sticky !== undefined ? { stickyShare: stickyTotal === 0 ? 0 : (sticky.get(x.endpoint) ?? 0) / stickyTotal } : {}),
          };
        });
      const source = m?.source as
        { connected?: () => boolean; origin?: () => string; clusters?: () => ReadonlyArray<{ cluster: string; connected: boolean }> } | undefined;
      const clusterState = new Map((source?.clusters?.() ?? []).map((c) => [c.cluster, c.connected]));
      const registries =
        s.registries !== undefined
          ? s.registries.map((r) => ({
              cluster: r.cluster,
              priority: r.priority,
              address: publicAddress(r.registry),
              connected: clusterState.get(r.cluster) ?? false,
            }))
          : s.registry !== undefined
            ? [
                {
                  cluster: 'default',
                  priority: 0,
                  address: publicAddress(s.registry),
                  connected: source?.connected?.() ?? false,
                  ...(source?.origin !== undefined ? { origin: source.origin() } : {}),
                },
              ]
            : [];
      out.push({
        service: s.name,
        protocol: s.protocol,
        balance: balanceKindFor(s),
        ...(s.sticky !== undefined
          ? { sticky: s.sticky.cookie !== undefined ? `cookie ${s.sticky.cookie}` : `hash on ${s.sticky.hashOn ?? ''}` }
          : {}),
        endpoints,
        registries,
      });
    }
    return out;
  }

  /**
   * For /readyz: per service of `config` that names several registries, the cluster serving now
   * (the best priority with an available endpoint) and the clusters it passed over.
   */
  clusterNotes(config: FerryConfig): string[] {
    const notes: string[] = [];
    for (const s of config.services.values()) {
      if (s.registries === undefined) continue;
      const m = this.managed.get(upstreamKey(s));
      if (m === undefined) continue;
      const snaps = this.snapshots().filter((x) => x.service === s.name);
      const serving = servingClusters(snaps).get(s.name);
      const state = s.registries.map((r) => {
        const mine = snaps.filter((x) => x.cluster === r.cluster);
        return `${r.cluster} (priority ${r.priority}): ${mine.filter((x) => x.available).length}/${mine.length} available`;
      });
      notes.push(`service ${s.name}: ${serving !== undefined ? `served by cluster ${serving}` : 'no cluster can serve'}; ${state.join(', ')}`);
    }
    return notes;
  }

  /** Services of `config` that have no available endpoint right now (for /readyz). */
  unavailableServices(config: FerryConfig): string[] {
    const down: string[] = [];
    for (const s of config.services.values()) {
      const m = this.managed.get(upstreamKey(s));
      if (m !== undefined && !m.upstream.client.upstream.transports().some((t) => t.available())) down.push(s.name);
    }
    return down;
  }

  /** Discovered endpoints of `config`'s services that Ferry will not call, and why (for /readyz). */
  refusedEndpoints(config: FerryConfig): Array<{ service: string } & RefusedEndpoint> {
    const out: Array<{ service: string } & RefusedEndpoint> = [];
    for (const s of config.services.values()) {
      const source = this.managed.get(upstreamKey(s))?.source as { refused?: () => readonly RefusedEndpoint[] } | undefined;
      for (const r of source?.refused?.() ?? []) out.push({ service: s.name, ...r });
    }
    return out;
  }

  /** Closes the clients of services that `config` no longer names (unchanged). */
  async retainOnly(config: FerryConfig): Promise<void> {
    const keep = new Set([...config.services.values()].map(upstreamKey));
    const closing: Promise<void>[] = [];
    for (const [key, m] of this.managed) {
      if (!keep.has(key)) {
        this.managed.delete(key);
        closing.push(m.close());
      }
    }
    await Promise.allSettled(closing);
  }

  async close(): Promise<void> {
    const all = [...this.managed.values()];
    this.managed.clear();
    await Promise.allSettled(all.map((m) => m.close()));
  }
}
