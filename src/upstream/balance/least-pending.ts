/**
 * Least-pending balancing, Ferry's default, as Dubbo's LeastActive does it: the available
 * endpoints with the fewest calls in flight are the candidates, and weight decides among them
 * (smooth weighted round-robin), so a slow provider gets less new work while sequential calls
 * (always 0 pending) still spread by weight — also while a new provider's weight ramps up.
 * (Scoring by pending ÷ weight instead sends every sequential call to the heaviest endpoint.)
 */
import { createRoundRobinBalancer } from './round-robin.js';
import type { Balancer, EndpointView, PickHint } from './types.js';

/** Creates a least-pending balancer. Weight 0 endpoints are candidates only when no weighted one is available. */
export function createLeastPendingBalancer(): Balancer {
  const amongEqual = createRoundRobinBalancer();
  const ties: EndpointView[] = [];
  const none: PickHint = {};
  return {
    pick(endpoints: readonly EndpointView[], hint: PickHint): EndpointView | undefined {
      const exclude = hint.exclude;
      let weightedOnly = false;
      for (const ep of endpoints) {
        if (ep.weight > 0 && ep.available() && (exclude === undefined || !exclude.has(ep.id))) {
          weightedOnly = true;
          break;
        }
      }
      let least = Infinity;
      ties.length = 0;
      for (const ep of endpoints) {
        if (!ep.available() || (exclude !== undefined && exclude.has(ep.id)) || (weightedOnly && ep.weight <= 0)) continue;
        const pending = ep.pending();
        if (pending < least) {
          least = pending;
          ties.length = 0;
        }
        if (pending === least) ties.push(ep);
      }
      if (ties.length <= 1) {
        const only = ties[0];
        ties.length = 0;
        return only;
      }
      const chosen = amongEqual.pick(ties, none);
      ties.length = 0;
      return chosen;
    },
  };
}
