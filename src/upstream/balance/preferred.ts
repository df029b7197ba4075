/**
 * Honours PickHint.preferredId (the endpoint a verified sticky cookie names) in front of any
 * balancer: the preferred endpoint wins while it is available and not excluded; otherwise the
 * inner balancer chooses and the caller re-issues the cookie for its choice. Exclusions
 * (endpoints already tried by this call) are applied here too, so inner balancers that ignore
 * `exclude` still avoid them.
 */
import type { Balancer, EndpointView, PickHint } from './types.js';

/** Wraps `inner` so that a sticky preference and retry exclusions are always honoured. */
export function withPreference(inner: Balancer): Balancer {
  return {
    pick(endpoints: readonly EndpointView[], hint: PickHint): EndpointView | undefined {
      const exclude = hint.exclude;
      const preferred = hint.preferredId;
      if (preferred !== undefined && (exclude === undefined || !exclude.has(preferred))) {
        for (const ep of endpoints) {
          if (ep.id === preferred) {
            if (ep.available()) return ep;
            break;
          }
        }
      }
      if (exclude === undefined || exclude.size === 0) return inner.pick(endpoints, hint);
      return inner.pick(
        endpoints.filter((e) => !exclude.has(e.id)),
        hint,
      );
    },
  };
}
