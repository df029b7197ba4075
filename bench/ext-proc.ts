/**
 * The ext_proc path against the HTTP path for the same route (GET /accounts/2 on the Java sample
 * provider), one run each, same closed-loop driver and concurrency.
 *
 * Run: node --import tsx bench/ext-proc.ts [--requests 5000] [--concurrency 16]
 *
 * The "Envoy" here is a grpc-js client that plays the ext_proc filter's part (one stream per
 * request: request_headers with end_of_stream, read the ImmediateResponse, half-close). It is a
 * stand-in: a real Envoy adds its own HTTP parsing and gRPC client cost, which this does not show.
 * Ferry runs in a child process so its CPU time per request can be read on its own.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { performance } from 'node:perf_hooks';
import * as grpc from '@grpc/grpc-js';
import { Pool } from 'undici';
import { loadExtProcService, type ProcessingResponse } from '../src/frontends/ext-proc/protocol.js';

const ROUTE = '/accounts/2';

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i < 0 ? fallback : Number(process.argv[i + 1]);
}

async function serve(mappingsDir: string): Promise<void> {
  const { startFerry } = await import('../src/app/main.js');
  const ferry = await startFerry({ mappingsDir, port: 0, extProcPort: 0 });
  console.log(JSON.stringify({ http: ferry.httpPort, extProc: ferry.extProcPort }));
  for await (const line of createInterface({ input: process.stdin })) {
    if (line === 'cpu') {
      const u = process.cpuUsage();
      console.log(JSON.stringify({ cpuMicros: u.user + u.system }));
    } else if (line === 'stop') break;
  }
  await ferry.close();
}

interface RunResult {
  label: string;
  requests: number;
  seconds: number;
  latencies: number[];
  cpuMicros: number;
}

/** Closed loop: `concurrency` workers each send the next request when the previous one finished. */
async function drive(total: number, concurrency: number, once: () => Promise<void>): Promise<{ seconds: number; latencies: number[] }> {
  const latencies: number[] = [];
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < total) {
        next++;
        const t = performance.now();
        await once();
        latencies.push(performance.now() - t);
      }
    }),
  );
  return { seconds: (performance.now() - started) / 1000, latencies };
}

function pct(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

async function main(): Promise<void> {
  const serveAt = process.argv.indexOf('--serve');
  if (serveAt >= 0) return serve(process.argv[serveAt + 1]!);

  const total = arg('requests', 5000);
  const concurrency = arg('concurrency', 16);
  const { startJavaProvider } = await import('../test/support/java-provider.js');
  const { writeCaseMappings } = await import('../test/support/route-cases.js');
  const { freePort } = await import('../test/support/ports.js');

  const provider = await startJavaProvider();
  let child: ChildProcess | undefined;
  try {
    const dir = writeCaseMappings(provider.address, `127.0.0.1:${await freePort()}`);
    child = spawn(process.execPath, ['--import', 'tsx', fileURLToPath(import.meta.url), '--serve', dir], { stdio: ['pipe', 'pipe', 'inherit'] });
    const lines = createInterface({ input: child.stdout! })[Symbol.asyncIterator]();
    const nextLine = async (): Promise<string> => {
      const r = await lines.next();
      if (r.done) throw new Error('the Ferry child process exited');
      return r.value;
    };
    const ports = JSON.parse(await nextLine()) as { http: number; extProc: number };
    const cpu = async (): Promise<number> => {
      child!.stdin!.write('cpu\n');
      return (JSON.parse(await nextLine()) as { cpuMicros: number }).cpuMicros;
    };

    // HTTP path: keep-alive pool, as a proxy or browser would use.
    const pool = new Pool(`http://127.0.0.1:${ports.http}`, { connections: concurrency });
    const httpOnce = async (): Promise<void> => {
      const res = await pool.request({ method: 'GET', path: ROUTE });
      const body = await res.body.text();
      if (res.statusCode !== 200) throw new Error(`HTTP ${res.statusCode}: ${body}`);
    };

    // ext_proc path: one HTTP/2 channel, one stream per request, as Envoy's filter does.
    const Client = grpc.makeGenericClientConstructor(loadExtProcService(), 'ExternalProcessor');
    const client = new Client(`127.0.0.1:${ports.extProc}`, grpc.credentials.createInsecure()) as unknown as grpc.Client & {
      Process(): grpc.ClientDuplexStream<unknown, ProcessingResponse>;
    };
    const headers = [
      [':method', 'GET'],
      [':path', ROUTE],
      [':authority', 'bank.example'],
      [':scheme', 'http'],
      ['user-agent', 'bench'],
    ].map(([key, v]) => ({ key, raw_value: Buffer.from(v!) }));
    const extOnce = (): Promise<void> =>
      new Promise((resolve, reject) => {
        const call = client.Process();
        let answered = false;
        call.on('data', (msg: ProcessingResponse) => {
          answered = true;
          const code = msg.immediate_response?.status.code as unknown; // enums load as names: 200 is 'OK'
          if (code !== 'OK' && code !== 200) reject(new Error(`ext_proc answered ${JSON.stringify(msg)}`));
          call.end();
        });
        call.on('error', reject);
        call.on('end', () => (answered ? resolve() : reject(new Error('stream ended without an answer'))));
        call.write({ request_headers: { headers: { headers }, end_of_stream: true }, protocol_config: { request_body_mode: 'BUFFERED' } });
      });

    const runs: RunResult[] = [];
    for (const [label, once] of [
      ['HTTP (fastify)', httpOnce],
      ['ext_proc (grpc-js Envoy stand-in)', extOnce],
    ] as const) {
      await drive(Math.min(1000, total), concurrency, once); // warm-up, not counted
      const before = await cpu();
      const r = await drive(total, concurrency, once);
      const cpuMicros = (await cpu()) - before;
      runs.push({ label, requests: total, seconds: r.seconds, latencies: r.latencies.sort((a, b) => a - b), cpuMicros });
    }
    await pool.close();
    client.close();
    child.stdin!.write('stop\n');

    console.log(`command: node --import tsx bench/ext-proc.ts --requests ${total} --concurrency ${concurrency}`);
    console.log(`route: GET ${ROUTE} → Dubbo AccountService.getAccount on the Java sample provider; one run, ${concurrency} in flight`);
    console.log('note: the ext_proc client is a grpc-js stand-in for Envoy, not Envoy itself');
    console.log('path                               req/s    p50 ms   p99 ms   Ferry CPU µs/req');
    for (const r of runs) {
      console.log(
        `${r.label.padEnd(34)} ${(r.requests / r.seconds).toFixed(0).padStart(6)}  ${pct(r.latencies, 50).toFixed(2).padStart(7)}  ${pct(r.latencies, 99).toFixed(2).padStart(7)}  ${(r.cpuMicros / r.requests).toFixed(0).padStart(8)}`,
      );
    }
  } finally {
    if (child && child.exitCode === null) {
      const exited = new Promise((resolve) => child!.once('exit', resolve));
      child.stdin?.end();
      setTimeout(() => child!.kill('SIGTERM'), 5000).unref();
      await exited;
    }
    await provider.stop();
  }
}

await main();
