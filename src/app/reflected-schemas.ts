/**
 * The schemas of `reflection:` services, fetched from their upstreams' gRPC server reflection at
 * start-up and at each reload, through the service's own client (its endpoints or registry, its
 * balancing and TLS), each within the service's `reflection:` budgets.
 *
 * When a fetch fails and no schema of that service arrived before, the service's routes answer 503
 * FERRY_GRPC_SCHEMA_UNAVAILABLE (as they would for an upstream that is down) while Ferry keeps
 * serving every other route, and asks again in the background with the one reconnect backoff; the
 * first schema that arrives rebuilds the config (`onArrived`). A failed fetch at a reload keeps the
 * schema fetched before. Why not refuse to start: one unreachable upstream must not take down a
 * gateway that serves many, and a refused start cannot recover by itself when the upstream comes up.
 */
import { performance } from 'node:perf_hooks';
import { Metadata } from '@grpc/grpc-js';
import type { FerryConfig, ProtoService } from '../config/types.js';
import { Backoff } from '../upstream/balance/backoff.js';
import type { ServiceUpstream } from '../upstream/clients.js';
import type { FileDesc } from '../upstream/grpc/descriptors.js';
import { fetchReflectedSchema } from '../upstream/grpc/reflection.js';

/** Background retries: 1 s doubling to 30 s (± 20 %). */
const RETRY = { initialMs: 1000, multiplier: 2, maxMs: 30_000 } as const;

interface Entry {
  /** What the schema was fetched for: a changed service (endpoints, name, budgets) fetches anew. */
  key: string;
  files: readonly FileDesc[] | undefined;
  failure: string | undefined;
  retry: { timer: NodeJS.Timeout | undefined; backoff: Backoff } | undefined;
}

export interface ReflectedSchemasOptions {
  readonly clientFor: (service: ProtoService) => ServiceUpstream;
  /** A background fetch brought a service its first schema: build the config again. */
  readonly onArrived: (service: string) => void;
  readonly log?: { warn(msg: string, fields?: Record<string, unknown>): void; info(msg: string, fields?: Record<string, unknown>): void };
}

export interface ReflectedSchemas {
  /** Fetches the schema of every `reflection:` service of `config` (all at once, each within its timeout). */
  refresh(config: FerryConfig): Promise<void>;
  files(service: ProtoService): readonly FileDesc[] | undefined;
  failure(service: ProtoService): string | undefined;
  /** `/readyz` notes: the reflection services without a schema, and why. */
  notes(config: FerryConfig): string[];
  close(): void;
}

const keyOf = (s: ProtoService): string =>
  JSON.stringify([s.service, s.endpoints, s.registry, s.registries?.map((r) => r.registry), s.reflection, s.tls?.servername]);

export function createReflectedSchemas(opts: ReflectedSchemasOptions): ReflectedSchemas {
  const entries = new Map<string, Entry>();
  let closed = false;

  async function fetchOne(service: ProtoService): Promise<readonly FileDesc[]> {
    const settings = service.reflection!;
    const u = opts.clientFor(service);
    if (u.protocol === 'dubbo') throw new Error(`service ${service.name} is not a gRPC service`);
    const schema = await fetchReflectedSchema(
      (path, requests, deadline) =>
        u.client.serverStream(path, requests, { metadata: new Metadata(), deadline: performance.now() + Math.max(1, deadline - Date.now()) }),
      `service "${service.name}"`,
      [service.service],
      settings,
    );
    return schema.files;
  }

  function scheduleRetry(service: ProtoService, entry: Entry): void {
    if (closed || entry.retry?.timer !== undefined) return;
    entry.retry ??= { timer: undefined, backoff: new Backoff(RETRY) };
    const retry = entry.retry;
    retry.timer = setTimeout(() => {
      retry.timer = undefined;
      if (closed || entries.get(service.name) !== entry) return;
      fetchOne(service).then(
        (files) => {
          if (closed || entries.get(service.name) !== entry) return;
          const first = entry.files === undefined;
          entry.files = files;
          entry.failure = undefined;
          retry.backoff.reset();
          opts.log?.info('gRPC schema arrived from the reflection service', { service: service.name, files: files.length });
          if (first) opts.onArrived(service.name);
        },
        (err: unknown) => {
          entry.failure = err instanceof Error ? err.message : String(err);
          if (entry.files === undefined) scheduleRetry(service, entry);
        },
      );
    }, retry.backoff.next());
    retry.timer.unref();
  }

  return {
    async refresh(config) {
      const services = [...config.services.values()].filter((s): s is ProtoService => s.protocol !== 'dubbo' && s.reflection !== undefined);
      for (const [name, e] of entries) {
        const s = config.services.get(name);
        if (s === undefined || s.protocol === 'dubbo' || keyOf(s) !== e.key) {
          if (e.retry?.timer !== undefined) clearTimeout(e.retry.timer);
          entries.delete(name);
        }
      }
      await Promise.all(
        services.map(async (service) => {
          let entry = entries.get(service.name);
          if (entry === undefined) {
            entry = { key: keyOf(service), files: undefined, failure: undefined, retry: undefined };
            entries.set(service.name, entry);
          }
          try {
            entry.files = await fetchOne(service);
            entry.failure = undefined;
          } catch (err) {
            entry.failure = err instanceof Error ? err.message : String(err);
            opts.log?.warn(
              entry.files !== undefined
                ? 'gRPC reflection failed; the schema fetched before stays in use'
                : "gRPC reflection failed; the service's routes answer 503 until its schema arrives",
              { service: service.name, error: entry.failure },
            );
            if (entry.files === undefined) scheduleRetry(service, entry);
          }
        }),
      );
    },
    files: (service) => entries.get(service.name)?.files,
    failure: (service) => entries.get(service.name)?.failure,
    notes(config) {
      const out: string[] = [];
      for (const [name, e] of entries) {
        if (e.files === undefined && config.services.has(name))
          out.push(`service ${name}: no schema from its reflection service yet (${e.failure ?? 'fetching'})`);
      }
      return out;
    },
    close() {
      closed = true;
      for (const e of entries.values()) if (e.retry?.timer !== undefined) clearTimeout(e.retry.timer);
    },
  };
}
