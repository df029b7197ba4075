/**
 * Dubbo 3 application-level discovery, the part no registry owns: what an application instance
 * says about itself (its metadata: revision, storage type, protocol ports, how to reach its
 * MetadataService), what a revision's MetadataInfo says the instance exports, and how the two make
 * the same endpoints the interface-level layout gives. Pure: values in, values out. ZooKeeper
 * (zookeeper-apps.ts) and Nacos only differ in how they list an application's instances.
 *
 * As Dubbo 3.3 writes it (checked against 3.3.6 providers, see samples/java-provider/README.md):
 * - instance metadata: `dubbo.metadata.revision` (the MetadataInfo's content hash, `0` = none),
 *   `dubbo.metadata.storage-type` (`local`: ask the instance's MetadataService; `remote`: read the
 *   metadata report), `dubbo.endpoints` (JSON `[{"port":20880,"protocol":"dubbo"}, ...]`),
 *   `dubbo.metadata-service.url-params` (JSON `{"protocol":"dubbo","port":"20880","version":"1.0.0",...}`),
 *   `meta-v`, `timestamp` (start time, epoch ms);
 * - MetadataInfo: `{app, revision, services: {"<interface>[:<version>]:<protocol>": {name, group,
 *   version, protocol, port, path, params}}}`, as JSON in the metadata report or as a Hessian
 *   `org.apache.dubbo.metadata.MetadataInfo` from `MetadataService#getMetadataInfo(revision)`.
 */
import { RegistryError } from '../../errors/index.js';
import { endpointId, matchesService, toEndpoint, type ProviderUrl, type ServiceSelector } from './provider-url.js';
import type { Endpoint } from './types.js';

/** Dubbo's "no metadata" revision (`RevisionResolver.EMPTY_REVISION`). */
export const EMPTY_REVISION = '0';

/** Limits on what one instance or one MetadataInfo may carry; beyond them it is refused and named. */
export interface AppDataBudgets {
  /** Largest instance record read (bytes of JSON in ZooKeeper). */
  readonly maxInstanceBytes: number;
  /** Most metadata entries per instance. */
  readonly maxInstanceMetadataEntries: number;
  /** Largest MetadataInfo read (bytes of JSON, or of the Dubbo reply body). */
  readonly maxMetadataBytes: number;
  /** Most services per MetadataInfo. */
  readonly maxServicesPerRevision: number;
  /** Most params per service in a MetadataInfo. */
  readonly maxParamsPerService: number;
}

export const DEFAULT_APP_DATA_BUDGETS: AppDataBudgets = Object.freeze({
  maxInstanceBytes: 64 * 1024,
  maxInstanceMetadataEntries: 512,
  maxMetadataBytes: 4 * 1024 * 1024,
  maxServicesPerRevision: 2_000,
  maxParamsPerService: 1_000,
});

/** One instance of an application, as its registry lists it. Immutable: a change makes a new one. */
export interface ServiceInstance {
  readonly app: string;
  /** `host:port` (IPv6 in brackets). */
  readonly id: string;
  readonly host: string;
  /** The instance's port (its preferred protocol's). */
  readonly port: number;
  /** The instance metadata as registered (Dubbo's instance params). */
  readonly metadata: Readonly<Record<string, string>>;
  /** `dubbo.metadata.revision`; undefined when absent or `0`. */
  readonly revision: string | undefined;
  /** `dubbo.metadata.storage-type` (default `local`). */
  readonly storageType: 'local' | 'remote';
  /** `dubbo.endpoints`: protocol → port. Empty when not registered (or unreadable). */
  readonly protocolPorts: ReadonlyMap<string, number>;
  /** `dubbo.metadata-service.url-params`, when registered and readable. */
  readonly metadataServiceParams: Readonly<Record<string, string>> | undefined;
  /** Where it was read, for logs (a ZooKeeper node path, a Nacos service and address). */
  readonly where: string;
}

/** One service an instance exports, from a MetadataInfo. */
export interface ServiceInfo {
  /** The interface (Java FQCN for Dubbo and Triple). */
  readonly name: string;
  readonly group: string | undefined;
  readonly version: string | undefined;
  readonly protocol: string;
  /** The port of this service's protocol, when the MetadataInfo says it. */
  readonly port: number | undefined;
  /** The service path (for Triple IDL services the proto service name). */
  readonly path: string;
  readonly params: Readonly<Record<string, string>>;
}

/** What instances of one revision export. */
export interface MetadataInfo {
  readonly app: string;
  readonly revision: string;
  readonly services: readonly ServiceInfo[];
  /** A rough size (bytes) for cache budgets. */
  readonly approxBytes: number;
}

const registryError = (message: string): RegistryError => new RegistryError(message);

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function parseJsonObject(text: string, what: string): Record<string, unknown> {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw registryError(`${what} is not JSON (${(err as Error).message})`);
  }
  if (!isPlainObject(raw)) throw registryError(`${what} is not a JSON object`);
  return raw;
}

function validPort(v: unknown): number | undefined {
  const n = typeof v === 'number' ? v : typeof v === 'string' && /^\d{1,5}$/.test(v) ? Number(v) : NaN;
  return Number.isInteger(n) && n >= 1 && n <= 65535 ? n : undefined;
}

/** `dubbo.endpoints`: `[{"port":N,"protocol":"p"}, ...]` → protocol → port (first wins). Unreadable → empty. */
export function parseProtocolPorts(text: string | undefined): Map<string, number> {
  const out = new Map<string, number>();
  if (text === undefined || text === '') return out;
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    return out;
  }
  if (!Array.isArray(raw)) return out;
  for (const e of raw) {
    if (!isPlainObject(e) || typeof e['protocol'] !== 'string') continue;
    const port = validPort(e['port']);
    if (port !== undefined && !out.has(e['protocol'])) out.set(e['protocol'], port);
  }
  return out;
}

/** `dubbo.metadata-service.url-params` → string params; unreadable → undefined. */
export function parseUrlParams(text: string | undefined): Record<string, string> | undefined {
  if (text === undefined || text === '') return undefined;
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (!isPlainObject(raw)) return undefined;
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(raw)) {
    if (typeof v === 'string') out[k] = v;
    else if (typeof v === 'number' || typeof v === 'boolean') out[k] = String(v);
  }
  return out;
}

/**
 * An instance from what every registry gives: the application, address, port and metadata map.
 * Throws RegistryError (FERRY_REGISTRY_ERROR) naming `where` when the address, port or metadata cannot
 * be used. Non-string metadata values are dropped (Dubbo's metadata is a string map).
 */
export function serviceInstanceFromMetadata(
  app: string,
  host: unknown,
  port: unknown,
  metadata: unknown,
  where: string,
  budgets: AppDataBudgets = DEFAULT_APP_DATA_BUDGETS,
): ServiceInstance {
  if (typeof host !== 'string' || host === '' || /[\s/?#@]/.test(host)) throw registryError(`instance ${where} has no usable address`);
  const p = validPort(port);
  if (p === undefined) throw registryError(`instance ${where} has no usable port (${JSON.stringify(port)})`);
  if (metadata !== undefined && metadata !== null && !isPlainObject(metadata)) throw registryError(`instance ${where}: metadata is not an object`);
  const meta: Record<string, string> = {};
  let n = 0;
  for (const [k, v] of Object.entries(metadata ?? {})) {
    if (typeof v !== 'string' || k === '__proto__') continue;
    if (++n > budgets.maxInstanceMetadataEntries) {
      throw registryError(`instance ${where} has more than ${budgets.maxInstanceMetadataEntries} metadata entries`);
    }
    meta[k] = v;
  }
  const revision = meta['dubbo.metadata.revision'];
  return Object.freeze({
    app,
    id: endpointId(host, p),
    host,
    port: p,
    metadata: Object.freeze(meta),
    revision: revision === undefined || revision === '' || revision === EMPTY_REVISION ? undefined : revision,
    storageType: meta['dubbo.metadata.storage-type'] === 'remote' ? 'remote' : 'local',
    protocolPorts: parseProtocolPorts(meta['dubbo.endpoints']),
    metadataServiceParams: parseUrlParams(meta['dubbo.metadata-service.url-params']),
    where,
  });
}

/**
 * The data of a ZooKeeper node `/services/<app>/<host:port>`: Curator's ServiceInstance JSON
 * (`{name, id, address, port, payload: {metadata: {...}}, ...}`), as Dubbo's ZookeeperServiceDiscovery
 * writes it. Throws RegistryError (FERRY_REGISTRY_ERROR) naming the node when it cannot be used.
 */
export function parseZooKeeperInstance(
  app: string,
  data: Buffer | string | undefined,
  where: string,
  budgets: AppDataBudgets = DEFAULT_APP_DATA_BUDGETS,
): ServiceInstance {
  if (data === undefined || data.length === 0) throw registryError(`instance node ${where} has no data`);
  if (data.length > budgets.maxInstanceBytes) {
    throw registryError(`instance node ${where} holds ${data.length} bytes; the limit is ${budgets.maxInstanceBytes}`);
  }
  const raw = parseJsonObject(typeof data === 'string' ? data : data.toString('utf8'), `instance node ${where}`);
  const payload = raw['payload'];
  const metadata = isPlainObject(payload) ? payload['metadata'] : undefined;
  return serviceInstanceFromMetadata(app, raw['address'], raw['port'], metadata, where, budgets);
}

function optionalString(v: unknown): string | undefined {
  return typeof v === 'string' && v !== '' ? v : undefined;
}

/**
 * A MetadataInfo from a plain object tree (JSON, or a Hessian object turned into one). Checks what
 * Ferry relies on and that it belongs to `app`/`revision`; throws RegistryError (FERRY_REGISTRY_ERROR)
 * naming `where` otherwise.
 */
export function metadataInfoFromObject(
  raw: unknown,
  expected: { readonly app: string; readonly revision: string },
  where: string,
  budgets: AppDataBudgets = DEFAULT_APP_DATA_BUDGETS,
): MetadataInfo {
  if (!isPlainObject(raw)) throw registryError(`MetadataInfo ${where} is not an object`);
  const app = raw['app'];
  const revision = raw['revision'];
  if (typeof app === 'string' && app !== expected.app)
    throw registryError(`MetadataInfo ${where} belongs to application "${app}", not "${expected.app}"`);
  if (typeof revision === 'string' && revision !== expected.revision) {
    throw registryError(`MetadataInfo ${where} is revision "${revision}", not "${expected.revision}"`);
  }
  const services = raw['services'];
  if (!isPlainObject(services)) throw registryError(`MetadataInfo ${where} has no services map`);
  const keys = Object.keys(services);
  if (keys.length > budgets.maxServicesPerRevision) {
    throw registryError(`MetadataInfo ${where} lists ${keys.length} services; the limit is ${budgets.maxServicesPerRevision}`);
  }
  let bytes = 64;
  const out: ServiceInfo[] = [];
  for (const key of keys) {
    const s = services[key];
    if (!isPlainObject(s)) throw registryError(`MetadataInfo ${where}: service "${key}" is not an object`);
    const rawParams = s['params'] ?? {};
    if (!isPlainObject(rawParams)) throw registryError(`MetadataInfo ${where}: params of service "${key}" are not a map`);
    const entries = Object.entries(rawParams);
    if (entries.length > budgets.maxParamsPerService) {
      throw registryError(`MetadataInfo ${where}: service "${key}" has ${entries.length} params; the limit is ${budgets.maxParamsPerService}`);
    }
    const params: Record<string, string> = {};
    for (const [k, v] of entries) {
      if (typeof v !== 'string' || k === '__proto__') continue;
      params[k] = v;
      bytes += k.length + v.length + 16;
    }
    const name = optionalString(s['name']) ?? params['interface'];
    if (name === undefined) throw registryError(`MetadataInfo ${where}: service "${key}" has no name`);
    const port = s['port'] === undefined || s['port'] === null ? undefined : validPort(s['port']);
    out.push(
      Object.freeze({
        name,
        group: optionalString(s['group']) ?? optionalString(params['group']),
        version: optionalString(s['version']) ?? optionalString(params['version']),
        protocol: optionalString(s['protocol']) ?? 'dubbo',
        port,
        path: optionalString(s['path']) ?? name,
        params: Object.freeze(params),
      }),
    );
    bytes += key.length + name.length * 2 + 96;
  }
  return Object.freeze({ app: expected.app, revision: expected.revision, services: Object.freeze(out), approxBytes: bytes });
}

/** A MetadataInfo from the metadata report's JSON (`/dubbo/metadata/<app>/<revision>` in ZooKeeper). */
export function parseMetadataInfoJson(
  data: Buffer | string,
  expected: { readonly app: string; readonly revision: string },
  where: string,
  budgets: AppDataBudgets = DEFAULT_APP_DATA_BUDGETS,
): MetadataInfo {
  if (data.length > budgets.maxMetadataBytes) {
    throw registryError(`MetadataInfo ${where} holds ${data.length} bytes; the limit is ${budgets.maxMetadataBytes}`);
  }
  const raw = parseJsonObject(typeof data === 'string' ? data : data.toString('utf8'), `MetadataInfo ${where}`);
  return metadataInfoFromObject(raw, expected, where, budgets);
}

/**
 * The port a service of `protocol` listens on: the instance's `dubbo.endpoints` entry for that
 * protocol (what Dubbo's consumer uses), else the MetadataInfo's port, else the instance port.
 */
export function servicePort(instance: ServiceInstance, service: ServiceInfo): number {
  return instance.protocolPorts.get(service.protocol) ?? service.port ?? instance.port;
}

/**
 * The endpoints one instance gives for `selector`: each exported service that matches (the same
 * rules as for interface-level provider URLs), on the instance's host and the service protocol's
 * port. Labels are the instance metadata overlaid with the service params, as Dubbo's
 * InstanceAddressURL reads them (so `timestamp` comes from the instance, `weight`, `warmup`,
 * `timeout`, `dubbo.tag` from the service).
 */
export function endpointsOfInstance(
  instance: ServiceInstance,
  info: MetadataInfo,
  selector: ServiceSelector,
  cluster = 'default',
  priority = 0,
): Endpoint[] {
  const out: Endpoint[] = [];
  for (const s of info.services) {
    const params: Record<string, string> = { ...instance.metadata, ...s.params, interface: s.params['interface'] ?? s.name };
    if (s.version !== undefined) params['version'] = s.version;
    if (s.group !== undefined) params['group'] = s.group;
    const url: ProviderUrl = {
      protocol: s.protocol,
      host: instance.host,
      port: servicePort(instance, s),
      path: s.path,
      params: Object.freeze(params),
    };
    if (matchesService(url, selector)) out.push(toEndpoint(url, cluster, priority));
  }
  return out;
}

const byId = (a: Endpoint, b: Endpoint): number => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);

/**
 * One endpoint per `host:port`, the first list's entry winning, sorted by id. A provider registered
 * in both layouts (`register-mode: all`) is one endpoint; the interface-level entry goes first
 * because its URL carries every parameter.
 */
export function mergeEndpoints(...lists: ReadonlyArray<readonly Endpoint[]>): Endpoint[] {
  const seen = new Map<string, Endpoint>();
  for (const list of lists) for (const e of list) if (!seen.has(e.id)) seen.set(e.id, e);
  return [...seen.values()].sort(byId);
}

/** Whether two sorted endpoint lists say the same (ids, weights, start times and labels). */
export function sameEndpoints(a: readonly Endpoint[], b: readonly Endpoint[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) {
    const x = a[i]!;
    const y = b[i]!;
    if (x === y) continue;
    if (x.id !== y.id || x.weight !== y.weight || x.protocol !== y.protocol || x.warmupStartMs !== y.warmupStartMs) return false;
    if (x.cluster !== y.cluster || x.priority !== y.priority) return false;
    if (x.labels === y.labels) continue;
    const xk = Object.keys(x.labels);
    if (xk.length !== Object.keys(y.labels).length) return false;
    for (const k of xk) if (x.labels[k] !== y.labels[k]) return false;
  }
  return true;
}

/** The serialization Ferry speaks on the dubbo protocol. */
export const FERRY_DUBBO_SERIALIZATION = 'hessian2';

function label(e: Endpoint, key: string): string | undefined {
  const v = e.labels[key];
  if (v !== undefined && v !== '') return v;
  const d = e.labels[`default.${key}`];
  return d !== undefined && d !== '' ? d : undefined;
}

/**
 * Why Ferry will not call this endpoint, or undefined when it can: a dubbo-protocol provider
 * whose `serialization` and `prefer.serialization` (3.2+, a list in preference order) both leave out
 * hessian2. (No declaration means hessian2, Dubbo's default.)
 */
export function serializationRefusal(e: Endpoint): string | undefined {
  if (e.protocol !== 'dubbo') return undefined;
  const declared = label(e, 'serialization') ?? FERRY_DUBBO_SERIALIZATION;
  const preferred = (label(e, 'prefer.serialization') ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
  if (declared === FERRY_DUBBO_SERIALIZATION || preferred.includes(FERRY_DUBBO_SERIALIZATION)) return undefined;
  const onlyDeclared = preferred.length === 0 || (preferred.length === 1 && preferred[0] === declared);
  const list = onlyDeclared ? declared : `${declared} (prefers ${preferred.join(', ')})`;
  return `serialization ${list}; Ferry speaks ${FERRY_DUBBO_SERIALIZATION} only`;
}

/**
 * The provider-side `timeout` (ms) to use as a route's default when the mapping sets none: the
 * largest declared by the given endpoints (so no provider is cut off before its own limit), or
 * undefined when none declares one.
 */
export function providerTimeoutMs(endpoints: readonly Endpoint[]): number | undefined {
  let best: number | undefined;
  for (const e of endpoints) {
    const t = label(e, 'timeout');
    if (t === undefined || !/^\d{1,9}$/.test(t)) continue;
    const ms = Number(t);
    if (ms > 0 && (best === undefined || ms > best)) best = ms;
  }
  return best;
}
