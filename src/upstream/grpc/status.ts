/**
 * gRPC status → Ferry error, once, where gRPC failures enter. HTTP statuses follow the table
 * grpc-gateway and Envoy's transcoder use; `grpc-status-details-bin` (google.rpc.Status) is
 * decoded into the problem body by a caller-supplied decoder.
 */
import type { ServiceError } from '@grpc/grpc-js';
import { FerryError, GrpcCode } from '../../errors/index.js';
import { TransportError } from '../../errors/transport.js';
import type { GrpcCodeNumber } from '../../errors/index.js';

const HTTP_BY_GRPC: Readonly<Record<number, number>> = {
  [GrpcCode.OK]: 200,
  [GrpcCode.CANCELLED]: 499,
  [GrpcCode.UNKNOWN]: 500,
  [GrpcCode.INVALID_ARGUMENT]: 400,
  [GrpcCode.DEADLINE_EXCEEDED]: 504,
  [GrpcCode.NOT_FOUND]: 404,
  [GrpcCode.ALREADY_EXISTS]: 409,
  [GrpcCode.PERMISSION_DENIED]: 403,
  [GrpcCode.RESOURCE_EXHAUSTED]: 429,
  [GrpcCode.FAILED_PRECONDITION]: 400,
  [GrpcCode.ABORTED]: 409,
  [GrpcCode.OUT_OF_RANGE]: 400,
  [GrpcCode.UNIMPLEMENTED]: 501,
  [GrpcCode.INTERNAL]: 500,
  [GrpcCode.UNAVAILABLE]: 503,
  [GrpcCode.DATA_LOSS]: 500,
  [GrpcCode.UNAUTHENTICATED]: 401,
};

const NAME_BY_GRPC: Readonly<Record<number, string>> = Object.fromEntries(Object.entries(GrpcCode).map(([name, code]) => [code, name]));

/** The HTTP status for a gRPC status code (grpc-gateway's table; unknown codes → 500). */
export function httpStatusForGrpc(code: number): number {
  return HTTP_BY_GRPC[code] ?? 500;
}

/** The name of a gRPC status code (`NOT_FOUND`), or `CODE_<n>` for codes outside the spec. */
export function grpcCodeName(code: number): string {
  return NAME_BY_GRPC[code] ?? `CODE_${code}`;
}

/** Decodes google.rpc.Status bytes into the JSON of its details (undefined when they cannot be read). */
export type StatusDetailsDecoder = (bytes: Buffer) => unknown[] | undefined;

/** grpc-js's own words for a call that never reached a server (no connection, refused stream). */
const NEVER_SENT = /^No connection established|^Channel closed before call started|^Stream refused by server|ECONNREFUSED/;
/** grpc-js's own words for a connection that broke under a call that had been sent. */
const CONNECTION_BROKE = /^Connection dropped|^Write error|^Write failed|ECONNRESET|ETIMEDOUT/;

/**
 * Turns a grpc-js error (or anything thrown by a call) into a FerryError:
 * - DEADLINE_EXCEEDED → TransportError FERRY_UPSTREAM_TIMEOUT (504), sent;
 * - UNAVAILABLE, as TransportErrors: never sent (grpc-js had no connection, or the server refused
 *   the stream) → FERRY_UPSTREAM_UNAVAILABLE (503, safe to resend); the connection broke under a
 *   sent call → FERRY_UPSTREAM_CONNECTION_LOST (502, may have run); the server itself answered
 *   UNAVAILABLE → FERRY_UPSTREAM_UNAVAILABLE (503), sent (resent only for idempotent routes);
 * - every other status → FERRY_UPSTREAM_STATUS with the table's HTTP status and decoded details.
 * `answered`: the server had sent response headers (the call certainly reached it).
 */
export function grpcErrorToFerry(err: unknown, endpoint: string | undefined, decodeDetails?: StatusDetailsDecoder, answered = false): FerryError {
  if (err instanceof FerryError) return err;
  const se = err as Partial<ServiceError>;
  if (typeof se?.code !== 'number') {
    return new FerryError('FERRY_UPSTREAM_PROTOCOL_ERROR', `gRPC call failed: ${(err as Error)?.message ?? String(err)}`, {
      cause: err,
      ...(endpoint !== undefined ? { endpoint } : {}),
    });
  }
  const code = se.code;
  const name = grpcCodeName(code);
  const message = se.details ?? se.message ?? name;
  const trailers = se.metadata;
  let details: unknown[] | undefined;
  const raw = trailers?.get('grpc-status-details-bin')[0];
  if (raw !== undefined && decodeDetails !== undefined) details = decodeDetails(Buffer.isBuffer(raw) ? raw : Buffer.from(raw, 'base64'));
  const base = {
    cause: err,
    upstreamStatus: code,
    upstreamStatusName: name,
    grpc: code as GrpcCodeNumber,
    ...(endpoint !== undefined ? { endpoint } : {}),
    ...(details !== undefined ? { upstreamDetails: details } : {}),
  };
  const at = endpoint ? ` calling ${endpoint}` : '';
  if (name === 'DEADLINE_EXCEEDED') {
    return new TransportError('FERRY_UPSTREAM_TIMEOUT', `gRPC deadline exceeded${at}: ${message}`, true, base);
  }
  if (name === 'UNAVAILABLE') {
    const fromServer = answered || (trailers !== undefined && Object.keys(trailers.getMap()).length > 0);
    if (!fromServer && NEVER_SENT.test(message)) {
      return new TransportError('FERRY_UPSTREAM_UNAVAILABLE', `gRPC upstream${at} unavailable: ${message}`, false, base);
    }
    if (!fromServer && CONNECTION_BROKE.test(message)) {
      return new TransportError('FERRY_UPSTREAM_CONNECTION_LOST', `gRPC connection lost${at}: ${message}`, true, base);
    }
    return new TransportError('FERRY_UPSTREAM_UNAVAILABLE', `gRPC upstream${at} answered UNAVAILABLE: ${message}`, true, { ...base, status: 503 });
  }
  return new FerryError('FERRY_UPSTREAM_STATUS', `${name}: ${message}`, { ...base, status: httpStatusForGrpc(code) });
}
