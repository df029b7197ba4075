/**
 * gRPC upstream cost: Ferry's gRPC route handler (JSON → protobuf → grpc-js → protobuf → JSON)
 * against a direct grpc-js call (proto-loader stub) to the same Python grpcio server, one run each,
 * same closed-loop driver and concurrency. Reports requests/s, p50/p99 latency, the ratio, and
 * this process's CPU microseconds per request (the Python server runs in its own process).
 *
 * Run: node --import tsx bench/grpc-upstream.ts [--requests 3000] [--concurrency 16]
 * Needs scripts/setup-python.sh. The HTTP-level bench (through fastify) belongs to the front end;
 * `runClosedLoop` and `summarise` here are exported for it to reuse.
 */
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { ROOT_CONTEXT } from '@opentelemetry/api';
import { createGrpcBinding } from '../src/gateway/grpc-binder.js';
import { UpstreamClients } from '../src/upstream/clients.js';
import type { FerryConfig, GrpcService } from '../src/config/types.js';
import { startGrpcPeer } from '../test/support/grpc-peer.js';

export interface BenchResult {
  readonly name: string;
  readonly requests: number;
  readonly seconds: number;
  readonly rps: number;
  readonly p50: number;
  readonly p99: number;
  readonly cpuMicrosPerRequest: number;
}

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i < 0 ? fallback : Number(process.argv[i + 1]);
}

/** Runs `total` calls of `fn` with `concurrency` in flight; every call must resolve. */
export async function runClosedLoop(name: string, total: number, concurrency: number, fn: () => Promise<unknown>): Promise<BenchResult> {
  const latencies: number[] = [];
  let started = 0;
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  async function worker(): Promise<void> {
    while (started < total) {
      started++;
      const s = performance.now();
      await fn();
      latencies.push(performance.now() - s);
    }
  }
  await Promise.all(Array.from({ length: concurrency }, worker));
  const seconds = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  return summarise(name, latencies, seconds, cpu.user + cpu.system);
}

/** Turns raw latencies (ms) into the reported numbers. */
export function summarise(name: string, latencies: number[], seconds: number, cpuMicros: number): BenchResult {
  const sorted = [...latencies].sort((a, b) => a - b);
  const q = (p: number) => sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]!;
  return {
    name,
    requests: sorted.length,
    seconds,
    rps: sorted.length / seconds,
    p50: q(0.5),
    p99: q(0.99),
    cpuMicrosPerRequest: cpuMicros / sorted.length,
  };
}

async function main(): Promise<void> {
  const total = arg('requests', 3000);
  const concurrency = arg('concurrency', 16);
  const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
  const peer = await startGrpcPeer({ workers: 8 });
  try {
    await measure(repo, peer.address, total, concurrency);
  } finally {
    await peer.stop();
  }
}

async function measure(repo: string, address: string, total: number, concurrency: number): Promise<void> {
  const peer = { address };
  const svc: GrpcService = {
    name: 'payments',
    protocol: 'grpc',
    interface: 'example.payments.v1.Payments',
    proto: 'idl/payments/v1/payments.proto',
    service: 'example.payments.v1.Payments',
    endpoints: [peer.address],
    timeoutMs: 5000,
    timeoutSet: true,
    connectionsPerEndpoint: 1,
    balance: 'round-robin',
    retries: 1,
    forwardHeaders: [],
    source: { file: 'bench', line: 1, col: 1 },
    keySources: {},
  };
  const clients = new UpstreamClients();
  const binding = createGrpcBinding({ root: repo, clientFor: (s) => clients.forService(s) });
  const routes = binding.routesFor(svc);
  const config: FerryConfig = { root: repo, services: new Map([['payments', svc]]), types: new Map(), routes };
  const route = routes.find((r) => r.id === 'payments.GetPayment')!;
  const handler = binding.binder.bind(route, svc, config);
  const req = { method: 'GET', path: '/v1/accounts/1/payments/2', rawQuery: '', headers: {}, body: undefined };
  const params = { name: 'accounts/1/payments/2' };
  const ferryCall = async () => {
    const res = await handler.handle(req, params, { deadline: performance.now() + 5000, otel: ROOT_CONTEXT, routeId: route.id });
    if (res.status !== 200) throw new Error(`status ${res.status}`);
  };

  const def = protoLoader.loadSync(path.join(repo, 'idl/payments/v1/payments.proto'), {
    includeDirs: [path.join(repo, 'idl'), path.join(repo, 'node_modules/protobufjs')],
    longs: String,
    enums: String,
    defaults: false,
    oneofs: true,
  });
  const pkg = grpc.loadPackageDefinition(def) as unknown as { example: { payments: { v1: { Payments: grpc.ServiceClientConstructor } } } };
  const client = new pkg.example.payments.v1.Payments(peer.address, grpc.credentials.createInsecure());
  const directCall = () =>
    new Promise<void>((resolve, reject) => {
      (client as unknown as Record<string, (...args: any[]) => any>)['GetPayment']!({ name: 'accounts/1/payments/2' }, (err: Error | null) =>
        err ? reject(err) : resolve(),
      );
    });

  try {
    // Warm both paths (connections, JIT) before measuring.
    await runClosedLoop('warm-direct', 300, concurrency, directCall);
    await runClosedLoop('warm-ferry', 300, concurrency, ferryCall);
    const direct = await runClosedLoop('direct grpc-js', total, concurrency, directCall);
    const ferry = await runClosedLoop('ferry handler', total, concurrency, ferryCall);
    for (const r of [direct, ferry]) {
      console.log(
        `${r.name.padEnd(16)} ${r.requests} req in ${r.seconds.toFixed(2)} s: ${r.rps.toFixed(0)} req/s, p50 ${r.p50.toFixed(2)} ms, p99 ${r.p99.toFixed(2)} ms, client-side CPU ${r.cpuMicrosPerRequest.toFixed(0)} µs/req`,
      );
    }
    console.log(
      `ratio ferry/direct: throughput ${(ferry.rps / direct.rps).toFixed(2)}, p50 ${(ferry.p50 / direct.p50).toFixed(2)}, CPU per request +${(ferry.cpuMicrosPerRequest - direct.cpuMicrosPerRequest).toFixed(0)} µs`,
    );
  } finally {
    client.close();
    await clients.close();
  }
}

if (process.argv[1] !== undefined && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  await main();
}
