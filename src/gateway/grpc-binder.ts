/**
 * The gRPC / Triple binding: loads each service's proto once, derives routes from its
 * google.api.http options, and binds routes to handlers that map JSON ↔ protobuf and call the
 * upstream through grpc-js channels. Triple (Dubbo 3) is the same path plus Dubbo's
 * `tri-service-version` / `tri-service-group` metadata.
 */
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { Metadata } from '@grpc/grpc-js';
import protobuf from 'protobufjs';
import type { Method, Service, Type } from 'protobufjs';
import { configErrorAt, keySource } from '../config/errors.js';
import type { FerryConfig, GrpcRoute, ProtoService, ServiceConfig } from '../config/types.js';
import { FerryError, toFerryError, toProblem } from '../errors/index.js';
import { createProtoJson } from '../codec/protojson/index.js';
import type { ProtoJson } from '../codec/protojson/index.js';
import { compileRequestMapping, compileResponseMapping } from '../mapping/grpc/request.js';
import type { RequestMapping } from '../mapping/grpc/request.js';
import { routesFromHttpRules } from '../mapping/grpc/routes.js';
import { canaryOf, compileCanary, TAG_ATTACHMENT } from './canary.js';
import { compileExtractor, RequestView } from '../mapping/request-view.js';
import type { GatewayRequest, GatewayResponse } from '../exchange/index.js';
import { variableNames } from '../router/index.js';
import { injectIntoMetadata } from '../telemetry/propagation.js';
import type { Telemetry } from '../telemetry/spans.js';
import { withSubset } from '../upstream/balance/subset.js';
import type { PickHint, SubsetRequest } from '../upstream/balance/types.js';
import type { StickinessPolicy } from '../upstream/balance/sticky-cookie.js';
import type { GrpcClient, ServiceUpstream } from '../upstream/clients.js';
import type { FileDesc } from '../upstream/grpc/descriptors.js';
import { loadDescriptorRoot, loadDescriptorSetFile, loadProtoRoot } from '../upstream/grpc/proto-loader.js';
import type { CallContext, ProtocolBinder, RouteHandler, UpstreamCallObserver } from './types.js';

export interface GrpcBindingOptions {
  /** Config root: relative `proto` paths resolve against it. */
  readonly root: string;
  /** The client set of a service (the composition root keeps them across reloads). */
  readonly clientFor: (service: ServiceConfig) => ServiceUpstream;
  /** Span helpers; without them calls still carry the incoming trace context in metadata. */
  readonly telemetry?: Telemetry;
  readonly observeCall?: UpstreamCallObserver;
  /** The descriptors fetched from a `reflection:` service's upstream; undefined while none arrived. */
  readonly reflected?: (service: ProtoService) => readonly FileDesc[] | undefined;
  /** Why a `reflection:` service has no schema yet (for its routes' 503 answers). */
  readonly reflectionFailure?: (service: ProtoService) => string | undefined;
}

export interface GrpcBinding {
  /** Routes derived from the service proto's google.api.http options (fromProto: true). */
  routesFor(service: ProtoService): GrpcRoute[];
  /** The full names of a route's request and response messages (for the admin console); undefined when the proto does not declare the method. */
  messageTypes(route: GrpcRoute, service: ProtoService): { readonly request: string; readonly response: string } | undefined;
  readonly binder: ProtocolBinder<ProtoService, GrpcRoute>;
}

interface LoadedProto {
  readonly root: protobuf.Root;
  readonly json: ProtoJson;
  readonly decodeDetails: (bytes: Buffer) => unknown[] | undefined;
}

/** Metadata keys a client must not set through forwarded headers (transport-level or gRPC-reserved). */
const RESERVED_METADATA = /^(grpc-|:|content-type$|te$|host$|connection$|transfer-encoding$|keep-alive$|upgrade$|user-agent$)/;
/** Response metadata not echoed back as headers. */
const HIDDEN_RESPONSE_METADATA = new Set([
  'content-type',
  'grpc-status',
  'grpc-message',
  'grpc-status-details-bin',
  'grpc-encoding',
  'grpc-accept-encoding',
]);

const JSON_TYPE = 'application/json';
const NDJSON_TYPE = 'application/x-ndjson';

/** Builds the binding. One per compiled config; the clients it binds to outlive it. */
export function createGrpcBinding(opts: GrpcBindingOptions): GrpcBinding {
  const protos = new Map<string, LoadedProto>();

  /** What describes a service's schema, for messages: its .proto, its descriptor set, or its reflection service. */
  function schemaLabel(service: ProtoService): string {
    return service.proto ?? service.descriptorSet ?? `the reflection service of "${service.name}"`;
  }

  function fileOf(file: string, root: string): string {
    return path.isAbsolute(file) ? file : path.resolve(root, file);
  }

  function withJson(root: protobuf.Root): LoadedProto {
    const json = createProtoJson(root);
    const statusType = root.lookupType('google.rpc.Status');
    const decodeDetails = (bytes: Buffer): unknown[] | undefined => {
      try {
        const st = json.toJson(statusType, bytes) as { details?: unknown[] };
        return st.details ?? [];
      } catch {
        return undefined;
      }
    };
    return { root, json, decodeDetails };
  }

  /** The service's loaded schema; undefined while a `reflection:` service's has not arrived. */
  function load(service: ProtoService, configRoot: string): LoadedProto | undefined {
    if (service.reflection !== undefined) {
      const key = `reflection:${service.name}`;
      const cached = protos.get(key);
      if (cached !== undefined) return cached;
      const files = opts.reflected?.(service);
      if (files === undefined) return undefined;
      let root: protobuf.Root;
      try {
        root = loadDescriptorRoot(files, `the reflection service of ${service.name}`);
      } catch (err) {
        throw configErrorAt(keySource(service, 'reflection'), `service "${service.name}": ${(err as Error).message}`);
      }
      const loaded = withJson(root);
      protos.set(key, loaded);
      return loaded;
    }
    const key = service.proto !== undefined ? 'proto' : 'descriptorSet';
    const file = fileOf((service.proto ?? service.descriptorSet)!, configRoot);
    let loaded = protos.get(file);
    if (loaded !== undefined) return loaded;
    let root: protobuf.Root;
    try {
      if (service.proto !== undefined) {
        const includeDirs: string[] = [path.dirname(file)];
        const idlAt = file.lastIndexOf(`${path.sep}idl${path.sep}`);
        if (idlAt >= 0) includeDirs.unshift(file.slice(0, idlAt + 5));
        root = loadProtoRoot([file], { includeDirs });
      } else {
        root = loadDescriptorSetFile(file);
      }
    } catch (err) {
      throw configErrorAt(keySource(service, key), `service "${service.name}": ${(err as Error).message}`);
    }
    loaded = withJson(root);
    protos.set(file, loaded);
    return loaded;
  }

  function lookupService(loaded: LoadedProto, service: ProtoService): Service {
    try {
      return loaded.root.lookupService(service.service);
    } catch {
      throw configErrorAt(
        keySource(service, 'service'),
        `${service.proto !== undefined ? 'proto ' : service.descriptorSet !== undefined ? 'descriptor set ' : ''}${schemaLabel(service)} declares no service ${service.service}`,
      );
    }
  }

  /** A route of a `reflection:` service whose schema has not arrived: a coded 503 until it does. */
  function pending(route: GrpcRoute, service: ProtoService): RouteHandler {
    return {
      needsBody: false,
      handle: () => {
        const why = opts.reflectionFailure?.(service);
        return Promise.reject(
          new FerryError(
            'FERRY_GRPC_SCHEMA_UNAVAILABLE',
            `route ${route.id}: the schema of ${service.service} has not arrived from its reflection service yet${why !== undefined ? ` (${why})` : ''}`,
          ),
        );
      },
    };
  }

  function bind(route: GrpcRoute, service: ProtoService, config: FerryConfig): RouteHandler {
    const loaded = load(service, config.root ?? opts.root);
    if (loaded === undefined) return pending(route, service);
    const svc = lookupService(loaded, service);
    const method: Method | undefined = svc.methods[route.rpcMethod];
    if (method === undefined) {
      throw configErrorAt(keySource(route, 'call'), `route ${route.id}: ${service.service} has no method ${route.rpcMethod}`);
    }
    if (method.requestStream) {
      throw configErrorAt(keySource(route, 'call'), `route ${route.id}: ${route.rpcMethod} is client-streaming, which one HTTP request cannot drive`);
    }
    method.resolve();
    const input = method.resolvedRequestType as Type;
    const output = method.resolvedResponseType as Type;
    let requestMapping: RequestMapping;
    let responseMapping: (bytes: Uint8Array, deadline?: number) => string;
    try {
      requestMapping = compileRequestMapping(loaded.json, {
        input,
        ...(route.body !== undefined ? { body: route.body } : {}),
        pathFields: variableNames(route.template),
      });
      responseMapping = compileResponseMapping(loaded.json, {
        output,
        ...(route.responseBody !== undefined ? { responseBody: route.responseBody } : {}),
        emitDefaults: route.emitDefaults,
      });
    } catch (err) {
      throw configErrorAt(route.source, `route ${route.id}: ${(err as Error).message}`);
    }
    // Looked up on first use, so that binding alone (ferry validate) connects nowhere.
    let upstream: Extract<ServiceUpstream, { protocol: 'grpc' | 'triple' }> | undefined;
    const upstreamOf = (): Extract<ServiceUpstream, { protocol: 'grpc' | 'triple' }> => {
      if (upstream === undefined) {
        const u = opts.clientFor(service);
        if (u.protocol === 'dubbo') throw new FerryError('FERRY_INTERNAL', `service ${service.name} is not a gRPC or Triple service`);
        upstream = u;
      }
      return upstream;
    };
    const retries = route.retries;
    const decodeDetails = loaded.decodeDetails;
    const grpcPath = `/${service.service}/${method.name}`;
    // Without a written timeout the engine's deadline (the providers' declared `timeout`, else the default) is the limit.
    const timeoutMs = route.timeoutMs ?? (service.timeoutSet ? service.timeoutMs : Infinity);
    const forward = new Set(service.forwardHeaders.map((h) => h.toLowerCase()).filter((h) => !RESERVED_METADATA.test(h)));
    const triple = service.protocol === 'triple';
    const streaming = method.responseStream === true;
    // Metadata the route names (`metadata: { x-user: claim.sub }`): verified claims and request values, as Dubbo routes' attachments.
    const metadataReaders = Object.entries(route.metadata ?? {}).map(([name, from]) => [name, compileExtractor(from, false)] as const);
    const canary = compileCanary(canaryOf(route, service));
    const needsView = metadataReaders.length > 0 || canary !== undefined;

    function metadataFor(
      req: GatewayRequest,
      otelCtx: CallContext['otel'],
      view: RequestView | undefined,
      subset: SubsetRequest | undefined,
    ): Metadata {
      const md = new Metadata();
      const add = (key: string, value: string) => {
        if (key.endsWith('-bin')) md.add(key, Buffer.from(value, 'base64'));
        else md.add(key, value);
      };
      for (const name of forward) {
        const v = req.headers[name];
        if (v === undefined) continue;
        for (const one of Array.isArray(v) ? v : [v]) add(name, one);
      }
      if (view !== undefined) {
        for (const [name, read] of metadataReaders) {
          const v = read(view);
          if (typeof v === 'string') md.set(name, v);
        }
      }
      if (triple) {
        if (service.version !== undefined && service.version !== '') md.set('tri-service-version', service.version);
        if (service.group !== undefined && service.group !== '') md.set('tri-service-group', service.group);
        // A Triple provider reads attachments from headers: the tag as a Dubbo consumer sends it.
        if (subset?.tag !== undefined && subset.tag !== '') md.set(TAG_ATTACHMENT, subset.tag);
      }
      injectIntoMetadata(otelCtx, md);
      return md;
    }

    /** The call's deadline (performance.now() ms): the route's timeout within the request's. */
    function deadlineOf(req: GatewayRequest, ctx: CallContext): number {
      const now = performance.now();
      const until = Math.min(ctx.deadline, req.deadline ?? Infinity, now + timeoutMs);
      if (until - now <= 0) throw new FerryError('FERRY_UPSTREAM_TIMEOUT', `deadline passed before calling ${grpcPath}`);
      return until;
    }

    /** Ends the CLIENT span and reports the call: with `fe` when it failed. */
    function callEnded(span: ReturnType<Telemetry['startClientSpan']> | undefined, started: number, fe?: FerryError): void {
      if (span) {
        const outcome =
          fe === undefined
            ? { grpcStatus: 0 }
            : { error: fe, ...(fe.details.upstreamStatus !== undefined ? { grpcStatus: fe.details.upstreamStatus } : {}) };
        opts.telemetry?.endClientSpan(span.span, outcome);
      }
      opts.observeCall?.(service.name, method!.name, performance.now() - started, fe?.code);
    }

    async function handle(req: GatewayRequest, params: Readonly<Record<string, string>>, ctx: CallContext): Promise<GatewayResponse> {
      const bytes = requestMapping.build(req, params);
      const view = needsView ? new RequestView(req, params, 'fast', ctx.claims) : undefined;
      const subset = view !== undefined ? canary?.select(view) : undefined;
      const deadline = deadlineOf(req, ctx);
      const span = opts.telemetry?.startClientSpan(ctx.otel, { system: 'grpc', service: service.service, method: method!.name });
      const started = performance.now();
      const metadata = metadataFor(req, span?.ctx ?? ctx.otel, view, subset);
      const { client, stickiness } = upstreamOf();
      const hint: PickHint | undefined = withSubset(stickiness?.hint(req), subset);
      try {
        if (!streaming) {
          const res = await client.unary(grpcPath, bytes, {
            metadata,
            deadline,
            decodeDetails,
            idempotent: route.idempotent,
            retries,
            ...(hint !== undefined ? { hint } : {}),
            ...(req.signal !== undefined ? { signal: req.signal } : {}),
          });
          if (span) setPeer(span.span, res.endpoint);
          let body: string;
          try {
            // The call's deadline bounds decoding too (src/codec/decode-deadline.ts).
            body = responseMapping(res.message, deadline);
          } catch (err) {
            throw mapDecodeError(err);
          }
          const headers: Record<string, string | string[]> = { 'content-type': JSON_TYPE };
          copyMetadata(headers, res.headers, 'grpc-metadata-');
          copyMetadata(headers, res.trailers, 'grpc-trailer-');
          const sticky = stickiness?.replyHeaders(hint, res.endpoint);
          if (sticky) Object.assign(headers, sticky);
          callEnded(span, started);
          return { status: 200, headers, body, endpoint: res.endpoint };
        }
        return await handleStream(client, stickiness, bytes, metadata, deadline, hint, req.signal, ctx, span, started);
      } catch (err) {
        const fe = toFerryError(err);
        callEnded(span, started, fe);
        throw fe;
      }
    }

    function setPeer(s: NonNullable<ReturnType<Telemetry['startClientSpan']>>['span'], endpoint: string): void {
      const colon = endpoint.lastIndexOf(':');
      opts.telemetry?.setPeer(s, endpoint.slice(0, colon), Number(endpoint.slice(colon + 1)));
    }

    async function handleStream(
      client: GrpcClient,
      stickiness: StickinessPolicy | undefined,
      bytes: Uint8Array,
      metadata: Metadata,
      deadline: number,
      hint: PickHint | undefined,
      signal: AbortSignal | undefined,
      ctx: CallContext,
      span: ReturnType<Telemetry['startClientSpan']> | undefined,
      started: number,
    ): Promise<GatewayResponse> {
      const call = await client.serverStream(grpcPath, bytes, {
        metadata,
        deadline,
        decodeDetails,
        ...(hint !== undefined ? { hint } : {}),
        ...(signal !== undefined ? { signal } : {}),
      });
      if (span) setPeer(span.span, call.endpoint);
      const it = call.messages[Symbol.asyncIterator]();
      // Wait for the first message (or the end) so that an early error becomes a proper status.
      const first = await it.next();
      const md = await call.headers.catch(() => new Metadata());
      const headers: Record<string, string | string[]> = { 'content-type': NDJSON_TYPE };
      copyMetadata(headers, md, 'grpc-metadata-');
      const sticky = stickiness?.replyHeaders(hint, call.endpoint);
      if (sticky) Object.assign(headers, sticky);
      const line = (b: Buffer) => {
        try {
          return responseMapping(b, deadline) + '\n';
        } catch (err) {
          throw mapDecodeError(err);
        }
      };
      const firstLine = first.done ? '' : line(first.value);
      async function* rest(): AsyncGenerator<string> {
        let ended = false;
        try {
          if (first.done) {
            ended = true;
            return;
          }
          for (let r = await it.next(); !r.done; r = await it.next()) yield line(r.value);
          ended = true;
          callEnded(span, started);
        } catch (err) {
          const fe = toFerryError(err);
          ended = true;
          callEnded(span, started, fe);
          // Headers are gone already: the error travels as the last line.
          yield JSON.stringify({ error: toProblem(fe, ctx.routeId) }) + '\n';
        } finally {
          if (!ended) call.cancel();
        }
      }
      if (first.done) callEnded(span, started);
      return { status: 200, headers, body: firstLine, stream: rest(), endpoint: call.endpoint };
    }

    return { needsBody: requestMapping.needsBody, handle };
  }

  return {
    routesFor(service) {
      const loaded = load(service, opts.root);
      // A reflection service's derived routes appear with its schema (the config is built again then).
      if (loaded === undefined) return [];
      return routesFromHttpRules(service, lookupService(loaded, service), schemaLabel(service));
    },
    messageTypes(route, service) {
      try {
        const loaded = load(service, opts.root);
        if (loaded === undefined) return undefined;
        const method = lookupService(loaded, service).methods[route.rpcMethod];
        if (method === undefined) return undefined;
        method.resolve();
        const name = (t: Type | null | undefined): string => (t?.fullName ?? '').replace(/^\./, '');
        return { request: name(method.resolvedRequestType), response: name(method.resolvedResponseType) };
      } catch {
        return undefined;
      }
    },
    binder: { bind },
  };
}

function mapDecodeError(err: unknown): FerryError {
  if (err instanceof FerryError) return err;
  return new FerryError('FERRY_UPSTREAM_PROTOCOL_ERROR', `cannot decode the gRPC reply: ${(err as Error).message}`, { cause: err });
}

function copyMetadata(headers: Record<string, string | string[]>, md: Metadata, prefix: string): void {
  for (const [key, values] of Object.entries(md.toJSON())) {
    if (HIDDEN_RESPONSE_METADATA.has(key)) continue;
    const texts = (values as Array<string | Buffer>).map((v) => (typeof v === 'string' ? v : Buffer.from(v).toString('base64')));
    if (texts.length === 0) continue;
    headers[prefix + key] = texts.length === 1 ? texts[0]! : texts;
  }
}
