/**
 * The engine: match → map → invoke → map back, the same for every front end. It is built once per
 * compiled config; route handlers are bound then, so the hot path does no lookups by name.
 */
import { performance } from 'node:perf_hooks';
import { context as otelContext, type Context } from '@opentelemetry/api';
import { ConfigError, configErrorAt, problemsOf, type ConfigProblem } from '../config/errors.js';
import { runAtOnce, runInSlices } from '../config/slices.js';
import type { DubboRoute, DubboService, FerryConfig, GrpcRoute, ProtoService, RouteConfig, ServiceConfig } from '../config/types.js';
import { FerryError, toFerryError, type ProblemDetail } from '../errors/index.js';
import { problemResponse, type GatewayRequest, type GatewayResponse } from '../exchange/index.js';
import { createTelemetry, extractFromHeaders, type Telemetry } from '../telemetry/index.js';
import { createRouter, templateKey, type Router } from '../router/index.js';
import type { ServiceUpstream } from '../upstream/clients.js';
import { providerTimeoutMs } from '../upstream/discovery/service-instance.js';
import type { Endpoint } from '../upstream/discovery/types.js';
import type { CallContext, Engine, ProtocolBinder, RouteHandler, RouteMatch } from './types.js';
import {
  bindPolicies,
  newPolicyContext,
  runHook,
  type BoundPolicy,
  type PluginCatalog,
  type PluginFailureObserver,
  type PolicyContext,
} from './plugins.js';
import { builtinPlugins } from './policies/index.js';

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
  /** The clients of a service: a route with no `timeout` (nor its service) takes the providers' declared `timeout` from their endpoints. */
  readonly clientFor?: (service: ServiceConfig) => ServiceUpstream;
  /** One binder per protocol the config uses. */
  readonly binders: ProtocolBinders;
  /** Routes derived elsewhere (google.api.http options); YAML routes with the same method+path win. */
  readonly derivedRoutes?: readonly RouteConfig[];
  readonly maxBodyBytes?: number;
  readonly telemetry?: Telemetry;
  readonly onOutcome?: (outcome: RequestOutcome) => void;
  /** How much of an error the problem documents tell clients (default `safe`). */
  readonly problemDetail?: ProblemDetail;
  /** Plugins routes may name in `policies:` (from loadPlugins); the built-ins alone when absent. */
  readonly plugins?: PluginCatalog;
  /** Told about each plugin hook that threw or ran out of time. */
  readonly onPluginFailure?: PluginFailureObserver;
  /**
   * The engine this one replaces (a reload): a route whose binder says its handler would bind the
   * same (ProtocolBinder.reusable) keeps that handler, and with it its upstream client set.
   */
  readonly previous?: Engine;
}

/** How many routes an engine bound anew and how many handlers it kept from the engine it replaced. */
export interface BindStats {
  readonly routes: number;
  readonly bound: number;
  readonly reused: number;
}

/** The bound routes of each engine by id (what the next engine may reuse), and its bind stats. */
const engines = new WeakMap<Engine, { readonly byId: ReadonlyMap<string, BoundRoute>; readonly stats: BindStats }>();

/** What building `engine` bound anew and what it reused; undefined for an object that is no engine of this module. */
export function bindStats(engine: Engine): BindStats | undefined {
  return engines.get(engine)?.stats;
}

/** The binder of each protocol, typed by the services and routes it takes. */
export interface ProtocolBinders {
  readonly dubbo?: ProtocolBinder<DubboService, DubboRoute>;
  readonly grpc?: ProtocolBinder<ProtoService, GrpcRoute>;
  readonly triple?: ProtocolBinder<ProtoService, GrpcRoute>;
}

interface BoundRoute {
  readonly route: RouteConfig;
  readonly handler: RouteHandler;
  /** The route's `timeout`, else the service's when written; undefined: the providers' declared `timeout`, else `defaultTimeoutMs`. */
  readonly timeoutMs: number | undefined;
  readonly defaultTimeoutMs: number;
  readonly service: ServiceConfig;
  /** The service's clients, once asked (for the providers' timeout). */
  upstream?: ServiceUpstream | undefined;
  readonly match: (params: Readonly<Record<string, string>>, budgetMs: number) => RouteMatch;
  /** The route's policy chain on the HTTP front end, in order (empty: the hot path skips the hooks). */
  readonly policies: readonly BoundPolicy[];
  /** The same chain without the policies turned off for ext_proc (`frontends: [http]`). */
  readonly extProcPolicies: readonly BoundPolicy[];
}

/** The chain a request runs: its front end's. */
function chainFor(b: BoundRoute, req: GatewayRequest): readonly BoundPolicy[] {
  return req.frontend === 'ext-proc' ? b.extProcPolicies : b.policies;
}

/** Builds an engine; throws ConfigError (with file:line:col) when a route cannot be bound. */
export function createEngine(opts: EngineOptions): Engine & { readonly routes: readonly RouteConfig[] } {
  return runAtOnce(engineSteps(opts));
}

/** {@link createEngine} in slices, the event loop served between them: binding 8 600 routes (a reload at the mapping size cap) takes about a second. */
export function createEngineInSlices(opts: EngineOptions): Promise<Engine & { readonly routes: readonly RouteConfig[] }> {
  return runInSlices(engineSteps(opts));
}

function* engineSteps(opts: EngineOptions): Generator<void, Engine & { readonly routes: readonly RouteConfig[] }> {
  const { config } = opts;
  const maxBodyBytes = opts.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
  const telemetry = opts.telemetry ?? createTelemetry();
  const onOutcome = opts.onOutcome;
  const problemDetail = opts.problemDetail ?? 'safe';

  const onPluginFailure = opts.onPluginFailure;
  const catalog = opts.plugins ?? builtinPlugins();
  const globalPolicies = config.policies ?? [];

  const problems: ConfigProblem[] = [];
  const routes = mergeRoutes(config.routes, opts.derivedRoutes ?? [], problems);
  const bound: BoundRoute[] = [];
  const before = opts.previous !== undefined ? engines.get(opts.previous)?.byId : undefined;
  let reused = 0;
  for (const route of routes) {
    yield; // a slice may end here (createEngineInSlices)
    const service = config.services.get(route.serviceName);
    try {
      if (!service) throw configErrorAt(route.source, `route "${route.id}" calls unknown service "${route.serviceName}"`);
      const prior = before?.get(route.id);
      const keep = prior !== undefined && reusable(opts.binders, prior.handler, route, service, config);
      if (keep) reused++;
      const handler = keep ? prior.handler : bindRoute(opts.binders, route, service, config);
      const routeId = route.id;
      const needsBody = handler.needsBody;
      const serviceName = route.serviceName;
      const chain = bindPolicies(route, globalPolicies, catalog, problems);
      const policies = chain.filter((p) => p.frontends.has('http'));
      const extProcPolicies = chain.filter((p) => p.frontends.has('ext-proc'));
      bound.push({
        route,
        handler,
        timeoutMs: route.timeoutMs ?? (service.timeoutSet ? service.timeoutMs : undefined),
        defaultTimeoutMs: service.timeoutMs,
        service,
        // The budget front ends plan with (Envoy's timers): the one this request would get now.
        match: (params, budgetMs) => ({ routeId, needsBody, params, timeoutMs: budgetMs, serviceName }),
        policies,
        extProcPolicies,
      });
    } catch (err) {
      problems.push(...problemsOf(err, route.source, `route "${route.id}": `));
    }
  }
  let router: Router<BoundRoute> | undefined;
  if (problems.length === 0) {
    try {
      router = createRouter(bound.map((b) => ({ method: b.route.method, template: b.route.template, value: b })));
    } catch (err) {
      // mergeRoutes refused duplicates already, so this is a bug; still report it with a place.
      problems.push(...problemsOf(err, bound[0]?.route.source ?? { file: config.root, line: 1, col: 1 }));
    }
  }
  // A problem of a service (its proto, its sticky keys) is found once per route that binds it: say it once.
  if (problems.length > 0 || router === undefined) throw new ConfigError(uniqueProblems(problems));
  const byId = new Map(bound.map((b) => [b.route.id, b]));
  const table = router;
  const stats: BindStats = Object.freeze({ routes: bound.length, bound: bound.length - reused, reused });

  /** Per endpoint list (replaced, never mutated, when discovery changes it): the providers' largest declared `timeout`. */
  const providerTimeouts = new WeakMap<readonly Endpoint[], number | undefined>();
  function providerTimeout(b: BoundRoute): number | undefined {
    if (opts.clientFor === undefined) return undefined;
    try {
      b.upstream ??= opts.clientFor(b.service);
    } catch {
      return undefined;
    }
    const endpoints = b.upstream.client.upstream.endpoints();
    if (providerTimeouts.has(endpoints)) return providerTimeouts.get(endpoints);
    const t = providerTimeoutMs(endpoints);
    providerTimeouts.set(endpoints, t);
    return t;
  }

  /** A route's time budget now: its own or its service's timeout, else the providers' declared one, else the default. */
  function budgetOf(b: BoundRoute): number {
    return b.timeoutMs ?? providerTimeout(b) ?? b.defaultTimeoutMs;
  }

  async function run(
    req: GatewayRequest,
    b: BoundRoute,
    params: Readonly<Record<string, string>>,
    spanCtx: Context,
    pc: PolicyContext | undefined,
  ): Promise<GatewayResponse> {
    if (pc !== undefined) {
      const early = await runBefore(b, pc);
      if (early !== undefined) return early;
    }
    if (req.body !== undefined && req.body.length > maxBodyBytes) {
      throw new FerryError('FERRY_BODY_TOO_LARGE', `the request body has ${req.body.length} bytes; the limit is ${maxBodyBytes}`);
    }
    const now = performance.now();
    const deadline = Math.min(now + budgetOf(b), req.deadline ?? Infinity);
    const claims = pc?.claims;
    const callCtx: CallContext = { deadline, otel: spanCtx, routeId: b.route.id, config, ...(claims !== undefined ? { claims } : {}) };
    if (pc === undefined) return b.handler.handle(req, params, callCtx);
    let response: GatewayResponse;
    try {
      response = await b.handler.handle(req, params, callCtx);
    } catch (thrown) {
      const failure = toFerryError(thrown);
      const chain = chainFor(b, req);
      for (let i = chain.length - 1; i >= 0; i--) {
        const p = chain[i]!;
        const onError = p.hooks.onError;
        if (onError === undefined) continue;
        const r = await runHook(p, b.route.id, () => onError.call(p.hooks, pc, failure), onPluginFailure);
        if (r) return r;
      }
      throw failure;
    }
    const chain = chainFor(b, req);
    for (let i = chain.length - 1; i >= 0; i--) {
      const p = chain[i]!;
      const after = p.hooks.afterUpstream;
      if (after === undefined) continue;
      const current = response;
      const r = await runHook(p, b.route.id, () => after.call(p.hooks, pc, current), onPluginFailure);
      if (r) response = r;
    }
    return response;
  }

  /** onRequest of every policy, then beforeUpstream of every policy; the first reply ends the request. */
  async function runBefore(b: BoundRoute, pc: PolicyContext): Promise<GatewayResponse | undefined> {
    for (const stage of ['onRequest', 'beforeUpstream'] as const) {
      for (const p of chainFor(b, pc.request)) {
        const hook = p.hooks[stage];
        if (hook === undefined || (pc.preflight && !p.preflight)) continue;
        const r = await runHook(p, b.route.id, () => hook.call(p.hooks, pc), onPluginFailure);
        if (r) return r;
      }
      // A preflight no policy answered is not a call: it ends as the 405 it was.
      if (pc.preflight) return undefined;
    }
    return undefined;
  }

  /** The route a CORS preflight (OPTIONS with Access-Control-Request-Method) asks about, when it has policies. */
  function preflightRoute(req: GatewayRequest): { route: BoundRoute; params: Readonly<Record<string, string>> } | undefined {
    if (req.method !== 'OPTIONS') return undefined;
    const asked = req.headers['access-control-request-method'];
    if (typeof asked !== 'string') return undefined;
    const r = table.match(asked.trim().toUpperCase(), req.path);
    if (r.kind !== 'found' || !chainFor(r.value, req).some((p) => p.preflight)) return undefined;
    return { route: r.value, params: r.params };
  }

  const engine = {
    maxBodyBytes,
    routes,
    match(method: string, path: string): RouteMatch | undefined {
      const r = table.match(method, path);
      return r.kind === 'found' ? r.value.match(r.params, budgetOf(r.value)) : undefined;
    },
    async handle(req: GatewayRequest, given?: RouteMatch): Promise<GatewayResponse> {
      const started = performance.now();
      let b: BoundRoute | undefined;
      let params: Readonly<Record<string, string>> = {};
      let lookupError: FerryError | undefined;
      let allowed: readonly string[] | undefined;
      let preflightFor: { route: BoundRoute; params: Readonly<Record<string, string>> } | undefined;
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
          preflightFor = preflightRoute(req);
        }
      }
      // A CORS preflight goes to the policies of the route it asks about (the cors policy answers it).
      let pc: PolicyContext | undefined;
      if (preflightFor !== undefined) pc = newPolicyContext(req, preflightFor.route.route.id, preflightFor.params, true);
      else if (b !== undefined && chainFor(b, req).length > 0) pc = newPolicyContext(req, b.route.id, params, false);
      const parent = extractFromHeaders(req.headers, otelContext.active());
      const { span, ctx: spanCtx } = telemetry.startServerSpan(parent, b?.route.id, req.method, req.path, b?.route.path);
      const traceId = telemetry.traceIdOf(spanCtx);
      let response: GatewayResponse;
      let code: string | undefined;
      let failure: FerryError | undefined;
      try {
        const preflightReply = preflightFor !== undefined && pc !== undefined ? await runBefore(preflightFor.route, pc) : undefined;
        if (preflightReply !== undefined) response = preflightReply;
        else if (!b) throw lookupError ?? new FerryError('FERRY_ROUTE_NOT_FOUND', `no route serves ${req.method} ${req.path}`);
        else response = await run(req, b, params, spanCtx, pc);
      } catch (thrown) {
        failure = toFerryError(thrown);
        code = failure.code;
        response = problemResponse(failure, b?.route.id ?? preflightFor?.route.route.id, traceId, problemDetail);
        if (allowed !== undefined) response.headers['allow'] = allowed.join(', ');
      }
      // Policy headers (CORS, RateLimit) go on every reply; a binder's headers object may be shared, so copy.
      if (pc !== undefined)
        for (const _ in pc.responseHeaders) {
          response = { ...response, headers: { ...response.headers, ...pc.responseHeaders } };
          break;
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
  engines.set(engine, { byId, stats });
  return engine;
}

function uniqueProblems(problems: readonly ConfigProblem[]): ConfigProblem[] {
  const seen = new Set<string>();
  return problems.filter((p) => {
    const key = `${p.file}:${p.line}:${p.col}:${p.message}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

/** Hands a route to its protocol's binder, with the service and route narrowed to that protocol. */
function bindRoute(binders: ProtocolBinders, route: RouteConfig, service: ServiceConfig, config: FerryConfig): RouteHandler {
  if (route.protocol !== service.protocol) {
    throw configErrorAt(route.source, `route "${route.id}" is a ${route.protocol} route but calls ${service.protocol} service "${service.name}"`);
  }
  const missing = (): never => {
    throw configErrorAt(route.source, `route "${route.id}": no binding for protocol ${service.protocol} is available`);
  };
  if (service.protocol === 'dubbo') {
    if (route.protocol !== 'dubbo') return missing(); // checked above; narrows the route
    return (binders.dubbo ?? missing()).bind(route, service, config);
  }
  if (route.protocol === 'dubbo') return missing();
  const binder = service.protocol === 'grpc' ? binders.grpc : binders.triple;
  return (binder ?? missing()).bind(route, service, config);
}

/** Whether the route's binder would bind `previous` again (same protocol as bindRoute dispatches on). */
function reusable(binders: ProtocolBinders, previous: RouteHandler, route: RouteConfig, service: ServiceConfig, config: FerryConfig): boolean {
  if (route.protocol !== service.protocol) return false;
  if (service.protocol === 'dubbo') return route.protocol === 'dubbo' && (binders.dubbo?.reusable?.(previous, route, service, config) ?? false);
  if (route.protocol === 'dubbo') return false;
  const binder = service.protocol === 'grpc' ? binders.grpc : binders.triple;
  return binder?.reusable?.(previous, route, service, config) ?? false;
}

/**
 * YAML routes first; a derived route is dropped when a YAML route has its method and template key
 * (or its id). Two derived routes with the same method and key are a problem at the second one.
 */
function mergeRoutes(explicit: readonly RouteConfig[], derived: readonly RouteConfig[], problems: ConfigProblem[]): RouteConfig[] {
  const shape = (r: RouteConfig): string => `${r.method} ${templateKey(r.template)}`;
  const yamlShapes = new Set(explicit.map(shape));
  const yamlIds = new Set(explicit.map((r) => r.id));
  const derivedShapes = new Map<string, RouteConfig>();
  const out = [...explicit];
  for (const r of derived) {
    if (yamlIds.has(r.id) || yamlShapes.has(shape(r))) continue;
    const prior = derivedShapes.get(shape(r));
    if (prior !== undefined) {
      problems.push({
        ...r.source,
        message: `route "${r.id}" repeats ${r.method} ${r.path}, already served by route "${prior.id}"; declare a YAML route for it to say which one serves it`,
      });
      continue;
    }
    derivedShapes.set(shape(r), r);
    out.push(r);
  }
  return out;
}
