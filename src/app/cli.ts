/**
 * `ferry serve | validate | routes | openapi`: the command line over the composition root.
 */
import cluster from 'node:cluster';
import { accessSync, constants as fsConstants, readFileSync, statSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { parseWorkers, startClusterPrimary } from './cluster.js';
import { ConfigError } from '../config/errors.js';
import type { DubboReplyBudgets } from '../codec/hessian/constants.js';
import type { FrontendLimits } from '../frontends/contract.js';
import { TlsFilesError, type ServerTlsFiles } from '../frontends/tls.js';
import { startFerry, validateMappings } from './main.js';
import { checkConfigAgainst, parseServiceKey, runImport } from './import.js';
import { runReflectionImport } from './import-reflection.js';
import { SignatureSourceError } from '../errors/index.js';
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

/** The mapping-folder budgets, each with its flag, variable and startFerry key. */
const MAPPING_SETTINGS: ReadonlyArray<readonly [flag: string, env: string, key: 'maxFileBytes' | 'maxTotalBytes' | 'parseTimeoutMs' | 'reload']> = [
  ['max-mapping-file-bytes', 'FERRY_MAX_MAPPING_FILE_BYTES', 'maxFileBytes'],
  ['max-mapping-bytes', 'FERRY_MAX_MAPPING_BYTES', 'maxTotalBytes'],
  ['mapping-parse-timeout-ms', 'FERRY_MAPPING_PARSE_TIMEOUT_MS', 'parseTimeoutMs'],
  ['reload-timeout-ms', 'FERRY_RELOAD_TIMEOUT_MS', 'reload'],
];

/** The Dubbo reply budgets, each with its flag, variable and startFerry `dubboReplyBudgets` key. */
const REPLY_SETTINGS: ReadonlyArray<readonly [flag: string, env: string, key: keyof DubboReplyBudgets]> = [
  ['max-reply-attachments', 'FERRY_MAX_REPLY_ATTACHMENTS', 'maxAttachments'],
  ['max-reply-attachment-chars', 'FERRY_MAX_REPLY_ATTACHMENT_CHARS', 'maxAttachmentChars'],
  ['max-reply-values', 'FERRY_MAX_REPLY_VALUES', 'maxValues'],
];

/** A positive integer setting, or a usage error naming where it came from. */
function positiveInt(text: string, what: string): number {
  const n = Number(text);
  if (!/^\d+$/.test(text.trim()) || !Number.isSafeInteger(n) || n <= 0) throw new UsageError(`${what} must be a positive integer, got "${text}"`);
  return n;
}

class UsageError extends Error {}

type Values = Record<string, string | string[] | boolean | undefined>;

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

/** The admin token from `--admin-token`, `--admin-token-file` or their variables (a file's one trailing newline dropped). */
function readAdminToken(values: Values, env: NodeJS.ProcessEnv): string | undefined {
  const given = typeof values['admin-token'] === 'string' ? values['admin-token'] : env['FERRY_ADMIN_TOKEN'];
  const file = typeof values['admin-token-file'] === 'string' ? values['admin-token-file'] : env['FERRY_ADMIN_TOKEN_FILE'];
  if (given !== undefined && file !== undefined)
    throw new UsageError('give the admin token once: --admin-token (FERRY_ADMIN_TOKEN) or --admin-token-file (FERRY_ADMIN_TOKEN_FILE)');
  let token = given;
  if (file !== undefined) {
    try {
      token = readFileSync(file, 'utf8').replace(/\r?\n$/, '');
    } catch (err) {
      throw new UsageError(`--admin-token-file (FERRY_ADMIN_TOKEN_FILE) ${file} cannot be read: ${err instanceof Error ? err.message : String(err)}`);
    }
  }
  if (token !== undefined && token.length < 16) throw new UsageError('the admin token must be at least 16 characters');
  return token;
}

/** Whether a listen address is loopback only. */
function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\./.test(host);
}

/** An expected start-up failure (port in use, missing mapping folder, ...): one line, exit 1, no stack. */
class StartupError extends Error {}

const SERVE_USAGE = `ferry serve [--mappings DIR] [--host HOST] [--port N] [--ext-proc-port N] [--admin-port N] [--no-watch]
            [--workers N|auto]  (N processes on the same ports, node:cluster; default 1)
            [--check-signatures]  (check Dubbo routes of ZooKeeper-registered services against the
            providers' service definitions at start-up and each reload: logged, /readyz notes)
            [--tls-cert FILE --tls-key FILE [--tls-client-ca FILE]] [--plain-port N]
            [--ext-proc-tls-cert FILE --ext-proc-tls-key FILE [--ext-proc-tls-client-ca FILE]]
  Serves HTTP (default 127.0.0.1:8080, mappings/); Envoy ext_proc (gRPC) when a port is given;
  /metrics /healthz /readyz /openapi.json on the admin port (default 9090);
  reloads the folder when it changes; SIGTERM drains, SIGHUP reloads.
  With --tls-cert/--tls-key, HTTPS (HTTP/2 and HTTP/1.1) on --port instead of HTTP, client
  certificates checked against --tls-client-ca when given, plain HTTP on --plain-port only when
  asked; --ext-proc-tls-* the same for ext_proc. Certificate files are re-read when they change.

Budgets and disclosure (flag, or its variable; defaults and effects in docs/operations.md):
  --admin-host HOST (FERRY_ADMIN_HOST, default 127.0.0.1)   --max-body-bytes N (FERRY_MAX_BODY_BYTES)
  --admin-token TOKEN | --admin-token-file FILE (FERRY_ADMIN_TOKEN, FERRY_ADMIN_TOKEN_FILE): the admin API, /metrics
      and the console's try-it need Authorization: Bearer TOKEN; the console is at /console on the admin port
${[...LIMIT_SETTINGS, ...MAPPING_SETTINGS, ...REPLY_SETTINGS].map(([flag, env]) => `  --${flag} N (${env})`).join('\n')}
  --drain-timeout-ms N (FERRY_DRAIN_TIMEOUT_MS, default 10000: how long SIGTERM waits for requests in flight)
  --envoy-message-timeout-ms N, --envoy-max-message-timeout-ms N (FERRY_ENVOY_MESSAGE_TIMEOUT_MS, FERRY_ENVOY_MAX_MESSAGE_TIMEOUT_MS):
      the message_timeout and max_message_timeout of the Envoy ext_proc filter in front; a route longer than
      the first asks Envoy for more time (up to the second), and one that cannot fit answers 504 before Envoy does
  --ext-proc-metadata-namespace NS (FERRY_EXT_PROC_METADATA_NAMESPACE, default envoy.filters.http.ext_proc; '' for none)
  --problem-detail safe|full (FERRY_PROBLEM_DETAIL, default safe: 5xx answers carry no provider text)

Environment: FERRY_MAPPINGS, FERRY_HOST, FERRY_PORT, FERRY_EXT_PROC_PORT, FERRY_ADMIN_PORT,
FERRY_TLS_CERT, FERRY_TLS_KEY, FERRY_TLS_CLIENT_CA, FERRY_PLAIN_PORT,
FERRY_EXT_PROC_TLS_CERT, FERRY_EXT_PROC_TLS_KEY, FERRY_EXT_PROC_TLS_CLIENT_CA,
FERRY_STICKY_KEYS (comma-separated signing keys for sticky cookies),
FERRY_LOG_LEVEL (debug|info|warn|error), FERRY_WORKERS, and the standard OTEL_* variables for tracing.`;

/** Each command's own help (`ferry <command> --help`). */
const COMMAND_USAGE: Readonly<Record<string, string>> = {
  serve: SERVE_USAGE,
  validate:
    'ferry validate [DIR] [--against JAR|DIR|zookeeper://HOST:PORT|nacos://HOST:PORT]\n  Checks a mapping folder (default mappings/, or --mappings DIR / FERRY_MAPPINGS); exit 1 with file:line:col messages.\n' +
    "  --against also checks each Dubbo route against the provider's classes or service definition.",
  import:
    'ferry import --jar JAR|DIR | --registry zookeeper://HOST:PORT|nacos://HOST:PORT  --interface [GROUP/]FQCN[:VERSION] ...\n' +
    '             [--version V] [--group G] [--endpoint HOST:PORT] [--out FILE]\n' +
    '  Writes a mapping for Dubbo interfaces (stdout, or FILE; an existing FILE is never overwritten:\n' +
    '  the import goes to FILE.new and the changes are listed).\n' +
    'ferry import --reflection HOST:PORT --out FILE [--service package.Service ...] [--endpoint HOST:PORT] [--timeout-ms N]\n' +
    "  Writes a mapping for gRPC services from the server's reflection service, and their descriptors beside\n" +
    '  it (FILE without .yaml, plus .binpb); an existing FILE is never overwritten (FILE.new, changes listed).',
  routes: 'ferry routes [DIR]\n  Lists the routes a mapping folder serves (YAML and proto-derived).',
  openapi: 'ferry openapi [DIR]\n  Prints the OpenAPI 3.1 document of a mapping folder.',
};

const USAGE = `Usage: ferry <command> [options]   (ferry <command> --help for its options)

Commands:
  serve      serve the mapping folder over HTTP (and Envoy ext_proc)
  validate   check a mapping folder (--against a provider's classes or service definitions)
  import     write a mapping from a Dubbo API jar, the service definitions in ZooKeeper, or gRPC reflection
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

/** `ferry import --reflection`: gRPC services from the server's reflection service (app/import-reflection.ts). */
async function importFromReflection(values: Values): Promise<number> {
  if (values.jar !== undefined || values.registry !== undefined) throw new UsageError('ferry import takes one of --jar, --registry or --reflection');
  if (typeof values.out !== 'string') throw new UsageError('ferry import --reflection needs --out FILE (the descriptors are written beside it)');
  const timeout = values['timeout-ms'];
  const result = await runReflectionImport({
    address: String(values.reflection),
    out: values.out,
    ...(Array.isArray(values.service) ? { services: values.service } : {}),
    ...(Array.isArray(values.endpoint) ? { endpoints: values.endpoint } : {}),
    ...(typeof timeout === 'string' ? { budgets: { timeoutMs: positiveInt(timeout, '--timeout-ms') } } : {}),
  });
  for (const s of result.services) {
    console.error(
      `${s.name}: ${s.methods} methods, ${s.fromHttpRules} with google.api.http routes, ${s.routes} routes written → ${result.written.mapping}`,
    );
    for (const why of s.skipped) console.error(`  not imported: ${why}`);
  }
  console.error(`${result.files} descriptor files (reflection ${result.version}) → ${result.written.descriptorSet}`);
  if (result.changes !== undefined) {
    console.error(`${values.out} exists and was left as it is; the fresh import is ${result.written.mapping}. Changes since:`);
    for (const c of result.changes.length > 0 ? result.changes : ['none']) console.error(`  ${c}`);
  }
  return 0;
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
        'tls-cert': { type: 'string' },
        'tls-key': { type: 'string' },
        'tls-client-ca': { type: 'string' },
        'plain-port': { type: 'string' },
        'ext-proc-tls-cert': { type: 'string' },
        'ext-proc-tls-key': { type: 'string' },
        'ext-proc-tls-client-ca': { type: 'string' },
        'check-signatures': { type: 'boolean' },
        'max-body-bytes': { type: 'string' },
        'admin-host': { type: 'string' },
        'admin-token': { type: 'string' },
        'admin-token-file': { type: 'string' },
        'problem-detail': { type: 'string' },
        'envoy-message-timeout-ms': { type: 'string' },
        'envoy-max-message-timeout-ms': { type: 'string' },
        'ext-proc-metadata-namespace': { type: 'string' },
        'drain-timeout-ms': { type: 'string' },
        ...Object.fromEntries([...LIMIT_SETTINGS, ...MAPPING_SETTINGS, ...REPLY_SETTINGS].map(([flag]) => [flag, { type: 'string' as const }])),
        workers: { type: 'string' },
        against: { type: 'string' },
        jar: { type: 'string' },
        registry: { type: 'string' },
        interface: { type: 'string', multiple: true },
        version: { type: 'string' },
        group: { type: 'string' },
        endpoint: { type: 'string', multiple: true },
        out: { type: 'string' },
        reflection: { type: 'string' },
        service: { type: 'string', multiple: true },
        'timeout-ms': { type: 'string' },
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
  if (command !== 'import') checkMappingFolder(dir);
  switch (command) {
    case 'validate': {
      const { config, engine } = await validateMappings(dir);
      const derived = engine.routes.length - config.routes.length;
      const checked =
        values.against === undefined ? '' : `, ${await checkConfigAgainst(config, values.against)} Dubbo routes match ${values.against}`;
      console.log(
        `${dir}: ${config.services.size} services, ${config.types.size} types, ${config.routes.length} routes (+${derived} from proto options)${checked} — OK`,
      );
      return 0;
    }
    case 'import': {
      if (values.reflection !== undefined) return await importFromReflection(values);
      const source = values.jar ?? values.registry;
      if (source === undefined || (values.jar !== undefined && values.registry !== undefined))
        throw new UsageError('ferry import takes one of --jar or --registry');
      const interfaces = values.interface ?? [];
      if (interfaces.length === 0) throw new UsageError('ferry import needs --interface (the Java interface, e.g. com.example.bank.AccountService)');
      if (interfaces.length > 1 && (values.version !== undefined || values.group !== undefined)) {
        throw new UsageError('with several --interface, give each its version and group as [group/]interface[:version]');
      }
      const services = interfaces.map((text) => ({
        ...parseServiceKey(text),
        ...(values.version !== undefined ? { version: values.version } : {}),
        ...(values.group !== undefined ? { group: values.group } : {}),
      }));
      const result = await runImport({
        source,
        services,
        ...(values.endpoint !== undefined ? { endpoints: values.endpoint } : {}),
        ...(values.out !== undefined ? { out: values.out } : {}),
      });
      if (result.written === undefined) process.stdout.write(result.text);
      for (const sig of result.signatures) {
        console.error(`${sig.interface}: ${sig.methods.length} methods, ${sig.types.size} types${result.written ? ` → ${result.written}` : ''}`);
        for (const s of sig.skipped) console.error(`  not imported: ${s.method}: ${s.why}`);
      }
      if (result.changes !== undefined) {
        console.error(`${values.out} exists and was left as it is; the fresh import is ${result.written}. Changes since:`);
        for (const c of result.changes.length > 0 ? result.changes : ['none']) console.error(`  ${c}`);
      }
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
      const mapping: Partial<Record<(typeof MAPPING_SETTINGS)[number][2], number>> = {};
      for (const [flag, name, key] of MAPPING_SETTINGS) {
        const given = (values as Record<string, string | boolean | undefined>)[flag];
        const text = typeof given === 'string' ? given : env[name];
        if (text !== undefined) mapping[key] = positiveInt(text, typeof given === 'string' ? `--${flag}` : name);
      }
      const { reload: reloadTimeoutMs, ...mappingLimits } = mapping;
      const replyBudgets: Partial<Record<keyof DubboReplyBudgets, number>> = {};
      for (const [flag, name, key] of REPLY_SETTINGS) {
        const given = (values as Record<string, string | boolean | undefined>)[flag];
        const text = typeof given === 'string' ? given : env[name];
        if (text !== undefined) replyBudgets[key] = positiveInt(text, typeof given === 'string' ? `--${flag}` : name);
      }
      const detail = values['problem-detail'] ?? env['FERRY_PROBLEM_DETAIL'] ?? 'safe';
      if (detail !== 'safe' && detail !== 'full') throw new UsageError(`--problem-detail / FERRY_PROBLEM_DETAIL is safe or full, got "${detail}"`);
      const adminHost = values['admin-host'] ?? env['FERRY_ADMIN_HOST'];
      const adminToken = readAdminToken(values, env);
      const tls = tlsFiles(values, env, 'tls', 'FERRY_TLS');
      const extProcTls = tlsFiles(values, env, 'ext-proc-tls', 'FERRY_EXT_PROC_TLS');
      const plainPort = values['plain-port'] ?? env['FERRY_PLAIN_PORT'];
      if (plainPort !== undefined && tls === undefined)
        throw new UsageError('--plain-port (FERRY_PLAIN_PORT) is for a plain HTTP port beside HTTPS: give --tls-cert and --tls-key too');
      const envoyTimeout = values['envoy-message-timeout-ms'] ?? env['FERRY_ENVOY_MESSAGE_TIMEOUT_MS'];
      const envoyMax = values['envoy-max-message-timeout-ms'] ?? env['FERRY_ENVOY_MAX_MESSAGE_TIMEOUT_MS'];
      if (envoyMax !== undefined && envoyTimeout === undefined) {
        throw new UsageError('--envoy-max-message-timeout-ms needs --envoy-message-timeout-ms (the message_timeout of the same Envoy filter)');
      }
      const envoyTimers =
        envoyTimeout === undefined
          ? undefined
          : {
              messageTimeoutMs: positiveInt(envoyTimeout, '--envoy-message-timeout-ms / FERRY_ENVOY_MESSAGE_TIMEOUT_MS'),
              maxMessageTimeoutMs:
                envoyMax === undefined || envoyMax === '0'
                  ? 0
                  : positiveInt(envoyMax, '--envoy-max-message-timeout-ms / FERRY_ENVOY_MAX_MESSAGE_TIMEOUT_MS'),
            };
      const metadataNamespace = values['ext-proc-metadata-namespace'] ?? env['FERRY_EXT_PROC_METADATA_NAMESPACE'];
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
        extProc: { ...(envoyTimers !== undefined ? { envoyTimers } : {}), ...(metadataNamespace !== undefined ? { metadataNamespace } : {}) },
        ...(maxBody !== undefined ? { maxBodyBytes: positiveInt(maxBody, 'the body limit') } : {}),
        ...(adminHost !== undefined ? { adminHost } : {}),
        ...(adminToken !== undefined ? { adminToken } : {}),
        ...(tls !== undefined ? { tls } : {}),
        ...(extProcTls !== undefined ? { extProcTls } : {}),
        ...(plainPort !== undefined ? { plainPort: Number(plainPort) } : {}),
        ...(drain !== undefined
          ? { drainTimeoutMs: positiveInt(drain, drainGiven !== undefined ? '--drain-timeout-ms' : 'FERRY_DRAIN_TIMEOUT_MS') }
          : {}),
        limits,
        problemDetail: detail,
        watch: !values['no-watch'],
        checkSignatures: values['check-signatures'] === true,
        mappingLimits,
        ...(reloadTimeoutMs !== undefined ? { reloadTimeoutMs } : {}),
        dubboReplyBudgets: replyBudgets,
        logger,
        ...(otel
          ? { telemetry: createTelemetry({ tracer: otel.tracerProvider.getTracer('ferry'), urlPath: 'route' }), onClosed: () => otel.shutdown() }
          : {}),
      }).catch((err: unknown) => {
        throw listenFailure(err, host, ports) ?? err;
      });
      // Before `ferry listening`, so that whoever waits for that line has seen this one.
      if (adminToken === undefined && !isLoopback(adminHost ?? '127.0.0.1')) {
        logger.warn('the admin port listens beyond loopback without a token: set --admin-token (FERRY_ADMIN_TOKEN, FERRY_ADMIN_TOKEN_FILE)', {
          adminHost,
        });
      }
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
    if (
      err instanceof ConfigError ||
      err instanceof UsageError ||
      err instanceof StartupError ||
      err instanceof SignatureSourceError ||
      err instanceof TlsFilesError
    ) {
      console.error(err instanceof ConfigError ? err.message : `ferry: ${err.message}`);
      process.exitCode = err instanceof UsageError ? 2 : 1;
    } else {
      console.error(err instanceof Error ? (err.stack ?? err.message) : String(err));
      process.exitCode = 1;
    }
  },
);
