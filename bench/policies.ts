/**
 * CPU per request of each built-in policy against the same route with none, in one run: the engine
 * with a stand-in binder that answers at once (no socket, so the figures are the policies' own
 * cost plus the engine's). JWT tokens are verified against a JWKS served by this process (fetched
 * once, then cached). Prints µs of CPU per request and the ratio to the route without policies.
 * Tag routing lives below the engine (the binder asks the canary plan for the subset, the upstream
 * client filters before its balancer picks), so its two rows run that code for real: the canary
 * plan and an upstream client over four in-memory endpoints (two tagged `gray`), once without a
 * canary (the client alone) and once with one (header tag or an 80/20 split).
 *
 *   node --import tsx bench/policies.ts [--requests 20000]
 */
import { createHash } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { exportJWK, generateKeyPair, SignJWT } from 'jose';
import { loadConfigFiles } from '../src/config/loader.js';
import { createEngine, type ProtocolBinders } from '../src/gateway/engine.js';
import type { GatewayRequest } from '../src/exchange/index.js';
import type { DubboRoute, DubboService } from '../src/config/types.js';
import { canaryOf, compileCanary } from '../src/gateway/canary.js';
import { RequestView } from '../src/mapping/request-view.js';
import { createBalancer } from '../src/upstream/balance/create-balancer.js';
import { createOutlierDetector } from '../src/upstream/balance/outlier.js';
import { withSubset } from '../src/upstream/balance/subset.js';
import type { EndpointTransport } from '../src/upstream/balance/types.js';
import { createStaticSource } from '../src/upstream/discovery/static.js';
import { createUpstreamClient } from '../src/upstream/upstream-client.js';

const { values } = parseArgs({ options: { requests: { type: 'string', default: '20000' } } });
const N = Number(values.requests);

const { publicKey, privateKey } = await generateKeyPair('ES256');
const jwk = { ...(await exportJWK(publicKey)), kid: 'b1', alg: 'ES256' };
const jwks = createServer((_req, res) => res.end(JSON.stringify({ keys: [jwk] })));
await new Promise<void>((resolve) => jwks.listen(0, '127.0.0.1', resolve));
const jwksUrl = `http://127.0.0.1:${(jwks.address() as AddressInfo).port}/jwks`;
const token = await new SignJWT({ sub: 'alice' })
  .setProtectedHeader({ alg: 'ES256', kid: 'b1' })
  .setIssuer('https://issuer.bench')
  .setAudience('bench')
  .setExpirationTime('1h')
  .sign(privateKey);
const key = 'bench-key-0123456789';

const policies: Record<string, string> = {
  none: '{}',
  'api-key': `{ api-key: { keys: [{ name: k, sha256: ${createHash('sha256').update(key).digest('hex')} }] } }`,
  'rate-limit (local)': '{ rate-limit: { limit: 1000000000, window: 1s } }',
  cors: '{ cors: { origins: [https://app.example] } }',
  jwt: `{ jwt: { jwks: "${jwksUrl}", issuer: https://issuer.bench, audience: bench } }`,
};
// Rows that call through an upstream client (service `up`), with the route's canary or none.
const upstreamRows: Record<string, string> = {
  'upstream client': 'false',
  'canary (tag/split)': '{ tagFrom: header.x-dubbo-tag, split: [{ weight: 80 }, { tag: gray, weight: 20 }] }',
};
const names = [...Object.keys(policies), ...Object.keys(upstreamRows)];
const yaml = [
  'services:',
  '  svc: { protocol: dubbo, interface: com.example.Svc, endpoints: [127.0.0.1:1] }',
  '  up:',
  '    protocol: dubbo',
  '    interface: com.example.Up',
  '    endpoints: [127.0.0.1:1, 127.0.0.1:2, { address: 127.0.0.1:3, labels: { dubbo.tag: gray } }, { address: 127.0.0.1:4, labels: { dubbo.tag: gray } }]',
  'routes:',
  ...Object.keys(policies).map((n, i) => `  - { id: r${i}, http: GET /r${i}, call: svc.m${i}, policies: ${policies[n]} }`),
  ...Object.keys(upstreamRows).map((n, j) => {
    const i = Object.keys(policies).length + j;
    return `  - { id: r${i}, http: GET /r${i}, call: up.m${i}, canary: ${upstreamRows[n]} }`;
  }),
].join('\n');
const config = loadConfigFiles([{ file: 'bench.yaml', text: yaml }], process.cwd());
const reply = { status: 200, headers: { 'content-type': 'application/json' }, body: '{"ok":true}' };
/** An endpoint that answers at once: what the upstream rows balance over. */
const instant = (id: string): EndpointTransport => ({
  id,
  weight: 100,
  health: 'up',
  connectionCount: 1,
  failure: undefined,
  pending: () => 0,
  available: () => true,
  warm: () => {},
  settled: () => Promise.resolve(),
  close: () => Promise.resolve(),
  destroy: () => {},
});
const upService = config.services.get('up')!;
const outlier = createOutlierDetector();
const upstream = createUpstreamClient({
  source: createStaticSource(upService.endpoints, 'dubbo', upService.endpointLabels),
  connect: (e) => instant(e.id),
  balancer: createBalancer('least-pending', { outlier }),
  outlier,
  protocolName: 'Dubbo',
});
const binders: ProtocolBinders = {
  dubbo: {
    bind: (route: DubboRoute, service: DubboService) => {
      if (service.name !== 'up') return { needsBody: false, handle: () => Promise.resolve(reply) };
      // What the Dubbo binder does for tag routing, then the upstream client's pick (no bytes move).
      const canary = compileCanary(canaryOf(route, service));
      return {
        needsBody: false,
        handle: async (req, params, ctx) => {
          const subset = canary?.select(new RequestView(req, params, 'fast', ctx.claims));
          const hint = withSubset(undefined, subset);
          await upstream.call(() => Promise.resolve(reply), {
            deadline: performance.now() + 1000,
            idempotent: false,
            retries: 1,
            ...(hint ? { hint } : {}),
          });
          return reply;
        },
      };
    },
  },
};
const engine = createEngine({ config, binders });

const headers = { origin: 'https://app.example', 'x-api-key': key, authorization: `Bearer ${token}` };
// Every other request names the gray tag (the canary row's tag path); the rest take its 80/20 split.
const tagged = { ...headers, 'x-dubbo-tag': 'gray' };
const request = (i: number, tag: boolean): GatewayRequest => ({
  method: 'GET',
  path: `/r${i}`,
  rawQuery: '',
  headers: tag ? tagged : headers,
  body: undefined,
  remoteAddress: '127.0.0.1',
});

async function cpuPerRequest(i: number): Promise<number> {
  const reqs = [request(i, false), request(i, true)] as const;
  for (let k = 0; k < 2000; k++) await engine.handle(reqs[k & 1]!); // warm-up (and the one JWKS fetch)
  const r = await engine.handle(reqs[0]);
  if (r.status !== 200) throw new Error(`route ${names[i]} answered ${r.status}: ${String(r.body)}`);
  const before = process.cpuUsage();
  for (let k = 0; k < N; k++) await engine.handle(reqs[k & 1]!);
  const used = process.cpuUsage(before);
  return (used.user + used.system) / N;
}

const results: number[] = names.map(() => 0);
// Two rounds, interleaved, so load that changes during the run hits every policy alike; the lower is kept.
for (let round = 0; round < 2; round++) {
  for (let i = 0; i < names.length; i++) {
    const us = await cpuPerRequest(i);
    results[i] = round === 0 ? us : Math.min(results[i]!, us);
  }
}
console.log(
  `load average ${loadavg()
    .map((l) => l.toFixed(2))
    .join(' ')}; ${N} requests per policy per round, best of 2 rounds`,
);
for (let i = 0; i < names.length; i++) {
  console.log(`${names[i]!.padEnd(20)} ${results[i]!.toFixed(2).padStart(8)} µs CPU/request  ×${(results[i]! / results[0]!).toFixed(2)} vs none`);
}
jwks.close();
await upstream.close();
