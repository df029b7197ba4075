/**
 * The one place that decides a span's status and `error.type`: HTTP status → span status (server and
 * client rules differ, as the HTTP semantic conventions say), FerryError code → `error.type`, gRPC
 * status number → its canonical name. Status descriptions are catalogue titles, never error
 * messages, because messages may quote argument values.
 */
import { SpanStatusCode } from '@opentelemetry/api';
import type { SpanStatus } from '@opentelemetry/api';
import { ERROR_CATALOGUE, GrpcCode, isFerryError } from '../errors/index.js';

/** Span status for an HTTP response: a SERVER span fails on 5xx only; a CLIENT span on 4xx and 5xx. */
export function spanStatusForHttp(status: number, kind: 'server' | 'client'): SpanStatus {
  const failed = kind === 'server' ? status >= 500 : status >= 400;
  return failed ? { code: SpanStatusCode.ERROR } : { code: SpanStatusCode.UNSET };
}

/**
 * The low-cardinality `error.type` for anything thrown: the FERRY code for FerryError, a Node system
 * error code (ECONNRESET, ...) when there is one, the class name otherwise, `_OTHER` as a last resort.
 */
export function errorType(err: unknown): string {
  if (isFerryError(err)) return err.code;
  if (err instanceof Error) {
    const code = (err as { code?: unknown }).code;
    if (typeof code === 'string' && /^[A-Z][A-Z0-9_]*$/.test(code)) return code;
    if (err.constructor.name !== '' && err.constructor.name !== 'Object') return err.constructor.name;
  }
  return '_OTHER';
}

/** A short, value-free description for an error status (the catalogue title for FerryError). */
export function errorDescription(err: unknown): string {
  if (isFerryError(err)) return ERROR_CATALOGUE[err.code].title;
  return errorType(err);
}

const GRPC_NAMES: ReadonlyMap<number, string> = new Map(Object.entries(GrpcCode).map(([name, code]) => [code, name] as const));

/** The canonical name of a gRPC status code (`NOT_FOUND` for 5), or `UNKNOWN` for numbers outside the table. */
export function grpcStatusName(code: number): string {
  return GRPC_NAMES.get(code) ?? 'UNKNOWN';
}

/**
 * Whether a gRPC status counts as an error on a CLIENT span: every code except OK does, as in the
 * gRPC semantic conventions.
 */
export function grpcStatusIsError(code: number): boolean {
  return code !== GrpcCode.OK;
}
