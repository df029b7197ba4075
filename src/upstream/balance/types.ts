/**
 * What a balancer sees: endpoints, never sockets. Pools implement EndpointView; balancers pick
 * among the views they are handed.
 */

export interface EndpointView {
  /** Stable identity, `host:port`. Sticky cookies name this. */
  readonly id: string;
  /** Relative weight (Dubbo `weight`, default 100). */
  readonly weight: number;
  /** Calls sent and not yet answered. */
  pending(): number;
  /** False while ejected, read-only, or with no usable connection. */
  available(): boolean;
}

/** Per-call facts a balancer may use. */
export interface PickHint {
  /** Value to hash on (consistent hashing), already extracted from the request. */
  readonly hashKey?: string;
  /** Endpoint id a verified sticky cookie asked for. */
  readonly preferredId?: string;
  /** Endpoints already tried for this call (retries avoid them). */
  readonly exclude?: ReadonlySet<string>;
}

export interface Balancer {
  /** Picks one of the available endpoints, or undefined when none is available. */
  pick(endpoints: readonly EndpointView[], hint: PickHint): EndpointView | undefined;
}
