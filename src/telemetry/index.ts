/**
 * Telemetry through `@opentelemetry/api` only (plus prom-client for metrics): span helpers, W3C
 * carriers for HTTP headers, Dubbo attachments and gRPC metadata, and Prometheus metrics. The SDK
 * itself is started by the composition root (src/app/otel.ts), never here.
 */
export * from './propagation.js';
export * from './spans.js';
export * from './status.js';
export * from './metrics.js';
