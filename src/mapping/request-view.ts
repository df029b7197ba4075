/**
 * A read-only view of one request that parses the query, cookies and JSON body at most once, and
 * only when a route's extractors ask. Argument sources (`path.id`, `body.amount`, ...) compile into
 * extractor functions over this view when the config is compiled.
 */
import { isUtf8 } from 'node:buffer';
import { isLosslessNumber } from 'lossless-json';
import { parseExactJson } from '../codec/exact-json.js';
import { FerryError } from '../errors/index.js';
import { headerValue, MAX_JSON_NESTING, parseCookies, type GatewayRequest } from '../exchange/index.js';

/** How a route's body is parsed: exactly (numbers kept as text) or with JSON.parse. */
export type BodyParsing = 'lossless' | 'fast';

const MISSING = Symbol('missing');

export class RequestView {
  private queryCache: URLSearchParams | undefined;
  private cookieCache: Record<string, string> | undefined;
  private bodyCache: unknown = MISSING;

  constructor(
    readonly req: GatewayRequest,
    readonly params: Readonly<Record<string, string>>,
    private readonly bodyParsing: BodyParsing,
    /** Claims an authentication policy verified for this request (`claim.X` reads them); undefined when none ran. */
    readonly claims?: Readonly<Record<string, unknown>>,
  ) {}

  query(): URLSearchParams {
    return (this.queryCache ??= new URLSearchParams(this.req.rawQuery));
  }

  cookies(): Record<string, string> {
    return (this.cookieCache ??= parseCookies(this.req.headers));
  }

  /** The parsed JSON body; undefined when the request has no body. Throws FERRY_BAD_JSON / 415. */
  body(): unknown {
    if (this.bodyCache === MISSING) this.bodyCache = parseJsonBody(this.req, this.bodyParsing);
    return this.bodyCache;
  }
}

/** Parses the request body as JSON. Numbers become LosslessNumber in lossless mode. */
export function parseJsonBody(req: GatewayRequest, mode: BodyParsing): unknown {
  const buf = req.body;
  if (buf === undefined || buf.length === 0) return undefined;
  const type = headerValue(req.headers, 'content-type');
  if (type !== undefined && !isJsonContentType(type)) {
    throw new FerryError('FERRY_UNSUPPORTED_MEDIA_TYPE', `the body is ${type.split(';')[0]}; this route takes application/json`);
  }
  const text = jsonBodyText(buf);
  try {
    // Lossless: lossless-json's values (LosslessNumber for every number), through JSON.parse where it can.
    return mode === 'lossless' ? parseExactJson(text) : JSON.parse(text);
  } catch (err) {
    const reason = err instanceof Error ? err.message : String(err);
    throw new FerryError('FERRY_BAD_JSON', `the request body is not valid JSON: ${reason}`, { cause: err });
  }
}

/**
 * A JSON body's bytes as text, for every route whatever its protocol. Refuses (400 FERRY_BAD_JSON)
 * bytes that are not UTF-8, which decoding would silently turn into U+FFFD, and arrays/objects
 * nested deeper than MAX_JSON_NESTING, the depth Ferry also accepts in replies.
 */
export function jsonBodyText(buf: Buffer): string {
  if (!isUtf8(buf)) throw new FerryError('FERRY_BAD_JSON', 'the request body is not valid UTF-8');
  if (nestedDeeperThan(buf, MAX_JSON_NESTING)) {
    throw new FerryError('FERRY_BAD_JSON', `the request body nests arrays and objects deeper than ${MAX_JSON_NESTING} levels`);
  }
  return buf.toString('utf8');
}

/** Whether JSON text nests `[` / `{` deeper than `max` (brackets inside strings do not count). */
function nestedDeeperThan(buf: Buffer, max: number): boolean {
  if (buf.length <= max) return false; // each level takes a byte
  let depth = 0;
  let inString = false;
  for (let i = 0; i < buf.length; i++) {
    const c = buf[i];
    if (inString) {
      if (c === 0x5c)
        i++; // a backslash escapes the next byte
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x5b || c === 0x7b) {
      if (++depth > max) return true;
    } else if (c === 0x5d || c === 0x7d) depth--;
  }
  return false;
}

function isJsonContentType(type: string): boolean {
  const base = type.split(';')[0]!.trim().toLowerCase();
  return base === 'application/json' || base.endsWith('+json');
}

/** Reads one argument's raw value from a request; `undefined` means absent. */
export type Extractor = (view: RequestView) => unknown;

// Numbers and booleans read as text, as the other sources are; an own property only, never Object.prototype's.
function ownValue(from: Readonly<Record<string, unknown>> | undefined, name: string): unknown {
  if (from === undefined || !Object.hasOwn(from, name)) return undefined;
  const c = from[name];
  return typeof c === 'number' || typeof c === 'boolean' ? String(c) : c;
}

/**
 * Compiles a source (`path.X`, `query.X`, `header.X`, `cookie.X`, `claim.X`, `attribute.X`,
 * `metadata.NAMESPACE.FIELD`, `body`, `body.a.b`) into an extractor.
 * `many` asks for every value of a repeated query parameter or header (for collection types).
 */
export function compileExtractor(from: string, many: boolean): Extractor {
  const dot = from.indexOf('.');
  const kind = dot < 0 ? from : from.slice(0, dot);
  const name = dot < 0 ? '' : from.slice(dot + 1);
  switch (kind) {
    case 'path':
      return (v) => v.params[name];
    case 'query':
      return many
        ? (v) => {
            const all = v.query().getAll(name);
            return all.length === 0 ? undefined : all;
          }
        : (v) => v.query().get(name) ?? undefined;
    case 'header': {
      const lower = name.toLowerCase();
      return many
        ? (v) => {
            const h = v.req.headers[lower];
            return h === undefined ? undefined : Array.isArray(h) ? h : h.split(',').map((s) => s.trim());
          }
        : (v) => headerValue(v.req.headers, lower);
    }
    case 'cookie':
      return (v) => v.cookies()[name];
    case 'claim':
      // Only verified claims: a policy sets them after checking the token; nothing from the request itself.
      return (v) => ownValue(v.claims, name);
    case 'attribute':
      // What Envoy says of the request (route name, peer address, ...): absent through the HTTP front end.
      return (v) => ownValue(v.req.attributes, name);
    case 'metadata': {
      // Namespaces hold dots (envoy.filters.http.jwt_authn): the field is the last segment.
      const cut = name.lastIndexOf('.');
      if (cut <= 0) throw new Error(`request source "${from}" needs metadata.NAMESPACE.FIELD`);
      const ns = name.slice(0, cut);
      const field = name.slice(cut + 1);
      return (v) => ownValue(v.req.metadata !== undefined && Object.hasOwn(v.req.metadata, ns) ? v.req.metadata[ns] : undefined, field);
    }
    case 'body': {
      if (name === '') return (v) => v.body();
      const steps = name.split('.');
      return (v) => {
        let cur: unknown = v.body();
        for (const step of steps) {
          if (cur === null || typeof cur !== 'object' || Array.isArray(cur) || !Object.hasOwn(cur, step)) return undefined;
          cur = (cur as Record<string, unknown>)[step];
        }
        return cur;
      };
    }
    default:
      throw new Error(`unknown request source "${from}"`);
  }
}

export { isLosslessNumber };
