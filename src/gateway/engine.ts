/**
 * The engine: match → map → invoke → map back, the same for every front end. It is built once per
 * compiled config; route handlers are bound then, so the hot path does no lookups by name.
 */
import { performance } from 'node:perf_hooks';
import { context as otelContext, type Context } from '@opentelemetry/api';
import { ConfigError, type ConfigProblem } from '../config/errors.js';
import { templateShape } from '../config/loader.js';
import type { FerryConfig, Protocol, RouteConfig } from '../config/types.js';
import { FerryError, toFerryError, type ProblemDetail } from '../errors/index.js';
import { problemResponse, type GatewayRequest, type GatewayResponse } from '../exchange/index.js';
import { createTelemetry, extractFromHeaders, type Telemetry } from '../telemetry/index.js';
import { createRouter, parseTemplate, type Router } from '../router/index.js';
import type { CallContext, Engine, ProtocolBinder, RouteHandler, RouteMatch } from './types.js';

export const DEFAULT_MAX_BODY_BYTES = 1024 * 1024;

/** What the engine reports after each request (metrics and access logs hang off this). */
export interface RequestOutcome {
  readonly routeId: string | undefined;
  readonly method: string;
  /** Request path without the query string. */
  readonly path: string;
  readonly status: number;
  /** FERRY_* code for error replies. */
  readonly code: string | undefined;
  /** The whole error message of a 5xx reply, for the operator's log (clients get only what `problemDetail` allows). */
  readonly error?: string;
  readonly durationMs: number;
  readonly traceId: string | undefined;
}

export interface EngineOptions {
  readonly config: FerryConfig;
  /** One binder per protocol the config uses. */
  readonly binders: Partial<Record<Protocol, ProtocolBinder>>;
  /** Routes derived elsewhere (google.api.http options); YAML routes with the same method+path win. */
  readonly derivedRoutes?: readonly RouteConfig[];
  readonly maxBodyBytes?: number;
  readonly telemetry?: Telemetry;
  readonly onOutcome?: (outcome: RequestOutcome) => void;
  /** How much of an error the problem documents tell clients (default `safe`). */
  readonly problemDetail?: ProblemDetail;
}

interface BoundRoute {
  readonly route: RouteConfig;
  readonly handler: RouteHandler;
  readonly timeoutMs: number;
  readonly match: (params: Readonly<Record<string, string>>) => RouteMatch;
}

/** Builds an engine; throws ConfigError (with file:line:col) when a route cannot be bound. */
export function createEngine(opts: EngineOptions): Engine & { readonly routes: readonly RouteConfig[] } {
  const { config } = opts;
  const maxBodyBytes = opts.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
  const telemetry = opts.telemetry ?? createTelemetry();
  const onOutcome = opts.onOutcome;
  const problemDetail = opts.problemDetail ?? 'safe';

  const routes = mergeRoutes(config.routes, opts.derivedRoutes ?? []);
  const problems: ConfigProblem[] = [];
  const bound: BoundRoute[] = [];
  for (const route of routes) {
    try {
      parseTemplate(route.path);
    } catch (err) {
      problems.push({ ...route.source, message: `route "${route.id}": ${(err as Error).message}` });
      continue;
    }
    const service = config.services.get(route.serviceName);
    const binder = service ? opts.binders[service.protocol] : undefined;
    try {
      if (!service) throw new Error(`route "${route.id}" calls unknown service "${route.serviceName}"`);
      if (!binder) throw new Error(`no binding for protocol ${service.protocol} is available`);
      const handler = binder.bind(route, service, config);
      const routeId = route.id;
      const needsBody = handler.needsBody;
      bound.push({
        route,
        handler,
        timeoutMs: route.timeoutMs ?? service.timeoutMs,
        match: (params) => ({ routeId, needsBody, params }),
      });
    } catch (err) {
      if (err instanceof ConfigError) problems.push(...err.problems);
      else problems.push({ ...route.source, message: err instanceof Error ? err.message : String(err) });
    }
  }
  let router: Router<BoundRoute> | undefined;
  if (problems.length === 0) {
    try {
      router = createRouter(bound.map((b) => ({ method: b.route.method, template: b.route.path, value: b })));
    } catch (err) {
      // Templates were checked above, so this is two routes with the same method and path.
      const first = bound[0]?.route.source ?? { file: config.root, line: 1, col: 1 };
      problems.push({ ...first, message: `two routes serve the same method and path: ${(err as Error).message}` });
    }
  }
  if (problems.length > 0 || router === undefined) throw new ConfigError(problems);
  const byId = new Map(bound.map((b) => [b.route.id, b]));
  const table = router;

  async function run(req: GatewayRequest, b: BoundRoute, params: Readonly<Record<string, string>>, spanCtx: Context): Promise<GatewayResponse> {
    if (req.body !== undefined && req.body.length > maxBodyBytes) {
      throw new FerryError('FERRY_BODY_TOO_LARGE', `the request body has ${req.body.length} bytes; the limit is ${maxBodyBytes}`);
    }
    const now = performance.now();
    const deadline = Math.min(now + b.timeoutMs, req.deadline ?? Infinity);
    const callCtx: CallContext = { deadline, otel: spanCtx, routeId: b.route.id };
    return b.handler.handle(req, params, callCtx);
  }

  return {
    maxBodyBytes,
    routes,
    match(method: string, path: string): RouteMatch | undefined {
      const r = table.match(method, path);
      return r.kind === 'found' ? r.value.match(r.params) : undefined;
    },
    async handle(req: GatewayRequest, given?: RouteMatch): Promise<GatewayResponse> {
      const started = performance.now();
      let b: BoundRoute | undefined;
      let params: Readonly<Record<string, string>> = {};
      let lookupError: FerryError | undefined;
      let allowed: readonly string[] | undefined;
      if (given) {
        b = byId.get(given.routeId);
        params = given.params;
      } else {
        const r = table.match(req.method, req.path);
        if (r.kind === 'found') {
          b = r.value;
          params = r.params;
        } else if (r.kind === 'method-not-allowed') {
          allowed = r.allowed;
          lookupError = new FerryError('FERRY_METHOD_NOT_ALLOWED', `${req.method} is not served at ${req.path}; allowed: ${r.allowed.join(', ')}`);
        }
      }
      const parent = extractFromHeaders(req.headers, otelContext.active());
      const { span, ctx: spanCtx } = telemetry.startServerSpan(parent, b?.route.id, req.method, req.path, b?.route.path);
      const traceId = telemetry.traceIdOf(spanCtx);
      let response: GatewayResponse;
      let code: string | undefined;
      let failure: FerryError | undefined;
      try {
        if (!b) throw lookupError ?? new FerryError('FERRY_ROUTE_NOT_FOUND', `no route serves ${req.method} ${req.path}`);
        response = await run(req, b, params, spanCtx);
      } catch (thrown) {
        failure = toFerryError(thrown);
        code = failure.code;
        response = problemResponse(failure, b?.route.id, traceId, problemDetail);
        if (allowed !== undefined) response.headers['allow'] = allowed.join(', ');
      }
      telemetry.endServerSpan(span, response.status, failure);
      onOutcome?.({
        routeId: b?.route.id,
        method: req.method,
        path: req.path,
        status: response.status,
        code,
        ...(failure !== undefined && failure.status >= 500 ? { error: failure.message } : {}),
        durationMs: performance.now() - started,
        traceId,
      });
      return response;
    },
  };
}

/** YAML routes first; a derived route is dropped when a YAML route has its method and path. */
function mergeRoutes(explicit: readonly RouteConfig[], derived: readonly RouteConfig[]): RouteConfig[] {
  const shape = (r: RouteConfig): string => `${r.method} ${templateShape(r.path)}`;
  const taken = new Set(explicit.map(shape));
  const takenIds = new Set(explicit.map((r) => r.id));
  return [...explicit, ...derived.filter((r) => !taken.has(shape(r)) && !takenIds.has(r.id))];
}
