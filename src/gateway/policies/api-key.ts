/**
 * The `api-key` policy: a key in a header, checked against SHA-256 hashes in the mapping (the keys
 * themselves are never in config, logs or problem documents). A match makes `claim.sub` the key's
 * name, so limits and arguments can use it.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { headerValue } from '../../exchange/index.js';
import { definePlugin } from '../plugins.js';

export interface ApiKeyOptions {
  /** The header carrying the key (default x-api-key). */
  readonly header?: string;
  readonly keys: ReadonlyArray<{ readonly name: string; readonly sha256: string }>;
}

/** Longest key read, bytes. */
export const MAX_API_KEY_BYTES = 1024;

export const apiKeyPlugin = definePlugin<ApiKeyOptions>({
  optionsSchema: {
    type: 'object',
    additionalProperties: false,
    required: ['keys'],
    properties: {
      header: { type: 'string', pattern: '^[A-Za-z0-9-]+$' },
      keys: {
        type: 'array',
        minItems: 1,
        items: {
          type: 'object',
          additionalProperties: false,
          required: ['name', 'sha256'],
          properties: { name: { type: 'string', minLength: 1 }, sha256: { type: 'string', pattern: '^[0-9a-fA-F]{64}$' } },
        },
      },
    },
  },
  create(options) {
    const header = (options.header ?? 'x-api-key').toLowerCase();
    const keys = options.keys.map((k) => ({ name: k.name, digest: Buffer.from(k.sha256, 'hex') }));
    const challenge = `ApiKey header="${header}"`;
    return {
      onRequest(ctx) {
        const presented = headerValue(ctx.request.headers, header);
        if (presented === undefined || presented.length === 0) {
          ctx.responseHeaders['www-authenticate'] = challenge;
          return ctx.reject('FERRY_UNAUTHENTICATED', `this route needs an API key in the ${header} header`);
        }
        if (presented.length > MAX_API_KEY_BYTES) {
          ctx.responseHeaders['www-authenticate'] = challenge;
          return ctx.reject('FERRY_UNAUTHENTICATED', `the API key is longer than ${MAX_API_KEY_BYTES} bytes`);
        }
        const digest = createHash('sha256').update(presented).digest();
        // Every key is compared, in constant time, so the time taken tells nothing of which one is close.
        let match: string | undefined;
        for (const k of keys) if (timingSafeEqual(k.digest, digest) && match === undefined) match = k.name;
        if (match === undefined) {
          ctx.responseHeaders['www-authenticate'] = challenge;
          return ctx.reject('FERRY_UNAUTHENTICATED', 'the API key is not valid');
        }
        ctx.claims = { ...ctx.claims, sub: match };
      },
    };
  },
});
