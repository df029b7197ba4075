/**
 * CPU per request of Ferry's HTTP front end over HTTPS (HTTP/1.1 keep-alive, TLS 1.3, an EC P-256
 * certificate made by openssl) against plain HTTP, in the same run: each server runs in its own
 * process over the same stand-in engine (a fixed JSON answer, so the front end is what is measured),
 * wrk drives it, and the server's CPU time (utime + stime from /proc) is divided by the requests
 * wrk completed. The handshakes happen once per connection; keep-alive makes the per-request cost
 * the record encryption.
 *
 *   node --import tsx bench/https.ts [--seconds 10] [--connections 32] [--rounds 2]
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import { createFrontendContract } from '../src/frontends/contract.js';
import { startHttpFrontend } from '../src/frontends/http/index.js';
import { watchServerCertificates } from '../src/frontends/tls.js';
import type { Engine } from '../src/gateway/types.js';
import { makeTestCerts } from '../test/support/certs.js';

const { values } = parseArgs({
  options: {
    serve: { type: 'string' },
    cert: { type: 'string' },
    key: { type: 'string' },
    seconds: { type: 'string', default: '10' },
    connections: { type: 'string', default: '32' },
    rounds: { type: 'string', default: '2' },
  },
});

const BODY = JSON.stringify({ id: 2, owner: 'Ada', balance: '100.00', currency: 'EUR', tags: ['a', 'b'] });

async function serve(): Promise<void> {
  const engine: Engine = {
    maxBodyBytes: 1 << 20,
    match: () => undefined,
    handle: async () => ({ status: 200, headers: { 'content-type': 'application/json' }, body: BODY }),
  };
  const contract = createFrontendContract({ engine: () => engine });
  const tls = values.serve === 'https' ? await watchServerCertificates({ certFile: values.cert!, keyFile: values.key! }) : undefined;
  const front = await startHttpFrontend(contract, { port: 0, ...(tls !== undefined ? { tls } : {}) });
  console.log(`PORT ${front.port}`);
}

/** utime + stime of a process, ms. */
function cpuMs(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const ticks = Number(fields[11]) + Number(fields[12]);
  return (ticks * 1000) / 100; // USER_HZ is 100 on Linux
}

async function startServer(kind: 'http' | 'https', cert: string, key: string): Promise<{ child: ChildProcess; port: number }> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'bench/https.ts', '--serve', kind, '--cert', cert, '--key', key], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const lines = createInterface({ input: child.stdout });
  const port = await new Promise<number>((resolve, reject) => {
    lines.on('line', (l) => {
      const m = /^PORT (\d+)$/.exec(l);
      if (m) resolve(Number(m[1]));
    });
    child.once('exit', (code) => reject(new Error(`${kind} server exited with ${code}`)));
  });
  return { child, port };
}

function wrk(url: string, seconds: number, connections: number): number {
  const out = execFileSync('wrk', ['-t', '1', '-c', String(connections), '-d', `${seconds}s`, url], { encoding: 'utf8' });
  const m = /(\d+) requests in/.exec(out);
  if (!m) throw new Error(`wrk said: ${out}`);
  if (/Non-2xx/.test(out)) throw new Error(`wrk saw errors: ${out}`);
  return Number(m[1]);
}

async function main(): Promise<void> {
  if (values.serve !== undefined) return serve();
  const seconds = Number(values.seconds);
  const connections = Number(values.connections);
  const rounds = Number(values.rounds);
  const certs = makeTestCerts();
  const servers = {
    http: await startServer('http', certs.server.cert, certs.server.key),
    https: await startServer('https', certs.server.cert, certs.server.key),
  };
  const totals = { http: { cpu: 0, requests: 0 }, https: { cpu: 0, requests: 0 } };
  try {
    // Warm both (JIT, TLS session setup), then alternate, so drift in the machine's load hits both.
    for (const kind of ['http', 'https'] as const) wrk(`${kind}://127.0.0.1:${servers[kind].port}/x`, 2, connections);
    for (let r = 0; r < rounds; r++) {
      for (const kind of ['http', 'https'] as const) {
        const { child, port } = servers[kind];
        const before = cpuMs(child.pid!);
        const requests = wrk(`${kind}://127.0.0.1:${port}/x`, seconds, connections);
        totals[kind].cpu += cpuMs(child.pid!) - before;
        totals[kind].requests += requests;
      }
    }
  } finally {
    for (const s of Object.values(servers)) s.child.kill('SIGTERM');
    certs.remove();
  }
  const perRequest = (k: 'http' | 'https'): number => (totals[k].cpu * 1000) / totals[k].requests;
  const rate = (k: 'http' | 'https'): number => totals[k].requests / (seconds * rounds);
  console.log(
    `load average (1, 5, 15 min) at the end: ${loadavg()
      .map((l) => l.toFixed(2))
      .join(', ')} on 2 cores`,
  );
  console.log(`wrk -t 1 -c ${connections}, ${rounds} × ${seconds} s per server, keep-alive HTTP/1.1`);
  for (const k of ['http', 'https'] as const) {
    console.log(`${k.padEnd(5)} ${rate(k).toFixed(0).padStart(7)} req/s   server CPU ${perRequest(k).toFixed(1).padStart(6)} µs/request`);
  }
  console.log(`https / http CPU per request: ${(perRequest('https') / perRequest('http')).toFixed(2)}×`);
}

await main();
