/**
 * Starts the Apache Dubbo sample provider (samples/java-provider) as a real JVM on free loopback
 * ports, for tests that need a Dubbo peer nobody here wrote. See samples/java-provider/README.md
 * for the services it exports.
 */
import { existsSync } from 'node:fs';
import { ensureJavaTools, javaToolPaths } from './java-build.js';
import { spawnManaged, terminate, type ManagedProcess } from './jvm-process.js';
import { freePort } from './ports.js';

/** Options for {@link startJavaProvider}. */
export interface JavaProviderOptions {
  /** Returned by AccountService.whoami(); default `provider-<dubboPort>`. */
  name?: string;
  /** Dubbo protocol fixed thread pool size (queues 0, so exhaustion answers status 100). Default 200. */
  threads?: number;
  /** e.g. `zookeeper://127.0.0.1:2181` or `nacos://127.0.0.1:8848`; default none (direct connections only). */
  registry?: string;
  /** Dubbo's `register-mode`: `interface` (default), `instance` or `all`. */
  registerMode?: 'interface' | 'instance' | 'all';
  /** Dubbo application name (default `ferry-sample-provider`); application-level discovery groups instances by it. */
  application?: string;
  /** `local` (default: the instance's MetadataService serves its MetadataInfo) or `remote` (also in the metadata report). */
  metadataType?: 'local' | 'remote';
  /** Provider `weight` (Dubbo's default 100). */
  weight?: number;
  /**
   * Provider `warmup`, ms. Default 0 here (no ramp): Dubbo's own default is 10 minutes, so every
   * provider a test starts would still be warming, and balancing (least-pending sends sequential
   * calls to the heaviest weight) would follow uptime instead of what the test is about.
   */
  warmupMs?: number;
  /** Provider `dubbo.tag`. */
  tag?: string;
  /** dubbo protocol `serialization` (default hessian2) and `prefer.serialization` (default: the same). */
  serialization?: string;
  preferSerialization?: string;
  /** TLS on the dubbo (and Triple) port (Dubbo 3's SslConfig): PEM certificate and key; mTLS with `clientCa`. */
  tls?: { cert: string; key: string; clientCa?: string };
  /** Export AccountService with this `token` (every call must carry it). */
  token?: string;
  /** Also serve Triple (the Greeter protobuf service) on its own port. Default false. */
  triple?: boolean;
  /** Log each received call's method name to stderr. */
  verbose?: boolean;
  /** Fixed ports instead of free ones (restart() reuses the ports either way). */
  dubboPort?: number;
  triplePort?: number;
  /**
   * Dubbo's graceful-shutdown wait (`dubbo.service.shutdown.wait`, ms) used on SIGTERM. Dubbo's
   * default (10 s cap; ~2.5 s idle, ~4.7 s with ZooKeeper) makes teardown slow, so tests default
   * to 2000. The read-only event is sent at the start of shutdown either way.
   */
  shutdownWaitMs?: number;
  /** Extra JVM flags (e.g. `-Ddubbo.xxx=...`), placed before `-jar`. */
  jvmArgs?: string[];
}

/** A running sample provider. */
export interface JavaProvider {
  dubboPort: number;
  /** 0 when Triple is off. */
  triplePort: number;
  name: string;
  /** Current JVM pid (changes on restart). */
  readonly pid: number;
  /** `127.0.0.1:<dubboPort>` */
  readonly address: string;
  /** stderr captured so far from the current JVM (last 64 KiB). */
  stderr(): string;
  /** SIGTERM (Dubbo's graceful shutdown: read-only event to consumers), then wait for exit. */
  stop(): Promise<void>;
  /** SIGKILL (no read-only event, sockets just drop), then wait for exit. */
  kill(): Promise<void>;
  /** Stop (graceful) if running, then start again on the same ports and wait until ready. */
  restart(): Promise<void>;
}

const READY_TIMEOUT_MS = 60_000;
const READY_LINE = /^FERRY-SAMPLE READY dubbo=(\d+) triple=(\d+)\s*$/;

/** JVM flags that make the provider start fast and stay small in tests. */
export const FAST_JVM_FLAGS: readonly string[] = ['-XX:TieredStopAtLevel=1', '-XX:+UseSerialGC', '-Xss512k', '-Xmx256m', '-Xshare:auto'];

/**
 * The provider's class-data archive (scripts/setup-java.sh makes it next to the jar): each of the
 * suite's many provider starts maps the classes instead of loading them. None when it is missing.
 */
function classArchiveFlags(jar: string): string[] {
  const archive = jar.replace(/\.jar$/, '.jsa');
  return existsSync(archive) ? [`-XX:SharedArchiveFile=${archive}`] : [];
}

/**
 * Builds the jar if needed (scripts/setup-java.sh), starts the provider on free ports and resolves
 * once it printed `FERRY-SAMPLE READY ...`. Rejects after 60 s with the captured stderr.
 */
export async function startJavaProvider(options: JavaProviderOptions = {}): Promise<JavaProvider> {
  await ensureJavaTools();
  const { providerJar } = javaToolPaths();
  const dubboPort = options.dubboPort ?? (await freePort());
  let triplePort = 0;
  if (options.triple) triplePort = options.triplePort ?? (await freePort());
  const name = options.name ?? `provider-${dubboPort}`;

  const args = [
    ...FAST_JVM_FLAGS,
    ...classArchiveFlags(providerJar),
    `-Ddubbo.service.shutdown.wait=${options.shutdownWaitMs ?? 2000}`,
    ...(options.jvmArgs ?? []),
    '-jar',
    providerJar,
    '--host',
    '127.0.0.1',
    '--dubbo-port',
    String(dubboPort),
    '--triple-port',
    String(triplePort),
    '--name',
    name,
    '--threads',
    String(options.threads ?? 200),
    '--exit-on-stdin-eof',
  ];
  if (options.registry) args.push('--registry', options.registry);
  if (options.registerMode) args.push('--register-mode', options.registerMode);
  if (options.application !== undefined) args.push('--application', options.application);
  if (options.metadataType !== undefined) args.push('--metadata-type', options.metadataType);
  if (options.weight !== undefined) args.push('--weight', String(options.weight));
  args.push('--warmup', String(options.warmupMs ?? 0));
  if (options.tag !== undefined) args.push('--tag', options.tag);
  if (options.serialization !== undefined) args.push('--serialization', options.serialization);
  if (options.preferSerialization !== undefined) args.push('--prefer-serialization', options.preferSerialization);
  if (options.verbose) args.push('--verbose');
  if (options.tls !== undefined) args.push('--tls-cert', options.tls.cert, '--tls-key', options.tls.key);
  if (options.tls?.clientCa !== undefined) args.push('--tls-client-ca', options.tls.clientCa);
  if (options.token !== undefined) args.push('--token', options.token);

  const launch = async (): Promise<ManagedProcess> => {
    const proc = spawnManaged(`java-provider:${dubboPort}`, 'java', args);
    try {
      await proc.waitForLine(READY_LINE, READY_TIMEOUT_MS);
    } catch (err) {
      await terminate(proc, 5000);
      throw err;
    }
    return proc;
  };

  let current = await launch();
  return {
    dubboPort,
    triplePort,
    name,
    get pid() {
      return current.pid;
    },
    get address() {
      return `127.0.0.1:${dubboPort}`;
    },
    stderr: () => current.stderrTail(),
    async stop() {
      await terminate(current);
    },
    async kill() {
      await current.signalAndWait('SIGKILL');
    },
    async restart() {
      await terminate(current);
      current = await launch();
    },
  };
}

/** A legacy Apache Dubbo 2.7 provider (samples/java-provider-27) of com.example.legacy.GreetingService 1.0.0. */
export interface LegacyProvider {
  readonly dubboPort: number;
  readonly name: string;
  stderr(): string;
  kill(): Promise<void>;
}

/**
 * Starts samples/java-provider-27 (built by scripts/setup-java.sh) registering interface-level in
 * `registry` (`zookeeper://...`); resolves once it printed its READY line. It exits when its stdin
 * closes, so it never outlives the test process.
 */
export async function startLegacyProvider(options: { registry: string; name?: string }): Promise<LegacyProvider> {
  await ensureJavaTools();
  const { legacyProviderClasspath } = javaToolPaths();
  const dubboPort = await freePort();
  const name = options.name ?? `legacy-${dubboPort}`;
  // Dubbo 2.7's javassist proxies define classes through reflection that Java 17 closes by default.
  const args = [
    ...FAST_JVM_FLAGS,
    '--add-opens',
    'java.base/java.lang=ALL-UNNAMED',
    '-cp',
    legacyProviderClasspath,
    'com.example.legacy.LegacyProvider',
  ];
  args.push('--host', '127.0.0.1', '--dubbo-port', String(dubboPort), '--registry', options.registry, '--name', name);
  const proc = spawnManaged(`legacy-provider:${dubboPort}`, 'java', args);
  try {
    await proc.waitForLine(READY_LINE, READY_TIMEOUT_MS);
  } catch (err) {
    await terminate(proc, 5000);
    throw err;
  }
  return {
    dubboPort,
    name,
    stderr: () => proc.stderrTail(),
    async kill() {
      await proc.signalAndWait('SIGKILL');
    },
  };
}
