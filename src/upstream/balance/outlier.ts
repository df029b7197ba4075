/**
 * Outlier ejection: an endpoint whose calls fail N times in a row (unavailable, connection lost,
 * timeout) is taken out of balancing for a while, then let back in. Each new ejection lasts longer
 * (base × number of recent ejections, capped), and the count decays while the endpoint behaves,
 * as Envoy's outlier detection does. Ejection shows through EndpointView.available(), so every
 * balancer honours it without knowing about it.
 */
import { isFerryError } from '../../errors/index.js';
import type { Balancer, EndpointView, PickHint } from './types.js';

/** Failures that say "this endpoint is unwell" (not "this request was bad"). */
export type FailureKind = 'unavailable' | 'connection-lost' | 'timeout';

export interface OutlierOptions {
  /** Consecutive failures that eject an endpoint (default 5). */
  readonly consecutiveFailures?: number;
  /** First ejection length (default 10 000 ms); the k-th recent ejection lasts k × base. */
  readonly baseEjectionMs?: number;
  /** Upper bound of one ejection (default 300 000 ms). */
  readonly maxEjectionMs?: number;
  /** Clock in milliseconds (tests). */
  readonly now?: () => number;
  /** Told when an endpoint is ejected or re-admitted (logs, metrics). */
  readonly onChange?: (id: string, ejected: boolean, untilMs: number) => void;
}

export interface OutlierDetector {
  /** Records a successful call: resets the endpoint's failure streak. */
  success(id: string): void;
  /** Records a failed call of a kind that counts; may eject the endpoint. */
  failure(id: string, kind: FailureKind): void;
  /** Records a call's outcome from its error (undefined = success); errors that do not count are ignored. */
  observe(id: string, err: unknown): void;
  /** Whether the endpoint is ejected now. */
  isEjected(id: string): boolean;
  /** A view of `view` whose available() is also false while ejected (cached per view). */
  wrap(view: EndpointView): EndpointView;
  /** Drops what is known about an endpoint that left. */
  forget(id: string): void;
}

/** Maps a Ferry error to the failure kind that counts towards ejection, if any. */
export function failureKind(err: unknown): FailureKind | undefined {
  if (!isFerryError(err)) return undefined;
  switch (err.code) {
    case 'FERRY_UPSTREAM_UNAVAILABLE':
      return 'unavailable';
    case 'FERRY_UPSTREAM_CONNECTION_LOST':
      return 'connection-lost';
    case 'FERRY_UPSTREAM_TIMEOUT':
      return 'timeout';
    default:
      return undefined;
  }
}

interface EndpointHealth {
  streak: number;
  /** Recent ejections (decays by one per base period spent admitted). */
  ejections: number;
  /** Ejected until this time (ms); 0 when admitted. */
  until: number;
  /** When the last ejection ended (for decay). */
  admittedAt: number;
}

/** Creates an outlier detector. One per service (endpoints are keyed by id). */
export function createOutlierDetector(options: OutlierOptions = {}): OutlierDetector {
  const threshold = options.consecutiveFailures ?? 5;
  const base = options.baseEjectionMs ?? 10_000;
  const max = options.maxEjectionMs ?? 300_000;
  const now = options.now ?? Date.now;
  const health = new Map<string, EndpointHealth>();
  const wrapped = new WeakMap<EndpointView, EndpointView>();

  const entry = (id: string): EndpointHealth => {
    let h = health.get(id);
    if (h === undefined) {
      h = { streak: 0, ejections: 0, until: 0, admittedAt: 0 };
      health.set(id, h);
    }
    return h;
  };

  const isEjected = (id: string): boolean => {
    const h = health.get(id);
    if (h === undefined || h.until === 0) return false;
    const t = now();
    if (t < h.until) return true;
    // Re-admit: the streak starts over.
    h.admittedAt = h.until;
    h.until = 0;
    h.streak = 0;
    options.onChange?.(id, false, t);
    return false;
  };

  const detector: OutlierDetector = {
    success(id) {
      const h = health.get(id);
      if (h !== undefined) h.streak = 0;
    },
    failure(id, _kind) {
      const h = entry(id);
      if (isEjected(id)) return;
      h.streak++;
      if (h.streak < threshold) return;
      const t = now();
      if (h.ejections > 0 && h.admittedAt > 0) {
        h.ejections = Math.max(0, h.ejections - Math.floor((t - h.admittedAt) / base));
      }
      h.ejections++;
      h.until = t + Math.min(max, base * h.ejections);
      h.streak = 0;
      options.onChange?.(id, true, h.until);
    },
    observe(id, err) {
      if (err === undefined) {
        detector.success(id);
        return;
      }
      const kind = failureKind(err);
      if (kind !== undefined) detector.failure(id, kind);
    },
    isEjected,
    wrap(view) {
      let w = wrapped.get(view);
      if (w === undefined) {
        const inner = view;
        w = {
          get id() {
            return inner.id;
          },
          get weight() {
            return inner.weight;
          },
          pending: () => inner.pending(),
          available: () => inner.available() && !isEjected(inner.id),
        };
        wrapped.set(view, w);
      }
      return w;
    },
    forget(id) {
      health.delete(id);
    },
  };
  return detector;
}

/**
 * A balancer that skips ejected endpoints. When ejection would leave nothing available (every
 * endpoint failing), it falls back to all endpoints ("panic" routing): better to try an ejected
 * endpoint than to refuse every call — unless the hint says `honourEjection` (the upstream client
 * asks so first when it has several priority levels, so that a level whose endpoints are all
 * ejected gives way to the next instead of panicking). Returns the caller's own view, not the wrapper.
 */
export function withOutlierEjection(inner: Balancer, detector: OutlierDetector): Balancer {
  const original = new WeakMap<EndpointView, EndpointView>();
  return {
    pick(endpoints: readonly EndpointView[], hint: PickHint): EndpointView | undefined {
      const views = endpoints.map((e) => {
        const w = detector.wrap(e);
        original.set(w, e);
        return w;
      });
      const chosen = inner.pick(views, hint);
      if (chosen !== undefined) return original.get(chosen) ?? chosen;
      if (hint.honourEjection === true) return undefined;
      return inner.pick(endpoints, hint);
    },
  };
}
