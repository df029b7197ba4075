/**
 * Pure translation between ext_proc messages and Ferry's neutral request/response. No route or
 * mapping logic here: the engine decides everything; this file only changes the wire shape.
 */
import { FerryError, PROBLEM_CONTENT_TYPE } from '../../errors/index.js';
import type { GatewayResponse, HeaderMap as NeutralHeaders } from '../../exchange/index.js';
import type { HeaderMap, HeaderValueOption, ImmediateResponse, ProcessingMode, ProcessingResponse, StreamedBodyResponse } from './protocol.js';

/** The request line and headers read from a request_headers message. */
export interface RequestHead {
  readonly method: string;
  readonly path: string;
  readonly rawQuery: string;
  readonly headers: NeutralHeaders;
}

// Node's http parser keeps only the first of these when repeated; we do the same so that both
// front ends hand the engine the same header values.
const SINGLE_VALUED = new Set([
  'age',
  'authorization',
  'content-length',
  'content-type',
  'etag',
  'expires',
  'from',
  'host',
  'if-modified-since',
  'if-unmodified-since',
  'last-modified',
  'location',
  'max-forwards',
  'proxy-authorization',
  'referer',
  'retry-after',
  'server',
  'user-agent',
]);

/** A header value: `raw_value` when non-empty (current Envoy), else `value` (older Envoy). */
export function headerText(h: { value?: string; raw_value?: Buffer | Uint8Array }): string {
  const raw = h.raw_value;
  if (raw !== undefined && raw.length > 0) return Buffer.from(raw.buffer, raw.byteOffset, raw.length).toString('latin1');
  return h.value ?? '';
}

// CR, LF and NUL end or corrupt a header line: Node's HTTP parser refuses them, so does ext_proc.
const LINE_BREAKING = /[\r\n\0]/;

/**
 * Reads an Envoy HeaderMap into the request head: pseudo-headers give the method and path
 * (split at the first `?`), `:authority` becomes `host` when no host header came, and repeated
 * headers merge the way Node's HTTP server merges them. Names are lower-cased.
 * Throws FerryError: 400 FERRY_EXT_PROC_PROTOCOL_ERROR when `:method` or `:path` is missing,
 * 400 FERRY_MALFORMED_REQUEST for CR, LF or NUL in a name or value (as the HTTP front end), and
 * 431 FERRY_HEADERS_TOO_LARGE when names and values (each line counted as in HTTP/1.1) pass `maxHeaderBytes`.
 */
export function readRequestHead(map: HeaderMap | null | undefined, maxHeaderBytes = Infinity): RequestHead {
  const headers: Record<string, string | string[]> = {};
  let method: string | undefined;
  let fullPath: string | undefined;
  let authority: string | undefined;
  let size = 0;
  for (const h of map?.headers ?? []) {
    const name = h.key.toLowerCase();
    const value = headerText(h);
    size += name.length + value.length + 4; // "name: value\r\n"
    if (size > maxHeaderBytes) {
      throw new FerryError('FERRY_HEADERS_TOO_LARGE', `the request headers are over the ${maxHeaderBytes}-byte limit`);
    }
    if (LINE_BREAKING.test(value) || LINE_BREAKING.test(name)) {
      throw new FerryError('FERRY_MALFORMED_REQUEST', `header ${JSON.stringify(name.slice(0, 64))} holds a CR, LF or NUL character`);
    }
    if (name.startsWith(':')) {
      if (name === ':method') method = value;
      else if (name === ':path') fullPath = value;
      else if (name === ':authority') authority = value;
      continue;
    }
    const prev = headers[name];
    if (prev === undefined) headers[name] = name === 'set-cookie' ? [value] : value;
    else if (name === 'set-cookie') (prev as string[]).push(value);
    else if (SINGLE_VALUED.has(name)) continue;
    else headers[name] = `${prev as string}${name === 'cookie' ? '; ' : ', '}${value}`;
  }
  if (headers['host'] === undefined && authority !== undefined && authority !== '') headers['host'] = authority;
  if (method === undefined || method === '') {
    throw new FerryError('FERRY_EXT_PROC_PROTOCOL_ERROR', 'ext_proc request_headers carry no :method pseudo-header');
  }
  if (fullPath === undefined || fullPath === '') {
    throw new FerryError('FERRY_EXT_PROC_PROTOCOL_ERROR', 'ext_proc request_headers carry no :path pseudo-header');
  }
  const q = fullPath.indexOf('?');
  return {
    method: method.toUpperCase(),
    path: q < 0 ? fullPath : fullPath.slice(0, q),
    rawQuery: q < 0 ? '' : fullPath.slice(q + 1),
    headers,
  };
}

// Envoy computes these itself for a local reply; setting them would fight its framing.
const NOT_FORWARDED = new Set(['content-length', 'transfer-encoding', 'connection', 'keep-alive', 'upgrade']);

/**
 * Header mutations for an ImmediateResponse. Only `raw_value` is set (current Envoy reads only
 * raw_value and rejects both together). The first value of a name overwrites
 * (append_action OVERWRITE_IF_EXISTS_OR_ADD, `append` unset), so a default such as Envoy's
 * `content-type: text/plain` is replaced. Further values of the same name (several set-cookie)
 * are appended with `append: true` and append_action left at 0, which both the older
 * (`append`-only) and newer (append_action, falling back to `append` when 0) Envoy read as append.
 */
export function headerMutations(headers: Readonly<Record<string, string | string[]>>): HeaderValueOption[] {
  const out: HeaderValueOption[] = [];
  for (const [name, v] of Object.entries(headers)) {
    const key = name.toLowerCase();
    if (NOT_FORWARDED.has(key) || key.startsWith(':')) continue;
    const values = Array.isArray(v) ? v : [v];
    values.forEach((value, i) => {
      const header = { key, raw_value: Buffer.from(value, 'latin1') };
      out.push(i === 0 ? { header, append_action: 'OVERWRITE_IF_EXISTS_OR_ADD' } : { header, append: { value: true } });
    });
  }
  return out;
}

/** `details` for the ImmediateResponse: the problem code for error replies, else `ferry_ok`. */
export function detailsFor(res: GatewayResponse, body: Buffer): string {
  const ct = res.headers['content-type'];
  const type = Array.isArray(ct) ? ct[0] : ct;
  if (type !== undefined && type.startsWith(PROBLEM_CONTENT_TYPE)) {
    const m = /"code"\s*:\s*"(FERRY_[A-Z_]+)"/.exec(body.toString('utf8'));
    return m === null ? `ferry_status_${res.status}` : m[1]!;
  }
  return res.status < 400 ? 'ferry_ok' : `ferry_status_${res.status}`;
}

/**
 * Most bytes of a streamed (NDJSON) reply gathered into one ImmediateResponse in the classic body
 * modes, which have no way to send it in pieces: past it the upstream stream is cancelled and the
 * answer is 502 FERRY_REPLY_TOO_LARGE (FULL_DUPLEX_STREAMED sends such replies piece by piece).
 */
export const MAX_IMMEDIATE_STREAM_BYTES = 4 * 1024 * 1024;

/**
 * Reads a whole GatewayResponse body, including streamed chunks (an ImmediateResponse has one body);
 * undefined when the streamed chunks pass `maxBytes` (the stream is then cancelled: leaving the loop
 * returns its iterator).
 */
export async function collectBody(res: GatewayResponse, maxBytes = MAX_IMMEDIATE_STREAM_BYTES): Promise<Buffer | undefined> {
  const first = typeof res.body === 'string' ? Buffer.from(res.body, 'utf8') : res.body;
  if (res.stream === undefined) return first;
  const parts: Buffer[] = [first];
  let bytes = first.length;
  for await (const chunk of res.stream) {
    const b = typeof chunk === 'string' ? Buffer.from(chunk, 'utf8') : chunk;
    bytes += b.length;
    if (bytes > maxBytes) return undefined;
    parts.push(b);
  }
  return Buffer.concat(parts, bytes);
}

/**
 * Turns the engine's reply into the ImmediateResponse Envoy sends to the client as is; undefined
 * when a streamed reply is over `maxStreamBytes` (the caller answers with a problem instead).
 */
export async function toImmediateResponse(
  res: GatewayResponse,
  maxStreamBytes = MAX_IMMEDIATE_STREAM_BYTES,
): Promise<ProcessingResponse | undefined> {
  const body = await collectBody(res, maxStreamBytes);
  if (body === undefined) return undefined;
  const immediate: ImmediateResponse = {
    status: { code: res.status },
    headers: { set_headers: headerMutations(res.headers) },
    body,
    details: detailsFor(res, body),
  };
  return { immediate_response: immediate };
}

/** Largest body piece of a streamed reply: what Envoy's API recommends for FULL_DUPLEX_STREAMED. */
export const STREAMED_CHUNK_BYTES = 64 * 1024;

/** `:status` and the reply's headers as the HeaderMap of a streamed reply (raw_value only, one entry per value). */
export function replyHeaderMap(res: GatewayResponse): { headers: Array<{ key: string; raw_value: Buffer }> } {
  const headers = [{ key: ':status', raw_value: Buffer.from(String(res.status)) }];
  for (const [name, v] of Object.entries(res.headers)) {
    const key = name.toLowerCase();
    if (NOT_FORWARDED.has(key) || key.startsWith(':')) continue;
    for (const value of Array.isArray(v) ? v : [v]) headers.push({ key, raw_value: Buffer.from(value, 'latin1') });
  }
  return { headers };
}

function* pieces(chunk: Buffer | string): Generator<Buffer> {
  const b = typeof chunk === 'string' ? Buffer.from(chunk, 'utf8') : chunk;
  if (b.length <= STREAMED_CHUNK_BYTES) {
    if (b.length > 0) yield b;
    return;
  }
  for (let at = 0; at < b.length; at += STREAMED_CHUNK_BYTES) yield b.subarray(at, at + STREAMED_CHUNK_BYTES);
}

const bodyPiece = (body: Buffer, end: boolean): ProcessingResponse => ({
  streamed_immediate_response: { body_response: { body, end_of_stream: end } satisfies StreamedBodyResponse },
});

/**
 * The engine's reply as a StreamedImmediateResponse (FULL_DUPLEX_STREAMED mode): `first` carries
 * `:status` and the headers; `rest` yields the body in pieces of at most 64 KiB as the upstream
 * delivers them (a streamed reply's chunks are never joined), the last with end_of_stream. Only
 * the piece being written is held.
 */
export function toStreamedAnswer(res: GatewayResponse): { first: ProcessingResponse; details: string; rest: AsyncIterable<ProcessingResponse> } {
  const head = typeof res.body === 'string' ? Buffer.from(res.body, 'utf8') : res.body;
  const stream = res.stream;
  const empty = head.length === 0 && stream === undefined;
  const first: ProcessingResponse = { streamed_immediate_response: { headers_response: { headers: replyHeaderMap(res), end_of_stream: empty } } };
  async function* rest(): AsyncGenerator<ProcessingResponse> {
    if (empty) return;
    if (stream === undefined) {
      const all = [...pieces(head)];
      for (let i = 0; i < all.length; i++) yield bodyPiece(all[i]!, i === all.length - 1);
      return;
    }
    for (const p of pieces(head)) yield bodyPiece(p, false);
    for await (const chunk of stream) for (const p of pieces(chunk)) yield bodyPiece(p, false);
    // The end is known only when the upstream stream ends: an empty last piece says so.
    yield bodyPiece(Buffer.alloc(0), true);
  }
  return { first, details: detailsFor(res, head), rest: rest() };
}

/**
 * The reply to a body chunk of a request Ferry lets through in FULL_DUPLEX_STREAMED mode: Envoy
 * forwards only what comes back, so the chunk goes back unchanged.
 */
export function passOnChunk(body: Buffer, end: boolean): ProcessingResponse {
  return { request_body: { response: { status: 'CONTINUE', body_mutation: { streamed_response: { body, end_of_stream: end } } } } };
}

/**
 * The processing mode sent in `mode_override`: only the request body mode varies. The response
 * side is always SKIP/NONE because Ferry never processes responses (a field left at DEFAULT would
 * make Envoy send the response headers).
 */
export function modeOverride(requestBodyMode: 'NONE' | 'BUFFERED'): ProcessingMode {
  return {
    request_header_mode: 'SEND',
    response_header_mode: 'SKIP',
    request_body_mode: requestBodyMode,
    response_body_mode: 'NONE',
    request_trailer_mode: 'SKIP',
    response_trailer_mode: 'SKIP',
  };
}

/** `{request_headers: {response: {status: CONTINUE}}}`, optionally with a mode override. */
export function continueHeaders(override?: ProcessingMode): ProcessingResponse {
  const res: ProcessingResponse = { request_headers: { response: { status: 'CONTINUE' } } };
  if (override !== undefined) res.mode_override = override;
  return res;
}

/**
 * What Ferry knows of the Envoy filter in front of it (Envoy does not say; the operator does,
 * with the flags of the same names). Absent: Ferry leaves Envoy's timer alone, as before.
 */
export interface EnvoyTimers {
  /** The filter's `message_timeout`, ms (Envoy's default: 200). */
  readonly messageTimeoutMs: number;
  /** The filter's `max_message_timeout`, ms; 0 (Envoy's default) disables `override_message_timeout`. */
  readonly maxMessageTimeoutMs: number;
}

/**
 * Time Ferry keeps between its own deadline and Envoy's timer, so that Ferry's 504 problem (which
 * names the route) reaches Envoy before Envoy gives up on the message with a bare 504.
 */
export const ENVOY_TIMER_MARGIN_MS = 50;

/** How long a request may take, and the override to ask Envoy for first (if any). */
export interface EnvoyBudget {
  readonly budgetMs: number;
  readonly overrideMs?: number;
}

/**
 * Plans a request's time against Envoy's timer: the route's timeout when Envoy's message_timeout
 * covers it; otherwise an override up to max_message_timeout, and a request that does not fit in
 * what Envoy allows gets the shorter budget (Ferry then answers 504 itself, in time).
 */
export function planEnvoyBudget(routeTimeoutMs: number, timers: EnvoyTimers | undefined): EnvoyBudget {
  if (timers === undefined) return { budgetMs: routeTimeoutMs };
  const needed = routeTimeoutMs + ENVOY_TIMER_MARGIN_MS;
  if (needed <= timers.messageTimeoutMs) return { budgetMs: routeTimeoutMs };
  if (timers.maxMessageTimeoutMs > timers.messageTimeoutMs) {
    const granted = Math.min(needed, timers.maxMessageTimeoutMs);
    return { budgetMs: Math.max(1, granted - ENVOY_TIMER_MARGIN_MS), overrideMs: granted };
  }
  return { budgetMs: Math.max(1, timers.messageTimeoutMs - ENVOY_TIMER_MARGIN_MS) };
}

/** A google.protobuf.Duration of whole milliseconds. */
export function durationOf(ms: number): { seconds: number; nanos: number } {
  return { seconds: Math.floor(ms / 1000), nanos: (ms % 1000) * 1_000_000 };
}

/**
 * The dynamic metadata Ferry writes for Envoy's access log and later filters, under `namespace`:
 * the FERRY code (or ferry_ok), the route, the service and the endpoint (host:port) that answered.
 */
export function answerMetadata(
  namespace: string,
  routeId: string | undefined,
  serviceName: string | undefined,
  details: string,
  endpoint?: string,
): Record<string, Record<string, string>> {
  const fields: Record<string, string> = { code: details };
  if (routeId !== undefined) fields['route_id'] = routeId;
  if (serviceName !== undefined) fields['service'] = serviceName;
  if (endpoint !== undefined) fields['endpoint'] = endpoint;
  return { [namespace]: fields };
}
