/**
 * Calls per second through the Dubbo client, 1 vs 64 calls in flight, for each write-coalescing
 * mode (one write per frame vs frames coalesced per microtask or per event-loop turn).
 *
 * Peers: the real Apache Dubbo sample provider (AccountService.ping()), and an echo peer in a
 * separate Node process (bench/dubbo-transport-echo.ts) that answers every request with a fixed
 * reply, to show the transport's own ceiling when the JVM is not the bottleneck. Every run is
 * bounded in time. Node CPU per call (process.cpuUsage of this process ÷ calls) is the figure to
 * compare: it holds even when other processes share the machine.
 *
 *   node --import tsx bench/dubbo-transport.ts [--seconds 3] [--peer java|echo|both]
 */
import { fork, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { createDubboClient } from '../src/upstream/dubbo/client.js';
import type { WriteCoalescing } from '../src/upstream/dubbo/connection.js';
import { startJavaProvider } from '../test/support/java-provider.js';
import { pingBody } from '../test/support/hessian-bodies.js';

const args = process.argv.slice(2);
const arg = (name: string, dflt: string): string => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 && args[i + 1] !== undefined ? args[i + 1]! : dflt;
};
const SECONDS = Number(arg('seconds', '3'));
const PEER = arg('peer', 'both');
const MODES: WriteCoalescing[] = ['none', 'microtask', 'immediate'];
const IN_FLIGHT = [1, 64];

interface Result {
  peer: string;
  mode: WriteCoalescing;
  inFlight: number;
  calls: number;
  perSecond: number;
  cpuMicrosPerCall: number;
  p50Ms: number;
  p99Ms: number;
}

async function run(endpoint: string, peer: string, mode: WriteCoalescing, inFlight: number, seconds: number): Promise<Result> {
  const client = createDubboClient({ endpoints: [endpoint], connectionsPerEndpoint: 1, coalesce: mode });
  const body = pingBody();
  await client.call(body, { timeoutMs: 10_000 });
  const latencies: number[] = [];
  let calls = 0;
  const stopAt = performance.now() + seconds * 1000;
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const worker = async (): Promise<void> => {
    while (performance.now() < stopAt) {
      const s = performance.now();
      const r = await client.call(body, { timeoutMs: 10_000 });
      if (r.status !== 20) throw new Error(`status ${r.status}`);
      latencies.push(performance.now() - s);
      calls++;
    }
  };
  await Promise.all(Array.from({ length: inFlight }, worker));
  const elapsed = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  await client.close();
  latencies.sort((a, b) => a - b);
  return {
    peer,
    mode,
    inFlight,
    calls,
    perSecond: Math.round(calls / elapsed),
    cpuMicrosPerCall: Number(((cpu.user + cpu.system) / calls).toFixed(1)),
    p50Ms: Number(latencies[Math.floor(latencies.length * 0.5)]!.toFixed(3)),
    p99Ms: Number(latencies[Math.floor(latencies.length * 0.99)]!.toFixed(3)),
  };
}

async function benchPeer(endpoint: string, peer: string): Promise<Result[]> {
  // Warm both sides (JIT) before measuring.
  await run(endpoint, peer, 'immediate', 64, Math.min(2, SECONDS));
  const out: Result[] = [];
  for (const inFlight of IN_FLIGHT) {
    for (const mode of MODES) {
      const r = await run(endpoint, peer, mode, inFlight, SECONDS);
      console.log(JSON.stringify(r));
      out.push(r);
    }
  }
  return out;
}

async function main(): Promise<void> {
  console.log(`# node --import tsx bench/dubbo-transport.ts --seconds ${SECONDS} --peer ${PEER}`);
  console.log(`# node ${process.version}, ${SECONDS}s per run, one connection`);
  const results: Result[] = [];
  if (PEER === 'echo' || PEER === 'both') {
    const echoPath = fileURLToPath(new URL('./dubbo-transport-echo.ts', import.meta.url));
    const child: ChildProcess = fork(echoPath, [], { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    try {
      const [msg] = (await once(child, 'message')) as [{ port: number }];
      results.push(...(await benchPeer(`127.0.0.1:${msg.port}`, 'echo')));
    } finally {
      child.kill('SIGTERM');
      if (child.exitCode === null) await once(child, 'exit');
    }
  }
  if (PEER === 'java' || PEER === 'both') {
    const provider = await startJavaProvider({ name: 'bench' });
    try {
      results.push(...(await benchPeer(provider.address, 'java')));
    } finally {
      await provider.stop();
    }
  }
  console.log('\npeer  in-flight  mode        calls/s   node µs/call   p50 ms   p99 ms');
  for (const r of results) {
    console.log(
      `${r.peer.padEnd(5)} ${String(r.inFlight).padStart(9)}  ${r.mode.padEnd(10)} ${String(r.perSecond).padStart(8)} ${String(r.cpuMicrosPerCall).padStart(14)} ${String(r.p50Ms).padStart(8)} ${String(r.p99Ms).padStart(8)}`,
    );
  }
}

await main();
