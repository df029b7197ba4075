/**
 * The route's deadline while a reply is decoded. Every reply decoder (the Hessian reader, the
 * Hessian → JSON conversion, the typed Hessian decoder, the protobuf → JSON writer) already counts
 * what it decodes; each looks at the clock once every {@link DECODE_CHECK_EVERY} values, on the slow
 * branch of the count it keeps anyway (a threshold instead of 0), so the hot path gains no work.
 * Past the deadline the decoder stops with {@link decodeDeadlineError}: the client gets the route's
 * timeout answer (504 FERRY_UPSTREAM_TIMEOUT, gRPC DEADLINE_EXCEEDED), as when the provider is late.
 *
 * Why a check and not slices or a worker thread: the decoders are recursive descents that return
 * one finished text; pausing one mid-value would take a generator per level (measured slower on
 * every reply) or an explicit stack (a rewrite of four decoders). With the check, one reply blocks
 * the event loop at most for the route's remaining time, and never longer than decoding the value
 * budget (`--max-reply-values`, 1 000 000 by default) takes; docs/performance.md has the figures.
 */
import { FerryError } from '../errors/index.js';

/**
 * Values decoded between two looks at the clock. A look (performance.now()) costs about 30 ns and a
 * value 20–200 ns, so the checks cost well under 1 % (bench/decode-deadline.ts), and a decode
 * overruns its deadline by at most this many values' time (a fraction of a millisecond).
 */
export const DECODE_CHECK_EVERY = 4096;

/** No deadline: the checks never fire. */
export const NO_DEADLINE = Infinity;

/** True when `deadline` (performance.now() ms) has passed. */
export function pastDeadline(deadline: number): boolean {
  return deadline !== NO_DEADLINE && performance.now() >= deadline;
}

/**
 * What a decoder stops with when the route's deadline passed while it decoded: the route's timeout
 * answer. Its own class so that no decoder mistakes it for a fault of the data (the protobuf writer
 * defers those, the typed Hessian decoder hands those to the generic path).
 */
export class DecodeDeadlineError extends FerryError {
  /** Values decoded before decoding was abandoned (undefined: not counted). */
  readonly decoded: number | undefined;
  constructor(decoded?: number) {
    super(
      'FERRY_UPSTREAM_TIMEOUT',
      `the route's deadline passed while the reply was being decoded: decoding abandoned${decoded === undefined ? '' : ` after ${decoded} values`}`,
    );
    this.name = 'DecodeDeadlineError';
    this.decoded = decoded;
  }
}
