/**
 * The protocol-neutral request and response that flow through the engine. Front ends (HTTP,
 * ext_proc) only translate their wire format into these two types and back.
 */

import { PROBLEM_CONTENT_TYPE, toProblem, type FerryError, type ProblemDetail } from '../errors/index.js';

/**
 * The deepest nesting of JSON arrays and objects Ferry takes in a request body and gives in a
 * reply: one limit both ways, so whatever a client may send, a provider may echo back. Request
 * bodies deeper than this are refused (400 FERRY_BAD_JSON); replies deeper are a protocol error.
 * (In Hessian replies every list, map and object counts, including the ones Java uses for a date.)
 */
export const MAX_JSON_NESTING = 256;

/** Header values as Node gives them: lower-case names, repeated headers as arrays. */
export type HeaderMap = Record<string, string | string[] | undefined>;

export interface GatewayRequest {
  /** Upper-case HTTP method. */
  readonly method: string;
  /** Path without the query string, still percent-encoded. */
  readonly path: string;
  /** The raw query string without the leading `?` ('' when absent). */
  readonly rawQuery: string;
  /** Lower-case header names. Cookies are read from `cookie` lazily. */
  readonly headers: HeaderMap;
  /** The raw body, undefined when the request had none. */
  readonly body: Buffer | undefined;
  /** Absolute deadline in `performance.now()` milliseconds, if the caller set one. */
  readonly deadline?: number;
  /** Peer address, for logs only. */
  readonly remoteAddress?: string;
  /**
   * Aborted by the front end when the client goes away (HTTP connection closed before the answer,
   * ext_proc stream ended): the upstream call is cancelled and the request ends as 499.
   */
  readonly signal?: AbortSignal;
  /** Envoy's request attributes (ext_proc front end only): `xds.route_name`, `source.address`, ... → value. */
  readonly attributes?: Readonly<Record<string, unknown>>;
  /** Dynamic metadata Envoy forwarded (ext_proc front end only): namespace → field → value. */
  readonly metadata?: Readonly<Record<string, Readonly<Record<string, unknown>>>>;
  /** The front end that took the request (policies may be turned off for one); absent = `http`. */
  readonly frontend?: FrontendKind;
}

/** Ferry's front ends: its own HTTP server, and the Envoy ext_proc service. */
export type FrontendKind = 'http' | 'ext-proc';

export interface GatewayResponse {
  status: number;
  /** Lower-case header names. `set-cookie` may be an array. */
  headers: Record<string, string | string[]>;
  /** The whole body; for streamed responses, the chunks follow in `stream`. */
  body: Buffer | string;
  /** Server-streaming replies (newline-delimited JSON): chunks after `body`. */
  stream?: AsyncIterable<Buffer | string>;
  /** The upstream endpoint (host:port) that answered, when one did: for Envoy's dynamic metadata, never sent to the client. */
  endpoint?: string;
}

/** Reads one header as a single string (first value of a repeated header). */
export function headerValue(headers: HeaderMap, name: string): string | undefined {
  const v = headers[name];
  if (v === undefined) return undefined;
  return Array.isArray(v) ? v[0] : v;
}

/** Parses the Cookie header into name → value (first occurrence wins, values URL-decoded). */
export function parseCookies(headers: HeaderMap): Record<string, string> {
  const out: Record<string, string> = {};
  const raw = headers['cookie'];
  const lines = raw === undefined ? [] : Array.isArray(raw) ? raw : [raw];
  for (const line of lines) {
    for (const part of line.split(';')) {
      const eq = part.indexOf('=');
      if (eq <= 0) continue;
      const name = part.slice(0, eq).trim();
      if (name === '' || name in out) continue;
      let value = part.slice(eq + 1).trim();
      if (value.length >= 2 && value.startsWith('"') && value.endsWith('"')) value = value.slice(1, -1);
      try {
        out[name] = decodeURIComponent(value);
      } catch {
        out[name] = value;
      }
    }
  }
  return out;
}

/**
 * The problem+json reply for an error; every front end and the engine answer failures with it.
 * `detail` says how much of the error the client is told (`safe` unless an operator asked for more).
 */
export function problemResponse(err: FerryError, routeId?: string, traceId?: string, detail: ProblemDetail = 'safe'): GatewayResponse {
  return {
    status: err.status,
    headers: { 'content-type': PROBLEM_CONTENT_TYPE },
    body: JSON.stringify(toProblem(err, routeId, traceId, detail)),
  };
}
