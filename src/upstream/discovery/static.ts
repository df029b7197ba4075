/**
 * A fixed list of endpoints from the mapping file (`endpoints: [host:port, ...]`). It never
 * changes, so subscribers are never called; it exists so that pools treat static and discovered
 * endpoints the same way.
 */
import { DEFAULT_WEIGHT, parseHostPort } from './provider-url.js';
import type { DiscoveredEndpoint, EndpointSource } from './types.js';

/** Builds a source over `host:port` strings. Throws FerryError(FERRY_CONFIG_INVALID) on a bad one. */
export function createStaticSource(ids: readonly string[]): EndpointSource {
  const seen = new Set<string>();
  const list: DiscoveredEndpoint[] = [];
  for (const text of ids) {
    const { host, port, id } = parseHostPort(text);
    if (seen.has(id)) continue;
    seen.add(id);
    list.push(Object.freeze({ host, port, id, weight: DEFAULT_WEIGHT, params: Object.freeze({}) }));
  }
  const frozen = Object.freeze(list);
  return {
    current: () => frozen,
    subscribe: () => () => {},
    close: async () => {},
  };
}
