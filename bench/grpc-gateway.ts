/**
 * Ferry's gRPC path against grpc-gateway, in one run on one machine (issue 19):
 *
 *   node --import tsx bench/grpc-gateway.ts [--seconds 10] [--rounds 3] [--before DIR] [--log-level L] [--no-pin]
 *   node --import tsx bench/grpc-gateway.ts --profile get|post [--seconds 15] [--top 25]
 *   node --import tsx bench/grpc-gateway.ts --floor [--seconds 10] [--rounds 3]
 *
 * Upstream: bench/grpc-go's Go gRPC server (ferry.bench.v1.Orders, idl/bench/v1/orders.proto), so
 * the upstream is not the bottleneck. Rows, each round: the direct call (bench/grpc-go's Go load
 * client, one HTTP/2 connection), Ferry (`node bin/ferry.js serve`, routes from the proto's
 * google.api.http options), grpc-gateway v2 (Go, generated from the same proto), and bare fastify
 * (bench/bare-fastify.ts: POST /echo, the floor of any fastify app). `--before DIR` adds Ferry run
 * from another checkout (e.g. main) as its own row, for before/after figures in the same run.
 * GET /v1/shops/s1/orders/o1 answers an Order of 10 nested items, a map, a Timestamp and bytes;
 * POST /v1/shops/s1/orders sends that Order (≈1.1 KB of JSON) and gets it back.
 *
 * Gateways (and the direct client) run on core 0, wrk and the Go server on core 1 (taskset).
 * CPU per request is the gateway process's utime+stime from /proc/<pid>/stat before and after the
 * 64-connection run, divided by the requests wrk counted. Ratios are taken within a round; the
 * summary gives the median over rounds.
 *
 * `--profile get|post` runs Ferry alone under `node --cpu-prof` and wrk at 64 connections on that
 * route for `--seconds`, then prints where the busy time of the load run went (start-up and warm-up
 * left out): the functions with the most self and inclusive time (bench/cpu-profile.ts).
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import { connect } from 'node:net';
import { cpus, loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import { isDeepStrictEqual, parseArgs } from 'node:util';
import { freePort } from '../test/support/ports.js';
import { wrkMs } from './load.js';
import { printProfileSummary, summariseProfile, type CpuProfile } from './cpu-profile.js';

const { values } = parseArgs({
  options: {
    seconds: { type: 'string', default: '10' },
    rounds: { type: 'string', default: '3' },
    connections: { type: 'string', default: '64' },
    before: { type: 'string' },
    'log-level': { type: 'string' },
    'no-pin': { type: 'boolean', default: false },
    profile: { type: 'string' },
    top: { type: 'string', default: '25' },
    floor: { type: 'boolean', default: false },
  },
});
const SECONDS = Number(values.seconds);
const ROUNDS = Math.max(1, Number(values.rounds));
const CONNS = Number(values.connections);
const REPO = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
const GO = path.join(REPO, 'bench/grpc-go/bin/grpc-go');
const CLK_TCK = Number(execFileSync('getconf', ['CLK_TCK']).toString().trim()) || 100;
const PIN = !values['no-pin'] && cpus().length >= 2 && canRun('taskset', ['-V']);

function canRun(cmd: string, args: string[]): boolean {
  try {
    execFileSync(cmd, args, { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

function pinned(core: number, cmd: string, args: string[]): [string, string[]] {
  return PIN ? ['taskset', ['-c', String(core), cmd, ...args]] : [cmd, args];
}

/** utime + stime of one process (all its threads), µs. */
function cpuMicros(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return ((Number(rest[11]) + Number(rest[12])) * 1e6) / CLK_TCK;
}

interface Server {
  readonly pid: number;
  readonly port: number;
  readonly child: ChildProcess;
}
const servers: Server[] = [];

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect(port, '127.0.0.1');
    s.once('connect', () => (s.destroy(), resolve(true)));
    s.once('error', () => resolve(false));
  });
}

async function start(label: string, core: number, cmd: string, args: string[], port: number, env: NodeJS.ProcessEnv = process.env): Promise<Server> {
  const [c, a] = pinned(core, cmd, args);
  const child = spawn(c, a, { cwd: REPO, env, stdio: ['ignore', 'ignore', 'inherit'] });
  const until = Date.now() + 30_000;
  while (!(await canConnect(port))) {
    if (child.exitCode !== null || Date.now() > until) throw new Error(`${label} did not start (${[c, ...a].join(' ')})`);
    await new Promise((r) => setTimeout(r, 100));
  }
  const server = { pid: child.pid!, port, child };
  servers.push(server);
  return server;
}

interface Load {
  rps: number;
  requests: number;
  p50: number;
  p99: number;
}

async function wrk(url: string, conns: number, script?: string): Promise<Load> {
  // A long timeout: on a busy shared machine a slow gateway's tail is a figure, not an error.
  const [cmd, args] = pinned(1, 'wrk', [
    '-t1',
    `-c${conns}`,
    `-d${SECONDS}s`,
    '--timeout',
    '20s',
    '--latency',
    ...(script ? ['-s', script] : []),
    url,
  ]);
  const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  const [code] = (await once(child, 'exit')) as [number | null];
  if (code !== 0 || /Non-2xx|Socket errors/.test(out)) throw new Error(`wrk against ${url} failed:\n${out}`);
  return {
    rps: Number(/Requests\/sec:\s+([0-9.]+)/.exec(out)![1]),
    requests: Number(/(\d+) requests in/.exec(out)![1]),
    p50: wrkMs(out, '50%'),
    p99: wrkMs(out, '99%'),
  };
}

/** The direct call: the Go load client on core 0 (where the gateways run), its own CPU per call. */
async function direct(upstream: string, conns: number, method: string): Promise<Load & { cpuUs: number }> {
  const [cmd, args] = pinned(0, GO, ['load', '-upstream', upstream, '-c', String(conns), '-d', String(SECONDS), '-method', method]);
  const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  // Sampled just before exit would race; the client's own figure is its wall time, CPU comes from /proc.
  let cpu = 0;
  const timer = setInterval(() => {
    try {
      cpu = cpuMicros(child.pid!);
    } catch {
      /* exited */
    }
  }, 200);
  const [code] = (await once(child, 'exit')) as [number | null];
  clearInterval(timer);
  if (code !== 0) throw new Error(`direct load client failed: ${out}`);
  const r = JSON.parse(out) as { rps: number; requests: number; p50Us: number; p99Us: number };
  return { rps: r.rps, requests: r.requests, p50: r.p50Us / 1000, p99: r.p99Us / 1000, cpuUs: cpu / r.requests };
}

interface Row {
  name: string;
  rps64: number;
  cpuUs: number;
  p50at1: number;
  p99at1: number;
}

async function gatewayRow(name: string, server: Server, url: string, script?: string): Promise<Row> {
  const one = await wrk(url, 1, script);
  const before = cpuMicros(server.pid);
  const many = await wrk(url, CONNS, script);
  const cpuUs = (cpuMicros(server.pid) - before) / many.requests;
  return { name, rps64: many.rps, cpuUs, p50at1: one.p50, p99at1: one.p99 };
}

async function main(): Promise<void> {
  const dir = await mkdtemp(path.join(tmpdir(), 'ferry-bench-grpc-gw-'));
  try {
    const upstreamPort = await freePort();
    await start('Go gRPC server', 1, GO, ['server', '-port', String(upstreamPort)], upstreamPort);
    const upstream = `127.0.0.1:${upstreamPort}`;
    const gwPort = await freePort();
    const gw = await start('grpc-gateway', 0, GO, ['gateway', '-port', String(gwPort), '-upstream', upstream], gwPort);
    const mapping = [
      'services:',
      '  orders:',
      '    protocol: grpc',
      `    proto: ${path.join(REPO, 'idl/bench/v1/orders.proto')}`,
      '    service: ferry.bench.v1.Orders',
      `    endpoints: [${upstream}]`,
      '    timeout: 3s',
      '',
    ].join('\n');
    await writeFile(path.join(dir, 'orders.yaml'), mapping);
    const env = { ...process.env, ...(values['log-level'] !== undefined ? { FERRY_LOG_LEVEL: values['log-level'] } : {}) };
    const ferryArgs = (root: string, port: number) => [
      path.join(root, 'bin/ferry.js'),
      'serve',
      '--mappings',
      dir,
      '--port',
      String(port),
      '--admin-port',
      '0',
      '--no-watch',
    ];
    if (values.profile !== undefined) return await profileFerry(dir, upstream, ferryArgs, env);
    const ferries: Array<{ name: string; server: Server }> = [];
    const ferryPort = await freePort();
    ferries.push({ name: 'ferry', server: await start('Ferry', 0, process.execPath, ferryArgs(REPO, ferryPort), ferryPort, env) });
    if (values.before !== undefined) {
      const p = await freePort();
      ferries.unshift({
        name: 'ferry (before)',
        server: await start('Ferry (before)', 0, process.execPath, ferryArgs(path.resolve(values.before), p), p, env),
      });
    }
    // --floor: the GET's transport floor (bench/http2-floor-proxy.ts) over node:http2 and over the
    // minimal framing probe, beside Ferry and grpc-gateway in every round.
    const floors: Array<{ name: string; server: Server }> = [];
    if (values.floor) {
      for (const client of ['node', 'frames'] as const) {
        const p = await freePort();
        const args = ['--import', 'tsx', 'bench/http2-floor-proxy.ts', '--client', client, '--port', String(p), '--upstream', upstream];
        floors.push({
          name: `GET floor proxy, ${client === 'node' ? 'node:http2' : 'own framing'}`,
          server: await start(`floor proxy (${client})`, 0, process.execPath, args, p),
        });
      }
    }
    const barePort = await freePort();
    const bare = await start('bare fastify', 0, process.execPath, ['--import', 'tsx', 'bench/bare-fastify.ts', '--port', String(barePort)], barePort);

    const getPath = '/v1/shops/s1/orders/o1';
    const postPath = '/v1/shops/s1/orders';
    // The POST body: GetOrder's reply as grpc-gateway renders it (the body every gateway gets).
    const postBody = await (await fetch(`http://127.0.0.1:${gw.port}${getPath}`)).text();
    const script = path.join(dir, 'post.lua');
    await writeFile(script, `wrk.method = "POST"\nwrk.body = ${JSON.stringify(postBody)}\nwrk.headers["Content-Type"] = "application/json"\n`);
    const bareScript = path.join(dir, 'bare.lua');
    const bareBody = JSON.stringify({ to: 2, amount: '1234.56', memo: 'rent for the flat', tags: ['rent', 'monthly'] });
    await writeFile(bareScript, `wrk.method = "POST"\nwrk.body = ${JSON.stringify(bareBody)}\nwrk.headers["Content-Type"] = "application/json"\n`);

    // The answers must agree (as JSON values: Go orders map keys at random) before any figure means anything.
    const gwGet = JSON.parse(postBody) as unknown;
    for (const f of ferries) {
      const got = JSON.parse(await (await fetch(`http://127.0.0.1:${f.server.port}${getPath}`)).text()) as unknown;
      if (!isDeepStrictEqual(got, gwGet)) throw new Error(`${f.name} and grpc-gateway answer GET differently:\n${JSON.stringify(got)}\n${postBody}`);
    }

    // Warm up every server (JIT, connections).
    const shortWarm = async (url: string, s?: string) => {
      const [cmd, args] = pinned(1, 'wrk', ['-t1', '-c8', '-d2s', ...(s ? ['-s', s] : []), url]);
      await once(spawn(cmd, args, { stdio: 'ignore' }), 'exit');
    };
    for (const f of floors) await shortWarm(`http://127.0.0.1:${f.server.port}/`);
    for (const s of [...ferries.map((f) => f.server), gw]) {
      await shortWarm(`http://127.0.0.1:${s.port}${getPath}`);
      await shortWarm(`http://127.0.0.1:${s.port}${postPath}`, script);
    }
    await shortWarm(`http://127.0.0.1:${bare.port}/echo`, bareScript);

    const rounds: Row[][] = [];
    for (let round = 0; round < ROUNDS; round++) {
      const rows: Row[] = [];
      for (const [verb, method, p, s] of [
        ['GET', 'get', getPath, undefined],
        ['POST', 'post', postPath, script],
      ] as const) {
        const d1 = await direct(upstream, 1, method);
        const d64 = await direct(upstream, CONNS, method);
        rows.push({ name: `${verb} direct gRPC (Go client)`, rps64: d64.rps, cpuUs: d64.cpuUs, p50at1: d1.p50, p99at1: d1.p99 });
        for (const f of ferries) rows.push(await gatewayRow(`${verb} ${f.name}`, f.server, `http://127.0.0.1:${f.server.port}${p}`, s));
        rows.push(await gatewayRow(`${verb} grpc-gateway`, gw, `http://127.0.0.1:${gw.port}${p}`, s));
        if (verb === 'GET') for (const f of floors) rows.push(await gatewayRow(f.name, f.server, `http://127.0.0.1:${f.server.port}/`));
      }
      rows.push(await gatewayRow('POST bare fastify /echo (floor)', bare, `http://127.0.0.1:${bare.port}/echo`, bareScript));
      rounds.push(rows);
      printRound(round, rows);
    }
    printSummary(
      rounds,
      ferries.map((f) => f.name),
      floors.map((f) => f.name),
    );
  } finally {
    for (const s of servers) s.child.kill('SIGTERM');
    await Promise.all(servers.map((s) => (s.child.exitCode === null ? once(s.child, 'exit') : Promise.resolve())));
    await rm(dir, { recursive: true, force: true });
  }
}

/** `--profile`: Ferry alone under --cpu-prof, one load run on one route, and where its busy time went. */
async function profileFerry(
  dir: string,
  upstream: string,
  ferryArgs: (root: string, port: number) => string[],
  env: NodeJS.ProcessEnv,
): Promise<void> {
  const verb = values.profile!.toUpperCase();
  if (verb !== 'GET' && verb !== 'POST') throw new Error(`--profile takes get or post, not ${values.profile}`);
  const profDir = path.join(dir, 'profile');
  const port = await freePort();
  const ferry = await start('Ferry (profiled)', 0, process.execPath, ['--cpu-prof', '--cpu-prof-dir', profDir, ...ferryArgs(REPO, port)], port, env);
  const url = `http://127.0.0.1:${port}${verb === 'GET' ? '/v1/shops/s1/orders/o1' : '/v1/shops/s1/orders'}`;
  let script: string | undefined;
  if (verb === 'POST') {
    // The body every gateway gets in the rounds: the Order Ferry itself answers to GET.
    const body = await (await fetch(`http://127.0.0.1:${port}/v1/shops/s1/orders/o1`)).text();
    script = path.join(dir, 'profile-post.lua');
    await writeFile(script, `wrk.method = "POST"\nwrk.body = ${JSON.stringify(body)}\nwrk.headers["Content-Type"] = "application/json"\n`);
  }
  await wrk(url, 8, script); // warm-up: JIT, connections
  const fromUs = Number(process.hrtime.bigint() / 1000n);
  const cpuBefore = cpuMicros(ferry.pid);
  const run = await wrk(url, CONNS, script);
  const cpuUs = (cpuMicros(ferry.pid) - cpuBefore) / run.requests;
  const toUs = Number(process.hrtime.bigint() / 1000n);
  ferry.child.kill('SIGTERM');
  if (ferry.child.exitCode === null) await once(ferry.child, 'exit');
  const file = (await readdir(profDir)).find((f) => f.endsWith('.cpuprofile'));
  if (file === undefined) throw new Error(`Ferry wrote no CPU profile into ${profDir}`);
  const profile = JSON.parse(await readFile(path.join(profDir, file), 'utf8')) as CpuProfile;
  console.log(`command: node --import tsx bench/grpc-gateway.ts --profile ${values.profile} --seconds ${SECONDS} --top ${values.top}`);
  console.log(
    `${verb} ${url} at ${CONNS} connections for ${SECONDS} s: ${run.rps.toFixed(0)} req/s, ${cpuUs.toFixed(1)} µs CPU/req (the profiler adds some); node ${process.version}, load ${loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')}`,
  );
  printProfileSummary(summariseProfile(profile, Number(values.top), { fromUs, toUs }));
}

const fmt = (n: number, d = 0): string => n.toFixed(d).padStart(10);

function printRound(round: number, rows: Row[]): void {
  console.log(
    `\nround ${round + 1} (load ${loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')})`,
  );
  console.log(`${''.padEnd(34)}  req/s@${CONNS}  CPU µs/req  p50@1 ms  p99@1 ms`);
  for (const r of rows) console.log(`${r.name.padEnd(34)}${fmt(r.rps64)}${fmt(r.cpuUs, 1)}${fmt(r.p50at1, 3)}${fmt(r.p99at1, 3)}`);
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

function printSummary(rounds: Row[][], ferryNames: string[], floorNames: string[]): void {
  const get = (rows: Row[], name: string): Row => rows.find((r) => r.name === name)!;
  const m = (fn: (rows: Row[]) => number): string => median(rounds.map(fn)).toFixed(2);
  console.log(
    `\nmedian over ${rounds.length} rounds (ratios within a round), ${cpus().length} cores (${cpus()[0]?.model ?? '?'}), node ${process.version}`,
  );
  console.log(
    `command: node --import tsx bench/grpc-gateway.ts --seconds ${SECONDS} --rounds ${ROUNDS}${values.before ? ` --before ${values.before}` : ''}${values.floor ? ' --floor' : ''}`,
  );
  console.log(
    `pinned: ${PIN ? 'gateways and direct client on core 0, wrk and the Go server on core 1' : 'no'}; load now ${loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')}`,
  );
  for (const verb of ['GET', 'POST']) {
    for (const f of ferryNames) {
      const ferry = (rows: Row[]) => get(rows, `${verb} ${f}`);
      const gw = (rows: Row[]) => get(rows, `${verb} grpc-gateway`);
      const dir = (rows: Row[]) => get(rows, `${verb} direct gRPC (Go client)`);
      console.log(
        `${verb} ${f}: req/s ${m((r) => ferry(r).rps64 / gw(r).rps64)}× grpc-gateway, CPU/req ${m((r) => ferry(r).cpuUs / gw(r).cpuUs)}× (target ≤ 1), ` +
          `p99@1 ${m((r) => ferry(r).p99at1 / gw(r).p99at1)}× (target ≤ 2), added p50@1 over direct ${m((r) => ferry(r).p50at1 - dir(r).p50at1)} ms (target ≤ 0.10; grpc-gateway ${m((r) => gw(r).p50at1 - dir(r).p50at1)} ms), ` +
          `CPU/req ${m((r) => ferry(r).cpuUs / get(r, 'POST bare fastify /echo (floor)').cpuUs)}× bare fastify`,
      );
    }
  }
  for (const f of floorNames) {
    const floor = (rows: Row[]) => get(rows, f);
    const gw = (rows: Row[]) => get(rows, 'GET grpc-gateway');
    console.log(
      `${f}: CPU/req ${m((r) => floor(r).cpuUs)} µs, ${m((r) => floor(r).cpuUs / gw(r).cpuUs)}× grpc-gateway, ${m((r) => floor(r).cpuUs / get(r, 'GET ferry').cpuUs)}× Ferry; ` +
        `p99@1 ${m((r) => floor(r).p99at1 / gw(r).p99at1)}× grpc-gateway`,
    );
  }
}

await main();
