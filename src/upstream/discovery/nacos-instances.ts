/**
 * Dubbo providers as Dubbo's own Nacos registry (dubbo-registry-nacos) writes them, and the registry
 * URL that names a Nacos server. Pure: strings and parsed JSON in, values out.
 *
 * A provider of `com.example.AccountService`, version 1.0.0, group retail registers one Nacos
 * instance in the service `providers:com.example.AccountService:1.0.0:retail` (empty version or
 * group stay empty: `providers:com.example.lab.TypeLabService::`), in the Nacos group named by the
 * registry URL's `group` (default DEFAULT_GROUP). The instance's ip and port are the provider's;
 * its metadata is the provider URL's parameters plus `protocol`, `path` and `category`. Dubbo's
 * consumer rebuilds `protocol://ip:port/path?metadata` from that, and so do we, so the matching
 * rules of provider-url.ts apply unchanged.
 */
import type { RegistryAccess } from '../../config/types.js';
import { FerryError, RegistryError } from '../../errors/index.js';
import { matchesService, toEndpoint } from './provider-url.js';
import type { ProviderUrl, ServiceSelector } from './provider-url.js';
import type { Endpoint } from './types.js';

/** Nacos' default group, and the group Dubbo registers into when the registry URL names none. */
export const NACOS_DEFAULT_GROUP = 'DEFAULT_GROUP';
/** Nacos' default HTTP port. */
export const NACOS_DEFAULT_PORT = 8848;
/** Malformed instances named per reply (the rest are counted). */
export const NACOS_MAX_INVALID_NAMED = 20;
/** Metadata entries read per instance; Dubbo writes about 20-40. */
export const NACOS_MAX_METADATA_ENTRIES = 512;

/** A Nacos server as a `nacos://` registry URL names it. */
export interface NacosRegistry {
  /** `host:port` of each server, in the order given (the URL's authority, then `backup`). */
  readonly servers: readonly string[];
  /** Nacos namespace id (`namespace`); '' is the default (public) namespace. */
  readonly namespace: string;
  /** Nacos group (`group`), DEFAULT_GROUP when absent. */
  readonly group: string;
  readonly username?: string;
  readonly password?: string;
  /** `nacos.subscribe.legacy-name=true`: also read the pre-2.7.3 name `providers:iface[:version][:group]`. */
  readonly legacyNames: boolean;
  /** `file.cache=false` turns the on-disk copy of the last list off, as for Dubbo's consumers. */
  readonly fileCache: boolean;
  /** Identity for logs and cache file names: servers, namespace and group, never credentials. */
  readonly display: string;
}

function decode(text: string): string {
  try {
    return decodeURIComponent(text.replace(/\+/g, ' '));
  } catch {
    return text;
  }
}

function hostPort(text: string, registry: string): string {
  const t = text.trim();
  const m = /^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9._-]+)(?::(\d{1,5}))?$/.exec(t);
  const port = m?.[2] === undefined ? NACOS_DEFAULT_PORT : Number(m[2]);
  if (m === null || port < 1 || port > 65535) {
    throw new FerryError('FERRY_CONFIG_INVALID', `registry "${registry}": "${text}" is not host[:port]`);
  }
  return `${m[1]}:${port}`;
}

/**
 * Parses `nacos://host[:port][,host:port...][?namespace=..&group=..&username=..&password=..&backup=..]`;
 * `access` (the mapping's credentials) overrides the URL's.
 * Throws FerryError(FERRY_CONFIG_INVALID) when it is not one.
 */
export function parseNacosRegistry(url: string, access?: RegistryAccess): NacosRegistry {
  const m = /^nacos:\/\/(?:([^@/?#]*)@)?([^/?#]+)\/?(?:\?([^#]*))?$/.exec(url.trim());
  if (m === null) throw new FerryError('FERRY_CONFIG_INVALID', `registry "${url}" is not nacos://host:port[?namespace=...&group=...]`);
  const params = new Map<string, string>();
  for (const pair of (m[3] ?? '').split('&')) {
    if (pair === '') continue;
    const eq = pair.indexOf('=');
    const key = decode(eq < 0 ? pair : pair.slice(0, eq));
    if (!params.has(key)) params.set(key, eq < 0 ? '' : decode(pair.slice(eq + 1)));
  }
  const servers = m[2]!
    .split(',')
    .filter((s) => s.trim() !== '')
    .map((s) => hostPort(s, url));
  for (const b of (params.get('backup') ?? '').split(',')) if (b.trim() !== '') servers.push(hostPort(b, url));
  // The mapping's `registry: { username, password }` (read from a file or the environment) comes first.
  let username = access?.username ?? params.get('username');
  let password = access?.username !== undefined ? access.password : params.get('password');
  if (m[1] !== undefined && m[1] !== '') {
    // nacos://user:password@host:port, as Dubbo also accepts
    const colon = m[1].indexOf(':');
    username ??= decode(colon < 0 ? m[1] : m[1].slice(0, colon));
    if (colon >= 0) password ??= decode(m[1].slice(colon + 1));
  }
  const namespace = params.get('namespace') ?? params.get('namespaceId') ?? '';
  const group = params.get('group') || NACOS_DEFAULT_GROUP;
  const unique = [...new Set(servers)];
  return {
    servers: unique,
    namespace,
    group,
    ...(username !== undefined && username !== '' ? { username } : {}),
    ...(password !== undefined ? { password } : {}),
    legacyNames: params.get('nacos.subscribe.legacy-name') === 'true',
    fileCache: params.get('file.cache') !== 'false',
    display: `nacos://${unique.join(',')}` + (namespace !== '' ? `/${namespace}` : '') + `/${group}`,
  };
}

/**
 * The Nacos service names Dubbo's providers of `selector` register under: one per listed group
 * (`a,b`), both spellings of "no version" for `0.0.0`, and with `legacy` also the old spelling
 * that leaves empty parts out. Returns undefined for `*` versions or groups, which would need the
 * registry's whole service list (not supported here).
 */
export function nacosServiceNames(selector: ServiceSelector, legacy = false): string[] | undefined {
  const version = selector.version ?? '';
  const groupText = selector.group ?? '';
  if (version === '*' || groupText === '*' || selector.interface === '*') return undefined;
  const versions = version === '0.0.0' ? ['0.0.0', ''] : [version];
  const groups = groupText === '' ? [''] : [...new Set(groupText.split(',').map((g) => g.trim()))];
  const names = new Set<string>();
  for (const v of versions) {
    for (const g of groups) {
      names.add(`providers:${selector.interface}:${v}:${g}`);
      if (legacy) names.add(['providers', selector.interface, ...(v !== '' ? [v] : []), ...(g !== '' ? [g] : [])].join(':'));
    }
  }
  return [...names];
}

/** A reply's instances, not yet checked one by one. */
export interface InstanceListReply {
  readonly hosts: readonly unknown[];
}

/**
 * Reads the body of `GET /nacos/v1/ns/instance/list`: an object with a `hosts` array. Throws
 * RegistryError (FERRY_REGISTRY_ERROR) naming the service for anything else.
 */
export function parseInstanceList(body: string, service: string): InstanceListReply {
  let value: unknown;
  try {
    value = JSON.parse(body);
  } catch {
    throw new RegistryError(`instance list of ${service} is not JSON: ${JSON.stringify(body.slice(0, 120))}`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new RegistryError(`instance list of ${service} is not a JSON object`);
  }
  const hosts = (value as { hosts?: unknown }).hosts;
  if (hosts === undefined || hosts === null) return { hosts: [] };
  if (!Array.isArray(hosts)) throw new RegistryError(`instance list of ${service}: "hosts" is not an array`);
  return { hosts };
}

/** What became of one instance of a reply. */
export type InstanceOutcome =
  | { readonly kind: 'endpoint'; readonly endpoint: Endpoint }
  /** Normal: unhealthy, disabled, another protocol, version or group. */
  | { readonly kind: 'filtered' }
  /** Malformed: skipped, and worth one log line naming it. */
  | { readonly kind: 'invalid'; readonly instance: string; readonly problem: string };

const HOST = /^[A-Za-z0-9._-]{1,253}$|^[0-9A-Fa-f:.]{2,45}(%[A-Za-z0-9_.-]{1,32})?$/;

function describe(raw: Record<string, unknown>, index: number): string {
  const ip = typeof raw['ip'] === 'string' ? raw['ip'].slice(0, 80) : '?';
  const port = typeof raw['port'] === 'number' || typeof raw['port'] === 'string' ? String(raw['port']).slice(0, 12) : '?';
  const id = typeof raw['instanceId'] === 'string' ? ` (${raw['instanceId'].slice(0, 120)})` : '';
  return `#${index} ${ip}:${port}${id}`;
}

/**
 * One entry of `hosts` → an endpoint of the selected service, following Dubbo's consumer:
 * instances that are not `enabled` are left out (NacosRegistry.filterEnabledInstances), and so are
 * unhealthy ones (Nacos' own subscription shows only healthy instances). Nacos' instance `weight`
 * is not used: Dubbo never writes it and balances by the provider URL's `weight` parameter.
 */
export function instanceToEndpoint(raw: unknown, index: number, selector: ServiceSelector): InstanceOutcome {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    return { kind: 'invalid', instance: `#${index}`, problem: 'is not a JSON object' };
  }
  const r = raw as Record<string, unknown>;
  const instance = describe(r, index);
  const invalid = (problem: string): InstanceOutcome => ({ kind: 'invalid', instance, problem });

  const ip = r['ip'];
  if (typeof ip !== 'string' || !HOST.test(ip)) return invalid('has no usable "ip"');
  const port = r['port'];
  if (typeof port !== 'number' || !Number.isInteger(port) || port < 1 || port > 65535) return invalid('has no usable "port"');
  if (r['enabled'] === false || r['healthy'] === false) return { kind: 'filtered' };
  if (r['enabled'] !== undefined && typeof r['enabled'] !== 'boolean') return invalid('"enabled" is not a boolean');
  if (r['healthy'] !== undefined && typeof r['healthy'] !== 'boolean') return invalid('"healthy" is not a boolean');

  const metaRaw = r['metadata'] ?? {};
  if (typeof metaRaw !== 'object' || metaRaw === null || Array.isArray(metaRaw)) return invalid('"metadata" is not an object');
  const entries = Object.entries(metaRaw as Record<string, unknown>);
  if (entries.length > NACOS_MAX_METADATA_ENTRIES) return invalid(`has ${entries.length} metadata entries (limit ${NACOS_MAX_METADATA_ENTRIES})`);
  const params: Record<string, string> = {};
  for (const [k, v] of entries) {
    if (typeof v !== 'string') return invalid(`metadata "${k.slice(0, 60)}" is not a string`);
    params[k] = v;
  }

  const protocol = params['protocol'] ?? 'dubbo';
  if (!/^[A-Za-z][A-Za-z0-9+.-]*$/.test(protocol)) return invalid(`metadata protocol "${protocol.slice(0, 40)}" is not a protocol name`);
  const url: ProviderUrl = { protocol, host: ip, port, path: params['path'] ?? params['interface'] ?? '', params };
  if (!matchesService(url, selector)) return { kind: 'filtered' };
  return { kind: 'endpoint', endpoint: toEndpoint(url) };
}

/** Endpoints of a set of replies, one per host:port (first wins), sorted by id. */
export function endpointsOf(replies: ReadonlyMap<string, readonly Endpoint[]>): Endpoint[] {
  const byId = new Map<string, Endpoint>();
  for (const list of replies.values()) for (const e of list) if (!byId.has(e.id)) byId.set(e.id, e);
  return [...byId.values()].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
}

/**
 * Every instance of one service's reply → its endpoints (first of each host:port kept) and the
 * malformed ones (the first NACOS_MAX_INVALID_NAMED named, all counted). At most `maxInstances`
 * endpoints are kept (the lowest ids, so the choice is stable from one read to the next);
 * `truncatedFrom` says how many there were.
 */
export function selectNacosProviders(reply: InstanceListReply, selector: ServiceSelector, maxInstances: number): NacosSelection {
  const byId = new Map<string, Endpoint>();
  const invalid: Array<{ instance: string; problem: string }> = [];
  let invalidCount = 0;
  reply.hosts.forEach((raw, i) => {
    const o = instanceToEndpoint(raw, i, selector);
    if (o.kind === 'endpoint') {
      if (!byId.has(o.endpoint.id)) byId.set(o.endpoint.id, o.endpoint);
    } else if (o.kind === 'invalid') {
      invalidCount++;
      if (invalid.length < NACOS_MAX_INVALID_NAMED) invalid.push({ instance: o.instance, problem: o.problem });
    }
  });
  const endpoints = [...byId.values()].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  if (endpoints.length > maxInstances) {
    return { endpoints: endpoints.slice(0, maxInstances), invalid, invalidCount, truncatedFrom: endpoints.length };
  }
  return { endpoints, invalid, invalidCount };
}

export interface NacosSelection {
  readonly endpoints: Endpoint[];
  /** The first malformed instances, named. */
  readonly invalid: ReadonlyArray<{ readonly instance: string; readonly problem: string }>;
  readonly invalidCount: number;
  /** Set when more than `maxInstances` endpoints were offered: how many. */
  readonly truncatedFrom?: number;
}
