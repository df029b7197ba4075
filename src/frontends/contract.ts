/**
 * The one contract both front ends (HTTP and Envoy ext_proc) take from the composition root: the
 * engine a new request uses, how a request is counted (drain and the in-flight gauge), the budgets
 * a client must keep to, and how much an error tells the client. Each front end reads the limits
 * that apply to its wire; docs/operations.md lists them with what a client sees when one is hit.
 */
import type { ProblemDetail } from '../errors/index.js';
import { DEFAULT_MAX_BODY_BYTES } from '../gateway/engine.js';
import type { Engine } from '../gateway/types.js';

export interface FrontendLimits {
  /** Largest request body, bytes: 413 FERRY_BODY_TOO_LARGE over it (HTTP, and each ext_proc stream). */
  readonly maxBodyBytes: number;
  /** Largest request head (request line and headers), bytes: 431 FERRY_HEADERS_TOO_LARGE over it. */
  readonly maxHeaderBytes: number;
  /** Longest time to receive a whole HTTP request (head and body), ms: 408 FERRY_REQUEST_TIMEOUT after it. */
  readonly requestTimeoutMs: number;
  /**
   * A body over `maxBodyBytes` is still read and dropped up to this many bytes before the 413, so
   * that a client that sends its whole body before reading (Python's urllib) sees the answer; a
   * longer body gets the 413 at once and its connection is closed.
   */
  readonly bodyDiscardBytes: number;
  /** HTTP connections open at once; a connection over it gets 503 FERRY_TOO_MANY_CONNECTIONS and is closed. */
  readonly maxConnections: number;
  /**
   * Requests one HTTP connection may have waiting for their answers (pipelined, answered in order):
   * the next one gets 429 FERRY_TOO_MANY_PIPELINED, and the connection closes after the answers.
   */
  readonly maxPipelinedRequests: number;
  /**
   * Bytes of answers waiting on one HTTP connection for a client that does not read: an answer
   * that would queue more (while another is already waiting) closes the connection. A single
   * answer of any size is always written.
   */
  readonly maxQueuedBytes: number;
  /** An HTTP connection with answers to write and no byte taken by the client for this long is closed, ms. */
  readonly writeTimeoutMs: number;
  /**
   * An ext_proc stream that sends nothing for this long while Ferry waits for its next message is
   * ended, ms: before its headers with gRPC DEADLINE_EXCEEDED, while its body is awaited with a
   * 408 FERRY_REQUEST_TIMEOUT ImmediateResponse.
   */
  readonly extProcIdleTimeoutMs: number;
}

export const DEFAULT_FRONTEND_LIMITS: FrontendLimits = Object.freeze({
  maxBodyBytes: DEFAULT_MAX_BODY_BYTES,
  maxHeaderBytes: 16 * 1024,
  requestTimeoutMs: 60_000,
  bodyDiscardBytes: 8 * 1024 * 1024,
  maxConnections: 10_000,
  maxPipelinedRequests: 16,
  maxQueuedBytes: 8 * 1024 * 1024,
  writeTimeoutMs: 30_000,
  extProcIdleTimeoutMs: 30_000,
});

export interface FrontendContract {
  /** The engine for a new request (hot reload swaps it; a request keeps the one it started with). */
  engine(): Engine;
  /** Counts a request in (drain, `ferry_requests_in_flight`); call the returned function once, when it is answered. */
  trackRequest(): () => void;
  readonly limits: FrontendLimits;
  /** How much of an error a client's problem document tells (`safe` unless an operator asked for `full`). */
  readonly problemDetail: ProblemDetail;
  /** A client refused with no answer to carry the refusal (its connection or stream closed): for the operator's log. */
  refused(reason: string, fields: Readonly<Record<string, unknown>>): void;
}

export interface FrontendContractOptions {
  readonly engine: () => Engine;
  readonly trackRequest?: () => () => void;
  readonly limits?: Partial<FrontendLimits>;
  readonly problemDetail?: ProblemDetail;
  readonly refused?: (reason: string, fields: Readonly<Record<string, unknown>>) => void;
}

const untracked = (): (() => void) => () => {};

/** The contract with defaults for what is not given (limits from DEFAULT_FRONTEND_LIMITS). */
export function createFrontendContract(opts: FrontendContractOptions): FrontendContract {
  const limits: Record<string, number> = { ...DEFAULT_FRONTEND_LIMITS };
  for (const [name, value] of Object.entries(opts.limits ?? {})) {
    if (value === undefined) continue;
    if (!Number.isSafeInteger(value) || value <= 0) throw new RangeError(`front-end limit ${name} must be a positive integer, got ${String(value)}`);
    limits[name] = value;
  }
  return {
    engine: opts.engine,
    trackRequest: opts.trackRequest ?? untracked,
    limits: Object.freeze(limits as unknown as FrontendLimits),
    problemDetail: opts.problemDetail ?? 'safe',
    refused: opts.refused ?? (() => {}),
  };
}
