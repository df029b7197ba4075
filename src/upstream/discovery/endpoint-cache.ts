/**
 * The on-disk copy of a registry's last known endpoints, one small JSON file per registry and
 * service (as Dubbo's consumers keep `~/.dubbo/dubbo-registry-*.cache`): written when the list
 * read from the registry changes, read at start only when the registry cannot be reached, so that
 * a Ferry restarted during a registry outage still serves the providers it knew.
 *
 * Hostile or stale files are budgeted like any registry answer: a size limit, an entry limit, each
 * entry checked; a bad entry is skipped, a bad file is ignored. Nothing here throws into a source.
 */
import { safeSink } from './problem-log.js';
import { createHash } from 'node:crypto';
import { mkdir, open, rename, unlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RegistryError } from '../../errors/index.js';
import type { Endpoint } from './types.js';

/** Largest cache file read (bytes). */
export const ENDPOINT_CACHE_MAX_BYTES = 8 * 1024 * 1024;
/** Most endpoints read from one cache file. */
export const ENDPOINT_CACHE_MAX_ENDPOINTS = 10_000;
const FORMAT = 'ferry-endpoint-cache/1';

/**
 * Where cache files go unless a source is told otherwise: `FERRY_REGISTRY_CACHE_DIR`, else
 * `<os temp dir>/ferry-registry-cache`.
 */
export function defaultCacheDir(): string {
  const fromEnv = process.env['FERRY_REGISTRY_CACHE_DIR'];
  return fromEnv !== undefined && fromEnv !== '' ? fromEnv : join(tmpdir(), 'ferry-registry-cache');
}

/** The file of one registry and service: readable names, plus a hash of the exact key. */
export function cacheFileName(registry: string, service: string): string {
  const clean = (s: string): string => s.replace(/[^A-Za-z0-9._-]+/g, '_').slice(0, 80);
  const hash = createHash('sha256').update(`${registry}\n${service}`).digest('hex').slice(0, 16);
  return `${clean(registry)}--${clean(service)}--${hash}.json`;
}

function isStringMap(v: unknown): v is Record<string, string> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return false;
  return Object.values(v).every((x) => typeof x === 'string');
}

/** One cached entry back into an endpoint, or undefined when it is not one. */
function toEndpoint(raw: unknown): Endpoint | undefined {
  if (typeof raw !== 'object' || raw === null) return undefined;
  const r = raw as Record<string, unknown>;
  const { id, host, port, protocol, weight, warmupStartMs, labels, cluster, priority } = r;
  if (typeof id !== 'string' || typeof host !== 'string' || host === '' || typeof protocol !== 'string') return undefined;
  if (typeof port !== 'number' || !Number.isInteger(port) || port < 1 || port > 65535) return undefined;
  if (typeof weight !== 'number' || !Number.isInteger(weight) || weight < 0) return undefined;
  if (warmupStartMs !== undefined && warmupStartMs !== null && (typeof warmupStartMs !== 'number' || !Number.isFinite(warmupStartMs)))
    return undefined;
  if (!isStringMap(labels) || typeof cluster !== 'string' || typeof priority !== 'number' || !Number.isInteger(priority)) return undefined;
  const expectedId = host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
  if (id !== expectedId) return undefined;
  return Object.freeze({
    id,
    host,
    port,
    protocol,
    weight,
    warmupStartMs: typeof warmupStartMs === 'number' ? warmupStartMs : undefined,
    labels: Object.freeze({ ...labels }),
    cluster,
    priority,
  });
}

/** A cache file's contents (text) → its endpoints. Throws RegistryError (FERRY_REGISTRY_ERROR) for a file that is not one. */
export function parseCacheFile(text: string, registry: string, service: string): Endpoint[] {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new RegistryError(`cache file of ${service} (${registry}) is not JSON`);
  }
  const v = value as { format?: unknown; registry?: unknown; service?: unknown; endpoints?: unknown } | null;
  if (typeof v !== 'object' || v === null || v.format !== FORMAT || !Array.isArray(v.endpoints)) {
    throw new RegistryError(`cache file of ${service} (${registry}) is not a ${FORMAT} file`);
  }
  if (v.registry !== registry || v.service !== service) {
    throw new RegistryError(`cache file of ${service} (${registry}) belongs to ${String(v.service)} (${String(v.registry)})`);
  }
  const out: Endpoint[] = [];
  const seen = new Set<string>();
  for (const raw of v.endpoints.slice(0, ENDPOINT_CACHE_MAX_ENDPOINTS)) {
    const e = toEndpoint(raw);
    if (e === undefined || seen.has(e.id)) continue;
    seen.add(e.id);
    out.push(e);
  }
  return out;
}

/** The text written for a list. */
export function formatCacheFile(registry: string, service: string, endpoints: readonly Endpoint[]): string {
  return JSON.stringify({
    format: FORMAT,
    registry,
    service,
    writtenAt: new Date().toISOString(),
    endpoints: endpoints.map((e) => ({ ...e, warmupStartMs: e.warmupStartMs ?? null })),
  });
}

export interface EndpointCache {
  /** The cached list, or undefined when there is none or it cannot be used (told to onError). */
  read(): Promise<Endpoint[] | undefined>;
  /** Replaces the file with `endpoints` (the latest wins when writes overlap). Never rejects. */
  write(endpoints: readonly Endpoint[]): Promise<void>;
  /** The file's path. */
  readonly path: string;
}

export interface EndpointCacheOptions {
  /** Folder of the cache files (created when first written); default {@link defaultCacheDir}. */
  readonly dir?: string;
  /** The registry's identity (no credentials). */
  readonly registry: string;
  /** The service's identity inside the registry (e.g. Nacos service names, ZooKeeper path). */
  readonly service: string;
  readonly onError?: (err: Error) => void;
}

/** A cache file for one registry and service. */
export function createEndpointCache(options: EndpointCacheOptions): EndpointCache {
  const dir = options.dir ?? defaultCacheDir();
  const path = join(dir, cacheFileName(options.registry, options.service));
  const sink = safeSink(options.onError);
  const report = (err: unknown): void => sink(err instanceof Error ? err : new Error(String(err)));
  let writing: Promise<void> | undefined;
  let pending: readonly Endpoint[] | undefined;

  const writeOnce = async (endpoints: readonly Endpoint[]): Promise<void> => {
    const tmp = `${path}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`;
    try {
      await mkdir(dir, { recursive: true });
      const fh = await open(tmp, 'w', 0o600);
      try {
        await fh.writeFile(formatCacheFile(options.registry, options.service, endpoints));
      } finally {
        await fh.close();
      }
      // rename is atomic: a reader sees the old file or the new one, never half of one
      await rename(tmp, path);
    } catch (err) {
      await unlink(tmp).catch(() => {});
      report(new RegistryError(`cannot write the endpoint cache ${path}: ${(err as Error).message}`, { cause: err }));
    }
  };

  return {
    path,
    async read() {
      let text: string;
      try {
        const fh = await open(path, 'r');
        try {
          const { size } = await fh.stat();
          if (size > ENDPOINT_CACHE_MAX_BYTES) {
            report(new RegistryError(`endpoint cache ${path} is ${size} bytes (limit ${ENDPOINT_CACHE_MAX_BYTES}); not read`));
            return undefined;
          }
          text = await fh.readFile('utf8');
        } finally {
          await fh.close();
        }
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT') {
          report(new RegistryError(`cannot read the endpoint cache ${path}: ${(err as Error).message}`, { cause: err }));
        }
        return undefined;
      }
      try {
        return parseCacheFile(text, options.registry, options.service);
      } catch (err) {
        report(err);
        return undefined;
      }
    },
    write(endpoints) {
      pending = endpoints;
      if (writing !== undefined) return writing;
      writing = (async () => {
        while (pending !== undefined) {
          const next = pending;
          pending = undefined;
          await writeOnce(next);
        }
        writing = undefined;
      })();
      return writing;
    },
  };
}
