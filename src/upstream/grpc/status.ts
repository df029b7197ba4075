/**
 * gRPC status → Ferry error, once, where gRPC failures enter. HTTP statuses follow the table
 * grpc-gateway and Envoy's transcoder use; `grpc-status-details-bin` (google.rpc.Status) is
 * decoded into the problem body by a caller-supplied decoder.
 */
import type { Metadata } from '@grpc/grpc-js';
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

/** A gRPC status as a reply carried it (grpc-status, grpc-message, the other trailers). */
export interface GrpcStatusReply {
  readonly code: number;
  readonly details?: string;
  readonly message?: string;
  readonly metadata?: Metadata;
}

/** The gRPC code for an HTTP status a reply carried without grpc-status (PROTOCOL-HTTP2.md's table). */
export function grpcStatusOfHttp(httpStatus: number): number {
  switch (httpStatus) {
    case 400:
      return GrpcCode.INTERNAL;
    case 401:
      return GrpcCode.UNAUTHENTICATED;
    case 403:
      return GrpcCode.PERMISSION_DENIED;
    case 404:
      return GrpcCode.UNIMPLEMENTED;
    case 429:
    case 502:
    case 503:
    case 504:
      return GrpcCode.UNAVAILABLE;
    default:
      return GrpcCode.UNKNOWN;
  }
}

/** A call that never reached the server (no connection, the stream refused): safe to send elsewhere. */
export function neverSent(endpoint: string, why: string): TransportError {
  return new TransportError('FERRY_UPSTREAM_UNAVAILABLE', `gRPC upstream calling ${endpoint} unavailable: ${why}`, false, {
    endpoint,
    upstreamStatus: GrpcCode.UNAVAILABLE,
    upstreamStatusName: 'UNAVAILABLE',
    grpc: GrpcCode.UNAVAILABLE as GrpcCodeNumber,
  });
}

/** The connection broke under a call that had been sent (the server may have run it). */
export function connectionLost(endpoint: string, why: string): TransportError {
  return new TransportError('FERRY_UPSTREAM_CONNECTION_LOST', `gRPC connection lost calling ${endpoint}: ${why}`, true, {
    endpoint,
    upstreamStatus: GrpcCode.UNAVAILABLE,
    upstreamStatusName: 'UNAVAILABLE',
    grpc: GrpcCode.UNAVAILABLE as GrpcCodeNumber,
  });
}

/**
 * Turns a gRPC status (or anything thrown by a call) into a FerryError:
 * - DEADLINE_EXCEEDED → TransportError FERRY_UPSTREAM_TIMEOUT (504), sent;
 * - UNAVAILABLE answered by the server → TransportError FERRY_UPSTREAM_UNAVAILABLE (503), sent
 *   (resent only for idempotent routes); transport failures are neverSent / connectionLost above;
 * - every other status → FERRY_UPSTREAM_STATUS with the table's HTTP status and decoded details.
 */
export function grpcErrorToFerry(err: unknown, endpoint: string | undefined, decodeDetails?: StatusDetailsDecoder): FerryError {
  if (err instanceof FerryError) return err;
  const se = err as Partial<GrpcStatusReply>;
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
    return new TransportError('FERRY_UPSTREAM_UNAVAILABLE', `gRPC upstream${at} answered UNAVAILABLE: ${message}`, true, { ...base, status: 503 });
  }
  return new FerryError('FERRY_UPSTREAM_STATUS', `${name}: ${message}`, { ...base, status: httpStatusForGrpc(code) });
}
