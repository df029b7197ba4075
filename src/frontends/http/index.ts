/**
 * The HTTP front end: fastify adapted to the engine's neutral request and response. It owns no route
 * or mapping logic; every path goes to one catch-all handler that asks the current engine.
 */
import { Readable } from 'node:stream';
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import { FerryError, type ErrorCode } from '../../errors/index.js';
import { problemResponse, type GatewayRequest, type GatewayResponse } from '../../exchange/index.js';
import type { Engine } from '../../gateway/types.js';

export interface HttpFrontendOptions {
  /** Returns the engine to use for a new request (hot reload swaps it). */
  readonly engine: () => Engine;
  readonly host?: string;
  readonly port: number;
  /** Called when a request arrives; the function it returns is called once its reply is done (drain accounting). */
  readonly trackRequest?: () => () => void;
}

export interface HttpFrontend {
  readonly port: number;
  readonly app: FastifyInstance;
  /** Stops accepting and waits for in-flight requests. */
  close(): Promise<void>;
}

const FASTIFY_ERRORS: Readonly<Record<string, ErrorCode>> = {
  FST_ERR_CTP_BODY_TOO_LARGE: 'FERRY_BODY_TOO_LARGE',
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: 'FERRY_BAD_JSON',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'FERRY_BAD_JSON',
};

/** Builds the fastify app (not listening): used by `startHttpFrontend` and by inject() tests. */
export function createHttpApp(opts: Pick<HttpFrontendOptions, 'engine' | 'trackRequest'>): FastifyInstance {
  const bodyLimit = opts.engine().maxBodyBytes;
  const app = Fastify({
    bodyLimit,
    logger: false,
    // Keep the raw path: the router percent-decodes variables itself.
    routerOptions: { ignoreTrailingSlash: false, caseSensitive: true },
    // Requests that arrive once closing began (pipelined, or on a busy keep-alive connection) get
    // Ferry's coded 503 below instead of fastify's uncoded one.
    return503OnClosing: false,
  });
  let closing = false;
  app.addHook('preClose', (done) => {
    closing = true;
    done();
  });
  // The engine parses bodies by the route's declared types, so fastify only collects bytes.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit }, (_req, body, done) => done(null, body));

  app.setErrorHandler((err: Error & { code?: string; statusCode?: number }, _req, reply) => {
    const mapped = err.code !== undefined ? FASTIFY_ERRORS[err.code] : undefined;
    const code: ErrorCode | undefined = mapped ?? (err.statusCode === 413 ? 'FERRY_BODY_TOO_LARGE' : undefined);
    const ferry =
      code !== undefined
        ? new FerryError(code, code === 'FERRY_BODY_TOO_LARGE' ? `the request body is over the ${bodyLimit}-byte limit` : err.message)
        : new FerryError(err.statusCode && err.statusCode < 500 ? 'FERRY_BAD_JSON' : 'FERRY_INTERNAL', err.message, {
            ...(err.statusCode ? { status: err.statusCode } : {}),
          });
    const problem = problemResponse(ferry);
    void reply.code(problem.status).headers(problem.headers).send(Buffer.from(problem.body));
  });

  const handler = async (request: FastifyRequest, reply: FastifyReply): Promise<void> => {
    if (closing) {
      // Not counted for the drain: no work starts. fastify adds `connection: close`.
      return send(reply, problemResponse(new FerryError('FERRY_SHUTTING_DOWN', 'Ferry is shutting down and takes no new requests; retry on another replica')));
    }
    const done = opts.trackRequest?.();
    try {
      const url = request.url;
      const q = url.indexOf('?');
      const body = request.body;
      const req: GatewayRequest = {
        method: request.method,
        path: q < 0 ? url : url.slice(0, q),
        rawQuery: q < 0 ? '' : url.slice(q + 1),
        headers: request.headers,
        body: Buffer.isBuffer(body) ? body : undefined,
        ...(request.socket.remoteAddress !== undefined ? { remoteAddress: request.socket.remoteAddress } : {}),
      };
      const res = await opts.engine().handle(req);
      await send(reply, res);
    } finally {
      done?.();
    }
  };
  app.route({ method: ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD', 'OPTIONS'], url: '/*', handler });
  app.route({ method: ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD', 'OPTIONS'], url: '/', handler });
  return app;
}

async function send(reply: FastifyReply, res: GatewayResponse): Promise<void> {
  reply.code(res.status);
  for (const [name, value] of Object.entries(res.headers)) reply.header(name, value);
  if (res.stream) {
    const head = res.body;
    const rest = res.stream;
    async function* chunks(): AsyncGenerator<Buffer | string> {
      if (head.length > 0) yield head;
      yield* rest;
    }
    return reply.send(Readable.from(chunks()));
  }
  // Bytes, not a string: fastify would append "; charset=utf-8", which JSON does not take.
  return reply.send(typeof res.body === 'string' ? Buffer.from(res.body) : res.body);
}

/** Starts the HTTP front end on host:port (port 0 picks a free one). */
export async function startHttpFrontend(opts: HttpFrontendOptions): Promise<HttpFrontend> {
  const app = createHttpApp(opts);
  await app.listen({ host: opts.host ?? '127.0.0.1', port: opts.port });
  const address = app.server.address();
  const port = typeof address === 'object' && address !== null ? address.port : opts.port;
  return {
    port,
    app,
    close: () => app.close(),
  };
}
