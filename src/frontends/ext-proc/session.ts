/**
 * One ext_proc stream = one HTTP request. The session turns the ordered ProcessingRequests into
 * exactly one ProcessingResponse each (none in observability mode) and calls the engine once,
 * when it has what the route needs. Wire-free, so it is tested without a socket.
 */
import { FerryError, toFerryError, type ProblemDetail } from '../../errors/index.js';
import type { Engine, RouteMatch } from '../../gateway/types.js';
import { problemResponse, type GatewayRequest, type GatewayResponse } from '../../exchange/index.js';
import { traceIdFromHeaders } from '../../telemetry/index.js';
import {
  answerMetadata,
  continueHeaders,
  durationOf,
  MAX_IMMEDIATE_STREAM_BYTES,
  modeOverride,
  passOnChunk,
  planEnvoyBudget,
  readRequestHead,
  toImmediateResponse,
  toStreamedAnswer,
  type EnvoyTimers,
  type RequestHead,
} from './adapt.js';
import type { BodySendMode, ProcessingRequest, ProcessingResponse } from './protocol.js';

/** Where a session is in the request's life. */
export type SessionState = 'awaiting-headers' | 'collecting-body' | 'passing-through' | 'observing' | 'done';

export interface ExtProcSession {
  /** Handles the next message; resolves with the reply to write, or undefined to write nothing. */
  handle(msg: ProcessingRequest): Promise<ProcessingResponse | undefined>;
  readonly state: SessionState;
  /** Whether the session waits for Envoy's next message (the idle timeout applies only then). */
  readonly awaitingMessage: boolean;
  /**
   * Envoy sent nothing for the idle timeout: the ImmediateResponse (408 FERRY_REQUEST_TIMEOUT)
   * for a request whose body is awaited, or undefined when there is no request to answer yet.
   */
  expire(idleMs: number): Promise<ProcessingResponse | undefined>;
  /** Drops collected body chunks and cancels an upstream call still running (stream ended or was cancelled). */
  dispose(): void;
  /**
   * Called for each message as it arrives, before the messages queued ahead of it are handled
   * (FULL_DUPLEX_STREAMED: Envoy does not wait for replies). A body or trailers message after the
   * request said end_of_stream is a protocol violation: the upstream call still running is
   * cancelled and the answer becomes 400 FERRY_EXT_PROC_PROTOCOL_ERROR (see `violation`).
   */
  arrived(msg: ProcessingRequest): void;
  /** A protocol violation seen by `arrived` that is not the answer itself: an answer already streaming must be cut short. */
  readonly violation: FerryError | undefined;
  /**
   * After `handle` returned the first piece of a streamed local reply (FULL_DUPLEX_STREAMED): the
   * remaining pieces, to write in order; taken once. Undefined otherwise.
   */
  takeRest(): AsyncIterable<ProcessingResponse> | undefined;
}

export interface SessionOptions {
  /** Peer address, passed to the engine for logs. */
  remoteAddress?: string;
  /** Largest body collected, bytes (the front-end contract's limit; default the engine's). */
  maxBodyBytes?: number;
  /** Largest request head, bytes (default: no limit here). */
  maxHeaderBytes?: number;
  /** Largest streamed reply gathered into one ImmediateResponse in the classic body modes (default MAX_IMMEDIATE_STREAM_BYTES). */
  maxStreamedReplyBytes?: number;
  /** How much of an error the problem documents tell (default `safe`). */
  problemDetail?: ProblemDetail;
  /** Envoy's message timers, as the operator configured them; absent: Envoy's timer is left alone. */
  envoyTimers?: EnvoyTimers;
  /**
   * Where answers write their dynamic metadata (route id, code, service) for Envoy's access log and
   * later filters; Envoy keeps it only when its `metadata_options.receiving_namespaces` lists it.
   * Default `envoy.filters.http.ext_proc`; '' writes none.
   */
  metadataNamespace?: string;
  /** Writes a message ahead of the answer (the request for more time); without it none is asked for. */
  interim?: (res: ProcessingResponse) => void;
}

/** The namespace Ferry's answers write dynamic metadata to unless told otherwise: the filter's own. */
export const DEFAULT_METADATA_NAMESPACE = 'envoy.filters.http.ext_proc';

/**
 * Creates the per-stream state machine over one engine (the engine it started with serves the
 * whole stream, so a reload never splits a request). Messages must be handled one at a time,
 * in arrival order.
 */
export function createExtProcSession(engine: Engine, options: SessionOptions = {}): ExtProcSession {
  let state: SessionState = 'awaiting-headers';
  let head: RequestHead | undefined;
  let match: RouteMatch | undefined;
  let configuredBodyMode: BodySendMode | undefined;
  let chunks: Buffer[] = [];
  let bodyBytes = 0;
  // FULL_DUPLEX_STREAMED: body chunks without a reply each, and the answer as a streamed local reply.
  let fullDuplex = false;
  let rest: AsyncIterable<ProcessingResponse> | undefined;
  // What `arrived` saw (ahead of the queue): the request's end, and a message past it.
  let arrivedFullDuplex = false;
  let inputEnded = false;
  let violation: FerryError | undefined;
  // The violation became the answer itself: nothing to cut short.
  let violationAnswered = false;
  // Envoy's request attributes (all namespaces merged, the first one naming a key wins) and forwarded metadata.
  let attributes: Record<string, unknown> | undefined;
  let metadata: Record<string, Record<string, unknown>> | undefined;
  // Aborted when the stream ends: an upstream call still running for it is cancelled.
  const streamGone = new AbortController();
  const maxBodyBytes = options.maxBodyBytes ?? engine.maxBodyBytes;

  const namespace = options.metadataNamespace ?? DEFAULT_METADATA_NAMESPACE;
  // Without a way to ask for more time, Envoy's timer is what it is.
  const timers =
    options.interim === undefined && options.envoyTimers !== undefined ? { ...options.envoyTimers, maxMessageTimeoutMs: 0 } : options.envoyTimers;

  const finish = async (res: GatewayResponse): Promise<ProcessingResponse> => {
    state = 'done';
    chunks = [];
    if (fullDuplex) {
      const answer = toStreamedAnswer(res);
      rest = answer.rest;
      if (namespace !== '')
        answer.first.dynamic_metadata = answerMetadata(namespace, match?.routeId, match?.serviceName, answer.details, res.endpoint);
      return answer.first;
    }
    const reply =
      (await toImmediateResponse(res, options.maxStreamedReplyBytes)) ??
      (await toImmediateResponse(
        problemResponse(
          new FerryError(
            'FERRY_REPLY_TOO_LARGE',
            `The streamed reply is larger than ${options.maxStreamedReplyBytes ?? MAX_IMMEDIATE_STREAM_BYTES} bytes, the most one ext_proc answer holds in this body mode; FULL_DUPLEX_STREAMED sends it in pieces.`,
          ),
          match?.routeId,
          head === undefined ? undefined : traceIdFromHeaders(head.headers),
          options.problemDetail,
        ),
      ))!;
    if (namespace !== '')
      reply.dynamic_metadata = answerMetadata(namespace, match?.routeId, match?.serviceName, reply.immediate_response!.details!, res.endpoint);
    return reply;
  };

  const fail = (err: FerryError): Promise<ProcessingResponse> =>
    finish(problemResponse(err, match?.routeId, head === undefined ? undefined : traceIdFromHeaders(head.headers), options.problemDetail));

  const call = async (body: Buffer | undefined): Promise<ProcessingResponse> => {
    const h = head!;
    // Envoy runs no message timer in FULL_DUPLEX_STREAMED mode: the route's own timeout holds.
    const plan = planEnvoyBudget(match!.timeoutMs, fullDuplex ? undefined : timers);
    if (plan.overrideMs !== undefined) options.interim!({ override_message_timeout: durationOf(plan.overrideMs) });
    const req: GatewayRequest = {
      method: h.method,
      path: h.path,
      rawQuery: h.rawQuery,
      headers: h.headers,
      body,
      deadline: performance.now() + plan.budgetMs,
      ...(options.remoteAddress === undefined ? {} : { remoteAddress: options.remoteAddress }),
      signal: streamGone.signal,
      ...(attributes === undefined ? {} : { attributes }),
      ...(metadata === undefined ? {} : { metadata }),
      frontend: 'ext-proc',
    };
    let res: GatewayResponse;
    try {
      res = await engine.handle(req, match);
    } catch (err) {
      // The engine promises never to reject; if it does anyway the client still gets a problem reply.
      return fail(toFerryError(err));
    }
    // A message past the request's end cancelled the call: that, not the 499, is the answer.
    if (violation !== undefined) {
      violationAnswered = true;
      return fail(violation);
    }
    return finish(res);
  };

  const onRequestHeaders = async (msg: ProcessingRequest): Promise<ProcessingResponse | undefined> => {
    const hh = msg.request_headers!;
    configuredBodyMode = msg.protocol_config?.request_body_mode;
    fullDuplex = configuredBodyMode === 'FULL_DUPLEX_STREAMED';
    if (msg.attributes !== undefined) {
      attributes = Object.create(null) as Record<string, unknown>;
      for (const fields of Object.values(msg.attributes))
        for (const [k, v] of Object.entries(fields)) if (!Object.hasOwn(attributes, k)) attributes[k] = v;
    }
    metadata = msg.metadata_context;
    try {
      head = readRequestHead(hh.headers, options.maxHeaderBytes);
    } catch (err) {
      return fail(toFerryError(err));
    }
    const endOfStream = hh.end_of_stream === true;
    match = engine.match(head.method, head.path);
    if (match === undefined) {
      state = 'passing-through';
      // Not ours: let Envoy route it. Ask Envoy not to send us a body it would otherwise buffer
      // (honoured only with allow_mode_override; without it we answer each body message CONTINUE).
      // Not in FULL_DUPLEX_STREAMED, where Envoy takes no mode_override: each chunk comes back as it was.
      const wantsNoBody = !endOfStream && configuredBodyMode !== 'NONE' && !fullDuplex;
      return continueHeaders(wantsNoBody ? modeOverride('NONE') : undefined);
    }
    if (endOfStream || !match.needsBody) return call(undefined);
    if (configuredBodyMode === 'GRPC') {
      return fail(
        new FerryError(
          'FERRY_CONFIG_INVALID',
          `Envoy's ext_proc request_body_mode ${configuredBodyMode} is not supported by Ferry; use FULL_DUPLEX_STREAMED, BUFFERED or STREAMED`,
        ),
      );
    }
    state = 'collecting-body';
    // The streamed local reply's headers answer the request headers, once the body is in.
    if (fullDuplex) return undefined;
    // Envoy said it sends no body: ask for the buffered body (needs allow_mode_override).
    return continueHeaders(configuredBodyMode === 'NONE' ? modeOverride('BUFFERED') : undefined);
  };

  const onRequestBody = async (msg: ProcessingRequest): Promise<ProcessingResponse | undefined> => {
    const b = msg.request_body!;
    const chunk = b.body === undefined ? Buffer.alloc(0) : Buffer.from(b.body.buffer, b.body.byteOffset, b.body.length);
    bodyBytes += chunk.length;
    if (bodyBytes > maxBodyBytes) {
      return fail(new FerryError('FERRY_BODY_TOO_LARGE', `The request body is over ${maxBodyBytes} bytes (received ${bodyBytes} so far)`));
    }
    if (chunk.length > 0) chunks.push(chunk);
    if (b.end_of_stream === true) return call(bodyBytes === 0 ? undefined : Buffer.concat(chunks, bodyBytes));
    if (fullDuplex) return undefined; // no reply per chunk: Envoy does not wait for one
    if (configuredBodyMode === 'BUFFERED_PARTIAL') {
      // Envoy hit its buffer limit and sends only this part; the rest would bypass us.
      return fail(new FerryError('FERRY_BODY_TOO_LARGE', 'The request body is larger than Envoy buffers for ext_proc (BUFFERED_PARTIAL)'));
    }
    return { request_body: { response: { status: 'CONTINUE' } } };
  };

  const unexpected = (what: string): Promise<ProcessingResponse> =>
    fail(new FerryError('FERRY_EXT_PROC_PROTOCOL_ERROR', `ext_proc protocol error: ${what} while ${state}`));

  return {
    get state() {
      return state;
    },
    get awaitingMessage() {
      return state === 'awaiting-headers' || state === 'collecting-body';
    },
    async expire(idleMs) {
      if (state !== 'collecting-body') {
        state = 'done';
        return undefined;
      }
      return fail(new FerryError('FERRY_REQUEST_TIMEOUT', `Envoy sent no more of the request body for ${idleMs} ms`));
    },
    dispose() {
      chunks = [];
      streamGone.abort();
    },
    get violation() {
      return violationAnswered ? undefined : violation;
    },
    takeRest() {
      const r = rest;
      rest = undefined;
      return r;
    },
    arrived(msg) {
      if (msg.observability_mode === true || violation !== undefined) return;
      if (msg.request === 'request_headers') {
        arrivedFullDuplex = msg.protocol_config?.request_body_mode === 'FULL_DUPLEX_STREAMED';
        inputEnded = msg.request_headers?.end_of_stream === true;
        return;
      }
      if (!arrivedFullDuplex || (msg.request !== 'request_body' && msg.request !== 'request_trailers')) return;
      if (inputEnded) {
        violation = new FerryError('FERRY_EXT_PROC_PROTOCOL_ERROR', `ext_proc protocol error: ${msg.request} after the request's end_of_stream`);
        chunks = [];
        streamGone.abort();
        return;
      }
      if (msg.request === 'request_trailers' || msg.request_body?.end_of_stream === true) inputEnded = true;
    },
    async handle(msg) {
      if (state === 'done') return undefined; // Envoy ignores anything after an ImmediateResponse.
      if (msg.observability_mode === true || state === 'observing') {
        // Envoy ignores replies in observability mode; Ferry must not call the upstream either,
        // since Envoy forwards the request itself and a second call could repeat side effects.
        state = 'observing';
        return undefined;
      }
      switch (msg.request) {
        case 'request_headers':
          return state === 'awaiting-headers' ? onRequestHeaders(msg) : unexpected('a second request_headers message');
        case 'request_body':
          if (state === 'collecting-body') return onRequestBody(msg);
          if (state === 'passing-through' && fullDuplex) {
            const b = msg.request_body!.body;
            return passOnChunk(
              b === undefined ? Buffer.alloc(0) : Buffer.from(b.buffer, b.byteOffset, b.length),
              msg.request_body!.end_of_stream === true,
            );
          }
          if (state === 'passing-through') return { request_body: { response: { status: 'CONTINUE' } } };
          return unexpected('request_body before request_headers');
        case 'request_trailers':
          // Trailers end the body: a request with trailers may never send end_of_stream on a body chunk.
          if (state === 'collecting-body') return call(bodyBytes === 0 ? undefined : Buffer.concat(chunks, bodyBytes));
          if (state === 'passing-through') return { request_trailers: {} };
          return unexpected('request_trailers before request_headers');
        // The response side only reaches us if Envoy is configured to send it; pass it on untouched.
        case 'response_headers':
          return { response_headers: { response: { status: 'CONTINUE' } } };
        case 'response_body':
          return { response_body: { response: { status: 'CONTINUE' } } };
        case 'response_trailers':
          return { response_trailers: {} };
        default:
          return unexpected('a ProcessingRequest with no request member');
      }
    },
  };
}
