/**
 * A minimal stand-in for one Ferry replica, run as its own process by sticky-cookie-replicas.test.ts:
 * a Dubbo client over static endpoints, the sticky-cookie policy, and a plain HTTP server with one
 * route (GET /whoami → AccountService.whoami()). It holds no state another replica could share;
 * the key comes from FERRY_STICKY_KEYS as it would for `ferry serve`.
 *
 * Usage: node --import tsx test/failover/sticky-replica.ts <endpoint,endpoint,...>
 * Prints `REPLICA READY <port>`; exits when stdin closes.
 */
import { createServer } from 'node:http';
import { createDubboClient } from '../../src/upstream/dubbo/client.js';
import { createBalancer } from '../../src/upstream/balance/create-balancer.js';
import { createStickiness, parseStickyKeys } from '../../src/upstream/balance/sticky-cookie.js';
import { isFerryError } from '../../src/errors/index.js';
import type { GatewayRequest } from '../../src/neutral/index.js';
import { decodeResult, whoamiBody } from '../dubbo/hessian-bodies.js';

const endpoints = (process.argv[2] ?? '').split(',').filter((e) => e !== '');
const client = createDubboClient({ endpoints, connectionsPerEndpoint: 1, balancer: createBalancer('round-robin'), drainMs: 500 });
const sticky = createStickiness({
  service: 'accounts',
  cookie: 'ferry-affinity',
  keys: parseStickyKeys(process.env['FERRY_STICKY_KEYS']),
  maxAgeSeconds: 3600,
})!;

const server = createServer((req, res) => {
  const greq: GatewayRequest = { method: req.method ?? 'GET', path: req.url ?? '/', rawQuery: '', headers: req.headers, body: undefined };
  const hint = sticky.hint(greq);
  client.call(whoamiBody(), { timeoutMs: 3000, ...(hint ? { hint } : {}) }).then(
    (reply) => {
      const headers: Record<string, string> = { 'content-type': 'application/json', ...sticky.replyHeaders(hint, reply.endpoint) };
      res.writeHead(200, headers).end(JSON.stringify({ name: String(decodeResult(reply.body).value), endpoint: reply.endpoint }));
    },
    (err: unknown) => {
      res.writeHead(isFerryError(err) ? err.status : 500, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: isFerryError(err) ? err.code : String(err) }));
    },
  );
});

server.listen(0, '127.0.0.1', () => {
  const addr = server.address();
  process.stdout.write(`REPLICA READY ${typeof addr === 'object' && addr !== null ? addr.port : 0}\n`);
});

const shutdown = (): void => {
  server.close();
  void client.close().finally(() => process.exit(0));
};
process.stdin.on('end', shutdown);
process.stdin.on('close', shutdown);
process.stdin.resume();
process.on('SIGTERM', shutdown);
