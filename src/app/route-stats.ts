/**
 * Per-route rate, latency percentiles and errors by FERRY code for the admin API, read from Ferry's
 * own Prometheus registry (the counters and the latency histogram the engine already records): no
 * second mechanism on the request path. Figures over a recent window come from the difference between
 * now and a sample kept from an earlier read; samples are taken only when the API is read, so a closed
 * console costs nothing.
 */
import type { Registry } from 'prom-client';

/** One route's cumulative counts at one moment. */
export interface RouteTotals {
  readonly requests: number;
  /** FERRY code → failed requests. */
  readonly errors: Readonly<Record<string, number>>;
  /** Cumulative histogram counts, one per bound of `bounds` (seconds), the last one +Inf. */
  readonly buckets: readonly number[];
}

export interface TotalsSample {
  readonly atMs: number;
  /** Latency bucket upper bounds in seconds, ascending, ending with Infinity. */
  readonly bounds: readonly number[];
  readonly routes: ReadonlyMap<string, RouteTotals>;
}

/** One route's figures as the API answers them. */
export interface RouteStats {
  readonly route: string;
  /** Requests since start. */
  readonly requests: number;
  /** Failures since start by FERRY code. */
  readonly errors: Readonly<Record<string, number>>;
  /** Requests per second over the window (null before a window exists). */
  readonly rate: number | null;
  /** Latency percentiles over the window, ms (null when no request fell in it). */
  readonly p50Ms: number | null;
  readonly p90Ms: number | null;
  readonly p99Ms: number | null;
  /** Failures in the window by FERRY code. */
  readonly windowErrors: Readonly<Record<string, number>>;
}

/**
 * The `q` quantile (0..1) of a histogram from its cumulative bucket counts, in the bounds' unit,
 * interpolated linearly inside the bucket it falls in (the way Prometheus' histogram_quantile does).
 * A quantile in the +Inf bucket answers the last finite bound. Null when the histogram is empty. Pure.
 */
export function quantileFromBuckets(bounds: readonly number[], cumulative: readonly number[], q: number): number | null {
  const total = cumulative[cumulative.length - 1] ?? 0;
  if (total <= 0) return null;
  const rank = q * total;
  for (let i = 0; i < cumulative.length; i++) {
    const c = cumulative[i]!;
    if (c < rank) continue;
    const upper = bounds[i]!;
    if (!Number.isFinite(upper)) return bounds[i - 1] ?? 0;
    const lower = i === 0 ? 0 : bounds[i - 1]!;
    const below = i === 0 ? 0 : cumulative[i - 1]!;
    const inBucket = c - below;
    return inBucket === 0 ? upper : lower + ((upper - lower) * (rank - below)) / inBucket;
  }
  return bounds[bounds.length - 2] ?? null;
}

/** Each route's figures between `base` (an earlier sample, if any) and `now`. Pure. */
export function routeStats(now: TotalsSample, base: TotalsSample | undefined): RouteStats[] {
  const seconds = base !== undefined ? (now.atMs - base.atMs) / 1000 : 0;
  const out: RouteStats[] = [];
  for (const [route, t] of now.routes) {
    const b = base?.routes.get(route);
    const window = t.buckets.map((c, i) => c - (b?.buckets[i] ?? 0));
    const windowErrors: Record<string, number> = {};
    for (const [code, n] of Object.entries(t.errors)) {
      const d = n - (b?.errors[code] ?? 0);
      if (d > 0) windowErrors[code] = d;
    }
    const ms = (q: number): number | null => {
      const v = quantileFromBuckets(now.bounds, window, q);
      return v === null ? null : Math.round(v * 1e6) / 1e3;
    };
    out.push({
      route,
      requests: t.requests,
      errors: t.errors,
      rate: base !== undefined && seconds > 0 ? Math.round(((t.requests - (b?.requests ?? 0)) / seconds) * 1000) / 1000 : null,
      p50Ms: ms(0.5),
      p90Ms: ms(0.9),
      p99Ms: ms(0.99),
      windowErrors,
    });
  }
  return out.sort((x, y) => (x.route < y.route ? -1 : x.route > y.route ? 1 : 0));
}

interface MetricValue {
  readonly value: number;
  readonly labels: Readonly<Record<string, string | number>>;
  readonly metricName?: string;
}

async function valuesOf(registry: Registry, name: string): Promise<readonly MetricValue[]> {
  const metric = registry.getSingleMetric(name);
  if (metric === undefined) return [];
  return (await metric.get()).values as readonly MetricValue[];
}

/** Every route's cumulative counts from the registry's `<prefix>requests_total`, `errors_total` and `request_duration_seconds`. */
export async function readTotals(registry: Registry, atMs: number, prefix = 'ferry_'): Promise<TotalsSample> {
  const requests = new Map<string, number>();
  for (const v of await valuesOf(registry, `${prefix}requests_total`)) {
    const route = String(v.labels['route']);
    requests.set(route, (requests.get(route) ?? 0) + v.value);
  }
  const errors = new Map<string, Record<string, number>>();
  for (const v of await valuesOf(registry, `${prefix}errors_total`)) {
    const route = String(v.labels['route']);
    const byCode = errors.get(route) ?? {};
    byCode[String(v.labels['code'])] = v.value;
    errors.set(route, byCode);
  }
  const buckets = new Map<string, Map<number, number>>();
  const boundSet = new Set<number>();
  for (const v of await valuesOf(registry, `${prefix}request_duration_seconds`)) {
    if (v.metricName !== `${prefix}request_duration_seconds_bucket`) continue;
    const le = v.labels['le'] === '+Inf' ? Infinity : Number(v.labels['le']);
    boundSet.add(le);
    const route = String(v.labels['route']);
    const m = buckets.get(route) ?? new Map<number, number>();
    m.set(le, v.value);
    buckets.set(route, m);
  }
  const bounds = [...boundSet].sort((a, b) => a - b);
  const routes = new Map<string, RouteTotals>();
  for (const [route, n] of requests) {
    const m = buckets.get(route);
    routes.set(route, { requests: n, errors: errors.get(route) ?? {}, buckets: bounds.map((le) => m?.get(le) ?? 0) });
  }
  return { atMs, bounds, routes };
}

export interface RouteSamplerOptions {
  /** The window figures cover, at least (default 30 s). */
  readonly windowMs?: number;
  /** Samples are kept at least this far apart (default 2 s), so the ring stays small whatever the poll rate. */
  readonly minGapMs?: number;
  readonly now?: () => number;
}

/** Reads the registry on each call and answers figures over the last window; keeps a few samples (bounded). */
export function createRouteSampler(
  registry: Registry,
  options: RouteSamplerOptions = {},
): () => Promise<{ windowSeconds: number | null; routes: RouteStats[] }> {
  const windowMs = options.windowMs ?? 30_000;
  const minGapMs = options.minGapMs ?? 2_000;
  const now = options.now ?? Date.now;
  const maxSamples = Math.ceil(windowMs / minGapMs) + 2;
  const samples: TotalsSample[] = [];
  return async () => {
    const current = await readTotals(registry, now());
    // The base is the oldest sample still inside the window (else the newest older one).
    while (samples.length > 1 && samples[1]!.atMs <= current.atMs - windowMs) samples.shift();
    const base = samples[0];
    const last = samples[samples.length - 1];
    if (last === undefined || current.atMs - last.atMs >= minGapMs) {
      samples.push(current);
      if (samples.length > maxSamples) samples.shift();
    }
    const usable = base !== undefined && base.atMs < current.atMs ? base : undefined;
    return { windowSeconds: usable !== undefined ? (current.atMs - usable.atMs) / 1000 : null, routes: routeStats(current, usable) };
  };
}
