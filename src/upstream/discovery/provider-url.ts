/**
 * Dubbo provider URLs as they appear in ZooKeeper, and the rules Dubbo uses to decide whether a
 * provider serves what a consumer asked for. Pure: strings in, values out.
 *
 * A provider registers `/dubbo/<interface>/providers/<URL.encode(fullUrl)>`, where fullUrl looks like
 * `dubbo://10.0.0.5:20880/com.example.AccountService?version=1.0.0&group=retail&weight=100&...`.
 */
import { FerryError } from '../../errors/index.js';
import type { Endpoint } from './types.js';

/** A parsed provider URL. Parameter values are kept as Dubbo wrote them. */
export interface ProviderUrl {
  readonly protocol: string;
  readonly host: string;
  readonly port: number;
  /** The path after host:port, without the leading slash (usually the interface name). */
  readonly path: string;
  readonly params: Readonly<Record<string, string>>;
}

/** What a consumer asks for: Dubbo's `interface`, `version` and `group` of a reference. */
export interface ServiceSelector {
  readonly interface: string;
  /** Absent, '' or '0.0.0' mean "no version"; '*' accepts any version. */
  readonly version?: string;
  /** Absent or '' mean "no group"; '*' accepts any group; 'a,b' accepts either. */
  readonly group?: string;
  /** Provider protocol to accept, `dubbo` unless told otherwise (`tri` for Triple). */
  readonly protocol?: string;
}

/** The selector part of a source's options (absent keys stay absent). */
export function selectorOf(o: {
  readonly interface: string;
  readonly version?: string;
  readonly group?: string;
  readonly protocol?: string;
}): ServiceSelector {
  return {
    interface: o.interface,
    ...(o.version !== undefined ? { version: o.version } : {}),
    ...(o.group !== undefined ? { group: o.group } : {}),
    ...(o.protocol !== undefined ? { protocol: o.protocol } : {}),
  };
}

/** Default provider weight, as in Dubbo (`DEFAULT_WEIGHT`). */
export const DEFAULT_WEIGHT = 100;

/**
 * Decodes a ZooKeeper child name the way Java's URLDecoder does (`+` is a space), then parses the
 * URL. Returns undefined for names that are not URLs (Dubbo ignores those too).
 */
export function parseProviderNode(nodeName: string): ProviderUrl | undefined {
  let decoded: string;
  try {
    decoded = decodeURIComponent(nodeName.replace(/\+/g, ' '));
  } catch {
    return undefined;
  }
  return parseProviderUrl(decoded);
}

/** Parses `protocol://[user[:pw]@]host:port/path?k=v&...`. Returns undefined when it is not one. */
export function parseProviderUrl(url: string): ProviderUrl | undefined {
  const schemeEnd = url.indexOf('://');
  if (schemeEnd <= 0) return undefined;
  const protocol = url.slice(0, schemeEnd);
  if (!/^[A-Za-z][A-Za-z0-9+.-]*$/.test(protocol)) return undefined;
  let rest = url.slice(schemeEnd + 3);

  let query = '';
  const q = rest.indexOf('?');
  if (q >= 0) {
    query = rest.slice(q + 1);
    rest = rest.slice(0, q);
  }
  let path = '';
  const slash = rest.indexOf('/');
  if (slash >= 0) {
    path = rest.slice(slash + 1);
    rest = rest.slice(0, slash);
  }
  const at = rest.lastIndexOf('@');
  if (at >= 0) rest = rest.slice(at + 1);

  let host: string;
  let portText: string;
  if (rest.startsWith('[')) {
    const close = rest.indexOf(']');
    if (close < 0 || rest[close + 1] !== ':') return undefined;
    host = rest.slice(1, close);
    portText = rest.slice(close + 2);
  } else {
    const colon = rest.lastIndexOf(':');
    if (colon <= 0) return undefined;
    host = rest.slice(0, colon);
    portText = rest.slice(colon + 1);
  }
  if (host === '' || !/^\d{1,5}$/.test(portText)) return undefined;
  const port = Number(portText);
  if (port < 1 || port > 65535) return undefined;

  const params: Record<string, string> = {};
  if (query !== '') {
    for (const pair of query.split('&')) {
      if (pair === '') continue;
      const eq = pair.indexOf('=');
      const key = eq < 0 ? pair : pair.slice(0, eq);
      const value = eq < 0 ? key : pair.slice(eq + 1);
      if (key === '') continue;
      // Dubbo's URL keeps the first occurrence of a repeated key... and so do we.
      if (!(key in params)) params[key] = value;
    }
  }
  return { protocol, host, port, path, params };
}

/** A parameter as Dubbo's URL.getParameter reads it: `key`, else the legacy `default.key`. */
export function providerParam(url: ProviderUrl, key: string): string | undefined {
  const v = url.params[key];
  if (v !== undefined && v !== '') return v;
  const d = url.params[`default.${key}`];
  return d !== undefined && d !== '' ? d : undefined;
}

function normaliseVersion(v: string | undefined): string {
  return v === undefined || v === '' || v === '0.0.0' ? '' : v;
}

/**
 * Whether a provider URL serves the selected service, following Dubbo's UrlUtils.isMatch: same
 * interface (or `*`), category `providers`, not `enabled=false`, group equal or listed in the
 * consumer's comma-separated groups (or `*`), version equal (or `*`). Unlike the registry's literal
 * string compare, an absent version and `0.0.0` are treated as the same "no version", which is how
 * the provider itself builds its service key.
 */
export function matchesService(url: ProviderUrl, selector: ServiceSelector): boolean {
  if (url.protocol !== (selector.protocol ?? 'dubbo')) return false;
  const iface = providerParam(url, 'interface') ?? url.path;
  if (!(iface === selector.interface || iface === '*' || selector.interface === '*')) return false;
  const category = providerParam(url, 'category') ?? 'providers';
  if (category !== 'providers') return false;
  if (providerParam(url, 'enabled') === 'false') return false;

  const wantVersion = selector.version;
  if (wantVersion !== '*' && normaliseVersion(wantVersion) !== normaliseVersion(providerParam(url, 'version'))) {
    return false;
  }

  const wantGroup = selector.group ?? '';
  const haveGroup = providerParam(url, 'group') ?? '';
  if (wantGroup !== '*' && wantGroup !== haveGroup) {
    const listed = wantGroup.split(',').map((g) => g.trim());
    if (wantGroup === '' || !listed.includes(haveGroup)) return false;
  }
  return true;
}

/** `host:port`, with IPv6 hosts in brackets. */
export function endpointId(host: string, port: number): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}

/** Provider weight: the `weight` parameter when it is a non-negative integer, else 100. */
export function providerWeight(url: ProviderUrl): number {
  const w = providerParam(url, 'weight');
  if (w === undefined || !/^\d+$/.test(w)) return DEFAULT_WEIGHT;
  return Number(w);
}

/** Turns a provider URL into the endpoint the balancers and transports see. */
export function toEndpoint(url: ProviderUrl, cluster = 'default', priority = 0): Endpoint {
  const started = providerParam(url, 'timestamp');
  return {
    id: endpointId(url.host, url.port),
    host: url.host,
    port: url.port,
    protocol: url.protocol,
    weight: providerWeight(url),
    warmupStartMs: started !== undefined && /^\d{1,15}$/.test(started) ? Number(started) : undefined,
    labels: url.params,
    cluster,
    priority,
  };
}

/**
 * From the child names under `/dubbo/<interface>/providers`, the endpoints that serve the selected
 * service, one per host:port (first wins), sorted by id so equal sets compare equal.
 */
export function selectProviders(nodeNames: readonly string[], selector: ServiceSelector): Endpoint[] {
  const byId = new Map<string, Endpoint>();
  for (const name of nodeNames) {
    const url = parseProviderNode(name);
    if (url === undefined || !matchesService(url, selector)) continue;
    const ep = toEndpoint(url);
    if (!byId.has(ep.id)) byId.set(ep.id, ep);
  }
  return [...byId.values()].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
}

/** Parses a static `host:port` (or `[v6]:port`) endpoint. Throws on anything else. */
export function parseHostPort(text: string): { host: string; port: number; id: string } {
  const url = /[@/?#\s]/.test(text.trim()) ? undefined : parseProviderUrl(`x://${text.trim()}`);
  if (url === undefined) {
    throw new FerryError('FERRY_CONFIG_INVALID', `endpoint "${text}" is not host:port`);
  }
  return { host: url.host, port: url.port, id: endpointId(url.host, url.port) };
}
