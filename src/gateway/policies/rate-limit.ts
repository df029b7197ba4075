/**
 * The `rate-limit` policy: a token bucket per route per key (the client address, a header or a
 * verified claim). `limit` requests per `window`, with bursts up to `burst`. Over it: 429
 * FERRY_RATE_LIMITED with Retry-After; every reply carries the IETF RateLimit-Policy and RateLimit
 * headers (draft-ietf-httpapi-ratelimit-headers). Local buckets live in this process, bounded by
 * `maxKeys`; with `redis:` the bucket is shared by every replica (GCRA, the same bucket in one key
 * per route and client, updated atomically by a Lua script on Redis's clock).
 */
import { createHash } from 'node:crypto';
import { createRequire } from 'node:module';
import type { Redis as RedisClient } from 'ioredis';
import { headerValue } from '../../exchange/index.js';
import { definePlugin, type PolicyContext } from '../plugins.js';
import { durationMs, DURATION_SCHEMA } from './duration.js';

/**
 * GCRA on Redis's clock (replicas' clocks never enter). KEYS[1]: the bucket; ARGV: emission
 * interval T (ms per request), tolerance tau (T × burst). Returns allowed (1/0), remaining, ms to
 * wait when refused, ms until the bucket is full again.
 */
const GCRA_LUA = `
local t = redis.call('TIME')
local now = t[1] * 1000 + math.floor(t[2] / 1000)
local T = tonumber(ARGV[1])
local tau = tonumber(ARGV[2])
local tat = tonumber(redis.call('GET', KEYS[1]) or now)
if tat < now then tat = now end
local new_tat = tat + T
if new_tat - now > tau then
  return {0, 0, math.ceil(new_tat - now - tau), math.ceil(tat - now)}
end
redis.call('SET', KEYS[1], string.format('%d', math.ceil(new_tat)), 'PX', math.ceil(new_tat - now))
return {1, math.floor((tau - (new_tat - now)) / T), 0, math.ceil(new_tat - now)}
`;

type RedisWithGcra = RedisClient & { ferryGcra(key: string, t: number, tau: number): Promise<[number, number, number, number]> };

export interface RateLimitOptions {
  readonly limit: number;
  readonly window: string | number;
  /** Bucket size (default `limit`): how many requests may come at once after a quiet spell. */
  readonly burst?: number;
  /** `client` (the peer address, default), `header.NAME` or `claim.NAME`. */
  readonly key?: string;
  /** Most keys tracked at once (default 10000); past it, full buckets and then the oldest are dropped. */
  readonly maxKeys?: number;
  /** Share the bucket across replicas through this Redis (redis://host:port). */
  readonly redis?: string;
  /** When Redis does not answer: `open` lets the request through, `closed` (default) answers 503. */
  readonly redisDown?: 'open' | 'closed';
  /** Longest wait for one Redis answer (default 100ms); connecting waits as long. */
  readonly redisTimeout?: string | number;
}

interface Bucket {
  tokens: number;
  at: number;
}

/** Longest wait for a connection to Redis (at least `redisTimeout`); requests never wait for it. */
const REDIS_CONNECT_TIMEOUT_MS = 5000;

/** ioredis is loaded by the first route that shares a limit through Redis: it costs ~0.15 s of every start otherwise. */
function loadRedis(): typeof RedisClient {
  return (createRequire(import.meta.url)('ioredis') as { Redis: typeof RedisClient }).Redis;
}

export function rateLimitPlugin(now: () => number = () => performance.now()): ReturnType<typeof definePlugin<RateLimitOptions>> {
  // One client per Redis URL and timeout, shared by the routes of this config; closed with it.
  const clients = new Map<string, RedisWithGcra>();
  function clientFor(url: string, timeoutMs: number): RedisWithGcra {
    const id = `${url} ${timeoutMs}`;
    let c = clients.get(id);
    if (c === undefined) {
      c = new (loadRedis())(url, {
        lazyConnect: false,
        // Not the command timeout: a connection attempt made while the process is busy starting
        // (compiling, binding) saw its timer fire first and left the route failing for seconds.
        connectTimeout: Math.max(timeoutMs, REDIS_CONNECT_TIMEOUT_MS),
        commandTimeout: timeoutMs,
        // A request never waits for a connection: with Redis away it gets the configured answer at once.
        enableOfflineQueue: false,
        maxRetriesPerRequest: 0,
        retryStrategy: (times) => Math.min(times * 200, 2000),
      }) as RedisWithGcra;
      c.defineCommand('ferryGcra', { numberOfKeys: 1, lua: GCRA_LUA });
      c.on('error', () => {}); // reconnects on its own; each request sees the outage as a failed command
      clients.set(id, c);
    }
    return c;
  }
  return definePlugin<RateLimitOptions>({
    async close() {
      for (const c of clients.values()) c.disconnect();
      clients.clear();
    },
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
        redis: { type: 'string', pattern: '^rediss?://' },
        redisDown: { enum: ['open', 'closed'] },
        redisTimeout: DURATION_SCHEMA,
      },
    },
    create(options, route) {
      const windowMs = durationMs(options.window, 1000);
      if (windowMs < 1) throw new Error('window must be at least 1ms');
      const capacity = options.burst ?? options.limit;
      const perMs = options.limit / windowMs;
      const maxKeys = options.maxKeys ?? 10_000;
      const keyOf = compileKey(options.key ?? 'client');
      const policyHeader = `"default";q=${options.limit};w=${Math.max(1, Math.round(windowMs / 1000))}`;
      if (options.redis !== undefined) {
        const redis = clientFor(options.redis, durationMs(options.redisTimeout, 100));
        const T = windowMs / options.limit;
        const tau = T * capacity;
        const failOpen = options.redisDown === 'open';
        const prefix = `ferry:rl:${route.id}:`;
        return {
          async onRequest(ctx) {
            // The key is hashed: a client's header value is not stored in Redis as it was sent.
            const key = prefix + createHash('sha256').update(keyOf(ctx)).digest('base64url').slice(0, 22);
            let answer: [number, number, number, number];
            try {
              answer = await redis.ferryGcra(key, T, tau);
            } catch {
              if (failOpen) return;
              return ctx.reject('FERRY_POLICY_UNAVAILABLE', 'the rate-limit store does not answer');
            }
            const [allowed, remaining, waitMs, fullMs] = answer;
            const h = ctx.responseHeaders;
            h['ratelimit-policy'] = policyHeader;
            if (allowed === 1) {
              h['ratelimit'] = `"default";r=${remaining};t=${Math.ceil(fullMs / 1000)}`;
              return;
            }
            const waitS = Math.max(1, Math.ceil(waitMs / 1000));
            h['ratelimit'] = `"default";r=0;t=${waitS}`;
            h['retry-after'] = String(waitS);
            return ctx.reject(
              'FERRY_RATE_LIMITED',
              `the route allows ${options.limit} requests per ${windowMs} ms for this key; try again in ${waitS} s`,
            );
          },
        };
      }
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
