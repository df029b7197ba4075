/**
 * Binds Dubbo routes: the compiled mapping plan plus the service's client. Per call it maps the
 * request, opens a CLIENT span, carries trace context in the attachments, calls, and maps the reply.
 */
import { performance } from 'node:perf_hooks';
import type { DubboRoute, DubboService, FerryConfig, ServiceConfig } from '../config/types.js';
import { FerryError, toFerryError } from '../errors/index.js';
import type { GatewayRequest, GatewayResponse } from '../exchange/index.js';
import { compileDubboRoute } from '../mapping/dubbo.js';
import { RequestView } from '../mapping/request-view.js';
import { createTelemetry, injectIntoAttachments, type Telemetry } from '../telemetry/index.js';
import { callWithFailover } from '../upstream/balance/failover.js';
import type { OutlierDetector } from '../upstream/balance/outlier.js';
import type { PickHint } from '../upstream/balance/types.js';
import type { CallContext, ProtocolBinder, RouteHandler, UpstreamCallObserver } from './types.js';

/** The part of a Dubbo client the binder needs. */
export interface DubboCaller {
  call(body: Buffer, opts: { timeoutMs: number; hint?: PickHint }): Promise<{ status: number; body: Buffer; endpoint: string }>;
  /** Fed with each attempt's outcome so that failing endpoints are ejected. */
  readonly outlier?: OutlierDetector;
}

/** Per-service session affinity: what to ask the balancer, and what to tell the client afterwards. */
export interface Stickiness {
  hint(req: GatewayRequest): PickHint | undefined;
  /** Headers to add to the reply once the call went to `endpoint` (e.g. a re-issued cookie). */
  replyHeaders(hint: PickHint | undefined, endpoint: string): Record<string, string> | undefined;
}

export interface DubboBindingOptions {
  /** The client for a service (the composition root keeps clients across reloads). */
  readonly clientFor: (service: ServiceConfig) => DubboCaller;
  readonly stickinessFor?: (service: ServiceConfig) => Stickiness | undefined;
  readonly telemetry?: Telemetry;
  readonly observeCall?: UpstreamCallObserver;
}

export function createDubboBinder(opts: DubboBindingOptions): ProtocolBinder<DubboService, DubboRoute> {
  const telemetry = opts.telemetry ?? createTelemetry();
  const observeCall = opts.observeCall;
  return {
    bind(route: DubboRoute, service: DubboService, config: FerryConfig): RouteHandler {
      const plan = compileDubboRoute(route, service, config);
      const client = opts.clientFor(service);
      const sticky = opts.stickinessFor?.(service);
      const callInfo = { system: 'apache_dubbo', service: service.interface, method: route.rpcMethod } as const;
      const endpointOf = (r: { endpoint: string }): string => r.endpoint;
      const outlier = client.outlier;
      return {
        needsBody: plan.needsBody,
        async handle(req: GatewayRequest, params: Readonly<Record<string, string>>, ctx: CallContext): Promise<GatewayResponse> {
          const view = new RequestView(req, params, plan.bodyParsing);
          const attachments = plan.attachmentsFrom(view);
          const timeoutMs = Math.floor(ctx.deadline - performance.now());
          if (timeoutMs <= 0) throw new FerryError('FERRY_UPSTREAM_TIMEOUT', `route "${route.id}" ran out of time before the call`);
          const { span, ctx: clientCtx } = telemetry.startClientSpan(ctx.otel, callInfo);
          // Set when the call is handed to the client: a request refused while encoding is no upstream call.
          let started: number | undefined;
          let failure: FerryError | undefined;
          try {
            injectIntoAttachments(clientCtx, attachments);
            const body = plan.encodeRequest(view, attachments, timeoutMs);
            const hint = sticky?.hint(req);
            // Retries only where safe: the call never reached the wire, or the route is idempotent.
            const attempt = (h: PickHint): ReturnType<DubboCaller['call']> =>
              client.call(body, { timeoutMs: Math.max(1, Math.floor(ctx.deadline - performance.now())), hint: h });
            started = performance.now();
            const reply = await callWithFailover(
              attempt,
              outlier !== undefined
                ? { idempotent: route.idempotent, hint: hint ?? {}, deadline: ctx.deadline, endpointOf, outlier }
                : { idempotent: route.idempotent, hint: hint ?? {}, deadline: ctx.deadline, endpointOf },
            );
            const colon = reply.endpoint.lastIndexOf(':');
            telemetry.setPeer(span, reply.endpoint.slice(0, colon), Number(reply.endpoint.slice(colon + 1)));
            const response = plan.decodeReply(reply.status, reply.body, reply.endpoint);
            const extra = sticky?.replyHeaders(hint, reply.endpoint);
            if (extra) Object.assign(response.headers, extra);
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
    },
  };
}
