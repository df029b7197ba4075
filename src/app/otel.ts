/**
 * Starts the OpenTelemetry tracing SDK for the Ferry process. Only the composition root imports
 * this module; everything else reaches tracing through `@opentelemetry/api`.
 *
 * Configured by the standard variables (read from `env`, so tests can pass their own):
 * OTEL_SDK_DISABLED, OTEL_SERVICE_NAME, OTEL_RESOURCE_ATTRIBUTES, OTEL_TRACES_EXPORTER (otlp | console
 * | none), OTEL_EXPORTER_OTLP_ENDPOINT, OTEL_EXPORTER_OTLP_TRACES_ENDPOINT, OTEL_EXPORTER_OTLP_HEADERS,
 * OTEL_EXPORTER_OTLP_TRACES_HEADERS, OTEL_EXPORTER_OTLP_TIMEOUT, OTEL_EXPORTER_OTLP_TRACES_TIMEOUT,
 * OTEL_TRACES_SAMPLER, OTEL_TRACES_SAMPLER_ARG, OTEL_BSP_SCHEDULE_DELAY, OTEL_BSP_MAX_QUEUE_SIZE,
 * OTEL_BSP_MAX_EXPORT_BATCH_SIZE, OTEL_BSP_EXPORT_TIMEOUT.
 * The OTLP exporter speaks OTLP/HTTP with JSON bodies (what @opentelemetry/exporter-trace-otlp-http
 * sends); collectors and Jaeger accept it on port 4318.
 */
import { context, propagation, trace } from '@opentelemetry/api';
import { CompositePropagator, W3CBaggagePropagator, W3CTraceContextPropagator } from '@opentelemetry/core';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { resourceFromAttributes } from '@opentelemetry/resources';
import {
  AlwaysOffSampler,
  AlwaysOnSampler,
  BatchSpanProcessor,
  ConsoleSpanExporter,
  NodeTracerProvider,
  ParentBasedSampler,
  SimpleSpanProcessor,
  TraceIdRatioBasedSampler,
} from '@opentelemetry/sdk-trace-node';
import type { Sampler, SpanExporter, SpanProcessor } from '@opentelemetry/sdk-trace-node';

export interface OtelOptions {
  /** Default service name; OTEL_SERVICE_NAME wins over it, as the specification says. */
  readonly serviceName: string;
  /** Where OTEL_* variables are read from (default `process.env`). */
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** Use this exporter instead of the one OTEL_TRACES_EXPORTER names (tests pass an in-memory one). */
  readonly exporter?: SpanExporter;
  /** `simple` exports each span as it ends (tests); `batch` (default) queues and sends in batches. */
  readonly processor?: 'batch' | 'simple';
  /** Register the provider, W3C propagator and AsyncLocalStorage context manager globally (default true). */
  readonly register?: boolean;
}

export interface OtelHandle {
  /** Whether tracing is on (false when OTEL_SDK_DISABLED=true). */
  readonly enabled: boolean;
  readonly tracerProvider: NodeTracerProvider;
  /** Where spans go, for logs: an URL, `console`, `none`, or `custom`. */
  readonly exportTarget: string;
  /** Sends queued spans now. */
  forceFlush(): Promise<void>;
  /** Flushes, stops the exporter and unregisters the globals this call registered. */
  shutdown(): Promise<void>;
}

type Env = Readonly<Record<string, string | undefined>>;

function str(env: Env, name: string): string | undefined {
  const v = env[name]?.trim();
  return v === undefined || v === '' ? undefined : v;
}

function num(env: Env, name: string): number | undefined {
  const v = str(env, name);
  if (v === undefined) return undefined;
  const n = Number(v);
  return Number.isFinite(n) ? n : undefined;
}

/** Parses `k=v,k2=v2` (values percent-decoded), the format of OTEL_RESOURCE_ATTRIBUTES and *_HEADERS. */
export function parseKeyValueList(text: string | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  if (text === undefined) return out;
  for (const part of text.split(',')) {
    const eq = part.indexOf('=');
    if (eq <= 0) continue;
    const key = part.slice(0, eq).trim();
    const raw = part.slice(eq + 1).trim();
    let value = raw;
    try {
      value = decodeURIComponent(raw);
    } catch {
      // keep the raw text
    }
    if (key !== '') out[key] = value;
  }
  return out;
}

/** The sampler OTEL_TRACES_SAMPLER / OTEL_TRACES_SAMPLER_ARG name (parentbased_always_on by default). */
export function samplerFromEnv(env: Env): Sampler {
  const name = str(env, 'OTEL_TRACES_SAMPLER') ?? 'parentbased_always_on';
  const argRaw = num(env, 'OTEL_TRACES_SAMPLER_ARG');
  const ratio = argRaw !== undefined && argRaw >= 0 && argRaw <= 1 ? argRaw : 1;
  switch (name) {
    case 'always_on':
      return new AlwaysOnSampler();
    case 'always_off':
      return new AlwaysOffSampler();
    case 'traceidratio':
      return new TraceIdRatioBasedSampler(ratio);
    case 'parentbased_always_off':
      return new ParentBasedSampler({ root: new AlwaysOffSampler() });
    case 'parentbased_traceidratio':
      return new ParentBasedSampler({ root: new TraceIdRatioBasedSampler(ratio) });
    case 'parentbased_always_on':
    default:
      return new ParentBasedSampler({ root: new AlwaysOnSampler() });
  }
}

/**
 * The OTLP/HTTP traces URL: OTEL_EXPORTER_OTLP_TRACES_ENDPOINT as given, else
 * OTEL_EXPORTER_OTLP_ENDPOINT + `/v1/traces`, else http://localhost:4318/v1/traces.
 */
export function otlpTracesUrl(env: Env): string {
  const signal = str(env, 'OTEL_EXPORTER_OTLP_TRACES_ENDPOINT');
  if (signal !== undefined) return signal;
  const base = str(env, 'OTEL_EXPORTER_OTLP_ENDPOINT');
  if (base !== undefined) return `${base.replace(/\/+$/, '')}/v1/traces`;
  return 'http://localhost:4318/v1/traces';
}

function exporterFromEnv(env: Env): { exporter: SpanExporter | undefined; target: string } {
  const kind = (str(env, 'OTEL_TRACES_EXPORTER') ?? 'otlp').split(',')[0]!.trim();
  if (kind === 'none') return { exporter: undefined, target: 'none' };
  if (kind === 'console') return { exporter: new ConsoleSpanExporter(), target: 'console' };
  const url = otlpTracesUrl(env);
  const headers = {
    ...parseKeyValueList(str(env, 'OTEL_EXPORTER_OTLP_HEADERS')),
    ...parseKeyValueList(str(env, 'OTEL_EXPORTER_OTLP_TRACES_HEADERS')),
  };
  const timeoutMillis = num(env, 'OTEL_EXPORTER_OTLP_TRACES_TIMEOUT') ?? num(env, 'OTEL_EXPORTER_OTLP_TIMEOUT') ?? 10_000;
  return { exporter: new OTLPTraceExporter({ url, headers, timeoutMillis }), target: url };
}

/** Starts tracing for the process. Call `shutdown()` on exit so queued spans are sent. */
export function startOtel(options: OtelOptions): OtelHandle {
  const env: Env = options.env ?? process.env;
  const disabled = str(env, 'OTEL_SDK_DISABLED')?.toLowerCase() === 'true';
  const serviceName = str(env, 'OTEL_SERVICE_NAME') ?? options.serviceName;
  const resource = resourceFromAttributes({
    ...parseKeyValueList(str(env, 'OTEL_RESOURCE_ATTRIBUTES')),
    'service.name': serviceName,
  });

  if (disabled) {
    const tracerProvider = new NodeTracerProvider({ resource });
    return {
      enabled: false,
      tracerProvider,
      exportTarget: 'none',
      forceFlush: async () => {},
      shutdown: () => tracerProvider.shutdown(),
    };
  }

  const chosen = options.exporter !== undefined ? { exporter: options.exporter, target: 'custom' } : exporterFromEnv(env);
  const spanProcessors: SpanProcessor[] = [];
  if (chosen.exporter !== undefined) {
    spanProcessors.push(
      options.processor === 'simple'
        ? new SimpleSpanProcessor(chosen.exporter)
        : new BatchSpanProcessor(chosen.exporter, {
            scheduledDelayMillis: num(env, 'OTEL_BSP_SCHEDULE_DELAY') ?? 5000,
            maxQueueSize: num(env, 'OTEL_BSP_MAX_QUEUE_SIZE') ?? 2048,
            maxExportBatchSize: num(env, 'OTEL_BSP_MAX_EXPORT_BATCH_SIZE') ?? 512,
            exportTimeoutMillis: num(env, 'OTEL_BSP_EXPORT_TIMEOUT') ?? 30_000,
          }),
    );
  }
  const tracerProvider = new NodeTracerProvider({ resource, sampler: samplerFromEnv(env), spanProcessors });

  const register = options.register ?? true;
  if (register) {
    // contextManager left undefined: sdk-trace-node then registers its AsyncLocalStorageContextManager.
    tracerProvider.register({
      propagator: new CompositePropagator({
        propagators: [new W3CTraceContextPropagator(), new W3CBaggagePropagator()],
      }),
    });
  }

  let stopped: Promise<void> | undefined;
  return {
    enabled: true,
    tracerProvider,
    exportTarget: chosen.target,
    forceFlush: () => tracerProvider.forceFlush(),
    shutdown() {
      stopped ??= (async () => {
        try {
          await tracerProvider.shutdown();
        } finally {
          if (register) {
            trace.disable();
            propagation.disable();
            context.disable();
          }
        }
      })();
      return stopped;
    },
  };
}
