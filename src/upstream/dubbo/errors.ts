/**
 * Transport errors of the Dubbo client. They are FerryErrors (so the engine maps them like any
 * other) that also say whether the request reached the wire, which a retry layer needs: a call
 * that was never written can be sent to another endpoint without risk of running twice.
 */
import { FerryError } from '../../errors/index.js';
import type { ErrorCode, FerryErrorOptions } from '../../errors/index.js';

/** A FerryError raised by the Dubbo transport, with `sent` = whether the request was written to a socket. */
export class DubboTransportError extends FerryError {
  /** True once the request's bytes were handed to the socket (the provider may have run it). */
  readonly sent: boolean;

  constructor(code: ErrorCode, message: string, sent: boolean, options: FerryErrorOptions = {}) {
    super(code, message, options);
    this.name = 'DubboTransportError';
    this.sent = sent;
  }
}

/**
 * Whether the request behind `err` reached the wire: true or false for transport errors,
 * undefined when the error does not say (treat as "maybe sent").
 */
export function wasSent(err: unknown): boolean | undefined {
  return err instanceof DubboTransportError ? err.sent : undefined;
}
