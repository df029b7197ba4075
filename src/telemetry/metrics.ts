/**
 * Prometheus metrics for Ferry, on a prom-client Registry that the composition root creates and
 * passes in (never the global default registry). Requests, latency and errors are recorded per
 * route by the engine; upstream pools feed per-endpoint gauges through snapshot callbacks that run
 * at scrape time, so the hot path pays nothing for them.
 */
import { collectDefaultMetrics, Counter, Gauge, Histogram } from 'prom-client';
import type { Registry } from 'prom-client';

/** Latency buckets in seconds, from 100 µs to 10 s (roughly 1-2.5-5 per decade). */
export const LATENCY_BUCKETS_SECONDS: readonly number[] = [
  0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10,
];

/** One finished request, as the engine saw it. */
export interface RequestObservation {
  /** Route id; undefined when no route matched (recorded as `_none`). */
  readonly route: string | undefined;
  readonly method: string;
  readonly status: number;
  /** FERRY code of the error, if the request failed. */
  readonly code?: string;
  readonly durationMs: number;
}

/** One upstream endpoint's state at scrape time, as a pool reports it. */
export interface UpstreamSnapshot {
  /** Service name from the mapping (`accounts`). */
  readonly service: string;
  /** `host:port`. */
  readonly endpoint: string;
  /** Open connections (Dubbo) or ready channels (gRPC). */
  readonly connections: number;
  /** Calls sent and not yet answered. */
  readonly pending: number;
  /** Whether outlier ejection currently skips this endpoint. */
  readonly ejected?: boolean;
  /** The cluster (registry) it was found in (`default` with one registry), and that cluster's priority. */
  readonly cluster?: string;
  readonly priority?: number;
  /** Whether it can take a call now (connected, not ejected, not read-only). */
  readonly available?: boolean;
}

/** Per service, the cluster that serves now: the best priority with an available endpoint. Pure. */
export function servingClusters(snapshots: Iterable<UpstreamSnapshot>): Map<string, string> {
  const best = new Map<string, { cluster: string; priority: number }>();
  for (const s of snapshots) {
    if (s.available !== true) continue;
    const b = best.get(s.service);
    const priority = s.priority ?? 0;
    if (b === undefined || priority < b.priority) best.set(s.service, { cluster: s.cluster ?? 'default', priority });
  }
  return new Map([...best].map(([service, b]) => [service, b.cluster]));
}

/** A function a pool registers; it is called at each scrape. */
export type UpstreamSource = () => Iterable<UpstreamSnapshot>;

export interface MetricsOptions {
  /** Metric name prefix (default `ferry_`). */
  readonly prefix?: string;
  /** Also collect Node process metrics (CPU, memory, event-loop lag) into the registry (default true). */
  readonly processMetrics?: boolean;
}

/** What the engine, pools and the reload watcher call. */
export interface FerryMetrics {
  readonly registry: Registry;
  /** Records one finished request (counter, latency histogram, error counter). */
  observeRequest(o: RequestObservation): void;
  /** A request started (in-flight gauge up). Pair with `requestFinished`. */
  requestStarted(): void;
  requestFinished(): void;
  /** Records one upstream call's duration and outcome (`ok` or a FERRY code); may be passed on detached. */
  readonly observeUpstreamCall: (service: string, method: string, durationMs: number, code?: string) => void;
  /** Counts one outlier ejection of an endpoint. */
  recordEjection(service: string, endpoint: string): void;
  /** Counts a config reload attempt; `ok` false when the new config was refused. */
  recordReload(ok: boolean): void;
  /** Records the result of one signature check (`serve --check-signatures`): how many mismatches it found. */
  recordSignatureCheck(mismatches: number): void;
  /** Counts one plugin hook that threw or outlived its time budget. */
  recordPluginFailure(plugin: string, route: string, reason: 'threw' | 'timeout'): void;
  /** Adds a pool's snapshot callback; returns a function that removes it (for pools that close). */
  addUpstreamSource(source: UpstreamSource): () => void;
}

const NO_ROUTE = '_none';
const OK_CODE = 'OK';

/** Registers Ferry's metrics on `registry` and returns the recording functions. */
export function createMetrics(registry: Registry, options: MetricsOptions = {}): FerryMetrics {
  const p = options.prefix ?? 'ferry_';
  if (options.processMetrics ?? true) collectDefaultMetrics({ register: registry, prefix: p });

  const requests = new Counter({
    name: `${p}requests_total`,
    help: 'HTTP requests handled, by route, method, status and FERRY code (OK on success)',
    labelNames: ['route', 'method', 'status', 'code'] as const,
    registers: [registry],
  });
  const latency = new Histogram({
    name: `${p}request_duration_seconds`,
    help: 'Time from request received to response ready, by route',
    labelNames: ['route'] as const,
    buckets: [...LATENCY_BUCKETS_SECONDS],
    registers: [registry],
  });
  const errors = new Counter({
    name: `${p}errors_total`,
    help: 'Failed requests by route and FERRY error code',
    labelNames: ['route', 'code'] as const,
    registers: [registry],
  });
  const inFlight = new Gauge({
    name: `${p}requests_in_flight`,
    help: 'Requests accepted and not yet answered',
    registers: [registry],
  });
  const upstreamLatency = new Histogram({
    name: `${p}upstream_call_duration_seconds`,
    help: 'Upstream call duration by service, method and outcome (OK or a FERRY code)',
    labelNames: ['service', 'method', 'code'] as const,
    buckets: [...LATENCY_BUCKETS_SECONDS],
    registers: [registry],
  });
  const ejections = new Counter({
    name: `${p}upstream_ejections_total`,
    help: 'Outlier ejections of an upstream endpoint',
    labelNames: ['service', 'endpoint'] as const,
    registers: [registry],
  });
  const reloads = new Counter({
    name: `${p}config_reloads_total`,
    help: 'Config reload attempts by result (ok, error)',
    labelNames: ['result'] as const,
    registers: [registry],
  });
  const signatureMismatches = new Gauge({
    name: `${p}signature_mismatches`,
    help: 'Mismatches between Dubbo routes and their providers found by the last signature check (serve --check-signatures)',
    registers: [registry],
  });
  const signatureChecks = new Counter({
    name: `${p}signature_checks_total`,
    help: 'Signature checks run (at start-up, after each reload), by result (ok, mismatch)',
    labelNames: ['result'] as const,
    registers: [registry],
  });
  const pluginFailures = new Counter({
    name: `${p}plugin_failures_total`,
    help: 'Plugin hooks that threw or outlived their time budget, by plugin, route and reason (threw, timeout)',
    labelNames: ['plugin', 'route', 'reason'] as const,
    registers: [registry],
  });
  const lastReload = new Gauge({
    name: `${p}config_last_reload_success_timestamp_seconds`,
    help: 'Unix time of the last config that was loaded and applied',
    registers: [registry],
  });

  const sources = new Set<UpstreamSource>();
  function snapshots(): UpstreamSnapshot[] {
    const out: UpstreamSnapshot[] = [];
    for (const source of sources) {
      try {
        for (const s of source()) out.push(s);
      } catch {
        // A failing pool must not break the scrape; its endpoints are simply absent.
      }
    }
    return out;
  }
  new Gauge({
    name: `${p}upstream_connections`,
    help: 'Open connections (Dubbo) or channels (gRPC) per upstream endpoint',
    labelNames: ['service', 'endpoint'] as const,
    registers: [registry],
    collect() {
      this.reset();
      for (const s of snapshots()) this.labels(s.service, s.endpoint).set(s.connections);
    },
  });
  new Gauge({
    name: `${p}upstream_pending_calls`,
    help: 'Calls sent to an upstream endpoint and not yet answered',
    labelNames: ['service', 'endpoint'] as const,
    registers: [registry],
    collect() {
      this.reset();
      for (const s of snapshots()) this.labels(s.service, s.endpoint).set(s.pending);
    },
  });
  new Gauge({
    name: `${p}upstream_cluster_endpoints`,
    help: 'Discovered upstream endpoints per service and cluster (registry), by state (available, unavailable)',
    labelNames: ['service', 'cluster', 'state'] as const,
    registers: [registry],
    collect() {
      this.reset();
      for (const s of snapshots()) this.labels(s.service, s.cluster ?? 'default', s.available === true ? 'available' : 'unavailable').inc();
    },
  });
  new Gauge({
    name: `${p}upstream_cluster_serving`,
    help: '1 for the cluster that serves a service now (the best priority with an available endpoint), 0 for its other clusters',
    labelNames: ['service', 'cluster'] as const,
    registers: [registry],
    collect() {
      this.reset();
      const all = snapshots();
      const serving = servingClusters(all);
      for (const s of all) this.labels(s.service, s.cluster ?? 'default').set(serving.get(s.service) === (s.cluster ?? 'default') ? 1 : 0);
    },
  });
  new Gauge({
    name: `${p}upstream_ejected`,
    help: '1 while outlier ejection skips an upstream endpoint, else 0',
    labelNames: ['service', 'endpoint'] as const,
    registers: [registry],
    collect() {
      this.reset();
      for (const s of snapshots()) this.labels(s.service, s.endpoint).set(s.ejected === true ? 1 : 0);
    },
  });

  // Children cached by label tuple: prom-client hashes labels on every call otherwise.
  const requestChildren = new Map<string, Counter.Internal>();
  const latencyChildren = new Map<string, Histogram.Internal<'route'>>();
  const upstreamChildren = new Map<string, Histogram.Internal<'service' | 'method' | 'code'>>();

  function observeRequest(o: RequestObservation): void {
    const route = o.route ?? NO_ROUTE;
    const code = o.code ?? OK_CODE;
    const key = `${route}\u0000${o.method}\u0000${o.status}\u0000${code}`;
    let child = requestChildren.get(key);
    if (child === undefined) {
      child = requests.labels(route, o.method, String(o.status), code);
      requestChildren.set(key, child);
    }
    child.inc();
    let h = latencyChildren.get(route);
    if (h === undefined) {
      h = latency.labels(route);
      latencyChildren.set(route, h);
    }
    h.observe(o.durationMs / 1000);
    if (o.code !== undefined) errors.labels(route, o.code).inc();
  }

  return {
    registry,
    observeRequest,
    requestStarted: () => inFlight.inc(),
    requestFinished: () => inFlight.dec(),
    observeUpstreamCall: (service, method, durationMs, code) => {
      const outcome = code ?? OK_CODE;
      const key = `${service}\u0000${method}\u0000${outcome}`;
      let h = upstreamChildren.get(key);
      if (h === undefined) {
        h = upstreamLatency.labels(service, method, outcome);
        upstreamChildren.set(key, h);
      }
      h.observe(durationMs / 1000);
    },
    recordEjection(service, endpoint) {
      ejections.labels(service, endpoint).inc();
    },
    recordPluginFailure(plugin, route, reason) {
      pluginFailures.labels(plugin, route, reason).inc();
    },
    recordSignatureCheck(mismatches) {
      signatureMismatches.set(mismatches);
      signatureChecks.labels(mismatches === 0 ? 'ok' : 'mismatch').inc();
    },
    recordReload(ok) {
      reloads.labels(ok ? 'ok' : 'error').inc();
      if (ok) lastReload.set(Date.now() / 1000);
    },
    addUpstreamSource(source) {
      sources.add(source);
      return () => {
        sources.delete(source);
      };
    },
  };
}
