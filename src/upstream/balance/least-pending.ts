/**
 * Least-pending balancing, Ferry's default: the available endpoint with the fewest calls in flight
 * per unit of weight wins, so a slow provider gets less new work. Ties rotate, so that sequential
 * calls (always 0 pending) still spread over all endpoints.
 */
import type { Balancer, EndpointView, PickHint } from './types.js';

/** Creates a least-pending balancer (score = (pending + 1) / weight; weight 0 only when all are 0). */
export function createLeastPendingBalancer(): Balancer {
  let cursor = 0;
  return {
    pick(endpoints: readonly EndpointView[], hint: PickHint): EndpointView | undefined {
      const n = endpoints.length;
      if (n === 0) return undefined;
      const exclude = hint.exclude;
      const start = cursor++ % n;
      if (cursor > 0x3fffffff) cursor = 0;
      let best: EndpointView | undefined;
      let bestScore = Infinity;
      let bestWeighted = false;
      for (let k = 0; k < n; k++) {
        const ep = endpoints[(start + k) % n]!;
        if (!ep.available() || (exclude !== undefined && exclude.has(ep.id))) continue;
        const weighted = ep.weight > 0;
        if (bestWeighted && !weighted) continue;
        const score = (ep.pending() + 1) / (weighted ? ep.weight : 1);
        if ((weighted && !bestWeighted) || score < bestScore) {
          best = ep;
          bestScore = score;
          bestWeighted = weighted;
        }
      }
      return best;
    },
  };
}
