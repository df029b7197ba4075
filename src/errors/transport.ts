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

/** Node's verification codes for a server certificate Ferry does not accept, in words. */
const CERTIFICATE_FAULTS: Readonly<Record<string, string>> = {
  CERT_HAS_EXPIRED: 'its certificate has expired',
  CERT_NOT_YET_VALID: 'its certificate is not valid yet',
  ERR_TLS_CERT_ALTNAME_INVALID: 'its certificate is for another name',
  UNABLE_TO_VERIFY_LEAF_SIGNATURE: 'its certificate is not from a trusted CA',
  UNABLE_TO_GET_ISSUER_CERT_LOCALLY: 'its certificate is not from a trusted CA',
  UNABLE_TO_GET_ISSUER_CERT: 'its certificate is not from a trusted CA',
  SELF_SIGNED_CERT_IN_CHAIN: 'its certificate is not from a trusted CA (self-signed chain)',
  DEPTH_ZERO_SELF_SIGNED_CERT: 'its certificate is self-signed and not trusted',
  CERT_REVOKED: 'its certificate is revoked',
  CERT_SIGNATURE_FAILURE: 'its certificate signature is invalid',
  // Not Node's: a server that closes right after the handshake, before a byte of its protocol (gRPC
  // core does that to a client certificate it does not accept, with no alert).
  CLIENT_CERT_REFUSED: "it closed the connection right after the handshake: it did not accept Ferry's client certificate (or got none)",
};

/**
 * A TLS failure of a connection to `endpoint` as a FERRY_UPSTREAM_TLS TransportError (never sent),
 * or undefined when `err` is no TLS failure (a refused or reset connection stays what it is). Used
 * by every transport that opens TLS, so that a certificate problem always has the same code.
 */
export function upstreamTlsError(err: unknown, endpoint: string): TransportError | undefined {
  const e = err as { code?: unknown; message?: unknown } | undefined;
  const code = typeof e?.code === 'string' ? e.code : '';
  const message = typeof e?.message === 'string' ? e.message : '';
  let why = CERTIFICATE_FAULTS[code];
  if (why === undefined && (code.startsWith('ERR_SSL_') || /wrong version number|handshake failure|alert/i.test(message))) {
    // An alert from the server (it refused Ferry's client certificate), or a server that does not speak TLS.
    why = /wrong version number|packet length too long/i.test(message)
      ? 'it does not speak TLS on this port'
      : `the TLS handshake failed (${message})`;
  }
  if (why === undefined) return undefined;
  return new TransportError('FERRY_UPSTREAM_TLS', `TLS to ${endpoint} failed: ${why}${code !== '' ? ` (${code})` : ''}`, false, {
    cause: err,
    endpoint,
  });
}
