/**
 * The gRPC client alone: Ferry's GrpcEndpoint (node:http2) against a grpc-js Client making the same
 * unary call (GetOrder, already-encoded bytes both ways) to the Go gRPC server of bench/grpc-go,
 * in alternating rounds in this process, so both see the same machine. Reports calls/s and this
 * process's CPU µs per call at 1 and 64 calls in flight, and the median ratio over rounds.
 *
 *   node --import tsx bench/grpc-client.ts [--seconds 3] [--rounds 3]
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { loadavg } from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import * as grpc from '@grpc/grpc-js';
import { GrpcEndpoint } from '../src/upstream/grpc/client.js';
import { closedLoop } from './load.js';

const { values } = parseArgs({ options: { seconds: { type: 'string', default: '3' }, rounds: { type: 'string', default: '3' } } });
const MS = Number(values.seconds) * 1000;
const ROUNDS = Number(values.rounds);

const server = spawn(path.resolve('bench/grpc-go/bin/grpc-go'), ['server', '-port', '0'], { stdio: ['ignore', 'pipe', 'inherit'] });
const [line] = (await once(createInterface({ input: server.stdout }), 'line')) as [string];
const address = `127.0.0.1:${(JSON.parse(line) as { listening: number }).listening}`;
// GetOrderRequest{name: "shops/s1/orders/o1"}: field 1, length-delimited.
const name = Buffer.from('shops/s1/orders/o1');
const request = Buffer.concat([Buffer.from([0x0a, name.length]), name]);
const method = '/ferry.bench.v1.Orders/GetOrder';

const lean = new GrpcEndpoint({ endpoint: address });
lean.warm();
await lean.settled();
const leanCall = () => lean.unary(method, request, { metadata: new grpc.Metadata(), deadline: Date.now() + 5000 });

const client = new grpc.Client(address, grpc.credentials.createInsecure());
const identity = (b: Buffer): Buffer => b;
const grpcJsCall = () =>
  new Promise<Buffer>((resolve, reject) =>
    client.makeUnaryRequest(method, identity, identity, request, new grpc.Metadata(), { deadline: Date.now() + 5000 }, (err, res) =>
      err || res === undefined ? reject(err ?? new Error('no reply')) : resolve(res),
    ),
  );

async function measure(call: () => Promise<unknown>, inFlight: number): Promise<{ rps: number; cpuUs: number; p50: number }> {
  const cpu0 = process.cpuUsage();
  const r = await closedLoop(call, inFlight, MS);
  const cpu = process.cpuUsage(cpu0);
  return { rps: r.rps, cpuUs: (cpu.user + cpu.system) / r.requests, p50: r.p50 };
}

await closedLoop(leanCall, 8, 1000);
await closedLoop(grpcJsCall, 8, 1000);
const ratios: Record<string, number[]> = { 'cpu@1': [], 'cpu@64': [], 'p50@1': [] };
for (let round = 0; round < ROUNDS; round++) {
  console.log(
    `round ${round + 1} (load ${loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')})`,
  );
  const rows: Record<string, { rps: number; cpuUs: number; p50: number }> = {};
  for (const inFlight of [1, 64]) {
    rows[`grpc-js@${inFlight}`] = await measure(grpcJsCall, inFlight);
    rows[`ferry@${inFlight}`] = await measure(leanCall, inFlight);
  }
  for (const [k, r] of Object.entries(rows))
    console.log(
      `  ${k.padEnd(12)} ${r.rps.toFixed(0).padStart(7)} calls/s ${r.cpuUs.toFixed(1).padStart(7)} CPU µs/call  p50 ${r.p50.toFixed(3)} ms`,
    );
  ratios['cpu@1']!.push(rows['ferry@1']!.cpuUs / rows['grpc-js@1']!.cpuUs);
  ratios['cpu@64']!.push(rows['ferry@64']!.cpuUs / rows['grpc-js@64']!.cpuUs);
  ratios['p50@1']!.push(rows['ferry@1']!.p50 / rows['grpc-js@1']!.p50);
}
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
console.log(`\nnode --import tsx bench/grpc-client.ts --seconds ${values.seconds} --rounds ${ROUNDS}, node ${process.version}`);
for (const [k, xs] of Object.entries(ratios)) console.log(`ferry ÷ grpc-js, ${k}: ${median(xs).toFixed(2)} (median of ${xs.length} rounds)`);
client.close();
await lean.close();
server.kill('SIGTERM');
await once(server, 'exit');
