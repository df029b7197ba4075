/**
 * The one place a ZooKeeper client is made, plain or over TLS (ZooKeeper's `secureClientPort`).
 *
 * node-zookeeper-client has no TLS transport: its ConnectionManager opens `net.connect(server)` and
 * nothing else. Rather than change client (the other npm clients are a native binding to the C
 * client, or unmaintained), the connection manager of each TLS client gets its own `connect()`
 * that opens `tls.connect()` instead, with the same handlers; the jute protocol above the socket is
 * the library's, unchanged. The session starts on `secureConnect` (after the handshake), so the
 * library's connect timeout covers the handshake too. The library retries a failed connection for
 * ever; each TLS failure is told to `onTlsError` as a coded RegistryError, once per kind of failure
 * until a connection succeeds, so that a certificate problem is in the log, not a silent retry loop.
 */
import { createHash } from 'node:crypto';
import { connect as tlsConnect, type TLSSocket } from 'node:tls';
import zookeeper from 'node-zookeeper-client';
import type { Client } from 'node-zookeeper-client';
import { RegistryError } from '../../errors/index.js';
import { upstreamTlsError } from '../../errors/transport.js';
import type { RegistryAccess, UpstreamTls } from '../../config/types.js';

/** How Ferry reaches one ZooKeeper registry beyond its address: TLS and digest credentials. */
export interface ZooKeeperAccess {
  /** Speak TLS (the server's `secureClientPort`); CA, client certificate and key as for upstreams. */
  readonly tls?: UpstreamTls;
  /** `user:password` for ZooKeeper's digest scheme (overrides one in the registry URL). */
  readonly digest?: string;
}

/**
 * The access of a registry: the mapping's `registry: { tls, username, password }`, else the
 * `user:password@` of its URL (percent-decoded) for digest.
 */
export function zooKeeperAccessOf(registry: string, access: RegistryAccess | undefined): ZooKeeperAccess {
  const digest = access?.username !== undefined ? `${access.username}:${access.password ?? ''}` : zooKeeperDigest(registry);
  return { ...(access?.tls !== undefined ? { tls: access.tls } : {}), ...(digest !== undefined ? { digest } : {}) };
}

/**
 * The `user:password` of a registry URL's user info (`zookeeper://user:password@host:2181`, each
 * part percent-decoded), for ZooKeeper's digest scheme; undefined without one. toConnectString drops
 * it, so messages and logs, which name the connect string, never carry it.
 */
export function zooKeeperDigest(registry: string): string | undefined {
  const m = /^zookeeper:\/\/([^@/?#]*)@/.exec(registry.trim());
  if (m === null) return undefined;
  const [user, ...rest] = m[1]!.split(':');
  return `${decodeURIComponent(user!)}:${decodeURIComponent(rest.join(':'))}`;
}

/** What tells two accesses apart in a sharing key, without the secret in clear. */
export function zooKeeperAccessKey(access: ZooKeeperAccess): string {
  const secret = access.digest !== undefined ? createHash('sha256').update(access.digest).digest('hex').slice(0, 16) : '';
  return `${access.tls?.identity ?? ''}|${secret}`;
}

export interface ZooKeeperClientOptions {
  readonly sessionTimeoutMs: number;
  readonly retryDelayMs?: number;
  readonly access?: ZooKeeperAccess;
  /** Told about each TLS failure (certificate faults, a port that does not speak TLS); never throws. */
  readonly onTlsError?: (err: RegistryError) => void;
}

/** The parts of node-zookeeper-client's ConnectionManager that `connect()` uses (lib/ConnectionManager.js). */
interface ConnectionManagerInternals {
  connect(): void;
  socket: TLSSocket;
  connectTimeout: number;
  connectTimeoutHandler: NodeJS.Timeout | null;
  setState(state: number): void;
  findNextServer(callback: (server: { host: string; port: number }) => void): void;
  onSocketConnected(): void;
  onSocketData(data: Buffer): void;
  onSocketDrain(): void;
  onSocketClosed(hadError: boolean): void;
  onSocketConnectTimeout(): void;
  onSocketError(err: Error): void;
}

/** ConnectionManager.STATES.CONNECTING of node-zookeeper-client. */
const CONNECTING = 1;

/**
 * A ZooKeeper client for `connectString` (`host:port,...`, no credentials), not connected yet.
 * With `access.tls` every connection of it, reconnects included, is TLS.
 */
export function createZooKeeperClient(connectString: string, options: ZooKeeperClientOptions): Client {
  const client = zookeeper.createClient(connectString, {
    sessionTimeout: options.sessionTimeoutMs,
    ...(options.retryDelayMs !== undefined ? { spinDelay: options.retryDelayMs } : {}),
    retries: 0,
  });
  // Sent with every (re)connect of this client: nodes under a digest ACL are readable.
  if (options.access?.digest !== undefined) client.addAuthInfo('digest', Buffer.from(options.access.digest));
  const tls = options.access?.tls;
  if (tls !== undefined) useTlsSockets(client, tls, options.onTlsError);
  return client;
}

function useTlsSockets(client: Client, tls: UpstreamTls, onTlsError: ((err: RegistryError) => void) | undefined): void {
  const manager = (client as unknown as { connectionManager?: ConnectionManagerInternals }).connectionManager;
  if (manager === undefined || typeof manager.findNextServer !== 'function' || typeof manager.onSocketConnected !== 'function') {
    // A node-zookeeper-client whose internals moved: refuse rather than speak plain text.
    throw new RegistryError('ZooKeeper over TLS: this node-zookeeper-client version has no ConnectionManager to give TLS sockets to');
  }
  let told = '';
  const tell = (err: unknown, endpoint: string): void => {
    const coded = upstreamTlsError(err, endpoint);
    if (coded === undefined) return;
    if (coded.message === told) return;
    told = coded.message;
    try {
      onTlsError?.(new RegistryError(`ZooKeeper ${coded.message}`, { cause: err, code: 'FERRY_REGISTRY_TLS' }));
    } catch {
      // A sink that throws must not break the reconnect loop.
    }
  };
  manager.connect = function connectTls(this: ConnectionManagerInternals): void {
    this.setState(CONNECTING);
    this.findNextServer((server) => {
      const endpoint = `${server.host}:${server.port}`;
      const socket = tlsConnect({
        host: server.host,
        port: server.port,
        ...tls.context,
        // SNI is a host name, never an IP address (RFC 6066); the certificate check still uses `host`.
        ...(tls.servername !== undefined ? { servername: tls.servername } : /^[\d.]+$|:/.test(server.host) ? {} : { servername: server.host }),
      });
      this.socket = socket;
      this.connectTimeoutHandler = setTimeout(this.onSocketConnectTimeout.bind(this), this.connectTimeout);
      socket.setNoDelay();
      socket.on('secureConnect', () => {
        told = '';
        this.onSocketConnected();
      });
      socket.on('data', this.onSocketData.bind(this));
      socket.on('drain', this.onSocketDrain.bind(this));
      socket.on('close', this.onSocketClosed.bind(this));
      socket.on('error', (err: Error) => {
        tell(err, endpoint);
        this.onSocketError(err);
      });
    });
  };
}
