/**
 * Contracts between the engine and the per-protocol bindings. A binding turns one configured
 * route into a RouteHandler once, when the config is compiled; the hot path only calls handlers.
 */
import type { Context } from '@opentelemetry/api';
import type { FerryConfig, RouteConfig, ServiceConfig } from '../config/types.js';
import type { GatewayRequest, GatewayResponse } from '../exchange/index.js';

/** What a handler knows about the call beyond the request itself. */
export interface CallContext {
  /** Absolute deadline in `performance.now()` milliseconds. */
  readonly deadline: number;
  /** OpenTelemetry context holding the SERVER span; CLIENT spans start under it. */
  readonly otel: Context;
  /** Route id, for errors and telemetry. */
  readonly routeId: string;
  /** Claims a policy verified (JWT, API key); `from: claim.X` reads them. */
  readonly claims?: Readonly<Record<string, unknown>>;
  /** The config the request is served on (a handler kept across a reload reads per-config data from it). */
  readonly config?: FerryConfig;
}

export interface RouteHandler {
  /** Whether the route reads the request body (ext_proc asks Envoy for the body only then). */
  readonly needsBody: boolean;
  /**
   * Maps the request, calls the upstream and maps the result back. Rejects only with FerryError
   * (the engine turns it into a problem+json reply).
   */
  handle(req: GatewayRequest, params: Readonly<Record<string, string>>, ctx: CallContext): Promise<GatewayResponse>;
}

/**
 * Told once per finished upstream call (metrics): the config's service name, the RPC method, how
 * long the call took, and the FERRY code when it failed (undefined on success).
 */
export type UpstreamCallObserver = (service: string, method: string, durationMs: number, code: string | undefined) => void;

/**
 * Builds handlers for the routes of one protocol, given routes and services already narrowed to it.
 * Throws ConfigError for routes it cannot serve.
 */
export interface ProtocolBinder<S extends ServiceConfig = ServiceConfig, R extends RouteConfig = RouteConfig> {
  bind(route: R, service: S, config: FerryConfig): RouteHandler;
  /**
   * Whether `previous`, bound by a binder of this kind for an earlier config, is exactly what
   * `bind(route, service, config)` would return now (a reload then keeps it). Absent: never.
   */
  reusable?(previous: RouteHandler, route: R, service: S, config: FerryConfig): boolean;
}

/** The result of matching method + path against the route table. */
export interface RouteMatch {
  readonly routeId: string;
  readonly needsBody: boolean;
  readonly params: Readonly<Record<string, string>>;
  /** The route's time budget (its own timeout or its service's), ms: front ends with a clock of their own (Envoy's) plan with it. */
  readonly timeoutMs: number;
  /** The mapping's name of the upstream service the route calls. */
  readonly serviceName: string;
}

/**
 * What front ends call. One Engine serves one compiled config; a reload builds a new Engine, and
 * calls in flight finish on the one they started with.
 */
export interface Engine {
  /** The route for method + path, or undefined when none matches (ext_proc then answers CONTINUE). */
  match(method: string, path: string): RouteMatch | undefined;
  /**
   * Runs match → map → invoke → map back. Never rejects: every failure becomes a problem+json
   * response. Pass `match` when the caller already matched (ext_proc does, to decide on the body).
   * Extracts W3C trace context from the request headers and opens the SERVER span.
   */
  handle(req: import('../exchange/index.js').GatewayRequest, match?: RouteMatch): Promise<GatewayResponse>;
  /** Largest request body accepted, in bytes. */
  readonly maxBodyBytes: number;
}
