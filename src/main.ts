/**
 * The composition root: loads the mapping folder, builds upstream clients, binders and the engine,
 * and starts the front ends. Nothing below this file holds global state; everything is passed down.
 */
import { propagation } from '@opentelemetry/api';
import { CompositePropagator, W3CBaggagePropagator, W3CTraceContextPropagator } from '@opentelemetry/core';
import { loadConfigDir } from './config/loader.js';
import type { FerryConfig, RouteConfig, ServiceConfig } from './config/types.js';
import { FerryError } from './errors/index.js';
import { createEngine, DEFAULT_MAX_BODY_BYTES, type RequestOutcome } from './gateway/engine.js';
import { createDubboBinder, type DubboCaller } from './gateway/dubbo-binder.js';
import { createGrpcBinding, type GrpcBinding } from './gateway/grpc-binder.js';
import type { Engine, ProtocolBinder } from './gateway/types.js';
import { startHttpFrontend, type HttpFrontend } from './frontends/http/index.js';
import { startExtProcServer, type ExtProcServer } from './frontends/ext-proc/index.js';
import { createDubboClient } from './upstream/dubbo/client.js';
import { balanceKindFor, createBalancer } from './upstream/balance/create-balancer.js';
import { createOutlierDetector } from './upstream/balance/outlier.js';
import { createStickiness, parseStickyKeys } from './upstream/balance/sticky-cookie.js';
import { createZooKeeperSource, type ZooKeeperSource } from './upstream/discovery/zookeeper.js';
import { createTelemetry, type Telemetry } from './telemetry/index.js';

/** How long a replaced config's gRPC channels stay open for calls that began on it. */
const RETIRED_CONFIG_GRACE_MS = 30_000;

export interface FerryOptions {
  readonly mappingsDir: string;
  readonly host?: string;
  /** HTTP port; 0 picks a free one. */
  readonly port: number;
  /** Envoy ext_proc gRPC port (0 picks a free one); no ext_proc service when absent. */
  readonly extProcPort?: number;
  readonly maxBodyBytes?: number;
  /** Dubbo heartbeat interval (idle time before a heartbeat), ms. */
  readonly heartbeatMs?: number;
  /** Keys for signed sticky cookies (first signs, all verify); default FERRY_STICKY_KEYS. */
  readonly stickyKeys?: readonly string[];
  readonly onOutcome?: (outcome: RequestOutcome) => void;
  /** Span helpers over the tracer the caller set up (default: the global tracer provider). */
  readonly telemetry?: Telemetry;
}

export interface RunningFerry {
  readonly httpPort: number;
  /** The ext_proc port, when it was asked for. */
  readonly extProcPort: number | undefined;
  /** The engine new requests use. */
  engine(): Engine;
  /** Reloads the mapping folder; a bad folder throws ConfigError and the old config keeps serving. */
  reload(): Promise<void>;
  /** Stops accepting, drains in-flight requests, closes upstream pools. */
  close(): Promise<void>;
}

/** A service's connection identity: a reload keeps a client when this is unchanged. */
function upstreamKey(s: ServiceConfig): string {
  return JSON.stringify([s.protocol, s.interface, s.version, s.group, s.endpoints, s.registry, s.connectionsPerEndpoint, balanceKindFor(s)]);
}

interface ManagedClient extends DubboCaller {
  readonly source: ZooKeeperSource | undefined;
  close(): Promise<void>;
}

/** Keeps upstream clients across reloads and closes the ones a new config no longer uses. */
export class UpstreamRegistry {
  private readonly dubbo = new Map<string, ManagedClient>();

  constructor(private readonly opts: { heartbeatMs?: number }) {}

  dubboClient(service: ServiceConfig): DubboCaller {
    const key = upstreamKey(service);
    let managed = this.dubbo.get(key);
    if (!managed) {
      const source =
        service.registry === undefined
          ? undefined
          : createZooKeeperSource({
              connectString: service.registry,
              interface: service.interface!,
              ...(service.version !== undefined ? { version: service.version } : {}),
              ...(service.group !== undefined ? { group: service.group } : {}),
            });
      const outlier = createOutlierDetector();
      const client = createDubboClient({
        endpoints: source ?? service.endpoints,
        connectionsPerEndpoint: service.connectionsPerEndpoint,
        balancer: createBalancer(balanceKindFor(service), { outlier }),
        ...(this.opts.heartbeatMs !== undefined ? { heartbeatMs: this.opts.heartbeatMs } : {}),
      });
      managed = {
        source,
        outlier,
        call: (body, callOpts) => client.call(body, callOpts),
        async close() {
          await client.close();
          await source?.close();
        },
      };
      this.dubbo.set(key, managed);
    }
    return managed;
  }

  /** Closes clients whose services are not in `config`. */
  async retainOnly(config: FerryConfig): Promise<void> {
    const keep = new Set([...config.services.values()].map(upstreamKey));
    const closing: Promise<void>[] = [];
    for (const [key, client] of this.dubbo) {
      if (!keep.has(key)) {
        this.dubbo.delete(key);
        closing.push(client.close());
      }
    }
    await Promise.allSettled(closing);
  }

  async close(): Promise<void> {
    await Promise.allSettled([...this.dubbo.values()].map((c) => c.close()));
    this.dubbo.clear();
  }
}

export interface EngineBuildOptions {
  readonly dubbo: ProtocolBinder;
  readonly maxBodyBytes?: number;
  readonly onOutcome?: (outcome: RequestOutcome) => void;
  readonly telemetry?: Telemetry;
}

export interface BuiltEngine {
  readonly config: FerryConfig;
  readonly engine: Engine & { readonly routes: readonly RouteConfig[] };
  /** gRPC/Triple channels of this config; closed when the config is retired. */
  readonly grpc: GrpcBinding;
}

/**
 * Builds an engine for a loaded config: Dubbo routes through the shared Dubbo binder, gRPC and
 * Triple routes (YAML ones plus those derived from google.api.http options) through a binding of
 * their own. Throws ConfigError when a route cannot be bound.
 */
export function buildEngine(config: FerryConfig, opts: EngineBuildOptions): BuiltEngine {
  const grpc = createGrpcBinding({ root: config.root, ...(opts.telemetry ? { telemetry: opts.telemetry } : {}) });
  try {
    const derivedRoutes: RouteConfig[] = [];
    for (const service of config.services.values()) {
      if (service.protocol !== 'dubbo') derivedRoutes.push(...grpc.routesFor(service));
    }
    const engine = createEngine({
      config,
      binders: { dubbo: opts.dubbo, grpc: grpc.binder, triple: grpc.binder },
      derivedRoutes,
      maxBodyBytes: opts.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES,
      ...(opts.onOutcome ? { onOutcome: opts.onOutcome } : {}),
      ...(opts.telemetry ? { telemetry: opts.telemetry } : {}),
    });
    return { config, engine, grpc };
  } catch (err) {
    void grpc.close();
    throw err;
  }
}

export async function validateMappings(dir: string): Promise<Omit<BuiltEngine, 'grpc'>> {
  const config = await loadConfigDir(dir);
  const offline: DubboCaller = {
    call: () => Promise.reject(new FerryError('FERRY_UPSTREAM_UNAVAILABLE', 'validation does not call upstreams')),
  };
  const built = buildEngine(config, { dubbo: createDubboBinder({ clientFor: () => offline }) });
  await built.grpc.close();
  return { config, engine: built.engine };
}

/**
 * W3C trace context is honoured even when no tracing SDK runs: an incoming traceparent reaches the
 * providers and the problem documents. (An SDK registers its own propagator first; this then no-ops.)
 */
function ensurePropagator(): void {
  propagation.setGlobalPropagator(
    new CompositePropagator({ propagators: [new W3CTraceContextPropagator(), new W3CBaggagePropagator()] }),
  );
}

export async function startFerry(opts: FerryOptions): Promise<RunningFerry> {
  ensurePropagator();
  const upstreams = new UpstreamRegistry({ ...(opts.heartbeatMs !== undefined ? { heartbeatMs: opts.heartbeatMs } : {}) });
  const telemetry = opts.telemetry ?? createTelemetry();
  const stickyKeys = opts.stickyKeys ?? parseStickyKeys(process.env['FERRY_STICKY_KEYS']);
  const binders = {
    dubbo: createDubboBinder({
      clientFor: (s) => upstreams.dubboClient(s),
      stickinessFor: (s) =>
        s.sticky &&
        createStickiness({
          service: s.name,
          keys: stickyKeys,
          ...(s.sticky.cookie !== undefined ? { cookie: s.sticky.cookie } : {}),
          ...(s.sticky.hashOn !== undefined ? { hashOn: s.sticky.hashOn } : {}),
          ...(s.sticky.maxAgeSeconds !== undefined ? { maxAgeSeconds: s.sticky.maxAgeSeconds } : {}),
        }),
      telemetry,
    }),
  };
  const build = async (): Promise<BuiltEngine> => {
    const config = await loadConfigDir(opts.mappingsDir);
    return buildEngine(config, {
      dubbo: binders.dubbo,
      maxBodyBytes: opts.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES,
      telemetry,
      ...(opts.onOutcome ? { onOutcome: opts.onOutcome } : {}),
    });
  };
  let current = await build();
  let inFlight = 0;
  let http: HttpFrontend;
  try {
    http = await startHttpFrontend({
      engine: () => current.engine,
      ...(opts.host !== undefined ? { host: opts.host } : {}),
      port: opts.port,
      onRequestStart: () => inFlight++,
      onRequestEnd: () => inFlight--,
    });
  } catch (err) {
    await Promise.allSettled([upstreams.close(), current.grpc.close()]);
    throw err;
  }
  let extProc: ExtProcServer | undefined;
  if (opts.extProcPort !== undefined) {
    try {
      extProc = await startExtProcServer({
        engine: () => current.engine,
        ...(opts.host !== undefined ? { host: opts.host } : {}),
        port: opts.extProcPort,
      });
    } catch (err) {
      await http.close();
      await Promise.allSettled([upstreams.close(), current.grpc.close()]);
      throw err;
    }
  }
  return {
    httpPort: http.port,
    extProcPort: extProc?.port,
    engine: () => current.engine,
    async reload() {
      const next = await build();
      const previous = current;
      current = next;
      await upstreams.retainOnly(next.config);
      // Calls that started on the old config keep its gRPC channels until they are done.
      setTimeout(() => void previous.grpc.close(), RETIRED_CONFIG_GRACE_MS).unref();
    },
    async close() {
      await Promise.allSettled([http.close(), extProc?.close()]);
      await Promise.allSettled([upstreams.close(), current.grpc.close()]);
      void inFlight;
    },
  };
}
