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

/** Tag routing: what one call asks for (see subset.ts for the rule). */
export interface SubsetRequest {
  /** The endpoint label that holds the tag, e.g. `dubbo.tag`. */
  readonly label: string;
  /** The requested tag; undefined or '' = no tag (untagged endpoints only). */
  readonly tag: string | undefined;
  /** No endpoint with the tag → no endpoint at all, instead of the untagged ones. */
  readonly force: boolean;
}

/** Per-call facts a balancer may use. */
export interface PickHint {
  /** Value to hash on (consistent hashing), already extracted from the request. */
  readonly hashKey?: string;
  /** Endpoint id a verified sticky cookie asked for. */
  readonly preferredId?: string;
  /** Endpoints already tried for this call (retries avoid them). */
  readonly exclude?: ReadonlySet<string>;
  /** Tag routing: the call may go only to this subset (applied by the upstream client before any balancer sees the endpoints). */
  readonly subset?: SubsetRequest;
}

export interface Balancer {
  /** Picks one of the available endpoints, or undefined when none is available. */
  pick(endpoints: readonly EndpointView[], hint: PickHint): EndpointView | undefined;
}

/**
 * Health of one endpoint's transport as a whole:
 * - `idle`: nothing opened yet;
 * - `connecting`: the first connection is being opened (no failure seen yet);
 * - `up`: at least one ready connection — the only state in which it is available;
 * - `readonly`: the provider announced a graceful shutdown (Dubbo's read-only event);
 * - `down`: no usable connection after a failure; reconnecting with backoff;
 * - `closed`: closed or destroyed.
 */
export type EndpointHealth = 'idle' | 'connecting' | 'up' | 'readonly' | 'down' | 'closed';

/**
 * The connections of one endpoint, whatever the protocol: what an upstream client keeps per
 * endpoint and balances over. Dubbo's pool and gRPC's channel set implement it; the calls
 * themselves are protocol-specific and stay on the concrete type.
 */
export interface EndpointTransport extends EndpointView {
  readonly health: EndpointHealth;
  /** Connections open or opening. */
  readonly connectionCount: number;
  /** The last failure seen (for error messages). */
  readonly failure: Error | undefined;
  /** Starts connecting if nothing is open yet (no-op otherwise). */
  warm(): void;
  /** Resolves when the health is no longer idle or connecting. */
  settled(): Promise<void>;
  /** Stops reconnecting and closes after calls in flight finish (up to `drainMs`). */
  close(drainMs?: number): Promise<void>;
  /** Stops reconnecting and fails every call in flight at once. */
  destroy(err?: Error): void;
}
