/**
 * Warm-up: a provider that started recently gets a weight that ramps with its uptime, as Dubbo's
 * AbstractLoadBalance does (so a JIT-cold JVM is not handed a full share at once):
 *
 *   weight > 0, provider start `timestamp` known, uptime = now - timestamp:
 *     uptime < 0              → 1            (clock skew: the provider's clock is ahead)
 *     0 < uptime < warmup     → clamp(trunc(uptime / (warmup / weight)), 1, weight)   (float arithmetic)
 *     otherwise               → weight
 *   `warmup` is the provider's parameter, default 10 minutes; weight 0 stays 0.
 *
 * `withWarmup` puts the ramped weight in front of any balancer: the inner one sees views whose
 * `weight` is the ramped one, and the caller gets its own endpoint back. When nothing is warming
 * (the steady state) the endpoints pass through untouched.
 */
import type { Endpoint } from '../discovery/types.js';
import type { Balancer, EndpointView, PickHint } from './types.js';

/** Dubbo's DEFAULT_WARMUP: 10 minutes. */
export const DEFAULT_WARMUP_MS = 10 * 60 * 1000;

/** Dubbo's calculateWarmupWeight, for 0 < uptime < warmup. */
export function calculateWarmupWeight(uptimeMs: number, warmupMs: number, weight: number): number {
  // Java: (int) (uptime / ((float) warmup / weight)), both operands float.
  const ww = Math.trunc(Math.fround(Math.fround(uptimeMs) / Math.fround(Math.fround(warmupMs) / weight)));
  return ww < 1 ? 1 : Math.min(ww, weight);
}

/** The weight a provider of `weight`, started at `startMs`, with `warmupMs` of warm-up, has at `nowMs`. */
export function warmedWeight(weight: number, startMs: number | undefined, warmupMs: number, nowMs: number): number {
  if (weight <= 0) return Math.max(weight, 0);
  if (startMs === undefined || startMs <= 0) return weight;
  const uptime = nowMs - startMs;
  if (uptime < 0) return 1;
  if (uptime > 0 && uptime < warmupMs) return calculateWarmupWeight(uptime, warmupMs, weight);
  return weight;
}

/** The `warmup` parameter of an endpoint (ms), or Dubbo's default. */
export function warmupMsOf(e: Pick<Endpoint, 'labels'>): number {
  const v = e.labels['warmup'] ?? e.labels['default.warmup'];
  return v !== undefined && /^\d{1,10}$/.test(v) ? Number(v) : DEFAULT_WARMUP_MS;
}

/** When `e` stops warming (epoch ms); -Infinity when it never warms. */
export function warmEndMs(e: Pick<Endpoint, 'weight' | 'warmupStartMs' | 'labels'>): number {
  if (e.weight <= 0 || e.warmupStartMs === undefined || e.warmupStartMs <= 0) return -Infinity;
  return e.warmupStartMs + warmupMsOf(e);
}

interface WarmView extends EndpointView {
  readonly target: EndpointView;
}

/**
 * Wraps `inner` so that it sees warm-up weights. `endpointOf(id)` gives the discovered endpoint of a
 * view (undefined = not warming). Views are reused while their weight is unchanged, so balancers that
 * cache by identity (consistent hashing) rebuild only when a weight moves.
 */
export function withWarmup(inner: Balancer, endpointOf: (id: string) => Endpoint | undefined, now: () => number = Date.now): Balancer {
  const views = new WeakMap<EndpointView, WarmView>();
  const mine = new WeakSet<EndpointView>();
  // Endpoints are immutable: their warm-up end and length are read once.
  const ramps = new WeakMap<Endpoint, { end: number; warmupMs: number }>();
  const rampOf = (e: Endpoint): { end: number; warmupMs: number } => {
    let r = ramps.get(e);
    if (r === undefined) {
      r = { end: warmEndMs(e), warmupMs: warmupMsOf(e) };
      ramps.set(e, r);
    }
    return r;
  };
  const viewOf = (target: EndpointView, weight: number): WarmView => {
    const v = views.get(target);
    if (v !== undefined && v.weight === weight) return v;
    const fresh: WarmView = {
      id: target.id,
      weight,
      target,
      pending: () => target.pending(),
      available: () => target.available(),
    };
    views.set(target, fresh);
    mine.add(fresh);
    return fresh;
  };
  return {
    pick(endpoints: readonly EndpointView[], hint: PickHint): EndpointView | undefined {
      const t = now();
      let warming = false;
      for (const ep of endpoints) {
        const e = endpointOf(ep.id);
        if (e !== undefined && rampOf(e).end > t) {
          warming = true;
          break;
        }
      }
      if (!warming) return inner.pick(endpoints, hint);
      const adjusted = endpoints.map((ep) => {
        const e = endpointOf(ep.id);
        if (e === undefined) return ep;
        const w = warmedWeight(ep.weight, e.warmupStartMs, rampOf(e).warmupMs, t);
        return w === ep.weight ? ep : viewOf(ep, w);
      });
      const chosen = inner.pick(adjusted, hint);
      return chosen !== undefined && mine.has(chosen) ? (chosen as WarmView).target : chosen;
    },
  };
}
