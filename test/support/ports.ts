/**
 * Free loopback ports for tests. Each test service listens on a port picked here, so tests never
 * depend on fixed ports (and can run beside each other).
 */
import { createServer, type AddressInfo, type Server } from 'node:net';

/**
 * Ask the kernel for a free TCP port on 127.0.0.1: listen on port 0, read the port, close.
 * There is a small window in which another process could take the port; callers that start a
 * foreign process on it should retry on EADDRINUSE if that ever shows up.
 */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once('error', reject);
    server.listen({ host: '127.0.0.1', port: 0, exclusive: true }, () => {
      const address = server.address();
      if (address === null || typeof address === 'string') {
        server.close();
        reject(new Error('freePort: server.address() gave no port'));
        return;
      }
      const { port } = address;
      server.close((err) => (err ? reject(err) : resolve(port)));
    });
  });
}

/** Several distinct free ports (held open together while picking, so they cannot repeat). */
export async function freePorts(count: number): Promise<number[]> {
  const servers = await Promise.all(
    Array.from(
      { length: count },
      () =>
        new Promise<Server>((resolve, reject) => {
          const s = createServer();
          s.unref();
          s.once('error', reject);
          s.listen({ host: '127.0.0.1', port: 0, exclusive: true }, () => resolve(s));
        }),
    ),
  );
  const ports = servers.map((s) => {
    const a = s.address();
    if (a === null || typeof a === 'string') throw new Error('freePorts: no port');
    return a.port;
  });
  await Promise.all(servers.map((s) => new Promise<void>((r) => s.close(() => r()))));
  return ports;
}

/**
 * Listening loopback ports that stand for providers a registry lists (rnacos probes persistent
 * instances; a connection is closed at once). `close()` stops them all.
 */
export function standInProviders(): { port(): Promise<number>; close(): Promise<void> } {
  const servers: Server[] = [];
  return {
    async port() {
      const s = createServer((c) => c.destroy());
      servers.push(s);
      await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
      return (s.address() as AddressInfo).port;
    },
    async close() {
      await Promise.all(servers.splice(0).map((s) => new Promise<void>((r) => s.close(() => r()))));
    },
  };
}
