/**
 * The one endpoint model: what every discovery source produces (static lists, ZooKeeper's Dubbo
 * layout, and later application-level registries), what balancers read and what transports connect
 * to — the same for Dubbo, Triple and gRPC.
 */

export interface Endpoint {
  /** `host:port` (IPv6 in brackets): the identity sticky cookies, metrics and ejection name. */
  readonly id: string;
  readonly host: string;
  readonly port: number;
  /** The provider URL's protocol (`dubbo`, `tri`, `grpc`); for static endpoints the service's. */
  readonly protocol: string;
  /** Relative weight (Dubbo `weight`, default 100). */
  readonly weight: number;
  /** When the provider started (Dubbo `timestamp`, epoch ms), for warm-up weighting; undefined when unknown. */
  readonly warmupStartMs: number | undefined;
  /** Provider URL parameters (version, group, dubbo.tag, methods, ...); for static endpoints the `labels` the mapping gives. */
  readonly labels: Readonly<Record<string, string>>;
  /** The cluster (registry or data centre) the endpoint was found in; `default` when there is one. */
  readonly cluster: string;
  /** Lower is preferred: balancing uses the best priority that has an available endpoint. */
  readonly priority: number;
}

export interface EndpointSource {
  /** The last known list (kept while the registry is unreachable). */
  current(): readonly Endpoint[];
  /** Called with the full new list whenever it changes. Returns an unsubscribe function. */
  subscribe(listener: (endpoints: readonly Endpoint[]) => void): () => void;
  close(): Promise<void>;
}
