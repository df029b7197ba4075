/**
 * The `rate-limit` policy: a token bucket per route per key (the client address, a header or a
 * verified claim), held in this process. `limit` requests per `window`, with bursts up to `burst`.
 * Over it: 429 FERRY_RATE_LIMITED with Retry-After; every reply carries the IETF RateLimit-Policy and
 * RateLimit headers (draft-ietf-httpapi-ratelimit-headers). Buckets are bounded by `maxKeys`.
 */
import { headerValue } from '../../exchange/index.js';
import { definePlugin, type PolicyContext } from '../plugins.js';
import { durationMs, DURATION_SCHEMA } from './duration.js';

export interface RateLimitOptions {
  readonly limit: number;
  readonly window: string | number;
  /** Bucket size (default `limit`): how many requests may come at once after a quiet spell. */
  readonly burst?: number;
  /** `client` (the peer address, default), `header.NAME` or `claim.NAME`. */
  readonly key?: string;
  /** Most keys tracked at once (default 10000); past it, full buckets and then the oldest are dropped. */
  readonly maxKeys?: number;
}

interface Bucket {
  tokens: number;
  at: number;
}

export function rateLimitPlugin(now: () => number = () => performance.now()): ReturnType<typeof definePlugin<RateLimitOptions>> {
  return definePlugin<RateLimitOptions>({
    optionsSchema: {
      type: 'object',
      additionalProperties: false,
      required: ['limit', 'window'],
      properties: {
        limit: { type: 'integer', minimum: 1, maximum: 1_000_000_000 },
        window: DURATION_SCHEMA,
        burst: { type: 'integer', minimum: 1, maximum: 1_000_000_000 },
        key: { type: 'string', pattern: '^(client|(header|claim)\\.[A-Za-z0-9_.-]+)$' },
        maxKeys: { type: 'integer', minimum: 1, maximum: 10_000_000 },
      },
    },
    create(options) {
      const windowMs = durationMs(options.window, 1000);
      if (windowMs < 1) throw new Error('window must be at least 1ms');
      const capacity = options.burst ?? options.limit;
      const perMs = options.limit / windowMs;
      const maxKeys = options.maxKeys ?? 10_000;
      const keyOf = compileKey(options.key ?? 'client');
      const policyHeader = `"default";q=${options.limit};w=${Math.max(1, Math.round(windowMs / 1000))}`;
      const buckets = new Map<string, Bucket>();

      function evict(t: number): void {
        for (const [k, b] of buckets) if (b.tokens + (t - b.at) * perMs >= capacity) buckets.delete(k);
        if (buckets.size >= maxKeys) buckets.delete(buckets.keys().next().value as string);
      }

      return {
        onRequest(ctx) {
          const t = now();
          const key = keyOf(ctx);
          let b = buckets.get(key);
          if (b === undefined) {
            if (buckets.size >= maxKeys) evict(t);
            b = { tokens: capacity, at: t };
            buckets.set(key, b);
          } else {
            b.tokens = Math.min(capacity, b.tokens + (t - b.at) * perMs);
            b.at = t;
          }
          const h = ctx.responseHeaders;
          h['ratelimit-policy'] = policyHeader;
          if (b.tokens >= 1) {
            b.tokens -= 1;
            h['ratelimit'] = `"default";r=${Math.floor(b.tokens)};t=${Math.ceil((capacity - b.tokens) / perMs / 1000)}`;
            return;
          }
          const waitS = Math.max(1, Math.ceil((1 - b.tokens) / perMs / 1000));
          h['ratelimit'] = `"default";r=0;t=${waitS}`;
          h['retry-after'] = String(waitS);
          return ctx.reject(
            'FERRY_RATE_LIMITED',
            `the route allows ${options.limit} requests per ${windowMs} ms for this key; try again in ${waitS} s`,
          );
        },
      };
    },
  });
}

/** The bucket key of a request: never the raw value of a credential, only what the mapping names. */
function compileKey(spec: string): (ctx: PolicyContext) => string {
  if (spec === 'client') return (ctx) => ctx.request.remoteAddress ?? '';
  const dot = spec.indexOf('.');
  const kind = spec.slice(0, dot);
  const name = spec.slice(dot + 1);
  if (kind === 'header') {
    const lower = name.toLowerCase();
    return (ctx) => headerValue(ctx.request.headers, lower) ?? '';
  }
  return (ctx) => {
    const v = ctx.claims?.[name];
    return typeof v === 'string' || typeof v === 'number' ? String(v) : '';
  };
}
