/**
 * MetadataInfo per (application, revision), fetched once however many instances share the
 * revision (thousands of instances of one build share one), and kept in a bounded LRU. A fetch
 * asks up to `maxInstancesTried` instances of that revision in turn, each within `timeoutMs`; when
 * all fail the revision is not asked again before a back-off (2 s doubling to 60 s), so a broken
 * provider is not hammered on every registry event.
 *
 * How a MetadataInfo is loaded is injected (`load`): from the metadata report, from the instance's
 * own MetadataService over the dubbo protocol (src/upstream/metadata-service.ts), or both; the
 * store only decides when and from whom.
 */
import { RegistryError } from '../../errors/index.js';
import type { MetadataInfo, ServiceInstance } from './service-instance.js';

/** Loads the MetadataInfo of `revision` from (or about) one instance. Rejects when it cannot. */
export type FetchMetadataInfo = (instance: ServiceInstance, revision: string, options: { readonly timeoutMs: number }) => Promise<MetadataInfo>;

export interface MetadataStoreOptions {
  readonly load: FetchMetadataInfo;
  /** One attempt's limit (default 5000 ms). */
  readonly timeoutMs?: number;
  /** Revisions kept (default 1024). */
  readonly maxEntries?: number;
  /** Approximate bytes kept (default 32 MiB); the least recently used go first. */
  readonly maxBytes?: number;
  /** Fetches running at once, all revisions together (default 4). */
  readonly maxConcurrent?: number;
  /** Instances of a revision asked before the revision counts as failed (default 3). */
  readonly maxInstancesTried?: number;
  /** First back-off after a failed revision (default 2000 ms), doubled per failure up to `retryMaxMs` (default 60 000). */
  readonly retryMinMs?: number;
  readonly retryMaxMs?: number;
  readonly now?: () => number;
}

export type MetadataLookup =
  { readonly kind: 'found'; readonly info: MetadataInfo } | { readonly kind: 'failed'; readonly error: RegistryError; readonly retryAt: number };

export interface MetadataInfoStore {
  /** The cached MetadataInfo, if any (counts as a use). */
  peek(app: string, revision: string): MetadataInfo | undefined;
  /** The cached MetadataInfo, or a fetch from `candidates` (instances with that revision); shared by concurrent callers. */
  get(app: string, revision: string, candidates: readonly ServiceInstance[]): Promise<MetadataLookup>;
  /** Entries and approximate bytes held (for tests and metrics). */
  stats(): { readonly entries: number; readonly bytes: number; readonly failures: number };
}

export const DEFAULT_METADATA_TIMEOUT_MS = 5_000;
export const DEFAULT_METADATA_CACHE_ENTRIES = 1_024;
export const DEFAULT_METADATA_CACHE_BYTES = 32 * 1024 * 1024;

interface Failure {
  readonly error: RegistryError;
  readonly retryAt: number;
  readonly count: number;
}

const keyOf = (app: string, revision: string): string => `${app}\u0000${revision}`;

function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new RegistryError(`${what} did not answer within ${ms} ms`)), ms);
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}

export function createMetadataInfoStore(options: MetadataStoreOptions): MetadataInfoStore {
  const timeoutMs = options.timeoutMs ?? DEFAULT_METADATA_TIMEOUT_MS;
  const maxEntries = options.maxEntries ?? DEFAULT_METADATA_CACHE_ENTRIES;
  const maxBytes = options.maxBytes ?? DEFAULT_METADATA_CACHE_BYTES;
  const maxConcurrent = Math.max(1, options.maxConcurrent ?? 4);
  const maxTried = Math.max(1, options.maxInstancesTried ?? 3);
  const retryMin = options.retryMinMs ?? 2_000;
  const retryMax = options.retryMaxMs ?? 60_000;
  const now = options.now ?? Date.now;

  /** Insertion order = use order (oldest first). */
  const cache = new Map<string, MetadataInfo>();
  let bytes = 0;
  const failures = new Map<string, Failure>();
  const inFlight = new Map<string, Promise<MetadataLookup>>();
  let running = 0;
  const waiting: Array<() => void> = [];
  let rotate = 0;

  const slot = async (): Promise<void> => {
    if (running < maxConcurrent) {
      running++;
      return;
    }
    await new Promise<void>((resolve) => waiting.push(resolve));
    running++;
  };
  const release = (): void => {
    running--;
    waiting.shift()?.();
  };

  const remember = (key: string, info: MetadataInfo): void => {
    const old = cache.get(key);
    if (old !== undefined) {
      cache.delete(key);
      bytes -= old.approxBytes;
    }
    // One MetadataInfo over the whole budget is still returned to its callers, just not kept.
    if (info.approxBytes > maxBytes) return;
    cache.set(key, info);
    bytes += info.approxBytes;
    while (cache.size > maxEntries || bytes > maxBytes) {
      const [oldestKey, oldest] = cache.entries().next().value as [string, MetadataInfo];
      cache.delete(oldestKey);
      bytes -= oldest.approxBytes;
    }
  };

  const fail = (key: string, error: RegistryError): MetadataLookup => {
    const count = (failures.get(key)?.count ?? 0) + 1;
    const delay = Math.min(retryMax, retryMin * 2 ** Math.min(count - 1, 20));
    const f: Failure = { error, retryAt: now() + delay, count };
    failures.delete(key);
    failures.set(key, f);
    // Failures are few (one per broken revision) but bounded all the same.
    while (failures.size > maxEntries) failures.delete(failures.keys().next().value as string);
    return { kind: 'failed', error, retryAt: f.retryAt };
  };

  const fetch = async (app: string, revision: string, candidates: readonly ServiceInstance[]): Promise<MetadataLookup> => {
    const key = keyOf(app, revision);
    const tried: string[] = [];
    await slot();
    try {
      const n = candidates.length;
      const start = n > 0 ? rotate++ % n : 0;
      for (let i = 0; i < Math.min(n, maxTried); i++) {
        const instance = candidates[(start + i) % n]!;
        try {
          const info = await withTimeout(
            options.load(instance, revision, { timeoutMs }),
            timeoutMs,
            `MetadataInfo of ${app} revision ${revision} from ${instance.id}`,
          );
          failures.delete(key);
          remember(key, info);
          return { kind: 'found', info };
        } catch (err) {
          tried.push(`${instance.where}: ${err instanceof Error ? err.message : String(err)}`);
        }
      }
    } finally {
      release();
    }
    const message =
      tried.length === 0
        ? `MetadataInfo of application ${app} revision ${revision}: no instance to ask`
        : `MetadataInfo of application ${app} revision ${revision} could not be read (instances with that revision are skipped until it can): ${tried.join('; ')}`;
    return fail(key, new RegistryError(message));
  };

  return {
    peek(app, revision) {
      const key = keyOf(app, revision);
      const info = cache.get(key);
      if (info !== undefined) {
        cache.delete(key);
        cache.set(key, info);
      }
      return info;
    },
    get(app, revision, candidates) {
      const key = keyOf(app, revision);
      const cached = this.peek(app, revision);
      if (cached !== undefined) return Promise.resolve({ kind: 'found', info: cached });
      const running = inFlight.get(key);
      if (running !== undefined) return running;
      const failed = failures.get(key);
      if (failed !== undefined && now() < failed.retryAt) return Promise.resolve({ kind: 'failed', error: failed.error, retryAt: failed.retryAt });
      const p = fetch(app, revision, candidates).finally(() => inFlight.delete(key));
      inFlight.set(key, p);
      return p;
    },
    stats: () => ({ entries: cache.size, bytes, failures: failures.size }),
  };
}
