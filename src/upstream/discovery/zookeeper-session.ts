/**
 * One ZooKeeper session per registry, shared by every source that reads it: the interface-level
 * source of each service (zookeeper.ts) and the application-level watcher (zookeeper-apps.ts).
 * A session per service would open 1,000 connections for 1,000 services, past ZooKeeper's default
 * of 60 per client address (`maxClientCnxns`), and the server would refuse the rest.
 *
 * The session is ref-counted (acquireShared): the last release closes it. When it expires (its
 * watches are gone with it), a new client replaces it and every user hears `expired`, then
 * `connected` again, and reads everything again.
 */
import type { Client } from 'node-zookeeper-client';
import type { RegistryError } from '../../errors/index.js';
import { acquireShared, type SharedWatcher } from './shared-watchers.js';
import { createZooKeeperClient, zooKeeperAccessKey, type ZooKeeperAccess } from './zookeeper-client.js';

export interface ZooKeeperSessionOptions {
  /** `host:port[,host:port...][/chroot]` (zookeeper.ts' toConnectString of the registry URL). */
  readonly connectString: string;
  /** TLS and digest credentials (zookeeper-client.ts' zooKeeperAccessOf), used by every connect. */
  readonly access?: ZooKeeperAccess;
  /** ZooKeeper session timeout (default 30 000 ms). */
  readonly sessionTimeoutMs?: number;
  /** Delay between connection attempts while ZooKeeper is down (default 1000 ms). */
  readonly retryDelayMs?: number;
}

/** What a user of the session is told. `connected` comes at once when the session already is. */
export interface ZooKeeperSessionEvents {
  /** Connected (first time, after a reconnect, or in a new session after expiry): read, and set watches. */
  connected?(client: Client): void;
  disconnected?(): void;
  /** The session expired: its watches are gone; a new session is being opened. */
  expired?(): void;
  authenticationFailed?(): void;
  /** A TLS failure (certificate fault, a port that does not speak TLS); the client keeps retrying. */
  tlsError?(err: RegistryError): void;
}

export interface ZooKeeperSession {
  /** The current client (undefined between an expiry and the new client, and after close). */
  client(): Client | undefined;
  connected(): boolean;
  /** Listens until the returned function is called. */
  listen(events: ZooKeeperSessionEvents): () => void;
  /** Gives the reference back; the last one closes the session. Idempotent. */
  release(): void;
}

type Shared = SharedWatcher<Omit<ZooKeeperSession, 'release'>>;

const sessions = new Map<string, Shared>();

/** How many sessions are open (tests check that services share them). */
export function openZooKeeperSessions(): number {
  return sessions.size;
}

/**
 * The session key: one session per connect string and access (TLS identity, a hash of the
 * credentials) and timing, which is the session's own.
 */
function sessionKey(options: ZooKeeperSessionOptions): string {
  return JSON.stringify([
    options.connectString,
    zooKeeperAccessKey(options.access ?? {}),
    options.sessionTimeoutMs ?? 30_000,
    options.retryDelayMs ?? 1000,
  ]);
}

/** A reference to the shared session of a registry, opened (and connecting) on first use. */
export function acquireZooKeeperSession(options: ZooKeeperSessionOptions): ZooKeeperSession {
  return acquireShared(sessions, sessionKey(options), (forget) => createSession(options, forget), undefined);
}

function createSession(options: ZooKeeperSessionOptions, forget: () => void): Shared {
  const users = new Set<ZooKeeperSessionEvents>();
  let client: Client | undefined;
  let isConnected = false;
  let closed = false;

  // Each user's handler runs on its own: one that throws does not keep the others from hearing.
  const tell = (what: (u: ZooKeeperSessionEvents) => void): void => {
    for (const u of [...users]) {
      try {
        what(u);
      } catch {
        // the user's own bug; its sink is not reachable from here
      }
    }
  };

  function start(): void {
    if (closed) return;
    const c = createZooKeeperClient(options.connectString, {
      sessionTimeoutMs: options.sessionTimeoutMs ?? 30_000,
      retryDelayMs: options.retryDelayMs ?? 1000,
      ...(options.access !== undefined ? { access: options.access } : {}),
      onTlsError: (err) => {
        if (c === client) tell((u) => u.tlsError?.(err));
      },
    });
    client = c;
    c.on('connected', () => {
      if (c !== client) return;
      isConnected = true;
      tell((u) => u.connected?.(c));
    });
    c.on('disconnected', () => {
      if (c !== client) return;
      isConnected = false;
      tell((u) => u.disconnected?.());
    });
    c.on('expired', () => {
      // An expired session cannot be revived: start a new one.
      if (c !== client) return;
      isConnected = false;
      client = undefined;
      c.close();
      tell((u) => u.expired?.());
      start();
    });
    c.on('authenticationFailed', () => {
      if (c === client) tell((u) => u.authenticationFailed?.());
    });
    c.connect();
  }

  const api: Omit<ZooKeeperSession, 'release'> = {
    client: () => client,
    connected: () => isConnected,
    listen(events) {
      // A wrapper per call: the same object listening twice is two listeners.
      const entry: ZooKeeperSessionEvents = { ...events };
      users.add(entry);
      const c = client;
      if (isConnected && c !== undefined) events.connected?.(c);
      return () => users.delete(entry);
    },
  };

  start();

  return {
    refs: 0,
    sinks: new Set(),
    api,
    close() {
      closed = true;
      forget();
      users.clear();
      const c = client;
      client = undefined;
      isConnected = false;
      c?.close();
    },
  };
}
