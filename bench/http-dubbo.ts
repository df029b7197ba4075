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
import { execFileSync, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir, cpus } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { performance } from 'node:perf_hooks';
import { loadConfigDir } from '../src/config/loader.js';
import { compileDubboRoute } from '../src/mapping/dubbo.js';
import { RequestView } from '../src/mapping/request-view.js';
import { createDubboClient } from '../src/upstream/dubbo/client.js';
import { startJavaProvider } from '../test/support/java-provider.js';
import { freePort } from '../test/support/ports.js';

const { values } = parseArgs({
  options: { seconds: { type: 'string', default: '10' }, route: { type: 'string', default: 'get-account' } },
});
const seconds = Number(values.seconds);
const ROUTES: Record<string, { path: string; params: Record<string, string>; query: string }> = {
  'get-account': { path: '/accounts/2', params: { id: '2' }, query: '' },
  'list-accounts': { path: '/accounts', params: {}, query: 'limit=20' },
};
const target = ROUTES[values.route!];
if (!target) throw new Error(`--route must be one of ${Object.keys(ROUTES).join(', ')}`);

interface Result {
  rps: number;
  p50: number;
  p99: number;
}

function percentile(sorted: Float64Array, p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((sorted.length * p) / 100))]!;
}

/** Closed loop: `inFlight` workers, each sending its next call when the last one answers. */
async function direct(call: () => Promise<unknown>, inFlight: number, durationMs: number): Promise<Result> {
  const latencies: number[] = [];
  const end = performance.now() + durationMs;
  const worker = async (): Promise<void> => {
    while (performance.now() < end) {
      const t0 = performance.now();
      await call();
      latencies.push(performance.now() - t0);
    }
  };
  const t0 = performance.now();
  await Promise.all(Array.from({ length: inFlight }, worker));
  const elapsed = (performance.now() - t0) / 1000;
  const sorted = Float64Array.from(latencies).sort();
  return { rps: latencies.length / elapsed, p50: percentile(sorted, 50), p99: percentile(sorted, 99) };
}

function ensureWrk(): void {
  try {
    execFileSync('wrk', ['--version'], { stdio: 'ignore' });
  } catch (err) {
    // wrk prints its version and exits 1; only a missing binary is a problem.
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') execFileSync('bash', ['-c', 'apt-get update -qq && apt-get install -y -qq wrk'], { stdio: 'inherit' });
  }
}

/** Parses wrk's "50%  123.45us" style figures into milliseconds. */
function wrkMs(text: string, label: string): number {
  const m = new RegExp(`\\s${label}\\s+([0-9.]+)(us|ms|s)\\b`).exec(text);
  if (!m) throw new Error(`wrk printed no ${label} figure:\n${text}`);
  const n = Number(m[1]);
  return m[2] === 'us' ? n / 1000 : m[2] === 'ms' ? n : n * 1000;
}

async function viaFerry(url: string, inFlight: number, durationMs: number): Promise<Result> {
  const out = await new Promise<string>((resolve, reject) => {
    const child = spawn('wrk', ['-t1', `-c${inFlight}`, `-d${Math.round(durationMs / 1000)}s`, '--latency', url]);
    let text = '';
    child.stdout.on('data', (d: Buffer) => (text += d.toString()));
    child.on('error', reject);
    child.on('exit', (code) => (code === 0 ? resolve(text) : reject(new Error(`wrk exited ${code}: ${text}`))));
  });
  if (/Non-2xx/.test(out)) throw new Error(`Ferry answered non-2xx responses:\n${out}`);
  const rps = /Requests\/sec:\s+([0-9.]+)/.exec(out);
  return { rps: Number(rps![1]), p50: wrkMs(out, '50%'), p99: wrkMs(out, '99%') };
}

ensureWrk();
const provider = await startJavaProvider({ name: 'bench' });
const dir = await mkdtemp(path.join(tmpdir(), 'ferry-bench-'));
await writeFile(path.join(dir, 'bank.yaml'), (await readFile('mappings/bank.yaml', 'utf8')).replaceAll('127.0.0.1:20880', provider.address));
const port = await freePort();
const ferry = spawn(process.execPath, ['bin/ferry.js', 'serve', '--mappings', dir, '--port', String(port)], { stdio: ['ignore', 'pipe', 'inherit'] });
await once(ferry.stdout!, 'data');

// The direct baseline: the same compiled plan, the same client, no HTTP.
const config = await loadConfigDir(dir);
const route = config.routes.find((r) => r.id === values.route)!;
const service = config.services.get(route.serviceName)!;
const plan = compileDubboRoute(route, service, config);
const view = new RequestView({ method: 'GET', path: target.path, rawQuery: target.query, headers: {}, body: undefined }, target.params, plan.bodyParsing);
const requestBody = Buffer.from(plan.encodeRequest(view, {}, service.timeoutMs));
const client = createDubboClient({ endpoints: service.endpoints, connectionsPerEndpoint: service.connectionsPerEndpoint });
const directCall = async (): Promise<void> => {
  const reply = await client.call(requestBody, { timeoutMs: 5000 });
  plan.decodeReply(reply.status, reply.body, reply.endpoint); // decode like Ferry does, so only HTTP + mapping differ
};
const url = `http://127.0.0.1:${port}${target.path}${target.query ? `?${target.query}` : ''}`;

// Warm up both paths (JIT on both sides, connections open).
await direct(directCall, 8, 2000);
await viaFerry(url, 8, 2000);

const ms = seconds * 1000;
const rows: Array<[string, Result]> = [];
rows.push(['direct, 1 in flight', await direct(directCall, 1, ms)]);
rows.push(['ferry,  1 in flight', await viaFerry(url, 1, ms)]);
rows.push(['direct, 64 in flight', await direct(directCall, 64, ms)]);
rows.push(['ferry,  64 in flight', await viaFerry(url, 64, ms)]);

ferry.kill('SIGTERM');
await client.close();
await provider.stop();

const fmt = (n: number, d = 2): string => n.toFixed(d).padStart(10);
console.log(`\nHTTP → Dubbo (${values.route}), ${seconds}s per row, ${cpus().length} cores (${cpus()[0]?.model ?? '?'}), node ${process.version}`);
console.log(`command: node --import tsx bench/http-dubbo.ts --seconds ${seconds} --route ${values.route}\n`);
console.log('                          req/s    p50 ms    p99 ms');
for (const [name, r] of rows) console.log(`${name.padEnd(22)}${fmt(r.rps, 0)}${fmt(r.p50)}${fmt(r.p99)}`);
const [d1, f1, d64, f64] = rows.map((r) => r[1]);
console.log(`\nadded median latency at low load: ${(f1!.p50 - d1!.p50).toFixed(3)} ms (target ≤ 0.3 ms)`);
console.log(`throughput at saturation, ferry / direct: ${(f64!.rps / d64!.rps).toFixed(2)} (target ≥ 0.5)`);
