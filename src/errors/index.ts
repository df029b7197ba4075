/**
 * The one catalogue of Ferry's coded errors. Every failure a client can see carries one of these
 * codes; the HTTP status and gRPC code come from here so that both front ends agree.
 */

/** gRPC status codes (numeric, as on the wire). */
export const GrpcCode = {
  OK: 0,
  CANCELLED: 1,
  UNKNOWN: 2,
  INVALID_ARGUMENT: 3,
  DEADLINE_EXCEEDED: 4,
  NOT_FOUND: 5,
  ALREADY_EXISTS: 6,
  PERMISSION_DENIED: 7,
  RESOURCE_EXHAUSTED: 8,
  FAILED_PRECONDITION: 9,
  ABORTED: 10,
  OUT_OF_RANGE: 11,
  UNIMPLEMENTED: 12,
  INTERNAL: 13,
  UNAVAILABLE: 14,
  DATA_LOSS: 15,
  UNAUTHENTICATED: 16,
} as const;
export type GrpcCodeNumber = (typeof GrpcCode)[keyof typeof GrpcCode];

interface CatalogueEntry {
  readonly status: number;
  readonly grpc: GrpcCodeNumber;
  readonly title: string;
}

/** Code → default HTTP status, gRPC code and a short title. Routes may override the status. */
export const ERROR_CATALOGUE = {
  FERRY_ROUTE_NOT_FOUND: { status: 404, grpc: GrpcCode.NOT_FOUND, title: 'No route matches this request' },
  FERRY_METHOD_NOT_ALLOWED: { status: 405, grpc: GrpcCode.UNIMPLEMENTED, title: 'The path exists but not for this method' },
  FERRY_BAD_JSON: { status: 400, grpc: GrpcCode.INVALID_ARGUMENT, title: 'The request body is not valid JSON' },
  FERRY_BAD_ARGUMENT: { status: 400, grpc: GrpcCode.INVALID_ARGUMENT, title: 'An argument does not fit its declared type' },
  FERRY_MISSING_ARGUMENT: { status: 400, grpc: GrpcCode.INVALID_ARGUMENT, title: 'A required argument is missing' },
  FERRY_UNSUPPORTED_MEDIA_TYPE: { status: 415, grpc: GrpcCode.INVALID_ARGUMENT, title: 'The request body must be application/json' },
  FERRY_BODY_TOO_LARGE: { status: 413, grpc: GrpcCode.RESOURCE_EXHAUSTED, title: 'The request body is over the size limit' },
  FERRY_MALFORMED_REQUEST: { status: 400, grpc: GrpcCode.INVALID_ARGUMENT, title: 'The request is not well-formed HTTP' },
  FERRY_HEADERS_TOO_LARGE: { status: 431, grpc: GrpcCode.RESOURCE_EXHAUSTED, title: 'The request headers are over the size limit' },
  FERRY_REQUEST_TIMEOUT: { status: 408, grpc: GrpcCode.DEADLINE_EXCEEDED, title: 'The request did not arrive in time' },
  FERRY_TOO_MANY_PIPELINED: {
    status: 429,
    grpc: GrpcCode.RESOURCE_EXHAUSTED,
    title: 'Too many requests are waiting for an answer on this connection',
  },
  FERRY_TOO_MANY_CONNECTIONS: { status: 503, grpc: GrpcCode.UNAVAILABLE, title: 'Ferry has as many client connections open as it accepts' },
  FERRY_EXT_PROC_PROTOCOL_ERROR: { status: 400, grpc: GrpcCode.INVALID_ARGUMENT, title: 'The ext_proc messages break the protocol' },
  FERRY_UPSTREAM_EXCEPTION: { status: 502, grpc: GrpcCode.UNKNOWN, title: 'The provider threw an exception' },
  FERRY_UPSTREAM_STATUS: { status: 502, grpc: GrpcCode.UNKNOWN, title: 'The upstream answered with an error status' },
  FERRY_UPSTREAM_SERVICE_NOT_FOUND: { status: 502, grpc: GrpcCode.UNIMPLEMENTED, title: 'The provider does not export this service or method' },
  FERRY_UPSTREAM_REJECTED_REQUEST: { status: 502, grpc: GrpcCode.INTERNAL, title: 'The provider could not decode the request' },
  FERRY_UPSTREAM_UNAVAILABLE: { status: 503, grpc: GrpcCode.UNAVAILABLE, title: 'No upstream endpoint could take the call' },
  FERRY_NO_TAGGED_ENDPOINT: {
    status: 503,
    grpc: GrpcCode.UNAVAILABLE,
    title: 'Tag routing left no endpoint for this call (a forced tag no endpoint carries, or only tagged endpoints)',
  },
  FERRY_UPSTREAM_OVERLOADED: {
    status: 503,
    grpc: GrpcCode.RESOURCE_EXHAUSTED,
    title: 'The provider is overloaded (its thread pool is exhausted, or it is not reading requests)',
  },
  FERRY_UPSTREAM_TLS: {
    status: 503,
    grpc: GrpcCode.UNAVAILABLE,
    title: "TLS to the upstream failed: its certificate is expired, names another host, or is not from a trusted CA (or it refused Ferry's)",
  },
  FERRY_UPSTREAM_CONNECTION_LOST: { status: 502, grpc: GrpcCode.UNAVAILABLE, title: 'The connection to the provider closed during the call' },
  FERRY_UPSTREAM_PROTOCOL_ERROR: { status: 502, grpc: GrpcCode.INTERNAL, title: 'The upstream sent a malformed reply' },
  FERRY_REPLY_TOO_LARGE: {
    status: 502,
    grpc: GrpcCode.RESOURCE_EXHAUSTED,
    title: 'The streamed reply is larger than one ext_proc answer holds in this body mode',
  },
  FERRY_GRPC_SCHEMA_UNAVAILABLE: {
    status: 503,
    grpc: GrpcCode.UNAVAILABLE,
    title: "The gRPC service's schema has not arrived from its reflection service yet",
  },
  FERRY_UPSTREAM_TIMEOUT: { status: 504, grpc: GrpcCode.DEADLINE_EXCEEDED, title: 'The upstream did not answer in time' },
  FERRY_SHUTTING_DOWN: { status: 503, grpc: GrpcCode.UNAVAILABLE, title: 'Ferry is shutting down' },
  FERRY_CLIENT_CLOSED: { status: 499, grpc: GrpcCode.CANCELLED, title: 'The client went away before the answer' },
  FERRY_UNAUTHENTICATED: { status: 401, grpc: GrpcCode.UNAUTHENTICATED, title: 'The request carries no valid credentials for this route' },
  FERRY_FORBIDDEN: { status: 403, grpc: GrpcCode.PERMISSION_DENIED, title: 'The credentials do not allow this route' },
  FERRY_RATE_LIMITED: { status: 429, grpc: GrpcCode.RESOURCE_EXHAUSTED, title: 'The rate limit of this route is used up' },
  FERRY_CORS_REJECTED: { status: 403, grpc: GrpcCode.PERMISSION_DENIED, title: 'The cross-origin request is not allowed' },
  FERRY_POLICY_UNAVAILABLE: {
    status: 503,
    grpc: GrpcCode.UNAVAILABLE,
    title: 'A policy could not reach what it needs (a JWKS endpoint, the rate-limit store)',
  },
  FERRY_PLUGIN_FAILED: { status: 500, grpc: GrpcCode.INTERNAL, title: 'A plugin failed on this request' },
  FERRY_PLUGIN_TIMEOUT: { status: 500, grpc: GrpcCode.INTERNAL, title: 'A plugin did not finish within its time budget' },
  FERRY_CONFIG_INVALID: { status: 500, grpc: GrpcCode.INTERNAL, title: 'The mapping configuration is invalid' },
  FERRY_INTERNAL: { status: 500, grpc: GrpcCode.INTERNAL, title: 'Ferry failed unexpectedly' },
} as const satisfies Record<string, CatalogueEntry>;

export type ErrorCode = keyof typeof ERROR_CATALOGUE;

/** Where a piece of config came from (mapping file, or a .proto), for errors. Lines and columns are 1-based. */
export interface SourceLocation {
  readonly file: string;
  readonly line: number;
  readonly col: number;
}

/** `file:line:col`, the prefix every config problem is reported with. */
export function formatLocation(at: SourceLocation): string {
  return `${at.file}:${at.line}:${at.col}`;
}

/** Extra, structured facts about an error that go into the problem+json body. */
export interface ErrorDetails {
  /** The route argument that failed (its `from`), for 400s. */
  argument?: string;
  /** JSON path inside the argument, e.g. `$.amount`. */
  jsonPath?: string;
  /** Java exception class for upstream exceptions. */
  exceptionClass?: string;
  /** The exception's own fields a route's `errors:` allowlist exposes, already as JSON values. */
  exceptionFields?: Record<string, unknown>;
  /** Allowlisted fields left out because the exposed fields went over their size budget. */
  exceptionFieldsOmitted?: string[];
  /** Upstream status code (Dubbo status byte, gRPC status). */
  upstreamStatus?: number;
  /** Upstream status name (gRPC) where there is one. */
  upstreamStatusName?: string;
  /** google.rpc.Status details (gRPC), already as JSON. */
  upstreamDetails?: unknown[];
  /** Endpoint (host:port) that the failure came from. */
  endpoint?: string;
}

export interface FerryErrorOptions extends ErrorDetails {
  /** Overrides the catalogue's HTTP status (e.g. a Java exception mapped by a route's `errors:`). */
  status?: number;
  /** Overrides the catalogue's gRPC code. */
  grpc?: GrpcCodeNumber;
  cause?: unknown;
}

/** An error with a stable code. Normalise foreign errors into this once, where they enter. */
export class FerryError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  readonly grpc: GrpcCodeNumber;
  readonly details: ErrorDetails;

  constructor(code: ErrorCode, message: string, options: FerryErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'FerryError';
    this.code = code;
    const entry = ERROR_CATALOGUE[code];
    this.status = options.status ?? entry.status;
    this.grpc = options.grpc ?? entry.grpc;
    const { status: _s, grpc: _g, cause: _c, ...details } = options;
    this.details = details;
  }
}

export function isFerryError(err: unknown): err is FerryError {
  return err instanceof FerryError;
}

/** Wraps anything thrown into a FerryError, keeping it as the cause. */
export function toFerryError(err: unknown): FerryError {
  if (err instanceof FerryError) return err;
  const message = err instanceof Error ? err.message : String(err);
  return new FerryError('FERRY_INTERNAL', message, { cause: err });
}

/** The RFC 9457 problem document every error reply carries. */
export interface ProblemDocument {
  type: string;
  title: string;
  status: number;
  detail: string;
  code: ErrorCode;
  route?: string;
  traceId?: string;
  argument?: string;
  jsonPath?: string;
  exception?: { class: string; message: string; fields?: Record<string, unknown>; fieldsOmitted?: string[] };
  upstreamStatus?: number;
  upstreamStatusName?: string;
  details?: unknown[];
  /** The provider address the failure came from; only in `full` documents. */
  endpoint?: string;
}

/**
 * How much a problem document tells the client. `safe` (the default): a 4xx answer (the request's
 * fault, or a provider error that a mapping turned into a client error, such as a Java exception
 * named in a route's `errors:` or a gRPC NOT_FOUND) keeps its message, cut at
 * {@link MAX_SAFE_DETAIL_CHARS}; a 5xx answer says only what failed (title, code, route, trace id,
 * upstream status code), never a provider's exception text, stack trace or address. `full` is for
 * operators debugging: every message whole, the Java exception of a 5xx, and the endpoint.
 */
export type ProblemDetail = 'safe' | 'full';

/** Longest `detail` (and `exception.message`) a `safe` problem document carries, in characters. */
export const MAX_SAFE_DETAIL_CHARS = 1024;

/** google.rpc.DebugInfo carries stack entries: only `full` documents keep it. */
const DEBUG_INFO_TYPE = 'type.googleapis.com/google.rpc.DebugInfo';

function clip(text: string): string {
  return text.length > MAX_SAFE_DETAIL_CHARS ? `${text.slice(0, MAX_SAFE_DETAIL_CHARS)}…` : text;
}

/**
 * Builds the problem+json document for an error, with the route id and trace id where known. The
 * one place where what a client may learn of an error is decided (see {@link ProblemDetail}).
 */
export function toProblem(err: FerryError, routeId?: string, traceId?: string, detail: ProblemDetail = 'safe'): ProblemDocument {
  const full = detail === 'full';
  const told = full || err.status < 500;
  const doc: ProblemDocument = {
    type: `urn:ferry:error:${err.code}`,
    title: ERROR_CATALOGUE[err.code].title,
    status: err.status,
    detail: full ? err.message : told ? clip(err.message) : ERROR_CATALOGUE[err.code].title,
    code: err.code,
  };
  if (routeId !== undefined) doc.route = routeId;
  if (traceId !== undefined) doc.traceId = traceId;
  const d = err.details;
  if (d.argument !== undefined) doc.argument = d.argument;
  if (d.jsonPath !== undefined) doc.jsonPath = d.jsonPath;
  if (d.exceptionClass !== undefined && told) {
    doc.exception = { class: d.exceptionClass, message: full ? err.message : clip(err.message) };
    if (d.exceptionFields !== undefined) doc.exception.fields = d.exceptionFields;
    if (d.exceptionFieldsOmitted !== undefined) doc.exception.fieldsOmitted = d.exceptionFieldsOmitted;
  }
  if (d.upstreamStatus !== undefined) doc.upstreamStatus = d.upstreamStatus;
  if (d.upstreamStatusName !== undefined) doc.upstreamStatusName = d.upstreamStatusName;
  if (d.upstreamDetails !== undefined && told) {
    const kept = full ? d.upstreamDetails : d.upstreamDetails.filter((x) => (x as { '@type'?: unknown } | null)?.['@type'] !== DEBUG_INFO_TYPE);
    if (kept.length > 0) doc.details = kept;
  }
  if (d.endpoint !== undefined && full) doc.endpoint = d.endpoint;
  return doc;
}

export const PROBLEM_CONTENT_TYPE = 'application/problem+json';

/**
 * Registry trouble (unreachable, garbage, a malformed instance, an unusable cache file): logged,
 * never answered, since the source keeps the last known endpoints. So it is not in the catalogue
 * of errors a client can see, but it carries a stable code for logs.
 */
export class RegistryError extends Error {
  readonly code: RegistryErrorCode;
  constructor(message: string, options?: { cause?: unknown; code?: RegistryErrorCode }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'RegistryError';
    this.code = options?.code ?? 'FERRY_REGISTRY_ERROR';
  }
}

/**
 * FERRY_REGISTRY_TLS: the TLS handshake with the registry failed (its certificate is expired, for
 * another name or from an unknown CA, it refused Ferry's, or the port does not speak TLS).
 * FERRY_REGISTRY_AUTH: the registry refused Ferry's credentials. Anything else: FERRY_REGISTRY_ERROR.
 */
export type RegistryErrorCode = 'FERRY_REGISTRY_ERROR' | 'FERRY_REGISTRY_TLS' | 'FERRY_REGISTRY_AUTH';

/**
 * A jar, class file or service definition that `ferry import` / `validate --against` cannot use
 * (corrupt, over a budget, an unsupported class version, a type it does not define). A command-line
 * error, never answered to a client, so not in the catalogue; the code is stable for scripts and logs.
 */
export class SignatureSourceError extends Error {
  readonly code = 'FERRY_SIGNATURE_SOURCE_INVALID';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'SignatureSourceError';
  }
}
