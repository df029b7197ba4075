/**
 * W3C trace-context carriers: read `traceparent`/`tracestate` from an HTTP request's headers, and
 * write them into Dubbo attachments and gRPC metadata so the provider continues the same trace.
 * Uses only the global propagator of `@opentelemetry/api`; the SDK setup registers the W3C one.
 */
import { context as apiContext, propagation, ROOT_CONTEXT, trace } from '@opentelemetry/api';
import type { Context, TextMapGetter, TextMapSetter } from '@opentelemetry/api';
import type { HeaderMap } from '../exchange/index.js';

/** Reads lower-case header names from a neutral HeaderMap (repeated headers come back as arrays). */
export const headerMapGetter: TextMapGetter<HeaderMap> = {
  keys(carrier) {
    return Object.keys(carrier);
  },
  get(carrier, key) {
    const v = carrier[key.toLowerCase()];
    return v === undefined ? undefined : v;
  },
};

/** Writes into a Dubbo attachments record (string → string, as the provider's RpcContext holds them). */
export const attachmentsSetter: TextMapSetter<Record<string, string>> = {
  set(carrier, key, value) {
    carrier[key] = value;
  },
};

/** Reads a Dubbo attachments record (used by tests and by anything that receives attachments back). */
export const attachmentsGetter: TextMapGetter<Record<string, unknown>> = {
  keys(carrier) {
    return Object.keys(carrier);
  },
  get(carrier, key) {
    const v = carrier[key];
    return typeof v === 'string' ? v : undefined;
  },
};

/**
 * The part of grpc-js `Metadata` the carriers use. Declared structurally so that telemetry does not
 * depend on grpc-js; a real `Metadata` instance satisfies it.
 */
export interface MetadataLike {
  set(key: string, value: string): void;
  get(key: string): Array<string | Buffer>;
  getMap(): Record<string, string | Buffer>;
}

/** Writes text entries into grpc-js Metadata (keys are lower-case ASCII, as gRPC requires). */
export const metadataSetter: TextMapSetter<MetadataLike> = {
  set(carrier, key, value) {
    carrier.set(key.toLowerCase(), value);
  },
};

/** Reads text entries from grpc-js Metadata (the first value of a repeated key). */
export const metadataGetter: TextMapGetter<MetadataLike> = {
  keys(carrier) {
    return Object.keys(carrier.getMap());
  },
  get(carrier, key) {
    const values = carrier.get(key.toLowerCase());
    const texts = values.filter((v): v is string => typeof v === 'string');
    if (texts.length === 0) return undefined;
    return texts.length === 1 ? texts[0] : texts;
  },
};

/**
 * The OpenTelemetry context carried by an incoming request's headers (the remote parent span), on
 * top of `base` (ROOT_CONTEXT by default, so nothing leaks in from whatever context is active).
 */
export function extractFromHeaders(headers: HeaderMap, base: Context = ROOT_CONTEXT): Context {
  return propagation.extract(base, headers, headerMapGetter);
}

/** The trace id an incoming request's headers carry (valid W3C context only), for problem documents. */
export function traceIdFromHeaders(headers: HeaderMap): string | undefined {
  const sc = trace.getSpanContext(extractFromHeaders(headers));
  return sc !== undefined && trace.isSpanContextValid(sc) ? sc.traceId : undefined;
}

/** Writes the trace context of `ctx` (normally the CLIENT span's) into Dubbo attachments. */
export function injectIntoAttachments(ctx: Context, attachments: Record<string, string>): void {
  propagation.inject(ctx, attachments, attachmentsSetter);
}

/** Writes the trace context of `ctx` (normally the CLIENT span's) into grpc-js Metadata. */
export function injectIntoMetadata(ctx: Context, metadata: MetadataLike): void {
  propagation.inject(ctx, metadata, metadataSetter);
}

/** The active context, for callers that do not carry one explicitly. */
export function activeContext(): Context {
  return apiContext.active();
}
