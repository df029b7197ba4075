/**
 * The composition root: loads the mapping folder, builds upstream clients, binders and the engine,
 * and starts the front ends, the admin server and the config watcher. Nothing below this file holds
 * global state; everything is passed down.
 */
import { propagation } from '@opentelemetry/api';
import { CompositePropagator, W3CBaggagePropagator, W3CTraceContextPropagator } from '@opentelemetry/core';
import { Registry } from 'prom-client';
import { ConfigError, keySource, problemsOf, type ConfigProblem } from '../config/errors.js';
import { loadConfigDir } from '../config/loader.js';
import type { DubboRoute, DubboService, FerryConfig, RouteConfig } from '../config/types.js';
import { FerryError } from '../errors/index.js';
import { createEngine, DEFAULT_MAX_BODY_BYTES, type RequestOutcome } from '../gateway/engine.js';
import { createDubboBinder, type DubboCaller } from '../gateway/dubbo-binder.js';
import { createGrpcBinding, type GrpcBinding } from '../gateway/grpc-binder.js';
import type { Engine, ProtocolBinder, UpstreamCallObserver } from '../gateway/types.js';
import { startAdminServer, type AdminServer } from './admin-server.js';
import { startExtProcServer, type ExtProcServer } from '../frontends/ext-proc/index.js';
import { startHttpFrontend, type HttpFrontend } from '../frontends/http/index.js';
import { generateOpenApi } from '../openapi/index.js';
import { watchConfig, type ConfigWatcher } from './config-watcher.js';
import { errorFields, type Logger } from './logger.js';
import { createShutdown, type ShutdownCoordinator } from './shutdown.js';
import { createMetrics, createTelemetry, type FerryMetrics, type Telemetry } from '../telemetry/index.js';
import { createStickiness, parseStickyKeys } from '../upstream/balance/sticky-cookie.js';
import { UpstreamRegistry } from '../upstream/clients.js';

/** How long a replaced config's gRPC channels stay open for calls that began on it. */
const RETIRED_CONFIG_GRACE_MS = 30_000;

export interface FerryOptions {
  readonly mappingsDir: string;
  readonly host?: string;
  /** HTTP port; 0 picks a free one. */
  readonly port: number;
  /** Envoy ext_proc gRPC port (0 picks a free one); no ext_proc service when absent. */
  readonly extProcPort?: number;
  /** Admin port (/metrics, /healthz, /readyz, /openapi.json); none when absent. */
  readonly adminPort?: number;
  readonly maxBodyBytes?: number;
  /** Dubbo heartbeat interval (idle time before a heartbeat), ms. */
  readonly heartbeatMs?: number;
  /** Keys for signed sticky cookies (first signs, all verify); default FERRY_STICKY_KEYS. */
  readonly stickyKeys?: readonly string[];
  /** Reload the mapping folder when its files change. */
  readonly watch?: boolean;
  /** Longest wait for requests in flight on close (default 10 s). */
  readonly drainTimeoutMs?: number;
  /** Request log and operational messages; silent when absent. */
  readonly logger?: Logger;
  readonly onOutcome?: (outcome: RequestOutcome) => void;
  /** Span helpers over the tracer the caller set up; without them no spans are built (context passes through). */
  readonly telemetry?: Telemetry;
  /** Steps to run last on close (e.g. flushing the tracing SDK). */
  readonly onClosed?: () => Promise<void>;
}

export interface RunningFerry {
  readonly httpPort: number;
  /** The ext_proc port, when it was asked for. */
  readonly extProcPort: number | undefined;
  /** The admin port, when it was asked for. */
  readonly adminPort: number | undefined;
  readonly metrics: FerryMetrics;
  readonly shutdown: ShutdownCoordinator;
  /** The engine new requests use. */
  engine(): Engine;
  /** The config new requests use. */
  config(): FerryConfig;
  /** Reloads the mapping folder; a bad folder throws ConfigError and the old config keeps serving. */
  reload(): Promise<void>;
  /** Stops accepting, drains in-flight requests, closes upstream pools. */
  close(): Promise<void>;
}

export interface EngineBuildOptions {
  readonly dubbo: ProtocolBinder<DubboService, DubboRoute>;
  readonly maxBodyBytes?: number;
  readonly onOutcome?: (outcome: RequestOutcome) => void;
  readonly telemetry?: Telemetry;
  /** Told about each gRPC / Triple call (the Dubbo binder is built by the caller with its own). */
  readonly observeCall?: UpstreamCallObserver;
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
  const grpc = createGrpcBinding({
    root: config.root,
    ...(opts.telemetry ? { telemetry: opts.telemetry } : {}),
    ...(opts.observeCall ? { observeCall: opts.observeCall } : {}),
  });
  try {
    const derivedRoutes: RouteConfig[] = [];
    const problems: ConfigProblem[] = [];
    for (const service of config.services.values()) {
      if (service.protocol === 'dubbo') continue;
      try {
        derivedRoutes.push(...grpc.routesFor(service));
      } catch (err) {
        problems.push(...problemsOf(err, service.source, `service "${service.name}": `));
      }
    }
    // Every service's proto problems at once, as the loader reports every file's.
    if (problems.length > 0) throw new ConfigError(problems);
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

/** Loads and binds a mapping folder without connecting anywhere (for `ferry validate`). */
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
  const log = opts.logger;
  const metrics = createMetrics(new Registry());
  const upstreams = new UpstreamRegistry({
    ...(opts.heartbeatMs !== undefined ? { heartbeatMs: opts.heartbeatMs } : {}),
    onEjection: (service, endpoint, ejected) => {
      if (ejected) metrics.recordEjection(service, endpoint);
      log?.warn(ejected ? 'endpoint ejected' : 'endpoint re-admitted', { service, endpoint });
    },
  });
  metrics.addUpstreamSource(() => upstreams.snapshots());
  // Without a tracer from the caller, no spans are built: W3C context passes through to upstreams.
  const telemetry = opts.telemetry ?? createTelemetry({ recording: false });
  const stickyKeys = opts.stickyKeys ?? parseStickyKeys(process.env['FERRY_STICKY_KEYS']);
  const dubbo = createDubboBinder({
    clientFor: (s) => upstreams.dubboClient(s),
    stickinessFor: (s) => {
      if (s.sticky === undefined) return undefined;
      try {
        return createStickiness({
          service: s.name,
          keys: stickyKeys,
          ...(s.sticky.cookie !== undefined ? { cookie: s.sticky.cookie } : {}),
          ...(s.sticky.hashOn !== undefined ? { hashOn: s.sticky.hashOn } : {}),
          ...(s.sticky.maxAgeSeconds !== undefined ? { maxAgeSeconds: s.sticky.maxAgeSeconds } : {}),
        });
      } catch (err) {
        // A missing signing key and the like are problems of the service's `sticky:`, so say where it is.
        throw new ConfigError(problemsOf(err, keySource(s, 'sticky')));
      }
    },
    telemetry,
    observeCall: metrics.observeUpstreamCall,
  });
  // Metrics and the access log are done after the reply is written: the engine reports an outcome
  // before the front end sends, so outcomes wait here for the end of the loop turn (setImmediate,
  // once per turn). Median latency at 1 connection, get-account, alternating wrk runs against both
  // builds: 0.293 → 0.279 ms and 0.315 → 0.285 ms.
  let settled: RequestOutcome[] = [];
  let accountingScheduled = false;
  const account = (): void => {
    const batch = settled;
    settled = [];
    accountingScheduled = false;
    for (const o of batch) {
      metrics.observeRequest({ route: o.routeId, method: o.method, status: o.status, durationMs: o.durationMs, ...(o.code ? { code: o.code } : {}) });
      log?.request({
        method: o.method,
        path: o.path,
        route: o.routeId,
        status: o.status,
        durationMs: o.durationMs,
        traceId: o.traceId,
        ...(o.code ? { code: o.code } : {}),
      });
    }
  };
  const onOutcome = (o: RequestOutcome): void => {
    settled.push(o);
    if (!accountingScheduled) {
      accountingScheduled = true;
      setImmediate(account);
    }
    opts.onOutcome?.(o);
  };
  const build = async (): Promise<BuiltEngine> =>
    buildEngine(await loadConfigDir(opts.mappingsDir), {
      dubbo,
      maxBodyBytes: opts.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES,
      telemetry,
      onOutcome,
      observeCall: metrics.observeUpstreamCall,
    });

  let current: BuiltEngine;
  try {
    current = await build();
  } catch (err) {
    // Binding may already have opened registry sessions and pools: close them, or the process lingers.
    await upstreams.close();
    throw err;
  }
  /** Builds the next config; on failure, drops clients that only the refused config asked for. */
  const buildNext = async (): Promise<BuiltEngine> => {
    try {
      return await build();
    } catch (err) {
      await upstreams.retainOnly(current.config);
      throw err;
    }
  };
  const swap = async (next: BuiltEngine): Promise<void> => {
    const previous = current;
    current = next;
    await upstreams.retainOnly(next.config);
    // Calls that started on the old config keep its gRPC channels until they are done.
    setTimeout(() => void previous.grpc.close(), RETIRED_CONFIG_GRACE_MS).unref();
  };

  const shutdown = createShutdown({
    drainTimeoutMs: opts.drainTimeoutMs ?? 10_000,
    ...(log ? { log: (msg: string, fields?: Record<string, unknown>) => log.info(msg, fields) } : {}),
  });
  let http: HttpFrontend | undefined;
  let extProc: ExtProcServer | undefined;
  let admin: AdminServer | undefined;
  let watcher: ConfigWatcher | undefined;
  shutdown.onStopAccepting({ name: 'stop watching', run: () => watcher?.close() });
  shutdown.onStopAccepting({ name: 'close http', run: () => http?.close() });
  shutdown.onStopAccepting({ name: 'close ext_proc', run: () => extProc?.close() });
  shutdown.onClose({ name: 'close upstreams', run: () => Promise.allSettled([upstreams.close(), current.grpc.close()]) });
  shutdown.onClose({ name: 'close admin', run: () => admin?.close() });
  if (opts.onClosed) shutdown.onClose({ name: 'flush telemetry', run: opts.onClosed });

  try {
    http = await startHttpFrontend({
      engine: () => current.engine,
      ...(opts.host !== undefined ? { host: opts.host } : {}),
      port: opts.port,
      trackRequest: () => {
        const done = shutdown.begin();
        metrics.requestStarted();
        return () => {
          done();
          metrics.requestFinished();
        };
      },
    });
    if (opts.extProcPort !== undefined) {
      extProc = await startExtProcServer({
        engine: () => current.engine,
        ...(opts.host !== undefined ? { host: opts.host } : {}),
        port: opts.extProcPort,
      });
    }
    if (opts.adminPort !== undefined) {
      admin = await startAdminServer({
        ...(opts.host !== undefined ? { host: opts.host } : {}),
        port: opts.adminPort,
        registry: metrics.registry,
        readiness: () => {
          if (shutdown.draining) return { ready: false, reasons: ['shutting down'] };
          const down = upstreams.unavailableServices(current.config);
          return { ready: down.length === 0, reasons: down.map((s) => `service ${s} has no available endpoint`) };
        },
        openapi: () => generateOpenApi(current.config),
      });
    }
    if (opts.watch) {
      watcher = await watchConfig(opts.mappingsDir, {
        load: buildNext,
        apply: swap,
        onApplied: (next) => {
          metrics.recordReload(true);
          log?.info('config reloaded', { routes: next.engine.routes.length });
        },
        onError: (err) => {
          metrics.recordReload(false);
          log?.error('config change refused; the previous config keeps serving', errorFields(err));
        },
      });
    }
  } catch (err) {
    await shutdown.shutdown('failed to start');
    throw err;
  }

  return {
    httpPort: http.port,
    extProcPort: extProc?.port,
    adminPort: admin?.port,
    metrics,
    shutdown,
    engine: () => current.engine,
    config: () => current.config,
    async reload() {
      await swap(await buildNext());
    },
    async close() {
      await shutdown.shutdown('close');
    },
  };
}
