/**
 * HTTP → Ferry → gRPC against a direct grpc-js call to the same server (the Python grpcio sample),
 * in one run, at 1 and 64 requests in flight.
 *
 *   node --import tsx bench/http-grpc.ts [--seconds 10]
 *
 * Ferry runs as `ferry serve` in its own process, driven by wrk; the direct baseline is a grpc-js
 * client (proto-loader stub) in this process. The route is GetPayment, derived from its
 * google.api.http option. The Python server is the ceiling for both sides, so the ratio at
 * saturation says how much of that ceiling Ferry keeps, not Ferry's own limit.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { startGrpcPeer } from '../test/support/grpc-peer.js';
import { freePort } from '../test/support/ports.js';
import { ensureWrk, measureDirectAndFerry, printComparison } from './load.js';

const { values } = parseArgs({ options: { seconds: { type: 'string', default: '10' } } });
const seconds = Number(values.seconds);
ensureWrk();

const peer = await startGrpcPeer({ workers: 16 });
const dir = await mkdtemp(path.join(tmpdir(), 'ferry-bench-grpc-'));
const mapping = (await readFile('mappings/payments.yaml', 'utf8'))
  .replaceAll('127.0.0.1:50061', peer.address)
  .replaceAll('proto: ../idl/', `proto: ${path.resolve('idl')}/`);
await writeFile(path.join(dir, 'payments.yaml'), mapping);
const port = await freePort();
const ferry = spawn(process.execPath, ['bin/ferry.js', 'serve', '--mappings', dir, '--port', String(port), '--admin-port', '0', '--no-watch'], {
  stdio: ['ignore', 'pipe', 'inherit'],
});
await once(ferry.stdout, 'data');

const def = protoLoader.loadSync(path.resolve('idl/payments/v1/payments.proto'), {
  includeDirs: [path.resolve('idl'), path.resolve('node_modules/protobufjs')],
  longs: String,
  enums: String,
  defaults: false,
  oneofs: true,
});
const pkg = grpc.loadPackageDefinition(def) as unknown as { example: { payments: { v1: { Payments: grpc.ServiceClientConstructor } } } };
const client = new pkg.example.payments.v1.Payments(peer.address, grpc.credentials.createInsecure());
const getPayment = (client as unknown as Record<string, (req: object, cb: (err: Error | null) => void) => void>)['GetPayment']!.bind(client);
const directCall = (): Promise<void> =>
  new Promise<void>((resolve, reject) => getPayment({ name: 'accounts/a1/payments/p1' }, (err) => (err ? reject(err) : resolve())));
const url = `http://127.0.0.1:${port}/v1/accounts/a1/payments/p1`;

const rows = await measureDirectAndFerry(directCall, url, seconds * 1000);

ferry.kill('SIGTERM');
client.close();
await peer.stop();
printComparison(
  `HTTP → gRPC (GetPayment, Python grpcio server), ${seconds}s per row`,
  `node --import tsx bench/http-grpc.ts --seconds ${seconds}`,
  rows,
);
