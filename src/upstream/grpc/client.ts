/**
 * The gRPC transport of one endpoint, on Ferry's own HTTP/2 client (../http2/session.ts, which says
 * why not node:http2): N HTTP/2 connections to the same
 * `host:port`, carrying already-encoded protobuf bytes in gRPC's 5-byte length-prefixed frames
 * (https://github.com/grpc/grpc/blob/master/doc/PROTOCOL-HTTP2.md). The status comes from the
 * `grpc-status` / `grpc-message` trailers (or a trailers-only reply), deadlines travel as
 * `grpc-timeout` and are enforced here, a cancelled call resets its stream. It is what the upstream
 * client balances over (EndpointTransport): health follows the sessions, pending counts the calls
 * in flight. Which endpoint to call, and whether to call again, is decided above it by the same
 * balancer, stickiness, outlier detection and retry policy as Dubbo's.
 *
 * Why not grpc-js: its per-call machinery (interceptors, filters, resolver and picker layers)
 * cost Ferry more CPU per request than the JSON mapping (docs/performance.md). grpc-js' Metadata
 * stays as the metadata container, so callers and the status mapping read the same type.
 */
import { connect, type Socket } from 'node:net';
import { connect as tlsConnect, type TLSSocket } from 'node:tls';
import { Metadata } from '@grpc/grpc-js';
import type { UpstreamTls } from '../../config/types.js';
import { FerryError } from '../../errors/index.js';
import { TransportError, upstreamTlsError } from '../../errors/transport.js';
import { Backoff } from '../balance/backoff.js';
import type { BackoffOptions } from '../balance/backoff.js';
import type { EndpointHealth, EndpointTransport } from '../balance/types.js';
import { H2Session, H2_REFUSED_STREAM, type H2Stream, type H2StreamHandler } from '../http2/session.js';
import { connectionLost, grpcErrorToFerry, grpcStatusOfHttp, neverSent } from './status.js';
import type { StatusDetailsDecoder } from './status.js';

/** Largest reply message accepted from an upstream (bytes). */
export const DEFAULT_MAX_RECEIVE_BYTES = 16 * 1024 * 1024;
/** Reconnect backoff after a session failed to come up: 200 ms doubling to 5 s, ± 20 % jitter. */
export const GRPC_BACKOFF: BackoffOptions = { initialMs: 200, multiplier: 2, maxMs: 5000 };
/** Messages buffered for a slow reader of a server stream before the stream is paused. */
const STREAM_HIGH_WATER = 16;

export interface GrpcEndpointOptions {
  /** `host:port` (IPv6 in brackets). */
  readonly endpoint: string;
  readonly weight?: number;
  /** Sessions (HTTP/2 connections) to this endpoint, at least 1. */
  readonly channels?: number;
  /** Largest reply message accepted (default DEFAULT_MAX_RECEIVE_BYTES). */
  readonly maxReceiveBytes?: number;
  /** TLS to the endpoint (CA, client certificate, server name), ALPN h2; plaintext when absent. */
  readonly tls?: UpstreamTls;
  /** Reconnect backoff after a session failed to come up (default: 200 ms doubling to 5 s). */
  readonly backoff?: BackoffOptions;
}

export interface GrpcCallOptions {
  readonly metadata: Metadata;
  /** Absolute deadline (epoch milliseconds). */
  readonly deadline: number;
  /** Decodes google.rpc.Status details of error replies (the proto is the caller's). */
  readonly decodeDetails?: StatusDetailsDecoder;
  /** Aborted when the client went away: the call is cancelled and fails with FERRY_CLIENT_CLOSED. */
  readonly signal?: AbortSignal;
}

export interface GrpcUnaryResult {
  readonly message: Buffer;
  readonly headers: Metadata;
  readonly trailers: Metadata;
  readonly endpoint: string;
}

export interface GrpcStreamResult {
  /** Response header metadata (resolves once the server sent it, or rejects with the call's error). */
  readonly headers: Promise<Metadata>;
  /** Messages as raw bytes; iteration throws a FerryError when the call fails. */
  readonly messages: AsyncIterable<Buffer>;
  readonly endpoint: string;
  /** Cancels the call (e.g. when the HTTP client went away). */
  cancel(): void;
}

const USER_AGENT = 'ferry-grpc/1';

/** A reply's header block as an object: names to a value, or to the values of a repeated name. */
type ReplyHeaders = Record<string, string | string[]>;

/** One HTTP/2 connection slot of an endpoint (reconnected with backoff while the endpoint is open). */
interface Slot {
  session: H2Session | undefined;
  ready: boolean;
  readonly backoff: Backoff;
  timer: NodeJS.Timeout | undefined;
}

/** A call's end as the wire told it: a gRPC status, or a transport failure (already a FerryError). */
type Outcome = { readonly code: number; readonly details: string; readonly metadata: Metadata } | FerryError;

/** The sessions to one gRPC endpoint. Idle until warm() or the first call. */
export class GrpcEndpoint implements EndpointTransport {
  readonly id: string;
  readonly weight: number;
  private readonly authority: string;
  private readonly host: string;
  private readonly port: number;
  private readonly maxReceive: number;
  private readonly slots: Slot[];
  private inFlight = 0;
  private healthValue: EndpointHealth = 'idle';
  private warmed = false;
  /** A session failed since the endpoint was last up: a session still connecting counts as down. */
  private failedSinceUp = false;
  private lastFailure: Error | undefined;
  private readonly waiters = new Set<() => void>();
  private readonly streams = new Set<H2Stream>();
  private next = 0;
  private readonly tls: UpstreamTls | undefined;

  constructor(options: GrpcEndpointOptions) {
    this.id = options.endpoint;
    this.weight = options.weight ?? 100;
    this.authority = options.endpoint;
    this.tls = options.tls;
    const at = new URL(`${options.tls !== undefined ? 'https' : 'http'}://${options.endpoint}`);
    this.host = at.hostname.replace(/^\[(.*)\]$/, '$1');
    this.port = Number(at.port || (options.tls !== undefined ? 443 : 80));
    this.maxReceive = options.maxReceiveBytes ?? DEFAULT_MAX_RECEIVE_BYTES;
    const n = options.channels ?? 1;
    if (!Number.isInteger(n) || n < 1) throw new RangeError(`channels must be a positive integer, got ${n}`);
    const backoff = options.backoff ?? GRPC_BACKOFF;
    this.slots = Array.from({ length: n }, () => ({ session: undefined, ready: false, backoff: new Backoff(backoff), timer: undefined }));
  }

  get health(): EndpointHealth {
    return this.healthValue;
  }

  get connectionCount(): number {
    if (this.healthValue === 'closed') return 0;
    let open = 0;
    for (const s of this.slots) if (s.session !== undefined) open++;
    return open;
  }

  get failure(): Error | undefined {
    return this.lastFailure;
  }

  pending(): number {
    return this.inFlight;
  }

  available(): boolean {
    return this.healthValue === 'up';
  }

  warm(): void {
    if (this.warmed || this.healthValue === 'closed') return;
    this.warmed = true;
    for (const s of this.slots) this.connect(s);
    this.recompute();
  }

  settled(): Promise<void> {
    if (this.healthValue !== 'idle' && this.healthValue !== 'connecting') return Promise.resolve();
    return new Promise((resolve) => this.waiters.add(resolve));
  }

  /** One unary call, on the next ready session (each session multiplexes many calls). */
  unary(path: string, request: Uint8Array, opts: GrpcCallOptions): Promise<GrpcUnaryResult> {
    const endpoint = this.id;
    return new Promise<GrpcUnaryResult>((resolve, reject) => {
      const chunks: Buffer[] = [];
      let received = 0;
      this.start(path, request, opts, {
        data: (chunk, stream) => {
          received += chunk.length;
          if (received > this.maxReceive + 5) {
            stream.cancel();
            return this.tooLarge(received);
          }
          chunks.push(chunk);
          return undefined;
        },
        end: (outcome, headers) => {
          if (outcome instanceof FerryError) return reject(outcome);
          if (outcome.code !== 0) return reject(grpcErrorToFerry(outcome, endpoint, opts.decodeDetails));
          const messages = unframe(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, received), this.maxReceive);
          if (messages instanceof FerryError) return reject(messages);
          if (messages.length !== 1) {
            const what = `${messages.length === 0 ? 'no' : messages.length} messages in a unary reply`;
            return reject(grpcErrorToFerry({ code: messages.length === 0 ? 12 : 13, details: what, metadata: outcome.metadata }, endpoint));
          }
          resolve({ message: messages[0]!, headers: headers ?? new Metadata(), trailers: outcome.metadata, endpoint });
        },
      });
    });
  }

  /**
   * A server-streaming call; with several request messages, a bidi call whose requests are all sent
   * before the replies are read (what gRPC server reflection needs: it answers each request in turn).
   */
  serverStream(path: string, request: Uint8Array | readonly Uint8Array[], opts: GrpcCallOptions): GrpcStreamResult {
    const endpoint = this.id;
    const queue: Buffer[] = [];
    let pendingBytes: Buffer | undefined;
    let ended: Outcome | undefined;
    let wake: (() => void) | undefined;
    let resolveHeaders!: (md: Metadata) => void;
    let rejectHeaders!: (err: unknown) => void;
    const headers = new Promise<Metadata>((res, rej) => {
      resolveHeaders = res;
      rejectHeaders = rej;
    });
    headers.catch(() => undefined);
    const failureOf = (o: Outcome): FerryError | undefined =>
      o instanceof FerryError ? o : o.code === 0 ? undefined : grpcErrorToFerry(o, endpoint, opts.decodeDetails);
    const call = this.start(path, request, opts, {
      headers: (md) => resolveHeaders(md),
      data: (chunk, stream) => {
        const buf = pendingBytes === undefined ? chunk : Buffer.concat([pendingBytes, chunk]);
        const cut = splitFrames(buf, this.maxReceive);
        if (cut instanceof FerryError) {
          stream.cancel();
          return cut;
        }
        pendingBytes = cut.rest.length > 0 ? cut.rest : undefined;
        for (const m of cut.messages) queue.push(m);
        if (queue.length >= STREAM_HIGH_WATER) stream.pause();
        wake?.();
        return undefined;
      },
      end: (outcome) => {
        ended = pendingBytes !== undefined && !(outcome instanceof FerryError) && outcome.code === 0 ? truncated() : outcome;
        const fe = failureOf(ended);
        if (fe !== undefined) rejectHeaders(fe);
        else resolveHeaders(new Metadata());
        wake?.();
      },
    });
    async function* messages(): AsyncGenerator<Buffer> {
      for (;;) {
        const m = queue.shift();
        if (m !== undefined) {
          if (queue.length < STREAM_HIGH_WATER / 2) call.stream?.resume();
          yield m;
          continue;
        }
        if (ended !== undefined) {
          const fe = failureOf(ended);
          if (fe !== undefined) throw fe;
          return;
        }
        await new Promise<void>((r) => (wake = r));
        wake = undefined;
      }
    }
    return { headers, messages: messages(), endpoint, cancel: () => call.cancel() };
  }

  async close(drainMs = 0): Promise<void> {
    if (this.healthValue === 'closed') return;
    this.setHealth('closed');
    // Out of balancing now; calls in flight get up to drainMs to finish before the sessions close.
    const until = Date.now() + drainMs;
    while (this.inFlight > 0 && Date.now() < until) await new Promise((r) => setTimeout(r, 20).unref());
    this.shutdown();
  }

  destroy(err?: Error): void {
    if (err !== undefined) this.lastFailure = err;
    this.setHealth('closed');
    this.shutdown();
  }

  // ---- internals ------------------------------------------------------------------------------

  private shutdown(): void {
    for (const s of this.slots) {
      if (s.timer !== undefined) clearTimeout(s.timer);
      s.timer = undefined;
      const session = s.session;
      s.session = undefined;
      s.ready = false;
      session?.destroy();
    }
  }

  private tooLarge(bytes: number): FerryError {
    return new FerryError(
      'FERRY_UPSTREAM_PROTOCOL_ERROR',
      `the gRPC reply is larger than the ${this.maxReceive}-byte budget (${bytes} bytes so far)`,
      {
        endpoint: this.id,
      },
    );
  }

  /**
   * Opens one call's stream on a ready session and reports what arrives. `data` may end the call
   * with a FerryError (a budget broken); `end` is told exactly once, with the status or the failure.
   */
  private start(
    path: string,
    request: Uint8Array | readonly Uint8Array[],
    opts: GrpcCallOptions,
    on: {
      headers?: (md: Metadata) => void;
      data: (chunk: Buffer, stream: H2Stream) => FerryError | undefined;
      end: (outcome: Outcome, headers: Metadata | undefined) => void;
    },
  ): { stream: H2Stream | undefined; cancel(): void } {
    const endpoint = this.id;
    const handle: { stream: H2Stream | undefined; cancel(): void } = { stream: undefined, cancel: () => finish(cancelled()) };
    let done = false;
    let responseHeaders: Metadata | undefined;
    let httpStatus = 0;
    let trailersSeen: ReplyHeaders | undefined;
    const signal = opts.signal;
    this.inFlight++;
    const finish = (outcome: Outcome): void => {
      if (done) return;
      done = true;
      this.inFlight--;
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      const stream = handle.stream;
      if (stream !== undefined) {
        this.streams.delete(stream);
        if (!stream.closed) stream.cancel();
      }
      on.end(outcome, responseHeaders);
    };
    const cancelled = (): FerryError =>
      new TransportError('FERRY_CLIENT_CLOSED', `the client went away; the call to ${endpoint} was cancelled`, true, { endpoint });
    const onAbort = (): void => finish(cancelled());
    const timeoutMs = Math.max(1, Math.ceil(opts.deadline - Date.now()));
    const timer = setTimeout(
      () => finish(grpcErrorToFerry({ code: 4, details: `deadline of ${timeoutMs} ms exceeded`, metadata: new Metadata() }, endpoint)),
      timeoutMs,
    );
    if (signal?.aborted) {
      queueMicrotask(onAbort);
      return handle;
    }
    signal?.addEventListener('abort', onAbort, { once: true });

    const send = (session: H2Session): void => {
      if (done) return;
      const fields: string[] = [
        ':method',
        'POST',
        ':scheme',
        this.tls === undefined ? 'http' : 'https',
        ':path',
        path,
        ':authority',
        this.authority,
        'content-type',
        'application/grpc',
        'te',
        'trailers',
        'user-agent',
        USER_AGENT,
        'grpc-timeout',
        `${timeoutMs}m`,
      ];
      const md = opts.metadata.toHttp2Headers();
      for (const name in md) {
        const v = md[name];
        if (Array.isArray(v)) for (const one of v) fields.push(name, String(one));
        else if (v !== undefined) fields.push(name, String(v));
      }
      let answered = false;
      const handler: H2StreamHandler = {
        headers: (block, endStream) => {
          const h = headersOf(block);
          if (!answered) {
            answered = true;
            httpStatus = Number(h[':status']) || 0;
            if (endStream) {
              trailersSeen = h; // a trailers-only reply
              return;
            }
            responseHeaders = Metadata.fromHttp2Headers(h);
            on.headers?.(responseHeaders);
            return;
          }
          trailersSeen = h;
        },
        data: (chunk) => {
          if (done) return;
          const fe = on.data(chunk, stream);
          if (fe !== undefined) finish(fe);
        },
        close: (code, error) => {
          if (done) return;
          if (trailersSeen !== undefined) return finish(statusOf(trailersSeen, httpStatus));
          if (httpStatus !== 0 && httpStatus !== 200) return finish(statusOf({}, httpStatus));
          finish(this.streamFailure(error, code, stream, answered));
        },
      };
      let stream: H2Stream;
      try {
        stream = session.request(fields, frames(request), handler);
      } catch (err) {
        // A header HPACK cannot carry (a character above U+00FF: metadata values are ASCII, but an
        // :authority from registry data need not be) fails the call, as node:http2's check did.
        return finish(neverSent(endpoint, `cannot open a stream: ${(err as Error).message}`));
      }
      handle.stream = stream;
      this.streams.add(stream);
    };
    const session = this.readySession();
    if (session !== undefined) send(session);
    else this.whenReady(send, (err) => finish(err));
    return handle;
  }

  /** What a stream that ended without a status means: never sent (refused, or never opened) or lost with the connection. */
  private streamFailure(err: Error | undefined, code: number | undefined, stream: H2Stream, answered: boolean): FerryError {
    const why = err?.message ?? (code !== undefined && code !== 0 ? `stream reset (code ${code})` : 'stream closed');
    if (!answered && code === H2_REFUSED_STREAM) return neverSent(this.id, `the server refused the stream: ${why}`);
    if (!answered && stream.id === 0) return neverSent(this.id, why);
    return connectionLost(this.id, why);
  }

  /** The next ready session (calls spread over the sessions), or undefined. */
  private readySession(): H2Session | undefined {
    const n = this.slots.length;
    for (let i = 0; i < n; i++) {
      const s = this.slots[(this.next + i) % n]!;
      if (s.ready && s.session !== undefined && s.session.usable) {
        this.next = (this.next + i + 1) % n;
        return s.session;
      }
    }
    return undefined;
  }

  /** Sends once a session is ready; fails the call (never sent) when the endpoint is down or closed. */
  private whenReady(send: (s: H2Session) => void, fail: (err: FerryError) => void): void {
    if (this.healthValue === 'closed') return fail(neverSent(this.id, 'the endpoint is closed'));
    this.warm();
    if (this.healthValue === 'down') return fail(neverSent(this.id, this.lastFailure?.message ?? 'no connection'));
    const retry = (): void => {
      const s = this.readySession();
      if (s !== undefined) return send(s);
      if (this.healthValue === 'connecting' || this.healthValue === 'idle') {
        this.waiters.add(retry);
        return;
      }
      fail(neverSent(this.id, this.lastFailure?.message ?? 'no connection'));
    };
    this.waiters.add(retry);
  }

  private connect(slot: Slot): void {
    if (this.healthValue === 'closed' || slot.session !== undefined) return;
    slot.timer = undefined;
    const tls = this.tls;
    // Small frames, sent as soon as written (as grpc-js does): no Nagle delay behind an unacknowledged one.
    const socket: Socket =
      tls === undefined
        ? connect({ host: this.host, port: this.port, noDelay: true })
        : tlsConnect({
            host: this.host,
            port: this.port,
            ...tls.context,
            ...(tls.servername !== undefined ? { servername: tls.servername } : {}),
            ALPNProtocols: ['h2'],
          }).setNoDelay(true);
    let ready = false;
    const up = (): void => {
      if (slot.session !== session || ready) return;
      ready = true;
      slot.ready = true;
      slot.backoff.reset();
      if (this.lastFailure instanceof FerryError && this.lastFailure.code === 'FERRY_UPSTREAM_TLS') this.lastFailure = undefined;
      this.recompute();
    };
    const session: H2Session = new H2Session(socket, {
      // Over TLS the session is up once the server's SETTINGS came: a server that refuses Ferry's
      // client certificate (TLS 1.3) closes after the handshake without sending any.
      remoteSettings: () => {
        if (tls !== undefined) up();
      },
      // A GOAWAY: no new streams here; the calls in flight finish, a new session takes over.
      goaway: () => this.detach(slot, session, false),
      close: (err) => {
        if (err !== undefined) {
          this.lastFailure =
            (tls !== undefined ? upstreamTlsError(err, this.id) : undefined) ??
            new FerryError('FERRY_UPSTREAM_UNAVAILABLE', `gRPC endpoint ${this.id} cannot be reached: ${err.message}`, { cause: err });
        } else if (tls !== undefined && !ready) {
          this.lastFailure = upstreamTlsError({ code: 'CLIENT_CERT_REFUSED' }, this.id);
        }
        this.detach(slot, session, true);
      },
    });
    if (tls === undefined) socket.once('connect', up);
    else {
      socket.once('secureConnect', () => {
        if ((socket as TLSSocket).alpnProtocol !== 'h2') session.destroy(new Error('the server did not agree to HTTP/2 (ALPN h2)'));
      });
    }
    slot.session = session;
    slot.ready = false;
    session.unref();
  }

  private detach(slot: Slot, session: H2Session, closed: boolean): void {
    if (slot.session !== session) return;
    const wasReady = slot.ready;
    slot.session = undefined;
    slot.ready = false;
    if (!closed) session.close();
    if (this.healthValue === 'closed') return;
    if (!wasReady) {
      this.failedSinceUp = true;
      this.lastFailure ??= new FerryError('FERRY_UPSTREAM_UNAVAILABLE', `gRPC endpoint ${this.id} cannot be reached`);
    }
    // A session that was up reconnects at once (as grpc-js does from IDLE); one that failed waits.
    const wait = wasReady ? 0 : slot.backoff.next();
    slot.timer = setTimeout(() => this.connect(slot), wait);
    slot.timer.unref();
    this.recompute();
  }

  private recompute(): void {
    if (this.healthValue === 'closed') return;
    let ready = false;
    let connecting = false;
    for (const s of this.slots) {
      if (s.ready) ready = true;
      else if (s.session !== undefined) connecting = true;
    }
    let next: EndpointHealth;
    if (ready) next = 'up';
    else if (!this.warmed) next = 'idle';
    else if (connecting && !this.failedSinceUp) next = 'connecting';
    else next = 'down';
    if (next === 'up') this.failedSinceUp = false;
    this.setHealth(next);
    // Calls waiting for a session: up sends them, down fails them.
    if (next !== 'connecting' && next !== 'idle') this.flushWaiters();
  }

  private setHealth(to: EndpointHealth): void {
    if (this.healthValue === to) return;
    this.healthValue = to;
    if (to !== 'idle' && to !== 'connecting') this.flushWaiters();
    if (to === 'closed') {
      const closedError = new Error('the endpoint was closed');
      for (const s of [...this.streams]) {
        s.cancel();
        s.handler.close(undefined, closedError);
      }
    }
  }

  private flushWaiters(): void {
    if (this.waiters.size === 0) return;
    const ws = [...this.waiters];
    this.waiters.clear();
    for (const w of ws) w();
  }
}

/** A gRPC status from trailers (or a trailers-only reply); an HTTP error status maps as the spec says. */
function statusOf(t: ReplyHeaders, httpStatus: number): Outcome {
  const raw = t['grpc-status'];
  const metadata = Metadata.fromHttp2Headers(t);
  if (raw === undefined) {
    if (httpStatus !== 200) return { code: grpcStatusOfHttp(httpStatus), details: `Received HTTP status code ${httpStatus}`, metadata };
    return { code: 2, details: 'the reply ended without a grpc-status', metadata };
  }
  const code = Number(Array.isArray(raw) ? raw[0] : raw);
  const msg = t['grpc-message'];
  let details = typeof msg === 'string' ? msg : '';
  try {
    details = decodeURIComponent(details);
  } catch {
    /* not percent-encoded after all: keep it as sent */
  }
  return { code: Number.isInteger(code) ? code : 2, details, metadata };
}

/** A header block's fields as an object; a name given more than once maps to all its values, in order. */
function headersOf(fields: readonly string[]): ReplyHeaders {
  const h: ReplyHeaders = {};
  for (let i = 0; i < fields.length; i += 2) {
    const name = fields[i]!;
    const value = fields[i + 1]!;
    const had = h[name];
    if (had === undefined) h[name] = value;
    else if (Array.isArray(had)) had.push(value);
    else h[name] = [had, value];
  }
  return h;
}

/** Each message in a frame: the 5-byte prefix (uncompressed, length) then the message. */
function frames(request: Uint8Array | readonly Uint8Array[]): Buffer {
  if (request instanceof Uint8Array) {
    const frame = Buffer.allocUnsafe(5 + request.byteLength);
    frame[0] = 0;
    frame.writeUInt32BE(request.byteLength, 1);
    frame.set(request, 5);
    return frame;
  }
  const messages = request;
  let size = 0;
  for (const m of messages) size += 5 + m.byteLength;
  const out = Buffer.allocUnsafe(size);
  let at = 0;
  for (const m of messages) {
    out[at] = 0;
    out.writeUInt32BE(m.byteLength, at + 1);
    out.set(m, at + 5);
    at += 5 + m.byteLength;
  }
  return out;
}

function truncated(): FerryError {
  return new FerryError('FERRY_UPSTREAM_PROTOCOL_ERROR', 'the gRPC reply ended inside a message frame');
}

/** Splits length-prefixed frames off `buf`; what is left is the start of the next frame. */
function splitFrames(buf: Buffer, max: number): { messages: Buffer[]; rest: Buffer } | FerryError {
  const messages: Buffer[] = [];
  let at = 0;
  while (buf.length - at >= 5) {
    if (buf[at] !== 0) return new FerryError('FERRY_UPSTREAM_PROTOCOL_ERROR', 'the gRPC reply is compressed, but Ferry asked for no compression');
    const len = buf.readUInt32BE(at + 1);
    if (len > max) return new FerryError('FERRY_UPSTREAM_PROTOCOL_ERROR', `a gRPC reply message is larger than the ${max}-byte budget (${len})`);
    if (buf.length - at - 5 < len) break;
    messages.push(buf.subarray(at + 5, at + 5 + len));
    at += 5 + len;
  }
  return { messages, rest: buf.subarray(at) };
}

/** All the frames of a complete body. */
function unframe(buf: Buffer, max: number): Buffer[] | FerryError {
  const cut = splitFrames(buf, max);
  if (cut instanceof FerryError) return cut;
  return cut.rest.length > 0 ? truncated() : cut.messages;
}
