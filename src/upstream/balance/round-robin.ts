/**
 * Smooth weighted round-robin, as nginx does it: every pick adds each candidate's weight to its
 * running score, takes the highest, and subtracts the total from the winner. Weights 5:1:1 give
 * a a b a c a a — spread out, never a burst of five in a row.
 */
import type { Balancer, EndpointView, PickHint } from './types.js';

/** Creates a weighted round-robin balancer. Endpoints of weight 0 get traffic only when all are 0. */
export function createRoundRobinBalancer(): Balancer {
  const score = new Map<string, number>();

  return {
    pick(endpoints: readonly EndpointView[], hint: PickHint): EndpointView | undefined {
      const exclude = hint.exclude;
      let best: EndpointView | undefined;
      let bestScore = -Infinity;
      let total = 0;
      let anyPositive = false;
      for (const ep of endpoints) {
        if (ep.weight > 0 && ep.available() && (exclude === undefined || !exclude.has(ep.id))) {
          anyPositive = true;
          break;
        }
      }
      for (const ep of endpoints) {
        if (!ep.available() || (exclude !== undefined && exclude.has(ep.id))) continue;
        const w = anyPositive ? Math.max(0, ep.weight) : 1;
        if (w === 0) continue;
        const s = (score.get(ep.id) ?? 0) + w;
        score.set(ep.id, s);
        total += w;
        if (s > bestScore) {
          bestScore = s;
          best = ep;
        }
      }
      if (best === undefined) return undefined;
      score.set(best.id, bestScore - total);
      // Forget endpoints that left, so the map does not grow with churn.
      if (score.size > 2 * endpoints.length + 8) {
        const live = new Set(endpoints.map((e) => e.id));
        for (const id of score.keys()) if (!live.has(id)) score.delete(id);
      }
      return best;
    },
  };
}
