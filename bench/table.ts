/**
 * The performance table of issue 7, in one run on one machine:
 *
 *   Ferry get-account, Ferry list of 20 POJOs, bare fastify (the floor), and a direct Dubbo call
 *   (in-process client, the very request bytes Ferry's plan builds) — req/s, p50/p99, CPU µs per
 *   request, and the ratios the issue names.
 *
 *   node --import tsx bench/table.ts [--seconds 10] [--connections 64] [--workers]
 *
 * Processes: the Apache Dubbo sample provider (Java), `node bin/ferry.js serve`, and
 * bench/bare-fastify.ts. On a machine with 2+ cores each server (and this process while it makes
 * direct calls) is pinned to core 0 with taskset, and wrk plus the JVM to core 1, as in
 * reference/performance.md. CPU per request is a server process's utime+stime from /proc/<pid>/stat
 * (children included with --workers) before and after a wrk run, divided by the requests wrk counted.
 * `--workers` adds Ferry with `--workers 2` vs `--workers 1`, unpinned (the JVM and wrk share the
 * two cores with it).
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { closeSync, openSync, readdirSync, readFileSync } from 'node:fs';
import { connect } from 'node:net';
import { cpus, tmpdir } from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { loadConfigDir } from '../src/config/loader.js';
import { compileDubboRoute } from '../src/mapping/dubbo.js';
import { RequestView } from '../src/mapping/request-view.js';
import { createDubboClient } from '../src/upstream/dubbo/client.js';
import { startJavaProvider } from '../test/support/java-provider.js';
import { freePort } from '../test/support/ports.js';

const { values } = parseArgs({
  options: {
    seconds: { type: 'string', default: '10' },
    connections: { type: 'string', default: '64' },
    workers: { type: 'boolean', default: false },
    'no-pin': { type: 'boolean', default: false },
    /** Drop the sample routes' `returns:` (generic reply decoding), for before/after figures. */
    'no-returns': { type: 'boolean', default: false },
    /** FERRY_LOG_LEVEL for Ferry; default: as shipped (info: one JSON line per request). */
    'log-level': { type: 'string' },
  },
});
if (values['log-level'] !== undefined) process.env['FERRY_LOG_LEVEL'] = values['log-level'];
const SECONDS = Number(values.seconds);
const CONNS = Number(values.connections);
const PIN = !values['no-pin'] && cpus().length >= 2 && hasTaskset();
const CLK_TCK = Number(execFileSync('getconf', ['CLK_TCK']).toString().trim()) || 100;

function hasTaskset(): boolean {
  try {
    execFileSync('taskset', ['-V'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** `taskset -c <core>` prefix when pinning, else nothing. */
function pinned(core: number, cmd: string, args: string[]): [string, string[]] {
  return PIN ? ['taskset', ['-c', String(core), cmd, ...args]] : [cmd, args];
}

/** utime + stime of a process and all its descendants, in µs (from /proc). */
function cpuMicros(pid: number): number {
  let ticks = 0;
  const visit = (p: number): void => {
    let stat: string;
    try {
      stat = readFileSync(`/proc/${p}/stat`, 'utf8');
    } catch {
      return;
    }
    // Fields after the ")" of the command name: state is field 3, utime 14, stime 15.
    const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    ticks += Number(rest[11]) + Number(rest[12]);
    let children = '';
    try {
      for (const tid of readdirSyncSafe(`/proc/${p}/task`)) children += readFileSync(`/proc/${p}/task/${tid}/children`, 'utf8');
    } catch {
      /* gone */
    }
    for (const c of children.split(' ').filter(Boolean)) visit(Number(c));
  };
  visit(pid);
  return (ticks * 1e6) / CLK_TCK;
}

function readdirSyncSafe(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}

interface Row {
  name: string;
  rps: number;
  p50: number;
  p99: number;
  /** CPU µs per request of the measured server (or of this process for direct calls). */
  cpuUs: number;
}

/** Parses wrk's "50%  123.45us" figures into milliseconds. */
function wrkMs(text: string, label: string): number {
  const m = new RegExp(`\\s${label}\\s+([0-9.]+)(us|ms|s)\\b`).exec(text);
  if (!m) throw new Error(`wrk printed no ${label} figure:\n${text}`);
  const n = Number(m[1]);
  return m[2] === 'us' ? n / 1000 : m[2] === 'ms' ? n : n * 1000;
}

async function wrk(url: string, conns: number, seconds: number, script?: string): Promise<{ rps: number; requests: number; p50: number; p99: number }> {
  const [cmd, args] = pinned(1, 'wrk', ['-t1', `-c${conns}`, `-d${seconds}s`, '--latency', ...(script ? ['-s', script] : []), url]);
  const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  const [code] = (await once(child, 'exit')) as [number | null];
  if (code !== 0) throw new Error(`wrk exited ${code}: ${out}`);
  if (/Non-2xx|Socket errors/.test(out)) throw new Error(`wrk saw errors against ${url}:\n${out}`);
  const total = /(\d+) requests in/.exec(out);
  const rps = /Requests\/sec:\s+([0-9.]+)/.exec(out);
  return { rps: Number(rps![1]), requests: Number(total![1]), p50: wrkMs(out, '50%'), p99: wrkMs(out, '99%') };
}

/** One wrk run against a server process, with its CPU time per request. */
async function measure(name: string, pid: number, url: string, conns: number, script?: string): Promise<Row> {
  const before = cpuMicros(pid);
  const r = await wrk(url, conns, SECONDS, script);
  const used = cpuMicros(pid) - before;
  return { name, rps: r.rps, p50: r.p50, p99: r.p99, cpuUs: used / r.requests };
}

function percentile(sorted: Float64Array, p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((sorted.length * p) / 100))]!;
}

/** Closed loop in this process: `inFlight` workers, each sending its next call when the last answers. */
async function direct(name: string, call: () => Promise<unknown>, inFlight: number, seconds: number): Promise<Row> {
  const latencies: number[] = [];
  const end = performance.now() + seconds * 1000;
  const worker = async (): Promise<void> => {
    while (performance.now() < end) {
      const t0 = performance.now();
      await call();
      latencies.push(performance.now() - t0);
    }
  };
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  await Promise.all(Array.from({ length: inFlight }, worker));
  const elapsed = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  const sorted = Float64Array.from(latencies).sort();
  return { name, rps: latencies.length / elapsed, p50: percentile(sorted, 50), p99: percentile(sorted, 99), cpuUs: (cpu.user + cpu.system) / latencies.length };
}

interface Server {
  pid: number;
  port: number;
  child: ChildProcess;
  stop(): Promise<void>;
}

/**
 * Starts a server whose stdout (Ferry's JSON logs, one line per request at the default level) goes
 * to a file, as a log shipper would read it, and waits until its port accepts connections.
 */
async function startServer(label: string, core: number | undefined, args: string[], logFile: string, port: number): Promise<Server> {
  const [cmd, argv] = core === undefined ? [process.execPath, args] : pinned(core, process.execPath, args);
  const log = openSync(logFile, 'a');
  const child = spawn(cmd, argv, { stdio: ['ignore', log, 'inherit'] });
  closeSync(log);
  const exited = once(child, 'exit');
  const deadline = performance.now() + 60_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`${label} exited (${child.exitCode}) before it was ready; see ${logFile}`);
    if (await canConnect(port)) break;
    if (performance.now() > deadline) {
      child.kill('SIGKILL');
      await exited;
      throw new Error(`${label} did not listen on ${port} within 60 s; see ${logFile}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    pid: child.pid!,
    port,
    child,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      await exited;
    },
  };
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = connect({ host: '127.0.0.1', port }, () => {
      sock.destroy();
      resolve(true);
    });
    sock.once('error', () => resolve(false));
  });
}

/** `--admin-port <free>` when this Ferry has an admin server (so runs never collide on 9090). */
let adminPort = 0;
function adminArgs(): string[] {
  return ferryHelp.includes('--admin-port') ? ['--admin-port', String(adminPort)] : [];
}
const ferryHelp = execFileSync(process.execPath, ['bin/ferry.js', 'help']).toString();

const cleanups: Array<() => Promise<void>> = [];
async function cleanup(): Promise<void> {
  for (const c of cleanups.reverse()) await c().catch(() => undefined);
  cleanups.length = 0;
}
process.once('SIGINT', () => void cleanup().then(() => process.exit(130)));

try {
  const provider = await startJavaProvider({ name: 'bench' });
  cleanups.push(() => provider.stop());
  // The JVM (all its threads) and wrk share core 1; the measured server has core 0 to itself.
  if (PIN) execFileSync('taskset', ['-a', '-p', '-c', '1', String(provider.pid)], { stdio: 'ignore' });

  const dir = await mkdtemp(path.join(tmpdir(), 'ferry-bench-'));
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  let bank = (await readFile('mappings/bank.yaml', 'utf8')).replaceAll('127.0.0.1:20880', provider.address);
  if (values['no-returns']) bank = bank.replace(/^\s+returns: .*\n/gm, '');
  await writeFile(path.join(dir, 'bank.yaml'), bank);

  const ferryPort = await freePort();
  adminPort = await freePort();
  const ferry = await startServer('ferry', 0, ['bin/ferry.js', 'serve', '--mappings', dir, '--port', String(ferryPort), ...adminArgs()], path.join(dir, 'ferry.log'), ferryPort);
  cleanups.push(() => ferry.stop());
  const barePort = await freePort();
  const bare = await startServer('bare fastify', 0, ['--import', 'tsx', 'bench/bare-fastify.ts', '--port', String(barePort)], path.join(dir, 'bare.log'), barePort);
  cleanups.push(() => bare.stop());

  const getUrl = `http://127.0.0.1:${ferryPort}/accounts/2`;
  const listUrl = `http://127.0.0.1:${ferryPort}/accounts?limit=20`;
  const bareUrl = `http://127.0.0.1:${barePort}/echo`;
  const getBody = await (await fetch(getUrl)).text();
  const listBody = await (await fetch(listUrl)).text();
  // The floor's request: a Transfer-like JSON body of about 300 bytes.
  const postBody = JSON.stringify({
    to: 2,
    amount: '1234.56',
    currency: 'CNY',
    memo: 'rent for the flat on the third floor, paid on time as agreed with the landlord',
    executeAt: '2024-03-01T10:00:00',
    tags: ['rent', 'monthly', 'household', 'standing-order', 'bench'],
    requestId: 'b7c3f9a2-5d1e-4f6a-9c8b-2e7d4a1f0c3b',
  });
  const script = path.join(dir, 'post.lua');
  await writeFile(script, `wrk.method = "POST"\nwrk.body = ${JSON.stringify(postBody)}\nwrk.headers["Content-Type"] = "application/json"\n`);
  const bareReply = await (await fetch(bareUrl, { method: 'POST', body: postBody, headers: { 'content-type': 'application/json' } })).text();

  // The direct baseline: the same compiled plans, the same client, no HTTP.
  const config = await loadConfigDir(dir);
  const service = config.services.get('accounts')!;
  const client = createDubboClient({ endpoints: service.endpoints, connectionsPerEndpoint: service.connectionsPerEndpoint });
  cleanups.push(() => client.close());
  const directCallOf = (routeId: string, reqPath: string, params: Record<string, string>, query: string): (() => Promise<void>) => {
    const route = config.routes.find((r) => r.id === routeId)!;
    const plan = compileDubboRoute(route, service, config);
    const view = new RequestView({ method: 'GET', path: reqPath, rawQuery: query, headers: {}, body: undefined }, params, plan.bodyParsing);
    const body = Buffer.from(plan.encodeRequest(view, {}, service.timeoutMs));
    return async () => {
      const reply = await client.call(body, { timeoutMs: 5000 });
      // Decode like Ferry does, so that only HTTP, routing and telemetry differ.
      plan.decodeReply(reply.status, reply.body, reply.endpoint);
    };
  };
  const directGet = directCallOf('get-account', '/accounts/2', { id: '2' }, '');
  const directList = directCallOf('list-accounts', '/accounts', {}, 'limit=20');
  if (PIN) execFileSync('taskset', ['-p', '-c', '0', String(process.pid)], { stdio: 'ignore' });

  // Warm-up: JIT on every side, connections open.
  const warm = Math.max(2, Math.round(SECONDS / 3));
  await wrk(bareUrl, 8, warm, script);
  await wrk(getUrl, 8, warm);
  await wrk(listUrl, 8, warm);
  await direct('warm', directGet, 8, warm);
  await direct('warm', directList, 8, warm);

  const rows: Row[] = [];
  rows.push(await measure(`bare fastify POST, ${CONNS} conns`, bare.pid, bareUrl, CONNS, script));
  rows.push(await measure(`ferry get-account, ${CONNS} conns`, ferry.pid, getUrl, CONNS));
  rows.push(await measure(`ferry list of 20, ${CONNS} conns`, ferry.pid, listUrl, CONNS));
  rows.push(await direct(`direct get-account, ${CONNS} in flight`, directGet, CONNS, SECONDS));
  rows.push(await direct(`direct list of 20, ${CONNS} in flight`, directList, CONNS, SECONDS));
  rows.push(await measure('bare fastify POST, 1 conn', bare.pid, bareUrl, 1, script));
  rows.push(await measure('ferry get-account, 1 conn', ferry.pid, getUrl, 1));
  rows.push(await direct('direct get-account, 1 in flight', directGet, 1, SECONDS));
  rows.push(await measure('ferry list of 20, 1 conn', ferry.pid, listUrl, 1));
  rows.push(await direct('direct list of 20, 1 in flight', directList, 1, SECONDS));

  const workerRows: Row[] = [];
  if (values.workers) {
    await ferry.stop();
    await bare.stop();
    if (PIN) {
      execFileSync('taskset', ['-p', '-c', '0,1', String(process.pid)], { stdio: 'ignore' });
      execFileSync('taskset', ['-a', '-p', '-c', '0,1', String(provider.pid)], { stdio: 'ignore' });
    }
    for (const n of [1, 2]) {
      const port = await freePort();
      const args = ['bin/ferry.js', 'serve', '--mappings', dir, '--port', String(port), '--workers', String(n), ...adminArgs()];
      const f = await startServer(`ferry --workers ${n}`, undefined, args, path.join(dir, `ferry-${n}.log`), port);
      try {
        const url = `http://127.0.0.1:${port}/accounts/2`;
        await wrk(url, 8, warm);
        workerRows.push(await measure(`ferry --workers ${n} get-account, ${CONNS} conns, unpinned`, f.pid, url, CONNS));
      } finally {
        await f.stop();
      }
    }
  }

  await cleanup();

  const byName = (prefix: string): Row => rows.find((r) => r.name.startsWith(prefix))!;
  const fmt = (n: number, d: number, w: number): string => n.toFixed(d).padStart(w);
  const lines: string[] = [];
  lines.push(`Ferry bench — ${new Date().toISOString()}`);
  lines.push(`machine: ${cpus().length} × ${cpus()[0]?.model ?? '?'}, node ${process.version}, ${PIN ? 'servers pinned to core 0, wrk + JVM to core 1' : 'unpinned'}`);
  lines.push(
    `command: npm run bench -- --seconds ${SECONDS} --connections ${CONNS}${values.workers ? ' --workers' : ''}${values['log-level'] ? ` --log-level ${values['log-level']}` : ''}${values['no-returns'] ? ' --no-returns' : ''}  (wrk -t1 -cN -d${SECONDS}s --latency)`,
  );
  lines.push(`Ferry logs: ${process.env['FERRY_LOG_LEVEL'] ?? 'default level'} (stdout to a file)`);
  lines.push(`replies: get-account ${Buffer.byteLength(getBody)} B, list of 20 ${Buffer.byteLength(listBody)} B, bare fastify ${Buffer.byteLength(bareReply)} B (request ${postBody.length} B)`);
  lines.push('');
  lines.push(`${'what'.padEnd(44)}${'req/s'.padStart(9)}${'p50 ms'.padStart(9)}${'p99 ms'.padStart(9)}${'CPU µs/req'.padStart(12)}`);
  for (const r of [...rows, ...workerRows]) lines.push(`${r.name.padEnd(44)}${fmt(r.rps, 0, 9)}${fmt(r.p50, 3, 9)}${fmt(r.p99, 3, 9)}${fmt(r.cpuUs, 1, 12)}`);
  lines.push('');
  const floor = byName(`bare fastify POST, ${CONNS}`).cpuUs;
  const getCpu = byName(`ferry get-account, ${CONNS}`).cpuUs;
  const listCpu = byName(`ferry list of 20, ${CONNS}`).cpuUs;
  lines.push(`Ferry CPU/req ÷ bare fastify CPU/req, get-account: ${(getCpu / floor).toFixed(2)}× (target ≤ 1.7×)`);
  lines.push(`Ferry CPU/req ÷ bare fastify CPU/req, list of 20:  ${(listCpu / floor).toFixed(2)}× (target ≤ 2.5×)`);
  const addGet = byName('ferry get-account, 1').p50 - byName('direct get-account, 1').p50;
  const addList = byName('ferry list of 20, 1').p50 - byName('direct list of 20, 1').p50;
  lines.push(`added median latency vs direct, 1 in flight: get-account ${addGet.toFixed(3)} ms, list of 20 ${addList.toFixed(3)} ms (target ≤ 0.15 ms)`);
  if (workerRows.length === 2) lines.push(`--workers 2 ÷ --workers 1 throughput: ${(workerRows[1]!.rps / workerRows[0]!.rps).toFixed(2)}× (target ≥ 1.6×)`);
  console.log(lines.join('\n'));
} catch (err) {
  await cleanup();
  throw err;
}
