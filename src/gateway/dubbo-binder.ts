/**
 * Binds Dubbo routes: the compiled mapping plan plus the service's client. Per call it maps the
 * request, opens a CLIENT span, carries trace context in the attachments, calls, and maps the reply.
 */
import { performance } from 'node:perf_hooks';
import type { DubboRoute, DubboService, FerryConfig, ServiceConfig, TypeDef } from '../config/types.js';
import { FerryError, toFerryError } from '../errors/index.js';
import type { GatewayRequest, GatewayResponse } from '../exchange/index.js';
import type { DubboReplyBudgets } from '../codec/hessian/constants.js';
import { addTagAttachments, canaryOf, compileCanary } from './canary.js';
import { compileDubboRoute, replyCatalog } from '../mapping/dubbo.js';
import { RequestView } from '../mapping/request-view.js';
import { createTelemetry, injectIntoAttachments, type Telemetry } from '../telemetry/index.js';
import { withSubset } from '../upstream/balance/subset.js';
import type { PickHint } from '../upstream/balance/types.js';
import type { ServiceUpstream } from '../upstream/clients.js';
import type { CallContext, ProtocolBinder, RouteHandler, UpstreamCallObserver } from './types.js';

export interface DubboBindingOptions {
  /** The client set of a service (the composition root keeps them across reloads). */
  readonly clientFor: (service: ServiceConfig) => ServiceUpstream;
  readonly telemetry?: Telemetry;
  readonly observeCall?: UpstreamCallObserver;
  /** What decoding one reply may cost; the defaults when absent. */
  readonly replyBudgets?: DubboReplyBudgets;
}

/** What a bound handler was compiled from, so that a reload can tell whether it would compile the same. */
interface BindDeps {
  readonly route: DubboRoute;
  readonly service: DubboService;
  /** The declared types it resolved, by name: their content ({@link typeKey}). */
  readonly types: ReadonlyMap<string, string>;
  /** The config's enum classes ({@link enumKey}): the reply decoders recognise them. */
  readonly enums: string;
  readonly opts: DubboBindingOptions;
}

const bindDeps = new WeakMap<RouteHandler, BindDeps>();
const typeKeys = new WeakMap<TypeDef, string>();
const enumKeys = new WeakMap<object, string>();

/** A declared type's content, without where it was written. */
function typeKey(t: TypeDef): string {
  let key = typeKeys.get(t);
  if (key === undefined) {
    key = JSON.stringify(t.kind === 'enum' ? ['enum', t.constants] : ['pojo', t.fields.map((f) => [f.name, f.type])]);
    typeKeys.set(t, key);
  }
  return key;
}

/** The names of the config's enum types. */
function enumKey(config: FerryConfig): string {
  let key = enumKeys.get(config.types);
  if (key === undefined) {
    key = JSON.stringify([...replyCatalog(config).enumClasses].sort());
    enumKeys.set(config.types, key);
  }
  return key;
}

export function createDubboBinder(opts: DubboBindingOptions): ProtocolBinder<DubboService, DubboRoute> {
  const telemetry = opts.telemetry ?? createTelemetry();
  const observeCall = opts.observeCall;
  const budgetsKey = JSON.stringify(opts.replyBudgets ?? null);
  return {
    /**
     * Whether `previous` (bound for an earlier config) is what binding `route` would make now: the
     * same route and service objects (the loader reuses them for unchanged files), the same content
     * of every declared type it resolved, the same enum classes and the same binding options. POJO
     * field order for generic replies is read per call from the config being served.
     */
    reusable(previous: RouteHandler, route: DubboRoute, service: DubboService, config: FerryConfig): boolean {
      const d = bindDeps.get(previous);
      if (d === undefined || d.route !== route || d.service !== service) return false;
      if (d.opts.clientFor !== opts.clientFor || d.opts.telemetry !== opts.telemetry || d.opts.observeCall !== opts.observeCall) return false;
      if (JSON.stringify(d.opts.replyBudgets ?? null) !== budgetsKey || d.enums !== enumKey(config)) return false;
      for (const [name, key] of d.types) {
        const t = config.types.get(name);
        if (t === undefined || typeKey(t) !== key) return false;
      }
      return true;
    },
    bind(route: DubboRoute, service: DubboService, config: FerryConfig): RouteHandler {
      const plan = compileDubboRoute(route, service, config, opts.replyBudgets);
      const canary = compileCanary(canaryOf(route, service));
      // Looked up on first use, so that binding alone (ferry validate) connects nowhere.
      let upstream: Extract<ServiceUpstream, { protocol: 'dubbo' }> | undefined;
      const upstreamOf = (): Extract<ServiceUpstream, { protocol: 'dubbo' }> => {
        if (upstream === undefined) {
          const u = opts.clientFor(service);
          if (u.protocol !== 'dubbo') throw new FerryError('FERRY_INTERNAL', `service ${service.name} is not a Dubbo service`);
          upstream = u;
        }
        return upstream;
      };
      const callInfo = { system: 'apache_dubbo', service: service.interface, method: route.rpcMethod } as const;
      const retries = route.retries;
      const handler: RouteHandler = {
        needsBody: plan.needsBody,
        async handle(req: GatewayRequest, params: Readonly<Record<string, string>>, ctx: CallContext): Promise<GatewayResponse> {
          const view = new RequestView(req, params, plan.bodyParsing, ctx.claims);
          const attachments = plan.attachmentsFrom(view);
          const subset = canary?.select(view);
          if (subset !== undefined) addTagAttachments(attachments, subset);
          const timeoutMs = Math.floor(ctx.deadline - performance.now());
          if (timeoutMs <= 0) throw new FerryError('FERRY_UPSTREAM_TIMEOUT', `route "${route.id}" ran out of time before the call`);
          const { span, ctx: clientCtx } = telemetry.startClientSpan(ctx.otel, callInfo);
          // Set when the call is handed to the client: a request refused while encoding is no upstream call.
          let started: number | undefined;
          let failure: FerryError | undefined;
          try {
            injectIntoAttachments(clientCtx, attachments);
            const body = plan.encodeRequest(view, attachments, timeoutMs);
            const { client, stickiness: sticky } = upstreamOf();
            const hint: PickHint | undefined = withSubset(sticky?.hint(req), subset);
            started = performance.now();
            const reply = await client.call(body, {
              timeoutMs: Math.max(1, Math.floor(ctx.deadline - started)),
              idempotent: route.idempotent,
              retries,
              ...(hint !== undefined ? { hint } : {}),
              ...(req.signal !== undefined ? { signal: req.signal } : {}),
            });
            const colon = reply.endpoint.lastIndexOf(':');
            telemetry.setPeer(span, reply.endpoint.slice(0, colon), Number(reply.endpoint.slice(colon + 1)));
            // The route's deadline bounds decoding too (src/codec/decode-deadline.ts).
            const response = plan.decodeReply(
              reply.status,
              reply.body,
              reply.endpoint,
              ctx.deadline,
              ctx.config !== undefined ? replyCatalog(ctx.config) : undefined,
            );
            const extra = sticky?.replyHeaders(hint, reply.endpoint);
            if (extra) Object.assign(response.headers, extra);
            response.endpoint = reply.endpoint;
            return response;
          } catch (thrown) {
            failure = toFerryError(thrown);
            throw failure;
          } finally {
            telemetry.endClientSpan(span, failure === undefined ? {} : { error: failure });
            if (started !== undefined) observeCall?.(service.name, route.rpcMethod, performance.now() - started, failure?.code);
          }
        },
      };
      const types = new Map<string, string>();
      for (const name of plan.declaredTypes) types.set(name, typeKey(config.types.get(name)!));
      bindDeps.set(handler, { route, service, types, enums: enumKey(config), opts });
      return handler;
    },
  };
}
