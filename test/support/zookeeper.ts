/**
 * A real, throw-away ZooKeeper (Debian's `zookeeper` package) for discovery tests: standalone,
 * loopback only, data in a temp folder, on a free port.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensureJavaTools, javaToolPaths } from './java-build.js';
import { spawnManaged, terminate, type ManagedProcess } from './jvm-process.js';
import { freePort } from './ports.js';

/** A running ZooKeeper; `stop()` ends it and removes its data folder. */
export interface ZooKeeperServer {
  port: number;
  /** `127.0.0.1:<port>`, for node-zookeeper-client. */
  connectString: string;
  /** `zookeeper://127.0.0.1:<port>`, for Dubbo's --registry flag and Ferry's mapping files. */
  registryUrl: string;
  /** With `tls`: the secure client port (TLS only; the plain `port` stays for four-letter words and plain clients). */
  securePort?: number;
  pid: number;
  stop(): Promise<void>;
}

/** The secure client port's certificate (PEM files) and the CA its clients' certificates must chain to. */
export interface ZooKeeperTls {
  readonly cert: string;
  readonly key: string;
  readonly ca: string;
  /** Whether clients must show a certificate (ZooKeeper's `ssl.clientAuth`; default need). */
  readonly clientAuth?: 'need' | 'want' | 'none';
}

const ZK_JAR = '/usr/share/java/zookeeper.jar';
const NETTY_CODEC_JAR = '/usr/share/java/netty-codec.jar';
const READY_TIMEOUT_MS = 30_000;

/**
 * Sends a ZooKeeper four-letter command ("srvr", "ruok", ...) and returns the whole answer, or ''
 * when the port does not answer (yet).
 */
export function fourLetterWord(port: number, word: string, timeoutMs = 2000): Promise<string> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    let text = '';
    const timer = setTimeout(() => socket.destroy(), timeoutMs);
    socket.setEncoding('utf8');
    socket.on('connect', () => socket.write(word));
    socket.on('data', (d: string) => (text += d));
    socket.on('error', () => {});
    socket.on('close', () => {
      clearTimeout(timer);
      resolve(text);
    });
  });
}

/**
 * Starts ZooKeeper on a free loopback port and resolves once `srvr` reports `Mode: standalone`.
 * Stop the Dubbo providers registered in it first: a provider whose ZooKeeper is gone spends its
 * shutdown retrying to unregister.
 */
/**
 * `heapMb`: the server JVM's heap (default 128; bench/registry-scale.ts needs more for 50,000 nodes).
 * `maxClientCnxns`: connections one client address may hold (default 0, unlimited; ZooKeeper's own default is 60).
 */
export async function startZooKeeper(options: { heapMb?: number; maxClientCnxns?: number; tls?: ZooKeeperTls } = {}): Promise<ZooKeeperServer> {
  await ensureJavaTools();
  const dir = await mkdtemp(join(tmpdir(), 'ferry-zk-'));
  const port = await freePort();
  const cfg = join(dir, 'zoo.cfg');
  const securePort = options.tls !== undefined ? await freePort() : undefined;
  const tlsLines: string[] = [];
  if (options.tls !== undefined) {
    // ZooKeeper's PEM key store is one file holding the certificate and its key.
    const keyStore = join(dir, 'server-keystore.pem');
    await writeFile(keyStore, (await readFile(options.tls.cert, 'utf8')) + (await readFile(options.tls.key, 'utf8')));
    tlsLines.push(
      `secureClientPort=${securePort}`,
      'secureClientPortAddress=127.0.0.1',
      'serverCnxnFactory=org.apache.zookeeper.server.NettyServerCnxnFactory',
      `ssl.keyStore.location=${keyStore}`,
      'ssl.keyStore.type=PEM',
      `ssl.trustStore.location=${options.tls.ca}`,
      'ssl.trustStore.type=PEM',
      `ssl.clientAuth=${options.tls.clientAuth ?? 'need'}`,
      // The server does not check the client's host name: clients connect from anywhere.
      'ssl.hostnameVerification=false',
    );
  }
  await writeFile(
    cfg,
    [
      'tickTime=2000',
      `dataDir=${join(dir, 'data')}`,
      `clientPort=${port}`,
      'clientPortAddress=127.0.0.1',
      'admin.enableServer=false',
      '4lw.commands.whitelist=ruok,srvr,stat,cons',
      `maxClientCnxns=${options.maxClientCnxns ?? 0}`,
      // Tests create sessions with small timeouts; let them be small.
      'minSessionTimeout=1000',
      ...tlsLines,
      '',
    ].join('\n'),
  );
  const { watchdogClasspath } = javaToolPaths();
  let proc: ManagedProcess;
  try {
    proc = spawnManaged('zookeeper', 'java', [
      `-Xmx${options.heapMb ?? 128}m`,
      '-XX:+UseSerialGC',
      '-XX:TieredStopAtLevel=1',
      `-Dzookeeper.log.dir=${dir}`,
      '-cp',
      // Debian's zookeeper.jar manifest leaves out netty-codec, which the Netty connection factory (TLS) needs.
      [watchdogClasspath, ZK_JAR, ...(options.tls !== undefined ? [NETTY_CODEC_JAR] : [])].join(':'),
      'ferry.oracle.StdinWatchdog',
      'org.apache.zookeeper.server.ZooKeeperServerMain',
      cfg,
    ]);
  } catch (err) {
    await rm(dir, { recursive: true, force: true });
    throw err;
  }

  const stop = async (): Promise<void> => {
    await terminate(proc);
    await rm(dir, { recursive: true, force: true });
  };

  const deadline = Date.now() + READY_TIMEOUT_MS;
  for (;;) {
    if (proc.hasExited()) {
      await stop();
      throw new Error(`zookeeper exited before it was ready\n--- stderr ---\n${proc.stderrTail()}`);
    }
    const answer = await fourLetterWord(port, 'srvr', 1000);
    if (/Mode: standalone/.test(answer)) break;
    if (Date.now() > deadline) {
      await stop();
      throw new Error(
        `zookeeper on port ${port} not ready after ${READY_TIMEOUT_MS} ms (last srvr answer: ${JSON.stringify(answer)})\n` +
          `--- stderr ---\n${proc.stderrTail()}`,
      );
    }
    await new Promise((r) => setTimeout(r, 100));
  }

  return {
    port,
    connectString: `127.0.0.1:${port}`,
    registryUrl: `zookeeper://127.0.0.1:${port}`,
    ...(securePort !== undefined ? { securePort } : {}),
    pid: proc.pid,
    stop,
  };
}
