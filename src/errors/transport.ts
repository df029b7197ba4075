/**
 * The one "did the request reach the wire" fact. Transports (Dubbo, gRPC, Triple) raise
 * TransportError for failures of the connection rather than answers of the provider, and say
 * whether the request's bytes had been handed to a socket: a request that never left Ferry can be
 * sent to another endpoint without any risk of running twice. The retry policy reads only this.
 */
import { FerryError } from './index.js';
import type { ErrorCode, FerryErrorOptions } from './index.js';

export class TransportError extends FerryError {
  /** True once the request was written to a socket (the provider may have run it). */
  readonly sent: boolean;

  constructor(code: ErrorCode, message: string, sent: boolean, options: FerryErrorOptions = {}) {
    super(code, message, options);
    this.name = 'TransportError';
    this.sent = sent;
  }
}

/** Whether the request behind `err` reached the wire; undefined when `err` is no transport failure. */
export function reachedWire(err: unknown): boolean | undefined {
  return err instanceof TransportError ? err.sent : undefined;
}
