/**
 * Registers servers that cannot register themselves (the Python grpcio peers) in ZooKeeper, in
 * Dubbo's interface-level layout, as a deployment tool would: an ephemeral node
 * `/dubbo/<interface>/providers/<URL-encoded provider URL>` per server, each held by its own
 * ZooKeeper session, so a registration ends either by deleting the node or by ending the session.
 */
import zookeeper from 'node-zookeeper-client';
import type { Client } from 'node-zookeeper-client';

export interface ProviderUrlParts {
  /** `grpc`, `tri` or `dubbo`. */
  readonly protocol: string;
  /** `host:port` */
  readonly address: string;
  /** The URL path: the gRPC service (`ferry.peer.v1.Peer`) or the Dubbo interface. */
  readonly path: string;
  /** The registry key (`interface=` parameter and the folder under /dubbo); default `path`. */
  readonly interface?: string;
  readonly version?: string;
  readonly group?: string;
  /** More URL parameters (weight, application, ...). */
  readonly params?: Readonly<Record<string, string>>;
}

/** The provider URL as Dubbo writes it: `protocol://host:port/path?interface=...&side=provider&...`. */
export function providerUrl(p: ProviderUrlParts): string {
  const params: Record<string, string> = {
    application: 'ferry-test-deployer',
    interface: p.interface ?? p.path,
    side: 'provider',
    ...(p.version !== undefined ? { version: p.version } : {}),
    ...(p.group !== undefined ? { group: p.group } : {}),
    ...p.params,
  };
  const query = Object.keys(params)
    .sort()
    .map((k) => `${k}=${params[k]}`)
    .join('&');
  return `${p.protocol}://${p.address}/${p.path}?${query}`;
}

/** One registered provider. */
export interface Registration {
  readonly url: string;
  /** Full ZooKeeper path of the ephemeral node. */
  readonly node: string;
  /** Deletes the node; the session stays open. */
  remove(): Promise<void>;
  /** Ends the session that holds the node (ZooKeeper removes the ephemeral node itself). */
  endSession(): Promise<void>;
}

function connected(connectString: string): Promise<Client> {
  const client = zookeeper.createClient(connectString, { sessionTimeout: 5000, retries: 2 });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      client.close();
      reject(new Error(`ZooKeeper at ${connectString} did not connect in 10 s`));
    }, 10_000);
    client.once('connected', () => {
      clearTimeout(timer);
      resolve(client);
    });
    client.connect();
  });
}

function promised<T>(run: (cb: (err: Error | null, value: T) => void) => void): Promise<T> {
  return new Promise((resolve, reject) => run((err, value) => (err ? reject(err) : resolve(value))));
}

/** Holds every session it opened; `close()` ends those still open. */
export interface Registrar {
  /** Creates the ephemeral provider node for `parts` in a session of its own. */
  register(parts: ProviderUrlParts): Promise<Registration>;
  /** Decoded provider URLs now under `/dubbo/<iface>/providers` (what Ferry would read). */
  providers(iface: string): Promise<string[]>;
  close(): Promise<void>;
}

export function createRegistrar(connectString: string): Registrar {
  const sessions = new Set<Client>();
  let reader: Client | undefined;
  const end = (c: Client): Promise<void> => {
    if (!sessions.delete(c)) return Promise.resolve();
    if (c.getState().name !== 'SYNC_CONNECTED') {
      // ZooKeeper is gone (or the session already expired): nothing to wait for.
      c.close();
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, 5000);
      c.once('disconnected', () => {
        clearTimeout(timer);
        resolve();
      });
      c.close();
    });
  };
  return {
    async register(parts) {
      const client = await connected(connectString);
      sessions.add(client);
      const folder = `/dubbo/${parts.interface ?? parts.path}/providers`;
      const url = providerUrl(parts);
      // Dubbo writes URL.encode(url) (java.net.URLEncoder); encodeURIComponent differs only in
      // characters these URLs do not contain.
      const node = `${folder}/${encodeURIComponent(url)}`;
      try {
        await promised<string>((cb) => client.mkdirp(folder, cb));
        await promised<string>((cb) => client.create(node, null, zookeeper.CreateMode.EPHEMERAL, cb));
      } catch (err) {
        await end(client);
        throw err;
      }
      return {
        url,
        node,
        remove: () => promised<void>((cb) => client.remove(node, (err) => cb(err, undefined))),
        endSession: () => end(client),
      };
    },
    async providers(iface) {
      reader ??= await connected(connectString);
      sessions.add(reader);
      const children = await promised<string[]>((cb) => reader!.getChildren(`/dubbo/${iface}/providers`, (err, ch) => cb(err, ch))).catch(
        () => [] as string[],
      );
      return children.map((c) => decodeURIComponent(c.replace(/\+/g, ' '))).sort();
    },
    async close() {
      await Promise.all([...sessions].map(end));
      reader = undefined;
    },
  };
}
