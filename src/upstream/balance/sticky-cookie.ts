/**
 * Session stickiness without shared state: the first reply sets a cookie naming the endpoint that
 * served it, signed with HMAC-SHA256 so a client cannot choose an endpoint itself. Any Ferry
 * replica holding the same key honours the cookie. Keys rotate: the first key signs, every listed
 * key verifies. The signature also covers the service name, so a cookie issued for one service
 * cannot steer another.
 *
 * Cookie value: `v1.<base64url(endpoint id)>.<expiry, unix seconds, 0 = none>.<base64url(mac)>`.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { FerryError } from '../../errors/index.js';
import { headerValue, parseCookies } from '../../exchange/index.js';
import type { GatewayRequest, HeaderMap } from '../../exchange/index.js';

export interface StickyCookieOptions {
  /** Cookie name, e.g. `ferry-affinity`. */
  readonly name: string;
  /** HMAC keys: the first signs, all verify (rotation). At least one, each ≥ 16 characters. */
  readonly keys: readonly string[];
  /** Max-Age of the cookie; also checked server-side from the signed expiry. Absent: session cookie. */
  readonly maxAgeSeconds?: number;
  /** The service the cookie belongs to (its name in the mapping). */
  readonly service: string;
  /** Add `Secure` to the cookie (for HTTPS front ends). */
  readonly secure?: boolean;
  /** Clock in milliseconds (tests). */
  readonly now?: () => number;
}

export interface StickyCookie {
  readonly name: string;
  /**
   * The endpoint id from the first cookie of this name whose signature verifies for this service
   * and has not expired; undefined for absent, tampered, foreign, expired or garbled cookies.
   */
  read(cookieHeaderValues: string | readonly string[] | undefined): string | undefined;
  /** Same as read(), from a request's headers. */
  readFrom(headers: HeaderMap): string | undefined;
  /** A `Set-Cookie` header value naming `endpointId`. */
  issue(endpointId: string): string;
}

const VERSION = 'v1';
const MIN_KEY_LENGTH = 16;
const COOKIE_NAME = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

/** Splits `FERRY_STICKY_KEYS` (comma-separated, first signs) into keys; empty entries dropped. */
export function parseStickyKeys(value: string | undefined): string[] {
  if (value === undefined) return [];
  return value
    .split(',')
    .map((k) => k.trim())
    .filter((k) => k !== '');
}

function mac(key: string, service: string, id: string, expiry: string): Buffer {
  return createHmac('sha256', key).update(`ferry-sticky-${VERSION}\0${service}\0${id}\0${expiry}`).digest();
}

/** Creates the signer/verifier for one service. Throws FerryError(FERRY_CONFIG_INVALID) on bad options. */
export function createStickyCookie(options: StickyCookieOptions): StickyCookie {
  const { name, service } = options;
  if (!COOKIE_NAME.test(name)) {
    throw new FerryError('FERRY_CONFIG_INVALID', `sticky cookie name "${name}" is not a valid cookie name`);
  }
  const keys = [...options.keys];
  if (keys.length === 0) {
    throw new FerryError('FERRY_CONFIG_INVALID', `service "${service}" uses a sticky cookie but no signing key is set (config or FERRY_STICKY_KEYS)`);
  }
  for (const k of keys) {
    if (k.length < MIN_KEY_LENGTH) {
      throw new FerryError('FERRY_CONFIG_INVALID', `a sticky cookie key is shorter than ${MIN_KEY_LENGTH} characters`);
    }
  }
  const maxAge = options.maxAgeSeconds;
  if (maxAge !== undefined && (!Number.isInteger(maxAge) || maxAge <= 0)) {
    throw new FerryError('FERRY_CONFIG_INVALID', `sticky cookie maxAgeSeconds must be a positive integer`);
  }
  const now = options.now ?? Date.now;
  const attributes = `; Path=/; HttpOnly; SameSite=Lax${maxAge !== undefined ? `; Max-Age=${maxAge}` : ''}${
    options.secure === true ? '; Secure' : ''
  }`;

  const verify = (value: string): string | undefined => {
    const parts = value.split('.');
    if (parts.length !== 4 || parts[0] !== VERSION) return undefined;
    const [, idPart, expiry, sigPart] = parts as [string, string, string, string];
    if (!/^\d{1,12}$/.test(expiry)) return undefined;
    if (!/^[A-Za-z0-9_-]+$/.test(idPart) || !/^[A-Za-z0-9_-]{43}$/.test(sigPart)) return undefined;
    const given = Buffer.from(sigPart, 'base64url');
    if (given.length !== 32) return undefined;
    const id = Buffer.from(idPart, 'base64url').toString('utf8');
    if (id === '' || Buffer.from(id, 'utf8').toString('base64url') !== idPart) return undefined;
    let ok = false;
    for (const key of keys) {
      // Check every key (no early exit) so timing does not tell which key matched.
      if (timingSafeEqual(mac(key, service, id, expiry), given)) ok = true;
    }
    if (!ok) return undefined;
    const exp = Number(expiry);
    if (exp !== 0 && exp * 1000 <= now()) return undefined;
    return id;
  };

  const readValues = (values: readonly string[]): string | undefined => {
    for (const v of values) {
      const id = verify(v);
      if (id !== undefined) return id;
    }
    return undefined;
  };

  /** All values of cookies called `name`, in order (a browser may send several). */
  const valuesOf = (lines: readonly string[]): string[] => {
    const out: string[] = [];
    for (const line of lines) {
      for (const part of line.split(';')) {
        const eq = part.indexOf('=');
        if (eq <= 0 || part.slice(0, eq).trim() !== name) continue;
        let v = part.slice(eq + 1).trim();
        if (v.length >= 2 && v.startsWith('"') && v.endsWith('"')) v = v.slice(1, -1);
        out.push(v);
      }
    }
    return out;
  };

  return {
    name,
    read(cookieHeaderValues) {
      if (cookieHeaderValues === undefined) return undefined;
      const lines = typeof cookieHeaderValues === 'string' ? [cookieHeaderValues] : cookieHeaderValues;
      return readValues(valuesOf(lines));
    },
    readFrom(headers) {
      const raw = headers['cookie'];
      if (raw === undefined) return undefined;
      return readValues(valuesOf(Array.isArray(raw) ? raw : [raw]));
    },
    issue(endpointId) {
      if (endpointId === '') throw new FerryError('FERRY_INTERNAL', 'cannot issue a sticky cookie for an empty endpoint id');
      const expiry = maxAge === undefined ? '0' : String(Math.floor(now() / 1000) + maxAge);
      const sig = mac(keys[0]!, service, endpointId, expiry).toString('base64url');
      const value = `${VERSION}.${Buffer.from(endpointId, 'utf8').toString('base64url')}.${expiry}.${sig}`;
      return `${name}=${value}${attributes}`;
    },
  };
}

/** Pulls the value to hash on out of a request. */
export type HashKeyExtractor = (req: GatewayRequest) => string | undefined;

/**
 * Builds an extractor for `header.<name>`, `query.<name>` or `cookie.<name>` (the mapping's
 * `sticky: { header | query | cookie }` and `hash:` sources). Throws FerryError(FERRY_CONFIG_INVALID)
 * for any other form, so a typo fails at load time, not per request.
 */
export function hashKeyFrom(source: string): HashKeyExtractor {
  const dot = source.indexOf('.');
  const kind = dot < 0 ? source : source.slice(0, dot);
  const name = dot < 0 ? '' : source.slice(dot + 1);
  if (name === '') {
    throw new FerryError('FERRY_CONFIG_INVALID', `hash key source "${source}" needs a name (header.x, query.x or cookie.x)`);
  }
  switch (kind) {
    case 'header': {
      const lower = name.toLowerCase();
      return (req) => {
        const v = headerValue(req.headers, lower);
        return v === undefined || v === '' ? undefined : v;
      };
    }
    case 'query':
      return (req) => {
        if (req.rawQuery === '') return undefined;
        const v = new URLSearchParams(req.rawQuery).get(name);
        return v === null || v === '' ? undefined : v;
      };
    case 'cookie':
      return (req) => {
        const v = parseCookies(req.headers)[name];
        return v === undefined || v === '' ? undefined : v;
      };
    default:
      throw new FerryError('FERRY_CONFIG_INVALID', `hash key source "${source}" must start with header., query. or cookie.`);
  }
}

/** What the Dubbo binder asks per call (structurally the gateway's `Stickiness`). */
export interface StickinessPolicy {
  /** The balancer hint for this request: a verified cookie's endpoint, or the hash key. */
  hint(req: GatewayRequest): { preferredId?: string; hashKey?: string } | undefined;
  /** `set-cookie` when the call went somewhere other than the cookie said (new session, endpoint gone, failover). */
  replyHeaders(hint: { preferredId?: string } | undefined, endpoint: string): Record<string, string> | undefined;
}

export interface StickinessOptions {
  /** The service's name in the mapping (cookies are bound to it). */
  readonly service: string;
  /** `sticky.cookie`: cookie name for signed-cookie stickiness. */
  readonly cookie?: string;
  /** `sticky.hashOn` (`header.x`, `query.x`, `cookie.x`): hash stickiness. */
  readonly hashOn?: string;
  /** Signing keys (config, else `parseStickyKeys(process.env.FERRY_STICKY_KEYS)`); needed for `cookie`. */
  readonly keys?: readonly string[];
  readonly maxAgeSeconds?: number;
  readonly secure?: boolean;
}

/**
 * Builds a service's stickiness policy from its `sticky:` config, or undefined when it has none.
 * Both forms may be combined: a valid cookie wins, else the hash key decides.
 */
export function createStickiness(options: StickinessOptions): StickinessPolicy | undefined {
  const cookie =
    options.cookie === undefined
      ? undefined
      : createStickyCookie({
          name: options.cookie,
          keys: options.keys ?? [],
          service: options.service,
          ...(options.maxAgeSeconds !== undefined ? { maxAgeSeconds: options.maxAgeSeconds } : {}),
          ...(options.secure !== undefined ? { secure: options.secure } : {}),
        });
  const hashKey = options.hashOn === undefined ? undefined : hashKeyFrom(options.hashOn);
  if (cookie === undefined && hashKey === undefined) return undefined;
  return {
    hint(req) {
      const preferredId = cookie?.readFrom(req.headers);
      const key = hashKey?.(req);
      if (preferredId === undefined && key === undefined) return undefined;
      return {
        ...(preferredId !== undefined ? { preferredId } : {}),
        ...(key !== undefined ? { hashKey: key } : {}),
      };
    },
    replyHeaders(hint, endpoint) {
      if (cookie === undefined || hint?.preferredId === endpoint) return undefined;
      return { 'set-cookie': cookie.issue(endpoint) };
    },
  };
}
