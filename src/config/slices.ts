/**
 * Long synchronous work (compiling and binding thousands of routes after a reload) written as a
 * generator that yields between items, run either at once (`runAtOnce`, for callers that need the
 * result synchronously) or in slices of about `sliceMs` with the event loop served between them
 * (`runInSlices`), so that a reload of a mapping at the size cap does not stall traffic for a second.
 */
import { setImmediate as nextTurn } from 'node:timers/promises';

/** Work per slice before the event loop gets a turn, ms: well under a request's latency budget. */
export const DEFAULT_SLICE_MS = 8;

/** Runs the generator to its end on this turn. */
export function runAtOnce<T>(steps: Generator<void, T>): T {
  for (;;) {
    const r = steps.next();
    if (r.done) return r.value;
  }
}

/** Runs the generator, giving the event loop a turn whenever a slice has taken `sliceMs`. */
export async function runInSlices<T>(steps: Generator<void, T>, sliceMs = DEFAULT_SLICE_MS): Promise<T> {
  let until = performance.now() + sliceMs;
  for (let n = 1; ; n++) {
    const r = steps.next();
    if (r.done) return r.value;
    // The clock is read every 16 steps: one step (a route) costs tens of microseconds.
    if ((n & 15) === 0 && performance.now() >= until) {
      await nextTurn();
      until = performance.now() + sliceMs;
    }
  }
}
