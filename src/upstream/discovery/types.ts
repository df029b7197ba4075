/**
 * Discovery hands out the current list of provider endpoints and tells listeners when it changes.
 */

export interface DiscoveredEndpoint {
  readonly host: string;
  readonly port: number;
  /** `host:port`. */
  readonly id: string;
  readonly weight: number;
  /** Provider URL parameters (version, group, methods, serialization, ...), when known. */
  readonly params: Readonly<Record<string, string>>;
}

export interface EndpointSource {
  /** The last known list (kept while the registry is unreachable). */
  current(): readonly DiscoveredEndpoint[];
  /** Called with the full new list whenever it changes. Returns an unsubscribe function. */
  subscribe(listener: (endpoints: readonly DiscoveredEndpoint[]) => void): () => void;
  close(): Promise<void>;
}
