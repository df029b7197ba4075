/**
 * The `jwt` policy: a bearer token verified with `jose` against a JWKS URL. jose's remote key set
 * caches the keys and fetches them again when a token names an unknown `kid`, at most once per
 * cooldown (so a flood of made-up kids cannot make Ferry hammer the issuer). Claims that pass become
 * the request's verified claims (`from: claim.sub`). Messages never carry the token.
 */
import { createRemoteJWKSet, jwtVerify, type JWTPayload } from 'jose';
import { definePlugin, type PolicyContext } from '../plugins.js';
import { durationMs, DURATION_SCHEMA } from './duration.js';

export interface JwtOptions {
  readonly jwks: string;
  readonly issuer?: string | string[];
  readonly audience?: string | string[];
  readonly algorithms?: string[];
  /** Allowed clock difference for exp/nbf/iat (default 30s). */
  readonly clockSkew?: string | number;
  /** Scopes the token's `scope` claim must all hold (else 403). */
  readonly scopes?: string[];
  /** Longest wait for the JWKS endpoint (default 2s). */
  readonly fetchTimeout?: string | number;
  /** Least time between two fetches for unknown kids (default 30s). */
  readonly refetchCooldown?: string | number;
  /** How long fetched keys are trusted without a fetch (default 10m). */
  readonly cacheMaxAge?: string | number;
}

const ASYMMETRIC = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA', 'Ed25519'];

const oneOrMany = {
  oneOf: [
    { type: 'string', minLength: 1 },
    { type: 'array', minItems: 1, items: { type: 'string', minLength: 1 } },
  ],
};

/** Longest token read, bytes: a bigger Authorization header is refused before any parsing. */
export const MAX_TOKEN_BYTES = 8192;

/** A new jwt plugin; its key sets (one per JWKS URL) live as long as the config that built it. */
export function jwtPlugin(): ReturnType<typeof definePlugin<JwtOptions>> {
  const keySets = new Map<string, ReturnType<typeof createRemoteJWKSet>>();
  return definePlugin<JwtOptions>({
    // Room for one JWKS fetch (its own timeout answers first).
    budgetMs: 10_000,
    optionsSchema: {
      type: 'object',
      additionalProperties: false,
      required: ['jwks'],
      properties: {
        jwks: { type: 'string', pattern: '^https?://' },
        issuer: oneOrMany,
        audience: oneOrMany,
        algorithms: { type: 'array', minItems: 1, items: { enum: ASYMMETRIC } },
        clockSkew: DURATION_SCHEMA,
        scopes: { type: 'array', items: { type: 'string', minLength: 1 } },
        fetchTimeout: DURATION_SCHEMA,
        refetchCooldown: DURATION_SCHEMA,
        cacheMaxAge: DURATION_SCHEMA,
      },
    },
    create(options) {
      const key = `${options.jwks} ${String(options.fetchTimeout)} ${String(options.refetchCooldown)} ${String(options.cacheMaxAge)}`;
      let keys = keySets.get(key);
      if (keys === undefined) {
        keys = createRemoteJWKSet(new URL(options.jwks), {
          timeoutDuration: durationMs(options.fetchTimeout, 2000),
          cooldownDuration: durationMs(options.refetchCooldown, 30_000),
          cacheMaxAge: durationMs(options.cacheMaxAge, 600_000),
        });
        keySets.set(key, keys);
      }
      const jwks = keys;
      const verifyOptions = {
        algorithms: options.algorithms ?? ['RS256', 'PS256', 'ES256', 'EdDSA', 'Ed25519'],
        clockTolerance: Math.round(durationMs(options.clockSkew, 30_000) / 1000),
        ...(options.issuer !== undefined ? { issuer: options.issuer } : {}),
        ...(options.audience !== undefined ? { audience: options.audience } : {}),
      };
      const scopes = options.scopes ?? [];
      return {
        async onRequest(ctx) {
          const token = bearerToken(ctx);
          let payload: JWTPayload;
          try {
            ({ payload } = await jwtVerify(token, jwks, verifyOptions));
          } catch (err) {
            const code = (err as { code?: unknown }).code;
            if (code === 'ERR_JWKS_TIMEOUT' || code === 'ERR_JWKS_INVALID' || !(typeof code === 'string' && code.startsWith('ERR_J'))) {
              // The key set could not be fetched: not the client's fault.
              return ctx.reject('FERRY_POLICY_UNAVAILABLE', 'the token could not be checked: the key set is unavailable');
            }
            const reason = REASONS[code] ?? 'the token is not valid';
            ctx.responseHeaders['www-authenticate'] = `Bearer error="invalid_token", error_description="${reason}"`;
            return ctx.reject('FERRY_UNAUTHENTICATED', reason);
          }
          if (scopes.length > 0) {
            const held = new Set(typeof payload['scope'] === 'string' ? payload['scope'].split(' ') : []);
            const missing = scopes.filter((s) => !held.has(s));
            if (missing.length > 0) {
              ctx.responseHeaders['www-authenticate'] = `Bearer error="insufficient_scope", scope="${scopes.join(' ')}"`;
              return ctx.reject('FERRY_FORBIDDEN', `the token lacks the scope ${missing.join(', ')}`);
            }
          }
          ctx.claims = { ...ctx.claims, ...payload };
        },
      };
    },
  });
}

/** What a client is told per jose error code: the check that failed, never the token. */
const REASONS: Record<string, string> = {
  ERR_JWT_EXPIRED: 'the token has expired',
  ERR_JWT_CLAIM_VALIDATION_FAILED: 'a claim of the token (iss, aud, nbf, iat) does not hold',
  ERR_JWS_SIGNATURE_VERIFICATION_FAILED: 'the token signature does not verify',
  ERR_JWKS_NO_MATCHING_KEY: 'no key of the issuer matches the token',
  ERR_JWKS_MULTIPLE_MATCHING_KEYS: 'the token names no single key of the issuer',
  ERR_JOSE_ALG_NOT_ALLOWED: 'the token algorithm is not allowed',
  ERR_JWS_INVALID: 'the token is not a well-formed JWS',
  ERR_JWT_INVALID: 'the token is not a well-formed JWT',
  ERR_JOSE_NOT_SUPPORTED: 'the token uses an unsupported algorithm or key',
};

function bearerToken(ctx: PolicyContext): string {
  const h = ctx.request.headers['authorization'];
  const value = Array.isArray(h) ? h[0] : h;
  if (value === undefined || !/^bearer /i.test(value)) {
    ctx.responseHeaders['www-authenticate'] = 'Bearer';
    return ctx.reject('FERRY_UNAUTHENTICATED', 'this route needs a bearer token (Authorization: Bearer ...)');
  }
  if (value.length > MAX_TOKEN_BYTES) {
    ctx.responseHeaders['www-authenticate'] = 'Bearer error="invalid_token", error_description="the token is too long"';
    return ctx.reject('FERRY_UNAUTHENTICATED', `the token is longer than ${MAX_TOKEN_BYTES} bytes`);
  }
  return value.slice(7).trim();
}
