/**
 * The `cors` policy: answers preflights and adds Access-Control-* headers to replies, in the engine,
 * so HTTP and ext_proc behave the same. Written here rather than taken from @fastify/cors, which is a
 * Fastify hook over Fastify's reply object: the engine's replies are plain GatewayResponse records.
 */
import { headerValue } from '../../exchange/index.js';
import { definePlugin } from '../plugins.js';
import { durationMs, DURATION_SCHEMA } from './duration.js';

export interface CorsOptions {
  /** Allowed origins (exact, e.g. https://app.example.com), or ["*"]. */
  readonly origins: string[];
  readonly methods?: string[];
  /** Request headers a browser may send (default: what the preflight asks for is refused unless listed). */
  readonly headers?: string[];
  /** Response headers a script may read. */
  readonly exposeHeaders?: string[];
  readonly credentials?: boolean;
  readonly maxAge?: string | number;
}

export const corsPlugin = definePlugin<CorsOptions>({
  preflight: true,
  optionsSchema: {
    type: 'object',
    additionalProperties: false,
    required: ['origins'],
    properties: {
      origins: { type: 'array', minItems: 1, items: { type: 'string', pattern: '^(\\*|https?://[^/\\s]+)$' } },
      methods: { type: 'array', items: { enum: ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD'] } },
      headers: { type: 'array', items: { type: 'string', pattern: '^[A-Za-z0-9-]+$' } },
      exposeHeaders: { type: 'array', items: { type: 'string', pattern: '^[A-Za-z0-9-]+$' } },
      credentials: { type: 'boolean' },
      maxAge: DURATION_SCHEMA,
    },
  },
  create(options, route) {
    if (options.credentials === true && options.origins.includes('*')) {
      throw new Error('credentials: true cannot go with the origin "*" (browsers refuse it); list the origins');
    }
    const any = options.origins.includes('*');
    const origins = new Set(options.origins.map((o) => o.toLowerCase()));
    const methods = options.methods ?? [route.method];
    const allowedHeaders = new Set((options.headers ?? []).map((h) => h.toLowerCase()));
    const maxAge = String(Math.round(durationMs(options.maxAge, 600_000) / 1000));
    const expose = options.exposeHeaders?.join(', ');
    return {
      onRequest(ctx) {
        const origin = headerValue(ctx.request.headers, 'origin');
        if (origin === undefined) return; // not a cross-origin request
        const allowed = any || origins.has(origin.toLowerCase());
        if (!allowed) {
          if (ctx.preflight) return ctx.reject('FERRY_CORS_REJECTED', `the origin ${origin} may not call this route`);
          return; // a simple request goes on; without the header the browser keeps the answer from the script
        }
        const h = ctx.responseHeaders;
        h['access-control-allow-origin'] = any && options.credentials !== true ? '*' : origin;
        if (!any || options.credentials === true) h['vary'] = 'Origin';
        if (options.credentials === true) h['access-control-allow-credentials'] = 'true';
        if (!ctx.preflight) {
          if (expose !== undefined) h['access-control-expose-headers'] = expose;
          return;
        }
        const asked = (headerValue(ctx.request.headers, 'access-control-request-method') ?? '').toUpperCase();
        if (!methods.includes(asked)) return ctx.reject('FERRY_CORS_REJECTED', `the method ${asked} may not be called cross-origin`);
        const askedHeaders = (headerValue(ctx.request.headers, 'access-control-request-headers') ?? '')
          .split(',')
          .map((s) => s.trim().toLowerCase())
          .filter((s) => s !== '');
        const refused = askedHeaders.filter((a) => !allowedHeaders.has(a));
        if (refused.length > 0) return ctx.reject('FERRY_CORS_REJECTED', `the header ${refused.join(', ')} may not be sent cross-origin`);
        h['access-control-allow-methods'] = methods.join(', ');
        if (askedHeaders.length > 0) h['access-control-allow-headers'] = askedHeaders.join(', ');
        h['access-control-max-age'] = maxAge;
        return { status: 204, headers: {}, body: '' };
      },
    };
  },
});
