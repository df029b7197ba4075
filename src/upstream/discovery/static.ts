/**
 * A fixed list of endpoints from the mapping file (`endpoints: [host:port, ...]`). It never
 * changes, so subscribers are never called; it exists so that clients treat static and discovered
 * endpoints the same way.
 */
import { DEFAULT_WEIGHT, parseHostPort } from './provider-url.js';
import type { Endpoint, EndpointSource } from './types.js';

/**
 * Builds a source over `host:port` strings, with the labels the mapping gives some of them (keyed by
 * the string as written). Throws FerryError(FERRY_CONFIG_INVALID) on a bad one.
 */
export function createStaticSource(
  ids: readonly string[],
  protocol = 'dubbo',
  labels: Readonly<Record<string, Readonly<Record<string, string>>>> = {},
): EndpointSource {
  const seen = new Set<string>();
  const list: Endpoint[] = [];
  for (const text of ids) {
    const { host, port, id } = parseHostPort(text);
    if (seen.has(id)) continue;
    seen.add(id);
    list.push(
      Object.freeze({
        id,
        host,
        port,
        protocol,
        weight: DEFAULT_WEIGHT,
        warmupStartMs: undefined,
        labels: Object.freeze({ ...labels[text] }),
        cluster: 'default',
        priority: 0,
      }),
    );
  }
  const frozen = Object.freeze(list);
  return {
    current: () => frozen,
    subscribe: () => () => {},
    close: async () => {},
  };
}
