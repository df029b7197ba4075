/**
 * Provider discovery from Nacos, for the providers Dubbo's own Nacos registry writes (see
 * nacos-instances.ts for the layout), over Nacos' documented HTTP Open API:
 * `GET /nacos/v1/ns/instance/list?serviceName=..&groupName=..&namespaceId=..&healthyOnly=false`,
 * re-read every `pollIntervalMs`. Nacos 2.x servers and rnacos serve it; a change is seen within
 * one interval, without a restart.
 *
 * Why not the `nacos` npm package: it is the Nacos 1.x client (this same v1 HTTP API plus UDP
 * push and heartbeats) built on urllib 2 and the egg-era sdk-base/mz-modules stack; it would bring
 * a dependency tree and a UDP listener for what one bounded HTTP GET per service does. Nacos 2.x's
 * gRPC push is not spoken here (its Payload protocol has no maintained Node client).
 *
 * Failure rules, as for ZooKeeper: registry trouble is reported through onError (once per
 * distinct problem until it clears) and never thrown into the gateway; the last good list is kept
 * while the registry is unreachable or answers garbage; a malformed instance is skipped and named;
 * and the last list is kept on disk (endpoint-cache.ts) so a Ferry started while Nacos is down
 * serves what it knew.
 */
import type { RegistryAccess } from '../../config/types.js';
import { EndpointListeners } from './listeners.js';
import { FerryError, RegistryError } from '../../errors/index.js';
import { createEndpointCache, type EndpointCache } from './endpoint-cache.js';
import { endpointsOf, nacosServiceNames, parseInstanceList, parseNacosRegistry, selectNacosProviders } from './nacos-instances.js';
import type { NacosRegistry } from './nacos-instances.js';
import { selectorOf, type ServiceSelector } from './provider-url.js';
import type { Endpoint, EndpointSource } from './types.js';
import { ReadySignal } from './ready-signal.js';
import { createNacosHttp, describeFetchError, type NacosHttp } from './nacos-http.js';
import { createProblemLog } from './problem-log.js';

/** How often each service's instance list is re-read (ms). */
export const NACOS_POLL_INTERVAL_MS = 2000;
/** One HTTP request's limit (ms), connect to last byte. */
export const NACOS_REQUEST_TIMEOUT_MS = 5000;
/** Largest instance-list reply read (bytes); a larger one is refused and the last list kept. */
export const NACOS_MAX_REPLY_BYTES = 4 * 1024 * 1024;
/** Most endpoints kept per service. */
export const NACOS_MAX_INSTANCES = 10_000;
/** Distinct problems remembered for "report once" (older ones are forgotten first). */
const MAX_REMEMBERED_PROBLEMS = 256;

export interface NacosSourceOptions {
  /** `nacos://host:port[,host:port][?namespace=..&group=..&username=..&password=..]` */
  readonly registry: string;
  readonly interface: string;
  readonly version?: string;
  readonly group?: string;
  /** Provider protocol to accept: `dubbo` (default) or `tri`. */
  readonly protocol?: string;
  readonly pollIntervalMs?: number;
  readonly requestTimeoutMs?: number;
  readonly maxReplyBytes?: number;
  readonly maxInstances?: number;
  /** Folder of the endpoint cache file; `false` turns the file off. Default endpoint-cache.ts' defaultCacheDir(). */
  readonly cacheDir?: string | false;
  /** Credentials (username, password) from the mapping; they override the URL's. */
  readonly access?: RegistryAccess;
  /** Told about registry trouble (for logs); never throws into the gateway. */
  readonly onError?: (err: Error) => void;
}

/** An EndpointSource that also says whether it has a list yet and whether Nacos answers. */
export interface NacosSource extends EndpointSource {
  /** Resolves true once a first list was read (from Nacos, or from the cache file while Nacos is down); false after `timeoutMs`. */
  ready(timeoutMs?: number): Promise<boolean>;
  /** Whether every read of the last round got a usable answer from Nacos. */
  connected(): boolean;
  /** Where the current list came from. */
  origin(): 'none' | 'registry' | 'cache';
}

function sameList(a: readonly Endpoint[], b: readonly Endpoint[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) {
    const x = a[i]!;
    const y = b[i]!;
    if (x.id !== y.id || x.weight !== y.weight || x.protocol !== y.protocol) return false;
    const xk = Object.keys(x.labels);
    if (xk.length !== Object.keys(y.labels).length) return false;
    for (const k of xk) if (x.labels[k] !== y.labels[k]) return false;
  }
  return true;
}

const clamp = (v: number | undefined, dflt: number, min: number, max: number): number =>
  v === undefined || !Number.isFinite(v) ? dflt : Math.min(max, Math.max(min, v));

/** Watches one Dubbo service's providers in Nacos. Starts reading at once; `close()` stops. */
export function createNacosSource(options: NacosSourceOptions): NacosSource {
  const selector: ServiceSelector = selectorOf(options);
  const pollMs = clamp(options.pollIntervalMs, NACOS_POLL_INTERVAL_MS, 50, 300_000);
  const timeoutMs = clamp(options.requestTimeoutMs, NACOS_REQUEST_TIMEOUT_MS, 50, 120_000);
  const maxBytes = clamp(options.maxReplyBytes, NACOS_MAX_REPLY_BYTES, 1024, 256 * 1024 * 1024);
  const maxInstances = clamp(options.maxInstances, NACOS_MAX_INSTANCES, 1, 1_000_000);

  const listeners = new EndpointListeners((err) => report(`listener:${err.message}`, err));
  const readySignal = new ReadySignal();
  // Problems already told, by key; swept each poll, so a problem that stops happening is told again when it returns.
  const problems = createProblemLog(options.onError, MAX_REMEMBERED_PROBLEMS);
  const report = (key: string, err: Error): void => problems.report(key, err);

  let registry: NacosRegistry | undefined;
  let names: string[] | undefined;
  try {
    registry = parseNacosRegistry(options.registry, options.access);
    names = nacosServiceNames(selector, registry.legacyNames);
    if (names === undefined) {
      report(
        'wildcard',
        new FerryError('FERRY_CONFIG_INVALID', `Nacos discovery of ${options.interface}: "*" versions or groups are not supported; name them`),
      );
    }
  } catch (err) {
    report('registry', err instanceof Error ? err : new Error(String(err)));
  }
  const serviceKey = names?.join(',') ?? options.interface;
  const cache: EndpointCache | undefined =
    registry !== undefined && registry.fileCache && options.cacheDir !== false
      ? createEndpointCache({
          registry: registry.display,
          service: `${serviceKey}?protocol=${selector.protocol ?? 'dubbo'}`,
          ...(options.cacheDir !== undefined ? { dir: options.cacheDir } : {}),
          onError: (err) => report(`cache:${err.message}`, err),
        })
      : undefined;

  let list: readonly Endpoint[] = Object.freeze([]);
  let origin: 'none' | 'registry' | 'cache' = 'none';
  let closed = false;
  let isConnected = false;
  let timer: NodeJS.Timeout | undefined;
  // Per service name, the last endpoints read from it: a name whose read fails keeps its share.
  const perName = new Map<string, readonly Endpoint[]>();
  const http: NacosHttp | undefined = registry !== undefined ? createNacosHttp(registry, timeoutMs) : undefined;

  const publish = (next: readonly Endpoint[], from: 'registry' | 'cache'): void => {
    if (next.length === 0 && list.length > 0) {
      // Empty protection (as Dubbo's consumers have it): a registry that suddenly lists nobody —
      // rnacos and Nacos in memory mode come back empty after a restart, before providers
      // re-register — does not empty the gateway. Endpoints that really died fail their health
      // checks and leave balancing on their own.
      report('empty-protected', new RegistryError(`Nacos lists no provider of ${serviceKey}; keeping the last ${list.length}`));
      readySignal.settle(true);
      return;
    }
    const first = origin === 'none';
    const changed = first || !sameList(list, next);
    origin = from;
    readySignal.settle(true);
    if (!changed) return;
    list = Object.freeze([...next]);
    if (from === 'registry') void cache?.write(list);
    listeners.tell(list);
  };

  /** Reads one service name; returns its endpoints, or undefined when it failed (reported). */
  async function readName(name: string): Promise<readonly Endpoint[] | undefined> {
    const r = registry!;
    const what = `Nacos ${r.display} service ${name}`;
    try {
      if (http === undefined) return undefined;
      const res = await http.get('/nacos/v1/ns/instance/list', { serviceName: name, groupName: r.group, healthyOnly: 'false' }, maxBytes, what);
      const text = res.text;
      if (res.status !== 200) {
        throw new RegistryError(`${what}: HTTP ${res.status} ${JSON.stringify(text.slice(0, 120))}`);
      }
      const sel = selectNacosProviders(parseInstanceList(text, name), selector, maxInstances);
      for (const bad of sel.invalid) {
        report(`invalid:${name}:${bad.instance}:${bad.problem}`, new RegistryError(`${what}: instance ${bad.instance} skipped: ${bad.problem}`));
      }
      if (sel.invalidCount > sel.invalid.length) {
        report(`invalid-more:${name}`, new RegistryError(`${what}: ${sel.invalidCount - sel.invalid.length} more malformed instances skipped`));
      }
      if (sel.truncatedFrom !== undefined) {
        report(`truncated:${name}`, new RegistryError(`${what}: ${sel.truncatedFrom} providers, only the first ${maxInstances} are used`));
      }
      return sel.endpoints;
    } catch (err) {
      if (closed) return undefined;
      const e = err instanceof RegistryError ? err : new RegistryError(`${what}: ${describeFetchError(err)}`, { cause: err });
      report(`read:${name}:${e.message.replace(/\d+ bytes/, 'N bytes')}`, e);
      return undefined;
    }
  }

  async function poll(): Promise<void> {
    if (closed || registry === undefined || names === undefined) return;
    let failed = false;
    for (const name of names) {
      const got = await readName(name);
      if (closed) return;
      if (got === undefined) failed = true;
      else perName.set(name, got);
    }
    isConnected = !failed;
    problems.sweep();
    if (perName.size === names.length) {
      publish(endpointsOf(perName), 'registry');
    } else if (origin === 'none' && cache !== undefined) {
      // Not every name has ever been read: the registry is down since start. Serve the file.
      const cached = await cache.read();
      if (closed) return;
      if (cached !== undefined && origin === 'none') {
        publish(cached, 'cache');
        report(
          'served-from-cache',
          new RegistryError(`Nacos ${registry.display} unreachable at start: serving ${cached.length} endpoints of ${serviceKey} from ${cache.path}`),
        );
      }
    }
  }

  const loop = async (): Promise<void> => {
    try {
      await poll();
    } catch (err) {
      // poll reports its own trouble; anything else is a bug, told and survived.
      report(`bug:${String(err)}`, err instanceof Error ? err : new Error(String(err)));
    }
    // A registry URL that could not be used was told once; there is nothing to poll.
    if (!closed && registry !== undefined && names !== undefined) {
      timer = setTimeout(() => void loop(), pollMs);
      timer.unref();
    }
  };
  void loop();

  return {
    current: () => list,
    subscribe: (listener) => listeners.subscribe(listener),
    ready(waitMs = 10_000) {
      if (origin !== 'none') return Promise.resolve(true);
      return readySignal.wait(waitMs);
    },
    connected: () => isConnected,
    origin: () => origin,
    async close() {
      if (closed) return;
      closed = true;
      if (timer !== undefined) clearTimeout(timer);
      http?.close();
      listeners.clear();
      readySignal.settle(false);
      isConnected = false;
    },
  };
}
