/**
 * `ferry serve | validate | routes`: the command line over the composition root.
 */
import cluster from 'node:cluster';
import { parseArgs } from 'node:util';
import { parseWorkers, startClusterPrimary } from './cluster.js';
import { ConfigError } from '../config/errors.js';
import type { FrontendLimits } from '../frontends/contract.js';
import { TlsFilesError, type ServerTlsFiles } from '../frontends/tls.js';
import { startFerry, validateMappings } from './main.js';
import { generateOpenApi } from '../openapi/index.js';
import { createLogger, errorFields } from './logger.js';
import { startOtel } from './otel.js';
import { createTelemetry } from '../telemetry/index.js';

/** The front-end budgets settable from the command line, each with its flag and variable. */
const LIMIT_SETTINGS: ReadonlyArray<readonly [flag: string, env: string, key: Exclude<keyof FrontendLimits, 'maxBodyBytes'>]> = [
  ['max-header-bytes', 'FERRY_MAX_HEADER_BYTES', 'maxHeaderBytes'],
  ['request-timeout-ms', 'FERRY_REQUEST_TIMEOUT_MS', 'requestTimeoutMs'],
  ['body-discard-bytes', 'FERRY_BODY_DISCARD_BYTES', 'bodyDiscardBytes'],
  ['max-connections', 'FERRY_MAX_CONNECTIONS', 'maxConnections'],
  ['max-pipelined-requests', 'FERRY_MAX_PIPELINED_REQUESTS', 'maxPipelinedRequests'],
  ['max-queued-bytes', 'FERRY_MAX_QUEUED_BYTES', 'maxQueuedBytes'],
  ['write-timeout-ms', 'FERRY_WRITE_TIMEOUT_MS', 'writeTimeoutMs'],
  ['ext-proc-idle-timeout-ms', 'FERRY_EXT_PROC_IDLE_TIMEOUT_MS', 'extProcIdleTimeoutMs'],
];

/** A positive integer setting, or a usage error naming where it came from. */
function positiveInt(text: string, what: string): number {
  const n = Number(text);
  if (!/^\d+$/.test(text.trim()) || !Number.isSafeInteger(n) || n <= 0) throw new UsageError(`${what} must be a positive integer, got "${text}"`);
  return n;
}

class UsageError extends Error {}

type Values = Record<string, string | boolean | undefined>;

/** The certificate files of one listener from `--PREFIX-cert/-key/-client-ca` or their variables; none when no file is named. */
function tlsFiles(values: Values, env: NodeJS.ProcessEnv, flagPrefix: string, envPrefix: string): ServerTlsFiles | undefined {
  const get = (flag: string, name: string): string | undefined => {
    const v = values[`${flagPrefix}-${flag}`];
    return typeof v === 'string' ? v : env[`${envPrefix}_${name}`];
  };
  const certFile = get('cert', 'CERT');
  const keyFile = get('key', 'KEY');
  const clientCaFile = get('client-ca', 'CLIENT_CA');
  if (certFile === undefined && keyFile === undefined && clientCaFile === undefined) return undefined;
  if (certFile === undefined || keyFile === undefined) {
    throw new UsageError(`--${flagPrefix}-cert and --${flagPrefix}-key (${envPrefix}_CERT, ${envPrefix}_KEY) are given together`);
  }
  return { certFile, keyFile, ...(clientCaFile !== undefined ? { clientCaFile } : {}) };
}

const USAGE = `Usage:
  ferry serve    [--mappings DIR] [--host HOST] [--port N] [--ext-proc-port N] [--admin-port N] [--no-watch]
                 [--workers N|auto]  (N processes on the same ports, node:cluster; default 1)
                 HTTP (default 127.0.0.1:8080, mappings/); Envoy ext_proc (gRPC) when a port is given;
                 /metrics /healthz /readyz /openapi.json on the admin port (default 9090);
                 reloads the folder when it changes; SIGTERM drains, SIGHUP reloads
                 [--tls-cert FILE --tls-key FILE [--tls-client-ca FILE]] [--plain-port N]
                 HTTPS (HTTP/2 and HTTP/1.1) on --port instead of HTTP, client certificates checked
                 against --tls-client-ca when given, plain HTTP on --plain-port only when asked;
                 [--ext-proc-tls-cert FILE --ext-proc-tls-key FILE [--ext-proc-tls-client-ca FILE]]
                 ext_proc over TLS / mTLS. Certificate files are re-read when they change.
  ferry validate [DIR]    check a mapping folder; exit 1 with file:line:col messages
  ferry routes   [DIR]    list the routes a mapping folder serves (YAML and proto-derived)
  ferry openapi  [DIR]    print the OpenAPI 3.1 document of a mapping folder

Budgets and disclosure (flag, or its variable; defaults and effects in docs/operations.md):
  --admin-host HOST (FERRY_ADMIN_HOST, default 127.0.0.1)   --max-body-bytes N (FERRY_MAX_BODY_BYTES)
${LIMIT_SETTINGS.map(([flag, env]) => `  --${flag} N (${env})`).join('\n')}
  --problem-detail safe|full (FERRY_PROBLEM_DETAIL, default safe: 5xx answers carry no provider text)

Environment: FERRY_MAPPINGS, FERRY_HOST, FERRY_PORT, FERRY_EXT_PROC_PORT, FERRY_ADMIN_PORT,
FERRY_TLS_CERT, FERRY_TLS_KEY, FERRY_TLS_CLIENT_CA, FERRY_PLAIN_PORT,
FERRY_EXT_PROC_TLS_CERT, FERRY_EXT_PROC_TLS_KEY, FERRY_EXT_PROC_TLS_CLIENT_CA,
FERRY_STICKY_KEYS (comma-separated signing keys for sticky cookies),
FERRY_LOG_LEVEL (debug|info|warn|error), FERRY_WORKERS, and the standard OTEL_* variables for tracing.`;

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  const { values, positionals } = parseArgs({
    args: rest,
    allowPositionals: true,
    options: {
      mappings: { type: 'string' },
      host: { type: 'string' },
      port: { type: 'string' },
      'ext-proc-port': { type: 'string' },
      'admin-port': { type: 'string' },
      'no-watch': { type: 'boolean' },
      'tls-cert': { type: 'string' },
      'tls-key': { type: 'string' },
      'tls-client-ca': { type: 'string' },
      'plain-port': { type: 'string' },
      'ext-proc-tls-cert': { type: 'string' },
      'ext-proc-tls-key': { type: 'string' },
      'ext-proc-tls-client-ca': { type: 'string' },
      'max-body-bytes': { type: 'string' },
      'admin-host': { type: 'string' },
      'problem-detail': { type: 'string' },
      ...Object.fromEntries(LIMIT_SETTINGS.map(([flag]) => [flag, { type: 'string' as const }])),
      workers: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help || command === undefined || command === 'help') {
    console.log(USAGE);
    return command === undefined ? 2 : 0;
  }
  const dir = positionals[0] ?? values.mappings ?? process.env['FERRY_MAPPINGS'] ?? 'mappings';
  switch (command) {
    case 'validate': {
      const { config, engine } = await validateMappings(dir);
      void engine;
      const derived = engine.routes.length - config.routes.length;
      console.log(
        `${dir}: ${config.services.size} services, ${config.types.size} types, ${config.routes.length} routes (+${derived} from proto options) — OK`,
      );
      return 0;
    }
    case 'routes': {
      const { config, engine } = await validateMappings(dir);
      for (const r of engine.routes) {
        const svc = config.services.get(r.serviceName);
        const target = svc === undefined ? r.serviceName : svc.protocol === 'dubbo' ? svc.interface : svc.service;
        console.log(`${r.method.padEnd(6)} ${r.path.padEnd(40)} → ${r.protocol} ${target}.${r.rpcMethod}  [${r.id}]`);
      }
      return 0;
    }
    case 'openapi': {
      const { config } = await validateMappings(dir);
      console.log(JSON.stringify(generateOpenApi(config), null, 2));
      return 0;
    }
    case 'serve': {
      const env = process.env;
      const workers = parseWorkers(values.workers ?? env['FERRY_WORKERS']);
      if (workers > 1 && cluster.isPrimary) {
        // The primary only supervises; each worker runs this same command line and serves.
        // `done` never rejects: it resolves with the exit code once every worker has exited.
        void startClusterPrimary({ workers }).done.then((code) => process.exit(code));
        return -1;
      }
      const level = env['FERRY_LOG_LEVEL'];
      const logger = createLogger({
        base: { service: 'ferry', pid: process.pid },
        ...(level === 'debug' || level === 'info' || level === 'warn' || level === 'error' ? { level } : {}),
      });
      // Spans are recorded and exported only when OTEL_* says where to; W3C context passes through regardless.
      const tracing = ['OTEL_TRACES_EXPORTER', 'OTEL_EXPORTER_OTLP_ENDPOINT', 'OTEL_EXPORTER_OTLP_TRACES_ENDPOINT'].some((k) => env[k]);
      const otel = tracing ? startOtel({ serviceName: 'ferry' }) : undefined;
      const extProc = values['ext-proc-port'] ?? env['FERRY_EXT_PROC_PORT'];
      const maxBody = values['max-body-bytes'] ?? env['FERRY_MAX_BODY_BYTES'];
      const limits: Partial<Record<(typeof LIMIT_SETTINGS)[number][2], number>> = {};
      for (const [flag, name, key] of LIMIT_SETTINGS) {
        const given = (values as Record<string, string | boolean | undefined>)[flag];
        const text = typeof given === 'string' ? given : env[name];
        if (text !== undefined) limits[key] = positiveInt(text, typeof given === 'string' ? `--${flag}` : name);
      }
      const detail = values['problem-detail'] ?? env['FERRY_PROBLEM_DETAIL'] ?? 'safe';
      if (detail !== 'safe' && detail !== 'full') throw new UsageError(`--problem-detail / FERRY_PROBLEM_DETAIL is safe or full, got "${detail}"`);
      const adminHost = values['admin-host'] ?? env['FERRY_ADMIN_HOST'];
      const tls = tlsFiles(values, env, 'tls', 'FERRY_TLS');
      const extProcTls = tlsFiles(values, env, 'ext-proc-tls', 'FERRY_EXT_PROC_TLS');
      const plainPort = values['plain-port'] ?? env['FERRY_PLAIN_PORT'];
      if (plainPort !== undefined && tls === undefined)
        throw new UsageError('--plain-port (FERRY_PLAIN_PORT) is for a plain HTTP port beside HTTPS: give --tls-cert and --tls-key too');
      const ferry = await startFerry({
        mappingsDir: dir,
        host: values.host ?? env['FERRY_HOST'] ?? '127.0.0.1',
        port: Number(values.port ?? env['FERRY_PORT'] ?? 8080),
        adminPort: Number(values['admin-port'] ?? env['FERRY_ADMIN_PORT'] ?? 9090),
        ...(extProc !== undefined ? { extProcPort: Number(extProc) } : {}),
        ...(maxBody !== undefined ? { maxBodyBytes: positiveInt(maxBody, 'the body limit') } : {}),
        ...(adminHost !== undefined ? { adminHost } : {}),
        ...(tls !== undefined ? { tls } : {}),
        ...(extProcTls !== undefined ? { extProcTls } : {}),
        ...(plainPort !== undefined ? { plainPort: Number(plainPort) } : {}),
        limits,
        problemDetail: detail,
        watch: !values['no-watch'],
        logger,
        ...(otel
          ? { telemetry: createTelemetry({ tracer: otel.tracerProvider.getTracer('ferry'), urlPath: 'route' }), onClosed: () => otel.shutdown() }
          : {}),
      });
      logger.info('ferry listening', {
        [tls !== undefined ? 'https' : 'http']: ferry.httpPort,
        ...(ferry.plainHttpPort !== undefined ? { http: ferry.plainHttpPort } : {}),
        ...(extProcTls !== undefined ? { extProcTls: extProcTls.clientCaFile !== undefined ? 'mtls' : 'tls' } : {}),
        extProc: ferry.extProcPort,
        admin: ferry.adminPort,
        mappings: dir,
        traces: otel?.exportTarget ?? 'off (set OTEL_EXPORTER_OTLP_ENDPOINT to export)',
      });
      ferry.shutdown.installSignalHandlers();
      process.on('SIGHUP', () => {
        ferry.reload().then(
          () => logger.info('config reloaded (SIGHUP)'),
          (err: unknown) => logger.error('config change refused; the previous config keeps serving', errorFields(err)),
        );
      });
      return -1; // keep running
    }
    default:
      console.error(`unknown command "${command}"\n${USAGE}`);
      return 2;
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    if (code >= 0) process.exitCode = code;
  },
  (err: unknown) => {
    if (err instanceof ConfigError || err instanceof UsageError || err instanceof TlsFilesError) {
      console.error(err.message);
      process.exitCode = err instanceof UsageError ? 2 : 1;
    } else {
      console.error(err instanceof Error ? (err.stack ?? err.message) : String(err));
      process.exitCode = 1;
    }
  },
);
