/**
 * HTTP → Ferry → Dubbo against a direct Dubbo call to the same provider, in one run.
 *
 *   node --import tsx bench/http-dubbo.ts [--seconds 10] [--route get-account|list-accounts]
 *
 * The direct baseline sends the very request bytes Ferry's compiled plan produces, through the same
 * pooled client, from this process; the Ferry side runs `ferry serve` in its own process and is
 * driven by autocannon from this one. Each side is measured at low load (1 request in flight) and at
 * saturation (64 in flight). The provider is the Apache Dubbo sample (Java).
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { loadConfigDir } from '../src/config/loader.js';
import { compileDubboRoute } from '../src/mapping/dubbo.js';
import { RequestView } from '../src/mapping/request-view.js';
import { createDubboClient } from '../src/upstream/clients.js';
import { startJavaProvider } from '../test/support/java-provider.js';
import { freePort } from '../test/support/ports.js';
import { ensureWrk, measureDirectAndFerry, printComparison } from './load.js';

const { values } = parseArgs({
  options: { seconds: { type: 'string', default: '10' }, route: { type: 'string', default: 'get-account' } },
});
const seconds = Number(values.seconds);
const ROUTES: Record<string, { path: string; params: Record<string, string>; query: string }> = {
  'get-account': { path: '/accounts/2', params: { id: '2' }, query: '' },
  'list-accounts': { path: '/accounts', params: {}, query: 'limit=20' },
};
const target = ROUTES[values.route];
if (!target) throw new Error(`--route must be one of ${Object.keys(ROUTES).join(', ')}`);

ensureWrk();

const provider = await startJavaProvider({ name: 'bench' });
const dir = await mkdtemp(path.join(tmpdir(), 'ferry-bench-'));
await writeFile(path.join(dir, 'bank.yaml'), (await readFile('mappings/bank.yaml', 'utf8')).replaceAll('127.0.0.1:20880', provider.address));
const port = await freePort();
const ferry = spawn(process.execPath, ['bin/ferry.js', 'serve', '--mappings', dir, '--port', String(port)], { stdio: ['ignore', 'pipe', 'inherit'] });
await once(ferry.stdout, 'data');

// The direct baseline: the same compiled plan, the same client, no HTTP.
const config = await loadConfigDir(dir);
const route = config.routes.find((r) => r.id === values.route);
const service = route && config.services.get(route.serviceName);
if (route?.protocol !== 'dubbo' || service?.protocol !== 'dubbo') throw new Error(`route ${values.route} is not a Dubbo route of mappings/bank.yaml`);
const plan = compileDubboRoute(route, service, config);
const view = new RequestView(
  { method: 'GET', path: target.path, rawQuery: target.query, headers: {}, body: undefined },
  target.params,
  plan.bodyParsing,
);
const requestBody = Buffer.from(plan.encodeRequest(view, {}, service.timeoutMs));
const client = createDubboClient({ endpoints: service.endpoints, connectionsPerEndpoint: service.connectionsPerEndpoint });
const directCall = async (): Promise<void> => {
  const reply = await client.call(requestBody, { timeoutMs: 5000 });
  plan.decodeReply(reply.status, reply.body, reply.endpoint); // decode like Ferry does, so only HTTP + mapping differ
};
const url = `http://127.0.0.1:${port}${target.path}${target.query ? `?${target.query}` : ''}`;

// Warm up both paths (JIT on both sides, connections open).
const rows = await measureDirectAndFerry(directCall, url, seconds * 1000);

ferry.kill('SIGTERM');
await client.close();
await provider.stop();

printComparison(
  `HTTP → Dubbo (${values.route}), ${seconds}s per row`,
  `node --import tsx bench/http-dubbo.ts --seconds ${seconds} --route ${values.route}`,
  rows,
  {
    addedMedianMs: 0.3,
    minRatio: 0.5,
  },
);
