/**
 * The one retry policy, for every protocol. A failed call may be sent again, to another endpoint:
 * - always when it never reached the wire (refused connection, no ready connection, a write that
 *   never happened) or when the provider turned it away before running it (Dubbo status 100);
 * - when it may have run (connection lost after sending, timeout) only if the route says the method
 *   is idempotent.
 * Provider exceptions, gRPC statuses and bad requests are answers, not failures: never resent
 * (a gRPC UNAVAILABLE answer is the exception: the transport reports it as an unavailable endpoint,
 * sent, so it is resent for idempotent routes, as gRPC's own retry policy would).
 * Attempts are bounded by 1 + the route's `retries` and by the deadline.
 */
import { DEFAULT_RETRIES } from '../../config/types.js';
import { isFerryError } from '../../errors/index.js';
import { reachedWire } from '../../errors/transport.js';
import type { OutlierDetector } from './outlier.js';
import type { PickHint } from './types.js';

export { DEFAULT_RETRIES };

/** Whether a failed call may be tried again on another endpoint. */
export function canRetry(err: unknown, idempotent: boolean): boolean {
  if (!isFerryError(err)) return false;
  switch (err.code) {
    case 'FERRY_UPSTREAM_OVERLOADED':
      // Dubbo status 100 / Ferry's own write backpressure: rejected before the method ran.
      return true;
    case 'FERRY_UPSTREAM_UNAVAILABLE':
    case 'FERRY_UPSTREAM_CONNECTION_LOST':
    case 'FERRY_UPSTREAM_TIMEOUT':
      return reachedWire(err) === false || idempotent;
    default:
      return false;
  }
}

export interface RetryOptions<T> {
  /** The route's `idempotent` flag. */
  readonly idempotent: boolean;
  /** Attempts in all, first one included (1 + `retries`; default 2). */
  readonly maxAttempts?: number;
  /** The caller's hint (hash key, sticky preference); `exclude` grows with each failed endpoint. */
  readonly hint?: PickHint;
  /** Absolute deadline in performance.now() ms: no new attempt once it has passed. */
  readonly deadline?: number;
  /** Endpoint id that served a result (for outlier bookkeeping). */
  readonly endpointOf?: (result: T) => string | undefined;
  /** Fed with every attempt's outcome, so repeated failures eject the endpoint. */
  readonly outlier?: OutlierDetector;
}

/** The endpoint id a failure came from: FerryError details.endpoint. */
export function failedEndpoint(err: unknown): string | undefined {
  return isFerryError(err) ? err.details.endpoint : undefined;
}

/**
 * Runs `attempt` and, where canRetry() allows, runs it again with the failed endpoints excluded.
 * `attempt` gets the hint to pick with. Rejects with the last error.
 */
export async function callWithRetries<T>(attempt: (hint: PickHint) => Promise<T>, options: RetryOptions<T>): Promise<T> {
  const maxAttempts = Math.max(1, options.maxAttempts ?? 1 + DEFAULT_RETRIES);
  const base = options.hint ?? {};
  let exclude: Set<string> | undefined;
  let lastError: unknown;
  for (let n = 0; n < maxAttempts; n++) {
    const hint: PickHint = exclude === undefined ? base : { ...base, exclude };
    try {
      const result = await attempt(hint);
      const id = options.endpointOf?.(result);
      if (id !== undefined) options.outlier?.success(id);
      return result;
    } catch (err) {
      lastError = err;
      const id = failedEndpoint(err);
      if (id !== undefined) options.outlier?.observe(id, err);
      if (id === undefined || !canRetry(err, options.idempotent)) break;
      if (options.deadline !== undefined && performance.now() >= options.deadline) break;
      exclude = new Set(exclude);
      exclude.add(id);
    }
  }
  throw lastError;
}
