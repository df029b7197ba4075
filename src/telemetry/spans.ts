/**
 * SERVER and CLIENT spans with the HTTP and RPC semantic conventions. The gateway opens one SERVER
 * span per request and each upstream binding one CLIENT span per call; only names, templates,
 * addresses and status codes go into attributes, never argument values, bodies or header values.
 */
import { context as apiContext, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import type { Attributes, Context, Span, Tracer } from '@opentelemetry/api';
import { isFerryError } from '../errors/index.js';
import { errorDescription, errorType, grpcStatusIsError, grpcStatusName, spanStatusForHttp } from './status.js';

/** Attribute names used by Ferry (semantic conventions 1.45, plus two `ferry.*` names of our own). */
export const ATTR = {
  HTTP_REQUEST_METHOD: 'http.request.method',
  HTTP_REQUEST_METHOD_ORIGINAL: 'http.request.method_original',
  HTTP_ROUTE: 'http.route',
  HTTP_RESPONSE_STATUS_CODE: 'http.response.status_code',
  URL_PATH: 'url.path',
  ERROR_TYPE: 'error.type',
  /** Deprecated in 1.45 in favour of rpc.system.name, still what most back ends index on. */
  RPC_SYSTEM: 'rpc.system',
  /** Stable since 1.45 (`dubbo` | `grpc`). */
  RPC_SYSTEM_NAME: 'rpc.system.name',
  /** Deprecated in 1.45 (folded into a fully-qualified rpc.method), kept for the same reason. */
  RPC_SERVICE: 'rpc.service',
  RPC_METHOD: 'rpc.method',
  RPC_GRPC_STATUS_CODE: 'rpc.grpc.status_code',
  /** Stable since 1.45: the status as a string (`NOT_FOUND`). */
  RPC_STATUS_CODE: 'rpc.status_code',
  SERVER_ADDRESS: 'server.address',
  SERVER_PORT: 'server.port',
  FERRY_ROUTE_ID: 'ferry.route.id',
  FERRY_ERROR_CODE: 'ferry.error.code',
} as const;

export type RpcSystem = 'apache_dubbo' | 'grpc';

/** What a CLIENT span describes: never the arguments, only where the call goes. */
export interface ClientCallInfo {
  readonly system: RpcSystem;
  /** Java interface FQCN or full gRPC service name. */
  readonly service: string;
  readonly method: string;
  /** Endpoint host and port, when already picked (else call `setPeer` later). */
  readonly serverAddress?: string;
  readonly serverPort?: number;
}

/** A started span and the context that holds it (pass the context to children and carriers). */
export interface StartedSpan {
  readonly span: Span;
  readonly ctx: Context;
}

/** How a CLIENT call ended. */
export interface ClientOutcome {
  /** The error the call failed with, if it failed. */
  readonly error?: unknown;
  /** gRPC status code returned by the server (0 on success), for grpc calls. */
  readonly grpcStatus?: number;
}

export interface TelemetryOptions {
  /** Tracer to use; defaults to the global provider's `ferry` tracer (a no-op until an SDK registers). */
  readonly tracer?: Tracer;
  /**
   * `full` (default) records the request path in `url.path`, as the HTTP conventions require;
   * `route` records the route template instead, for deployments where path segments are sensitive.
   */
  readonly urlPath?: 'full' | 'route';
  /**
   * `false` when no tracing SDK runs: no spans are built at all, and the request's own trace context
   * (from its traceparent) is what flows to the upstream, so Ferry passes the trace through unseen.
   */
  readonly recording?: boolean;
}

/** Span helpers bound to one tracer. Built by the composition root and passed to the engine. */
export interface Telemetry {
  readonly tracer: Tracer;
  /**
   * Opens the SERVER span for one HTTP request (or ext_proc stream) under `parent` (usually the
   * context extracted from the request headers). `routeId`/`routeTemplate` are undefined when no
   * route matched.
   */
  startServerSpan(parent: Context, routeId: string | undefined, method: string, path: string, routeTemplate?: string): StartedSpan;
  /** Records the response status (and the error, if any) on a SERVER span and ends it. */
  endServerSpan(span: Span, status: number, error?: unknown): void;
  /** Opens a CLIENT span for one upstream call under `parent` (the SERVER span's context). */
  startClientSpan(parent: Context, call: ClientCallInfo): StartedSpan;
  /** Sets server.address/server.port once the endpoint is picked. */
  setPeer(span: Span, address: string, port: number): void;
  /** Records how a CLIENT call ended and ends the span. */
  endClientSpan(span: Span, outcome?: ClientOutcome): void;
  /** The trace id of the span in `ctx` (32 hex digits), or undefined when there is no valid one. */
  traceIdOf(ctx: Context): string | undefined;
}

const KNOWN_METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'CONNECT', 'OPTIONS', 'TRACE', 'PATCH']);
const TRACER_NAME = 'ferry';

/** Creates the span helpers. */
export function createTelemetry(options: TelemetryOptions = {}): Telemetry {
  const tracer = options.tracer ?? trace.getTracer(TRACER_NAME);
  if (options.recording === false) return passThrough(tracer);
  const urlPathMode = options.urlPath ?? 'full';

  function startServerSpan(parent: Context, routeId: string | undefined, method: string, path: string, routeTemplate?: string): StartedSpan {
    const known = KNOWN_METHODS.has(method);
    const attributes: Attributes = {
      [ATTR.HTTP_REQUEST_METHOD]: known ? method : '_OTHER',
    };
    if (!known) attributes[ATTR.HTTP_REQUEST_METHOD_ORIGINAL] = method;
    if (routeTemplate !== undefined) attributes[ATTR.HTTP_ROUTE] = routeTemplate;
    if (routeId !== undefined) attributes[ATTR.FERRY_ROUTE_ID] = routeId;
    const recordedPath = urlPathMode === 'full' ? path : routeTemplate;
    if (recordedPath !== undefined) attributes[ATTR.URL_PATH] = recordedPath;
    const name = routeTemplate !== undefined ? `${known ? method : 'HTTP'} ${routeTemplate}` : known ? method : 'HTTP';
    const span = tracer.startSpan(name, { kind: SpanKind.SERVER, attributes }, parent);
    return { span, ctx: trace.setSpan(parent, span) };
  }

  function endServerSpan(span: Span, status: number, error?: unknown): void {
    span.setAttribute(ATTR.HTTP_RESPONSE_STATUS_CODE, status);
    const st = spanStatusForHttp(status, 'server');
    if (error !== undefined) {
      span.setAttribute(ATTR.ERROR_TYPE, errorType(error));
      if (isFerryError(error)) span.setAttribute(ATTR.FERRY_ERROR_CODE, error.code);
    } else if (st.code === SpanStatusCode.ERROR) {
      span.setAttribute(ATTR.ERROR_TYPE, String(status));
    }
    if (st.code === SpanStatusCode.ERROR) {
      span.setStatus({ code: SpanStatusCode.ERROR, message: error !== undefined ? errorDescription(error) : `HTTP ${status}` });
    }
    span.end();
  }

  function startClientSpan(parent: Context, call: ClientCallInfo): StartedSpan {
    const attributes: Attributes = {
      [ATTR.RPC_SYSTEM]: call.system,
      [ATTR.RPC_SYSTEM_NAME]: call.system === 'apache_dubbo' ? 'dubbo' : 'grpc',
      [ATTR.RPC_SERVICE]: call.service,
      [ATTR.RPC_METHOD]: call.method,
    };
    if (call.serverAddress !== undefined) attributes[ATTR.SERVER_ADDRESS] = call.serverAddress;
    if (call.serverPort !== undefined) attributes[ATTR.SERVER_PORT] = call.serverPort;
    const span = tracer.startSpan(`${call.service}/${call.method}`, { kind: SpanKind.CLIENT, attributes }, parent);
    return { span, ctx: trace.setSpan(parent, span) };
  }

  function setPeer(span: Span, address: string, port: number): void {
    span.setAttribute(ATTR.SERVER_ADDRESS, address);
    span.setAttribute(ATTR.SERVER_PORT, port);
  }

  function endClientSpan(span: Span, outcome: ClientOutcome = {}): void {
    const { error, grpcStatus } = outcome;
    let failed = error !== undefined;
    if (grpcStatus !== undefined) {
      span.setAttribute(ATTR.RPC_GRPC_STATUS_CODE, grpcStatus);
      span.setAttribute(ATTR.RPC_STATUS_CODE, grpcStatusName(grpcStatus));
      if (grpcStatusIsError(grpcStatus)) failed = true;
    }
    if (failed) {
      const type = error !== undefined ? errorType(error) : grpcStatusName(grpcStatus ?? 2);
      span.setAttribute(ATTR.ERROR_TYPE, type);
      if (isFerryError(error)) span.setAttribute(ATTR.FERRY_ERROR_CODE, error.code);
      span.setStatus({ code: SpanStatusCode.ERROR, message: error !== undefined ? errorDescription(error) : type });
    }
    span.end();
  }

  function traceIdOf(ctx: Context): string | undefined {
    const sc = trace.getSpanContext(ctx);
    return sc !== undefined && trace.isSpanContextValid(sc) ? sc.traceId : undefined;
  }

  return { tracer, startServerSpan, endServerSpan, startClientSpan, setPeer, endClientSpan, traceIdOf };
}

/** Span helpers that build no spans: the incoming context is handed on as it is. */
function passThrough(tracer: Tracer): Telemetry {
  const inherit = (parent: Context): StartedSpan => ({ span: trace.getSpan(parent) ?? NO_SPAN, ctx: parent });
  const nothing = (): void => {};
  return {
    tracer,
    startServerSpan: inherit,
    endServerSpan: nothing,
    startClientSpan: inherit,
    setPeer: nothing,
    endClientSpan: nothing,
    traceIdOf(ctx: Context): string | undefined {
      const sc = trace.getSpanContext(ctx);
      return sc !== undefined && trace.isSpanContextValid(sc) ? sc.traceId : undefined;
    },
  };
}

const NO_SPAN: Span = trace.wrapSpanContext({ traceId: '00000000000000000000000000000000', spanId: '0000000000000000', traceFlags: 0 });

/** Runs `fn` with `ctx` active (for code that reads the active context, e.g. log correlation). */
export function withContext<T>(ctx: Context, fn: () => T): T {
  return apiContext.with(ctx, fn);
}
