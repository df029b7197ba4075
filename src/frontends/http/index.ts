/**
 * The HTTP front end: fastify adapted to the engine's neutral request and response. It owns no route
 * or mapping logic; every path goes to one catch-all handler that asks the current engine. What it
 * does own are the budgets of the wire (connections, pipelining, slow readers, body and head size,
 * request time) and that every answer, even to a request Node cannot parse, is problem+json.
 */
import { STATUS_CODES, type IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { Readable } from 'node:stream';
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import { FerryError, type ErrorCode } from '../../errors/index.js';
import { problemResponse, type GatewayRequest, type GatewayResponse } from '../../exchange/index.js';
import type { FrontendContract, FrontendLimits } from '../contract.js';
import type { ServerCertificates } from '../tls.js';

export interface HttpListenOptions {
  /** Listen address, 127.0.0.1 when absent. */
  readonly host?: string;
  /** Port; 0 picks a free one. */
  readonly port: number;
  /** Serve HTTPS (HTTP/2 and HTTP/1.1 by ALPN) with these certificates, swapped in as they change; plain HTTP/1.1 when absent. */
  readonly tls?: ServerCertificates;
}

export interface HttpFrontend {
  readonly port: number;
  readonly app: FastifyInstance;
  /** Stops accepting and waits for in-flight requests. */
  close(): Promise<void>;
}

/** What Ferry knows about one client connection. */
interface Connection {
  /** Requests read whose answer the kernel has not taken yet (pipelined ones wait in order). */
  waiting: number;
  /** Bytes of answers handed to Node that the kernel has not taken yet. */
  queuedBytes: number;
  /** Count-outs of the requests still waiting: a pipelined answer never written when the connection closes has no event of its own. */
  readonly pending: Set<() => void>;
  /** Opened while `maxConnections` were open: its requests are refused. */
  readonly overCap: boolean;
}

/** One request from its head until its answer is taken by the kernel (or its connection closes). */
interface Tracked {
  readonly connection: Connection | undefined;
  /** This answer's bytes in `connection.queuedBytes`. */
  queuedBytes: number;
  countOut(): void;
}
const TRACKED = Symbol('ferry.tracked');
type TrackedMessage = IncomingMessage & { [TRACKED]?: Tracked };

const FASTIFY_ERRORS: Readonly<Record<string, ErrorCode>> = {
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'FERRY_UNSUPPORTED_MEDIA_TYPE',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'FERRY_BAD_JSON',
  FST_ERR_BAD_URL: 'FERRY_MALFORMED_REQUEST',
  FST_ERR_MAX_PARAM_LENGTH: 'FERRY_MALFORMED_REQUEST',
};

/** How long a connection refused by Node's parser stays open after its answer, so that the client reads it before the close. */
const CLIENT_ERROR_LINGER_MS = 2_000;

const METHODS = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD', 'OPTIONS'] as const;

/** Builds the fastify app (not listening): used by `startHttpFrontend` and by tests. */
export function createHttpApp(contract: FrontendContract, tls?: ServerCertificates): FastifyInstance {
  const { limits, problemDetail } = contract;
  // Keyed by the socket a request's `raw.socket` is (TLS: the TLSSocket), or by the HTTP/2 session.
  const connections = new WeakMap<object, Connection>();
  const connectionOf = (raw: IncomingMessage): Connection | undefined => {
    const stream = (raw as IncomingMessage & { stream?: { session?: object } }).stream;
    return connections.get(stream?.session ?? raw.socket);
  };
  let open = 0;
  let closing = false;

  const serverOptions = {
    maxHeaderSize: limits.maxHeaderBytes,
    requestTimeout: limits.requestTimeoutMs,
    headersTimeout: Math.min(limits.requestTimeoutMs, 60_000),
    // Node checks request times this often; the default (30 s) would stretch a short limit.
    connectionsCheckingInterval: Math.max(100, Math.min(30_000, Math.floor(limits.requestTimeoutMs / 4))),
  };
  // HTTPS is Node's HTTP/2 secure server with the HTTP/1.1 fallback; fastify's handlers see the
  // HTTP/1 types either way (the compatibility API has the same shape for what is used here).
  const serverKind = (
    tls !== undefined
      ? {
          http2: true,
          https: {
            ...tls.current(),
            allowHTTP1: true,
            requestCert: tls.requireClientCert,
            rejectUnauthorized: tls.requireClientCert,
            settings: { maxHeaderListSize: limits.maxHeaderBytes },
          },
        }
      : { http: serverOptions }
  ) as { http: typeof serverOptions };
  const app = Fastify({
    ...serverKind,
    logger: false,
    // Keep the raw path: the router percent-decodes variables itself.
    routerOptions: { ignoreTrailingSlash: false, caseSensitive: true },
    // Closing is answered below, as problem+json.
    return503OnClosing: false,
    // Node's socket timeout: what is done when it fires is decided in on('timeout') below.
    connectionTimeout: limits.writeTimeoutMs,
    requestTimeout: limits.requestTimeoutMs,
    clientErrorHandler: (err: Error & { code?: string }, socket: Socket) => answerClientError(err, socket, problemDetail),
    frameworkErrors: (err, _request, reply) => {
      const code = FASTIFY_ERRORS[(err as { code?: string }).code ?? ''] ?? 'FERRY_MALFORMED_REQUEST';
      sendProblem(reply, new FerryError(code, err.message), problemDetail, true);
    },
  });

  const server = app.server;
  const track = (socket: { once(event: 'close', l: () => void): unknown }): void => {
    open++;
    const c: Connection = { waiting: 0, queuedBytes: 0, pending: new Set(), overCap: open > limits.maxConnections };
    connections.set(socket, c);
    socket.once('close', () => {
      open--;
      for (const countOut of [...c.pending]) countOut();
    });
  };
  if (tls === undefined) server.on('connection', track);
  else {
    // The HTTP/1.1 fallback's requests name the TLS socket; HTTP/2 requests, their session.
    server.on('secureConnection', (socket: TLSSocket) => {
      if (socket.alpnProtocol !== 'h2') track(socket);
    });
    server.on('session', track);
    // HTTP/1.1 over TLS: the budgets Node reads from the server (HTTP/2 has its own settings above).
    Object.assign(server, serverOptions);
    // A handshake refused (no or a bad client certificate, no shared protocol): the client sees a TLS alert, the operator this line.
    server.on('tlsClientError', (err: Error & { code?: string }, socket: TLSSocket) => {
      contract.refused('tls handshake failed', { remoteAddress: socket.remoteAddress, reason: err.code ?? err.message });
    });
    const unsubscribe = tls.onChange((material) => (server as unknown as { setSecureContext(o: object): void }).setSecureContext(material));
    app.addHook('onClose', (_instance, done) => {
      unsubscribe();
      done();
    });
  }
  // Node's socket timeout (writeTimeoutMs, or the keep-alive timeout between requests) fired: an
  // idle connection is closed as Node would; one whose answers the client stopped taking is closed
  // too; one still waiting for an upstream is left to the route's timeout.
  server.on('timeout', (socket: Socket) => {
    const c = connections.get(socket);
    if (c === undefined || c.waiting === 0) {
      socket.destroy();
    } else if (c.queuedBytes > 0 || socket.writableLength > 0) {
      contract.refused('http client stopped reading', {
        remoteAddress: socket.remoteAddress,
        writeTimeoutMs: limits.writeTimeoutMs,
        queuedBytes: Math.max(c.queuedBytes, socket.writableLength),
      });
      socket.destroy();
    }
  });

  // Count every request from its head on (drain and the per-connection budgets), and refuse here,
  // before any body is read, what the connection may not send.
  app.addHook('onRequest', (request, reply, done) => {
    const c = connectionOf(request.raw);
    const finished = contract.trackRequest();
    let counted = true;
    const countOut = (): void => {
      if (!counted) return;
      counted = false;
      finished();
      if (c !== undefined) {
        c.waiting--;
        c.queuedBytes -= tracked.queuedBytes;
        c.pending.delete(countOut);
      }
    };
    const tracked: Tracked = { connection: c, queuedBytes: 0, countOut };
    if (c !== undefined) {
      c.waiting++;
      c.pending.add(countOut);
    }
    (request.raw as TrackedMessage)[TRACKED] = tracked;
    reply.raw.on('close', tracked.countOut);
    let refusal: FerryError | undefined;
    if (closing) refusal = new FerryError('FERRY_SHUTTING_DOWN', 'Ferry is shutting down; send the request again on a new connection');
    else if (c?.overCap)
      refusal = new FerryError('FERRY_TOO_MANY_CONNECTIONS', `Ferry has ${limits.maxConnections} connections open, as many as it accepts`);
    else if (c !== undefined && c.waiting > limits.maxPipelinedRequests) {
      refusal = new FerryError(
        'FERRY_TOO_MANY_PIPELINED',
        `this connection has ${limits.maxPipelinedRequests} requests waiting for their answers, as many as Ferry accepts; send the rest on a new connection`,
      );
    }
    if (refusal === undefined) {
      done();
      return;
    }
    sendProblem(reply, refusal, problemDetail, true);
  });

  // The engine parses bodies by the route's declared types, so only bytes are collected here.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', (request, payload, done) => readBody(payload, limits, request.headers['content-length'], done));

  app.setErrorHandler((err: Error & { code?: string; statusCode?: number }, request, reply) => {
    let ferry: FerryError;
    if (err instanceof FerryError) ferry = err;
    else {
      const mapped = err.code !== undefined ? FASTIFY_ERRORS[err.code] : undefined;
      const status = err.statusCode ?? 500;
      ferry = new FerryError(mapped ?? (status < 500 ? 'FERRY_MALFORMED_REQUEST' : 'FERRY_INTERNAL'), err.message, { cause: err });
    }
    // A body left unread cannot be skipped to reach the next request: answer, then close. A body
    // read whole (a 413 after the discard) leaves the connection usable, whatever fastify set.
    if (request.raw.complete) reply.removeHeader('connection');
    sendProblem(reply, ferry, problemDetail, !request.raw.complete);
  });

  const handler = async (request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> => {
    const url = request.url;
    const q = url.indexOf('?');
    const body = request.body;
    // Aborted when the connection closes before the answer was written: the upstream call is cancelled.
    const clientGone = new AbortController();
    const raw = reply.raw;
    raw.once('close', () => {
      if (!raw.writableEnded) clientGone.abort();
    });
    const req: GatewayRequest = {
      method: request.method,
      path: q < 0 ? url : url.slice(0, q),
      rawQuery: q < 0 ? '' : url.slice(q + 1),
      headers: request.headers,
      body: Buffer.isBuffer(body) ? body : undefined,
      ...(request.socket.remoteAddress !== undefined ? { remoteAddress: request.socket.remoteAddress } : {}),
      signal: clientGone.signal,
      frontend: 'http',
    };
    const res = await contract.engine().handle(req);
    send(reply, res, (request.raw as TrackedMessage)[TRACKED], limits, contract);
    // Returning the reply tells fastify the answer is under way (a streamed one is still being written).
    return reply;
  };
  app.route({ method: [...METHODS], url: '/*', handler });
  app.route({ method: [...METHODS], url: '/', handler });
  // Other methods too reach the engine, which answers 404 / 405 as problem+json.
  app.setNotFoundHandler(handler);

  // From the start of close on, a request (pipelined, or on a busy keep-alive connection) gets 503 FERRY_SHUTTING_DOWN.
  app.addHook('preClose', (done) => {
    closing = true;
    done();
  });
  return app;
}

function sendProblem(reply: FastifyReply, err: FerryError, detail: FrontendContract['problemDetail'], closeAfter: boolean): void {
  const problem = problemResponse(err, undefined, undefined, detail);
  reply.code(problem.status).headers(problem.headers);
  if (closeAfter) reply.header('connection', 'close');
  void reply.send(Buffer.from(problem.body as string));
}

function send(reply: FastifyReply, res: GatewayResponse, tracked: Tracked | undefined, limits: FrontendLimits, contract: FrontendContract): void {
  reply.code(res.status);
  for (const [name, value] of Object.entries(res.headers)) reply.header(name, value);
  if (res.stream) {
    const head = res.body;
    const rest = res.stream;
    async function* chunks(): AsyncGenerator<Buffer | string> {
      if (head.length > 0) yield head;
      yield* rest;
    }
    void reply.send(Readable.from(chunks()));
    return;
  }
  // Bytes, not a string: fastify would append "; charset=utf-8", which JSON does not take.
  const body = typeof res.body === 'string' ? Buffer.from(res.body) : res.body;
  const c = tracked?.connection;
  if (tracked !== undefined && c !== undefined) {
    if (c.queuedBytes > 0 && c.queuedBytes + body.length > limits.maxQueuedBytes) {
      // The client stopped reading while its pipelined answers pile up: close rather than hold
      // them (the request's socket: a pipelined answer is not attached to it yet).
      const socket = reply.request.raw.socket;
      if (socket.destroyed) return; // refused already, for an earlier answer
      contract.refused('http client stopped reading', {
        remoteAddress: socket.remoteAddress,
        maxQueuedBytes: limits.maxQueuedBytes,
        queuedBytes: c.queuedBytes + body.length,
      });
      socket.destroy();
      return;
    }
    // Counted back out with the request, when the kernel took the answer or the connection closed.
    c.queuedBytes += body.length;
    tracked.queuedBytes += body.length;
  }
  void reply.send(body);
}

/**
 * Collects a request body up to `maxBodyBytes`. Over it, the rest is read and dropped up to
 * `bodyDiscardBytes` and the 413 follows the whole body (the connection can then serve on); a
 * body declared or found longer than that gets its 413 at once, and the error handler closes the
 * connection after it.
 */
function readBody(
  payload: IncomingMessage,
  limits: FrontendLimits,
  contentLength: string | undefined,
  done: (err: Error | null, body?: Buffer) => void,
): void {
  const declared = contentLength === undefined ? NaN : Number(contentLength);
  const tooLarge = (): FerryError => new FerryError('FERRY_BODY_TOO_LARGE', `the request body is over the ${limits.maxBodyBytes}-byte limit`);
  if (declared > limits.bodyDiscardBytes) {
    done(tooLarge());
    return;
  }
  const chunks: Buffer[] = [];
  let received = 0;
  let over = declared > limits.maxBodyBytes;
  const onData = (chunk: Buffer): void => {
    received += chunk.length;
    if (received > limits.bodyDiscardBytes) {
      stop();
      done(tooLarge());
      return;
    }
    if (over) return;
    if (received > limits.maxBodyBytes) {
      over = true;
      chunks.length = 0;
      return;
    }
    chunks.push(chunk);
  };
  const onEnd = (): void => {
    stop();
    if (over) done(tooLarge());
    else done(null, Buffer.concat(chunks, received));
  };
  const onError = (err: Error): void => {
    stop();
    done(new FerryError('FERRY_MALFORMED_REQUEST', `the request body ended early: ${err.message}`, { cause: err }));
  };
  const stop = (): void => {
    payload.off('data', onData);
    payload.off('end', onEnd);
    payload.off('error', onError);
  };
  payload.on('data', onData);
  payload.on('end', onEnd);
  payload.on('error', onError);
}

/** Node's parser refused the request (bad syntax, head too large, too slow): answer as problem+json, then close. */
function answerClientError(err: Error & { code?: string }, socket: Socket, detail: FrontendContract['problemDetail']): void {
  if (err.code === 'ECONNRESET' || socket.destroyed) return;
  const ferry =
    err.code === 'HPE_HEADER_OVERFLOW'
      ? new FerryError('FERRY_HEADERS_TOO_LARGE', 'the request line and headers are over the size limit')
      : err.code === 'ERR_HTTP_REQUEST_TIMEOUT'
        ? new FerryError('FERRY_REQUEST_TIMEOUT', 'the request did not arrive whole within the request timeout')
        : new FerryError(
            'FERRY_MALFORMED_REQUEST',
            `the request is not well-formed HTTP/1.1 (${err.code ?? 'parse error'}: ${(err as { reason?: string }).reason ?? err.message})`,
          );
  // As Node does: write only where no answer has begun on this connection, or it would be corrupted.
  const inFlight = (socket as Socket & { _httpMessage?: { headersSent?: boolean } })._httpMessage;
  if (socket.writable && inFlight?.headersSent !== true) {
    const problem = problemResponse(ferry, undefined, undefined, detail);
    const body = Buffer.from(problem.body as string);
    const head =
      `HTTP/1.1 ${problem.status} ${STATUS_CODES[problem.status] ?? 'Error'}\r\n` +
      `content-type: ${problem.headers['content-type'] as string}\r\ncontent-length: ${body.length}\r\nconnection: close\r\n\r\n`;
    // Half-close after the answer and linger, so that unread bytes do not turn the close into a reset before the client reads it.
    socket.end(Buffer.concat([Buffer.from(head, 'latin1'), body]));
    setTimeout(() => socket.destroy(), CLIENT_ERROR_LINGER_MS).unref();
  } else {
    socket.destroy();
  }
}

/** Starts the HTTP front end on host:port (port 0 picks a free one). */
export async function startHttpFrontend(contract: FrontendContract, listen: HttpListenOptions): Promise<HttpFrontend> {
  const app = createHttpApp(contract, listen.tls);
  await app.listen({ host: listen.host ?? '127.0.0.1', port: listen.port });
  const address = app.server.address();
  const port = typeof address === 'object' && address !== null ? address.port : listen.port;
  return {
    port,
    app,
    close: () => app.close(),
  };
}
