/**
 * `ferry serve | validate | routes | openapi`: the command line over the composition root.
 */
import cluster from 'node:cluster';
import { accessSync, constants as fsConstants, readFileSync, statSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { parseWorkers, startClusterPrimary } from './cluster.js';
import { ConfigError } from '../config/errors.js';
import type { FrontendLimits } from '../frontends/contract.js';
import { startFerry, validateMappings } from './main.js';
import { generateOpenApi } from '../openapi/index.js';
import { createLogger, errorFields } from './logger.js';
import { startOtel } from './otel.js';
import { findPortHolder } from './port-holder.js';
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

/** An expected start-up failure (port in use, missing mapping folder, ...): one line, exit 1, no stack. */
class StartupError extends Error {}

const SERVE_USAGE = `ferry serve [--mappings DIR] [--host HOST] [--port N] [--ext-proc-port N] [--admin-port N] [--no-watch]
            [--workers N|auto]  (N processes on the same ports, node:cluster; default 1)
  Serves HTTP (default 127.0.0.1:8080, mappings/); Envoy ext_proc (gRPC) when a port is given;
  /metrics /healthz /readyz /openapi.json on the admin port (default 9090);
  reloads the folder when it changes; SIGTERM drains, SIGHUP reloads.

Budgets and disclosure (flag, or its variable; defaults and effects in docs/operations.md):
  --admin-host HOST (FERRY_ADMIN_HOST, default 127.0.0.1)   --max-body-bytes N (FERRY_MAX_BODY_BYTES)
${LIMIT_SETTINGS.map(([flag, env]) => `  --${flag} N (${env})`).join('\n')}
  --drain-timeout-ms N (FERRY_DRAIN_TIMEOUT_MS, default 10000: how long SIGTERM waits for requests in flight)
  --problem-detail safe|full (FERRY_PROBLEM_DETAIL, default safe: 5xx answers carry no provider text)

Environment: FERRY_MAPPINGS, FERRY_HOST, FERRY_PORT, FERRY_EXT_PROC_PORT, FERRY_ADMIN_PORT,
FERRY_STICKY_KEYS (comma-separated signing keys for sticky cookies),
FERRY_LOG_LEVEL (debug|info|warn|error), FERRY_WORKERS, and the standard OTEL_* variables for tracing.`;

/** Each command's own help (`ferry <command> --help`). */
const COMMAND_USAGE: Readonly<Record<string, string>> = {
  serve: SERVE_USAGE,
  validate:
    'ferry validate [DIR]\n  Checks a mapping folder (default mappings/, or --mappings DIR / FERRY_MAPPINGS); exit 1 with file:line:col messages.',
  routes: 'ferry routes [DIR]\n  Lists the routes a mapping folder serves (YAML and proto-derived).',
  openapi: 'ferry openapi [DIR]\n  Prints the OpenAPI 3.1 document of a mapping folder.',
};

const USAGE = `Usage: ferry <command> [options]   (ferry <command> --help for its options)

Commands:
  serve      serve the mapping folder over HTTP (and Envoy ext_proc)
  validate   check a mapping folder
  routes     list the routes a mapping folder serves
  openapi    print the OpenAPI 3.1 document of a mapping folder

  ferry --help | ferry --version

${SERVE_USAGE}`;

/** Ferry's version, from the package.json two folders up (the same from src/app and dist/app). */
function version(): string {
  try {
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version?: unknown };
    return typeof pkg.version === 'string' ? pkg.version : 'unknown';
  } catch {
    return 'unknown';
  }
}

/** A TCP port setting (0 = any free port), or a usage error naming where it came from. */
function portSetting(text: string, what: string): number {
  const n = Number(text);
  if (!/^\d+$/.test(text.trim()) || n > 65535) throw new UsageError(`${what} must be a port number (0-65535), got "${text}"`);
  return n;
}

/** Refuses a mapping folder that is missing, not a folder or unreadable, in one line. */
function checkMappingFolder(dir: string): void {
  const hint = '(give another with --mappings DIR or FERRY_MAPPINGS)';
  try {
    if (!statSync(dir).isDirectory()) throw new StartupError(`mapping folder "${dir}" is not a folder ${hint}`);
    accessSync(dir, fsConstants.R_OK | fsConstants.X_OK);
  } catch (err) {
    if (err instanceof StartupError) throw err;
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') throw new StartupError(`mapping folder "${dir}" does not exist ${hint}`);
    throw new StartupError(
      `mapping folder "${dir}" cannot be read (${code === 'EACCES' || code === 'EPERM' ? 'permission denied' : String(code)}) ${hint}`,
    );
  }
}

/** One port Ferry listens on, with the flag and variable that choose it. */
interface PortSetting {
  readonly port: number;
  readonly setting: string;
}

/** A listen failure in one line: which port, what holds it, and the setting that moves Ferry elsewhere. */
function listenFailure(err: unknown, host: string, ports: readonly PortSetting[]): StartupError | undefined {
  const e = err as NodeJS.ErrnoException & { port?: number; address?: string };
  if (e === null || typeof e !== 'object' || e.syscall !== 'listen' || typeof e.port !== 'number') return undefined;
  const settings = ports.filter((p) => p.port === e.port).map((p) => p.setting);
  const change = settings.length > 0 ? `; choose another with ${settings.join(' or ')}` : '';
  const where = `${e.address ?? host}:${e.port}`;
  if (e.code === 'EADDRINUSE') {
    const holder = findPortHolder(e.port);
    const by = holder ? ` by pid ${holder.pid} (${holder.command})` : '';
    return new StartupError(`cannot listen on ${where}: port ${e.port} is already in use${by}${change}`);
  }
  if (e.code === 'EACCES') return new StartupError(`cannot listen on ${where}: permission denied (ports below 1024 need privileges)${change}`);
  if (e.code === 'EADDRNOTAVAIL')
    return new StartupError(`cannot listen on ${where}: no such address on this machine; choose another with --host (FERRY_HOST)`);
  return new StartupError(`cannot listen on ${where}: ${e.code ?? e.message}${change}`);
}

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (command === undefined) {
    console.error(USAGE);
    return 2;
  }
  if (command === '--help' || command === '-h' || command === 'help') {
    console.log(COMMAND_USAGE[rest[0] ?? ''] ?? USAGE);
    return 0;
  }
  if (command === '--version' || command === '-v' || command === 'version') {
    console.log(`ferry ${version()} (Node.js ${process.version})`);
    return 0;
  }
  if (COMMAND_USAGE[command] === undefined) throw new UsageError(`unknown command "${command}" (ferry --help lists the commands)`);
  let parsed;
  try {
    parsed = parseArgs({
      args: rest,
      allowPositionals: true,
      options: {
        mappings: { type: 'string' },
        host: { type: 'string' },
        port: { type: 'string' },
        'ext-proc-port': { type: 'string' },
        'admin-port': { type: 'string' },
        'no-watch': { type: 'boolean' },
        'max-body-bytes': { type: 'string' },
        'admin-host': { type: 'string' },
        'problem-detail': { type: 'string' },
        'drain-timeout-ms': { type: 'string' },
        ...Object.fromEntries(LIMIT_SETTINGS.map(([flag]) => [flag, { type: 'string' as const }])),
        workers: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (err) {
    // parseArgs' own messages run on with advice about `--`; their first sentence is the point.
    const text = err instanceof Error ? (err.message.split(/\.\s/)[0] ?? err.message) : String(err);
    throw new UsageError(`${text.replace(/\.$/, '')} for ferry ${command} (ferry ${command} --help lists the options)`);
  }
  const { values, positionals } = parsed;
  if (values.help) {
    console.log(COMMAND_USAGE[command]);
    return 0;
  }
  const dir = positionals[0] ?? values.mappings ?? process.env['FERRY_MAPPINGS'] ?? 'mappings';
  checkMappingFolder(dir);
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
      const drainGiven = values['drain-timeout-ms'];
      const drain = drainGiven ?? env['FERRY_DRAIN_TIMEOUT_MS'];
      const host = values.host ?? env['FERRY_HOST'] ?? '127.0.0.1';
      const ports: PortSetting[] = [
        { port: portSetting(values.port ?? env['FERRY_PORT'] ?? '8080', '--port / FERRY_PORT'), setting: '--port (FERRY_PORT)' },
        {
          port: portSetting(values['admin-port'] ?? env['FERRY_ADMIN_PORT'] ?? '9090', '--admin-port / FERRY_ADMIN_PORT'),
          setting: '--admin-port (FERRY_ADMIN_PORT)',
        },
        ...(extProc !== undefined
          ? [{ port: portSetting(extProc, '--ext-proc-port / FERRY_EXT_PROC_PORT'), setting: '--ext-proc-port (FERRY_EXT_PROC_PORT)' }]
          : []),
      ];
      const ferry = await startFerry({
        mappingsDir: dir,
        host,
        port: ports[0]!.port,
        adminPort: ports[1]!.port,
        ...(ports[2] !== undefined ? { extProcPort: ports[2].port } : {}),
        ...(maxBody !== undefined ? { maxBodyBytes: positiveInt(maxBody, 'the body limit') } : {}),
        ...(adminHost !== undefined ? { adminHost } : {}),
        ...(drain !== undefined
          ? { drainTimeoutMs: positiveInt(drain, drainGiven !== undefined ? '--drain-timeout-ms' : 'FERRY_DRAIN_TIMEOUT_MS') }
          : {}),
        limits,
        problemDetail: detail,
        watch: !values['no-watch'],
        logger,
        ...(otel
          ? { telemetry: createTelemetry({ tracer: otel.tracerProvider.getTracer('ferry'), urlPath: 'route' }), onClosed: () => otel.shutdown() }
          : {}),
      }).catch((err: unknown) => {
        throw listenFailure(err, host, ports) ?? err;
      });
      logger.info('ferry listening', {
        http: ferry.httpPort,
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
    if (err instanceof ConfigError || err instanceof UsageError || err instanceof StartupError) {
      console.error(err instanceof ConfigError ? err.message : `ferry: ${err.message}`);
      process.exitCode = err instanceof UsageError ? 2 : 1;
    } else {
      console.error(err instanceof Error ? (err.stack ?? err.message) : String(err));
      process.exitCode = 1;
    }
  },
);
