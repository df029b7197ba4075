/**
 * The performance table of issue 7, in one run on one machine:
 *
 *   Ferry get-account, Ferry list of 20 POJOs, bare fastify (the floor), and a direct Dubbo call
 *   (in-process client, the very request bytes Ferry's plan builds) — req/s, p50/p99, CPU µs per
 *   request, and the ratios the issue names.
 *
 *   node --import tsx bench/table.ts [--seconds 10] [--connections 64] [--rounds 3] [--workers]
 *     [--only-workers] [--worker-cpu 0.5] [--pipeline N] [--log-level L] [--no-returns]
 *     [--only-finance] [--other-gateway URL [--other-start CMD] [--other-name NAME]] [--before DIR]
 *     [--strace]
 *
 * The finance route (issue 19): POST /lab/echo/transfer of mappings/lab.yaml — a Transfer body
 * (long, BigDecimal, enum, String, LocalDateTime, List<String>) answered with the Transfer, with no
 * `returns:` (the generic reply decoder), and the same route with `returns: com.example.bank.Transfer`
 * (the typed one), each against bare fastify in the same round. `--only-finance` runs only those
 * rows (with bare fastify and the direct call).
 *
 * A second gateway: `--other-gateway URL` adds a row for it in every round, for a GET that answers
 * what Ferry's get-account answers (e.g. dubbo-go-pixiu's REST path to the same provider). With
 * `--other-start CMD` the bench starts it (`sh -c CMD`, `{provider}` replaced by the Java
 * provider's host:port and `{mappings}` by the folder of Ferry's mappings), pins it to core 0 as
 * Ferry is, waits until the URL's port accepts, and measures its CPU per request as Ferry's;
 * without it the gateway is taken as running and its CPU column stays empty.
 *
 * `--before DIR` serves the same mappings with Ferry from another checkout (built, with its own
 * node_modules), measured beside this one in every round: before/after figures within a round.
 *
 * The main rows run in --rounds whole rounds; each ratio compares rows of one round and the
 * summary gives the median round's, since this machine's speed drifts between minutes.
 *
 * Processes: the Apache Dubbo sample provider (Java), `node bin/ferry.js serve`, and
 * bench/bare-fastify.ts. On a machine with 2+ cores each server (and this process while it makes
 * direct calls) is pinned to core 0 with taskset, and wrk plus the JVM to core 1, as in
 * reference/performance.md. CPU per request is a server process's utime+stime from /proc/<pid>/stat
 * (children included with --workers) before and after a wrk run, divided by the requests wrk counted.
 * `--workers` adds Ferry with `--workers 2` vs `--workers 1`, unpinned, twice: against the Java
 * provider (the JVM and wrk share the two cores with Ferry, so a second worker mostly adds
 * contention), and against bench/dubbo-replay (Go) replaying the Java provider's recorded
 * get-account reply (an upstream that costs a few µs, so Ferry is what the cores run). With
 * --worker-cpu C (default 0.5; 0 leaves them out) both are run again with Ferry in a CPU cgroup
 * of n × C cores: each worker gets a fixed slice of CPU time and wrk and the upstream the rest,
 * which is the closest this two-core machine comes to giving each worker a core of its own.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { closeSync, existsSync, mkdirSync, openSync, readdirSync, readFileSync, rmdirSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { cpus, tmpdir } from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { loadConfigDir } from '../src/config/loader.js';
import { compileDubboRoute } from '../src/mapping/dubbo.js';
import { RequestView } from '../src/mapping/request-view.js';
import { createDubboClient } from '../src/upstream/clients.js';
import { startJavaProvider } from '../test/support/java-provider.js';
import { freePort } from '../test/support/ports.js';
import { TRANSFER_BODY } from './finance-body.js';
import { closedLoop, wrkMs } from './load.js';

const { values } = parseArgs({
  options: {
    seconds: { type: 'string', default: '10' },
    connections: { type: 'string', default: '64' },
    workers: { type: 'boolean', default: false },
    /** Only the --workers rows (implies --workers). */
    'only-workers': { type: 'boolean', default: false },
    /** With --workers: also rows where wrk pipelines N requests per write (shrinks wrk's share of the CPU). */
    pipeline: { type: 'string', default: '1' },
    /** Rounds of the main rows; ratios are taken within a round, the summary is their median. */
    rounds: { type: 'string', default: '3' },
    /** With --workers: also rows with each worker held to this many cores of CPU time (cgroup); 0: none. */
    'worker-cpu': { type: 'string', default: '0.5' },
    'no-pin': { type: 'boolean', default: false },
    /** Drop the sample routes' `returns:` (generic reply decoding), for before/after figures. */
    'no-returns': { type: 'boolean', default: false },
    /** FERRY_LOG_LEVEL for Ferry; default: as shipped (info: one JSON line per request). */
    'log-level': { type: 'string' },
    /** Only the finance rows (bare fastify, the finance route with and without returns:, the direct call). */
    'only-finance': { type: 'boolean', default: false },
    /** A second gateway's URL for the get-account equivalent (GET); a row for it in every round. */
    'other-gateway': { type: 'string' },
    /** The shell command that starts it ({provider}, {mappings} replaced); absent: already running. */
    'other-start': { type: 'string' },
    'other-name': { type: 'string', default: 'other gateway' },
    /** Ferry from another checkout (built, with its node_modules), measured beside this one in every round. */
    before: { type: 'string' },
    /** Also count system calls per request with `strace -c -f` (finance route and bare fastify, 1 and N conns). */
    strace: { type: 'boolean', default: false },
  },
});
if (values['log-level'] !== undefined) process.env['FERRY_LOG_LEVEL'] = values['log-level'];
if (values['only-workers']) values.workers = true;
const SECONDS = Number(values.seconds);
const CONNS = Number(values.connections);
const PIPELINE = Number(values.pipeline);
const ROUNDS = Math.max(1, Number(values.rounds));
const WORKER_CPU = Number(values['worker-cpu']);
/** Lines printed under the table (what was left out and why). */
const notes: string[] = [];
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

/**
 * Read- and write-family system calls made so far by a process and its descendants (`syscr`,
 * `syscw` of /proc/<pid>/io: read/readv and write/writev, which is what Node's sockets use; epoll
 * and the like are not counted). Cheap, so every row carries it (strace -c, see --strace, slows
 * the process it watches and changes how writes batch).
 */
function ioCalls(pid: number): { reads: number; writes: number } {
  let reads = 0;
  let writes = 0;
  const visit = (p: number): void => {
    try {
      const io = readFileSync(`/proc/${p}/io`, 'utf8');
      reads += Number(/syscr: (\d+)/.exec(io)?.[1] ?? 0);
      writes += Number(/syscw: (\d+)/.exec(io)?.[1] ?? 0);
    } catch {
      return;
    }
    for (const tid of readdirSyncSafe(`/proc/${p}/task`)) {
      let children = '';
      try {
        children = readFileSync(`/proc/${p}/task/${tid}/children`, 'utf8');
      } catch {
        /* gone */
      }
      for (const c of children.split(' ').filter(Boolean)) visit(Number(c));
    }
  };
  visit(pid);
  return { reads, writes };
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
  /** wrk's CPU µs per request (HTTP rows). */
  wrkCpuUs?: number;
  /** The upstream process's CPU µs per request, where it is a process of its own (JVM, replay). */
  upstreamCpuUs?: number;
  /** The measured server's read and write system calls per request (HTTP rows; see ioCalls). */
  readsPerReq?: number;
  writesPerReq?: number;
}

/** bash's `times` line "0m1.234s 0m0.056s" (user, sys) in µs. */
function timesMicros(line: string): number {
  let us = 0;
  for (const m of line.matchAll(/(\d+)m([0-9.]+)s/g)) us += (Number(m[1]) * 60 + Number(m[2])) * 1e6;
  return us;
}

async function wrk(
  url: string,
  conns: number,
  seconds: number,
  script?: string,
): Promise<{ rps: number; requests: number; p50: number; p99: number; wrkCpuUs: number }> {
  // Run through bash so that `times` reports wrk's own CPU time (the children line) when it ends.
  // A long timeout: on a machine shared with others' builds a reply can take seconds, which is slow, not wrong.
  const wrkArgs = ['-t1', `-c${conns}`, `-d${seconds}s`, '--timeout', '30s', '--latency', ...(script ? ['-s', script] : []), url];
  const [cmd, args] = pinned(1, 'bash', ['-c', 'wrk "$@"; rc=$?; times; exit $rc', 'bash', ...wrkArgs]);
  const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  const [code] = (await once(child, 'exit')) as [number | null];
  if (code !== 0) throw new Error(`wrk exited ${code}: ${out}`);
  if (/Non-2xx|Socket errors/.test(out)) throw new Error(`wrk saw errors against ${url}:\n${out}`);
  const total = /(\d+) requests in/.exec(out);
  const rps = /Requests\/sec:\s+([0-9.]+)/.exec(out);
  // The last line is `times`' children line: wrk's user and system time.
  const timesLine = out.trimEnd().split('\n').at(-1) ?? '';
  return { rps: Number(rps![1]), requests: Number(total![1]), p50: wrkMs(out, '50%'), p99: wrkMs(out, '99%'), wrkCpuUs: timesMicros(timesLine) };
}

/** One wrk run against a server process, with its CPU time per request. */
async function measure(name: string, pid: number, url: string, conns: number, opts: { script?: string; upstreamPid?: number } = {}): Promise<Row> {
  const before = cpuMicros(pid);
  const ioBefore = ioCalls(pid);
  const upstreamBefore = opts.upstreamPid === undefined ? 0 : cpuMicros(opts.upstreamPid);
  const r = await wrk(url, conns, SECONDS, opts.script);
  const used = cpuMicros(pid) - before;
  const io = ioCalls(pid);
  const upstreamCpuUs = opts.upstreamPid === undefined ? undefined : (cpuMicros(opts.upstreamPid) - upstreamBefore) / r.requests;
  return {
    name,
    rps: r.rps,
    p50: r.p50,
    p99: r.p99,
    cpuUs: used / r.requests,
    wrkCpuUs: r.wrkCpuUs / r.requests,
    ...(upstreamCpuUs === undefined ? {} : { upstreamCpuUs }),
    readsPerReq: (io.reads - ioBefore.reads) / r.requests,
    writesPerReq: (io.writes - ioBefore.writes) / r.requests,
  };
}

/**
 * One wrk run with `strace -c -f` attached to the server: its system calls per request, by name
 * (the most frequent first). strace slows what it watches, so the CPU figures of this run are not
 * used, and at many connections writes batch more than they would unwatched.
 */
async function straceRun(
  pid: number,
  url: string,
  conns: number,
  script: string | undefined,
  out: string,
): Promise<{ requests: number; calls: Array<[string, number]> }> {
  const tracer = spawn('strace', ['-c', '-f', '-o', out, '-p', String(pid)], { stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  tracer.stderr.on('data', (d: Buffer) => (err += d.toString()));
  await new Promise((r) => setTimeout(r, 1000)); // attached to every thread
  const r = await wrk(url, conns, Math.max(2, Math.round(SECONDS / 2)), script);
  tracer.kill('SIGINT');
  const [code] = (await once(tracer, 'exit')) as [number | null];
  if (!existsSync(out)) throw new Error(`strace exited ${code} without a summary: ${err}`);
  const calls: Array<[string, number]> = [];
  for (const line of readFileSync(out, 'utf8').split('\n')) {
    // "% time  seconds  usecs/call  calls  errors syscall" (errors may be empty)
    const m = /^\s*[0-9.]+\s+[0-9.]+\s+\d+\s+(\d+)\s+(?:\d+\s+)?([a-z_0-9]+)\s*$/.exec(line);
    if (m && m[2] !== 'total') calls.push([m[2]!, Number(m[1]) / r.requests]);
  }
  calls.sort((a, b) => b[1] - a[1]);
  return { requests: r.requests, calls };
}

/** A closed loop in this process (bench/load.ts), with this process's CPU time per call. */
async function direct(name: string, call: () => Promise<unknown>, inFlight: number, seconds: number): Promise<Row> {
  const cpu0 = process.cpuUsage();
  const r = await closedLoop(call, inFlight, seconds * 1000);
  const cpu = process.cpuUsage(cpu0);
  return { name, rps: r.rps, p50: r.p50, p99: r.p99, cpuUs: (cpu.user + cpu.system) / r.requests };
}

interface Server {
  pid: number;
  port: number;
  child: ChildProcess;
  stop(): Promise<void>;
}

/**
 * A CPU cgroup capping its processes at `cpus` cores of CPU time (CFS quota; cgroup v1's cpu
 * controller or v2's cpu.max), or undefined where this machine lets the bench make none.
 */
function cpuCgroup(name: string, cpus: number): { dir: string; remove(): void } | undefined {
  const period = 100_000;
  const quota = Math.round(cpus * period);
  const tries: Array<[string, () => void]> = [
    [
      `/sys/fs/cgroup/cpu/${name}`,
      () => {
        writeFileSync(`/sys/fs/cgroup/cpu/${name}/cpu.cfs_period_us`, String(period));
        writeFileSync(`/sys/fs/cgroup/cpu/${name}/cpu.cfs_quota_us`, String(quota));
      },
    ],
    [`/sys/fs/cgroup/${name}`, () => writeFileSync(`/sys/fs/cgroup/${name}/cpu.max`, `${quota} ${period}`)],
  ];
  for (const [dir, limit] of tries) {
    try {
      mkdirSync(dir);
    } catch {
      continue;
    }
    try {
      // A real cgroup has cgroup.procs; a plain directory (say, on a tmpfs) would take the writes silently.
      if (!existsSync(`${dir}/cgroup.procs`)) throw new Error(`${dir} is not a cgroup`);
      limit();
      return {
        dir,
        remove: () => {
          try {
            rmdirSync(dir); // a cgroup goes with rmdir once its processes are gone
          } catch {
            /* still in use or already gone */
          }
        },
      };
    } catch {
      // A cgroup goes with rmdir; a plain directory needs its files removed.
      try {
        rmdirSync(dir);
      } catch {
        rmSync(dir, { recursive: true, force: true });
      }
    }
  }
  return undefined;
}

/**
 * Starts a server whose stdout (Ferry's JSON logs, one line per request at the default level) goes
 * to a file, as a log shipper would read it, and waits until its port accepts connections.
 */
async function startServer(
  label: string,
  core: number | undefined,
  args: string[],
  logFile: string,
  port: number,
  cgroup?: string,
  command?: [string, string[]],
): Promise<Server> {
  // In a cgroup: a shell joins it, then execs node (same pid), whose workers inherit it.
  const [exe, exeArgs] = command ?? [process.execPath, args];
  const [cmd, argv]: [string, string[]] =
    cgroup !== undefined
      ? ['sh', ['-c', `echo $$ > ${cgroup}/cgroup.procs && exec "$@"`, 'sh', exe, ...exeArgs]]
      : core === undefined
        ? [exe, exeArgs]
        : pinned(core, exe, exeArgs);
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

async function postJson(url: string, body: string): Promise<string> {
  const res = await fetch(url, { method: 'POST', body, headers: { 'content-type': 'application/json' } });
  const text = await res.text();
  if (res.status !== 200) throw new Error(`POST ${url} answered ${res.status}: ${text}`);
  return text;
}

interface OtherGateway {
  readonly name: string;
  readonly url: string;
  /** The process whose CPU is measured (the one --other-start started); undefined when it was already running. */
  readonly pid: number | undefined;
}

/** The second gateway: started by `--other-start` (pinned as Ferry is) or taken as running; answers 200 on its URL. */
async function startOther(url: string, start: string | undefined, providerAddress: string, mappings: string): Promise<OtherGateway> {
  const name = values['other-name'];
  const port = Number(new URL(url).port || 80);
  let pid: number | undefined;
  if (start !== undefined) {
    const command = start.replaceAll('{provider}', providerAddress).replaceAll('{mappings}', mappings);
    const server = await startServer(name, 0, [], path.join(mappings, 'other.log'), port, undefined, ['sh', ['-c', `exec ${command}`]]);
    cleanups.push(() => server.stop());
    pid = server.pid;
  }
  const res = await fetch(url);
  const text = await res.text();
  if (res.status !== 200) throw new Error(`${name} at ${url} answered ${res.status}: ${text.slice(0, 300)}`);
  return { name, url, pid };
}

async function measureOther(other: OtherGateway, name: string, conns: number, opts: { upstreamPid?: number }): Promise<Row> {
  if (other.pid !== undefined) return measure(name, other.pid, other.url, conns, opts);
  const r = await wrk(other.url, conns, SECONDS);
  return { name, rps: r.rps, p50: r.p50, p99: r.p99, cpuUs: NaN, wrkCpuUs: r.wrkCpuUs / r.requests };
}

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
  // The finance route as the sample writes it (no returns:), and the same call with returns: declared.
  const lab = (await readFile('mappings/lab.yaml', 'utf8')).replaceAll('127.0.0.1:20880', provider.address);
  await writeFile(
    path.join(dir, 'lab.yaml'),
    `${lab.trimEnd()}\n  - id: bench-echo-transfer-typed\n    http: POST /lab/echo/transfer-typed\n    call: lab.echoTransfer\n` +
      `    returns: com.example.bank.Transfer\n    args: [{ from: body, type: 'com.example.bank.Transfer' }]\n`,
  );

  const ferryPort = await freePort();
  adminPort = await freePort();
  const ferry = await startServer(
    'ferry',
    0,
    ['bin/ferry.js', 'serve', '--mappings', dir, '--port', String(ferryPort), ...adminArgs()],
    path.join(dir, 'ferry.log'),
    ferryPort,
  );
  cleanups.push(() => ferry.stop());
  // --before DIR: the same mappings served by Ferry from another checkout, for before/after rows in one round.
  const beforeDir = values.before;
  const beforePort = beforeDir === undefined ? 0 : await freePort();
  let before: Server | undefined;
  if (beforeDir !== undefined) {
    adminPort = await freePort();
    before = await startServer(
      'ferry (before)',
      0,
      [path.join(beforeDir, 'bin/ferry.js'), 'serve', '--mappings', dir, '--port', String(beforePort), ...adminArgs()],
      path.join(dir, 'before.log'),
      beforePort,
    );
    cleanups.push(() => before!.stop());
  }
  const barePort = await freePort();
  const bare = await startServer(
    'bare fastify',
    0,
    ['--import', 'tsx', 'bench/bare-fastify.ts', '--port', String(barePort)],
    path.join(dir, 'bare.log'),
    barePort,
  );
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
  // The finance route's request (bench/finance-body.ts).
  const transferBody = TRANSFER_BODY;
  const financeUrl = `http://127.0.0.1:${ferryPort}/lab/echo/transfer`;
  const financeTypedUrl = `http://127.0.0.1:${ferryPort}/lab/echo/transfer-typed`;
  const financeScript = path.join(dir, 'transfer.lua');
  await writeFile(
    financeScript,
    `wrk.method = "POST"\nwrk.body = ${JSON.stringify(transferBody)}\nwrk.headers["Content-Type"] = "application/json"\n`,
  );
  const financeBeforeUrl = `http://127.0.0.1:${beforePort}/lab/echo/transfer`;
  const getBeforeUrl = `http://127.0.0.1:${beforePort}/accounts/2`;
  const financeReply = await postJson(financeUrl, transferBody);
  if (before !== undefined && (await postJson(financeBeforeUrl, transferBody)) !== financeReply) {
    throw new Error('Ferry from --before answers the finance route differently');
  }
  const financeTypedReply = await postJson(financeTypedUrl, transferBody);
  if (financeReply !== financeTypedReply)
    throw new Error(`the finance route answers differently with returns:\n${financeReply}\n${financeTypedReply}`);

  // The direct baseline: the same compiled plans, the same client, no HTTP.
  const config = await loadConfigDir(dir);
  const service = config.services.get('accounts');
  if (service?.protocol !== 'dubbo') throw new Error('mappings/bank.yaml declares no Dubbo service "accounts"');
  const client = createDubboClient({ endpoints: service.endpoints, connectionsPerEndpoint: service.connectionsPerEndpoint });
  cleanups.push(() => client.close());
  const requestOf = (routeId: string, reqPath: string, params: Record<string, string>, query: string) => {
    const route = config.routes.find((r) => r.id === routeId);
    if (route?.protocol !== 'dubbo') throw new Error(`mappings/bank.yaml has no Dubbo route ${routeId}`);
    const plan = compileDubboRoute(route, service, config);
    const view = new RequestView({ method: 'GET', path: reqPath, rawQuery: query, headers: {}, body: undefined }, params, plan.bodyParsing);
    return { plan, body: Buffer.from(plan.encodeRequest(view, {}, service.timeoutMs)) };
  };
  const directCallOf = (routeId: string, reqPath: string, params: Record<string, string>, query: string): (() => Promise<void>) => {
    const { plan, body } = requestOf(routeId, reqPath, params, query);
    return async () => {
      const reply = await client.call(body, { timeoutMs: 5000 });
      // Decode like Ferry does, so that only HTTP, routing and telemetry differ.
      plan.decodeReply(reply.status, reply.body, reply.endpoint);
    };
  };
  const directGet = directCallOf('get-account', '/accounts/2', { id: '2' }, '');
  const directList = directCallOf('list-accounts', '/accounts', {}, 'limit=20');
  // The finance route's call without HTTP: the request bytes Ferry builds from the body, the reply
  // decoded by the generic path as the route (no returns:) does.
  const labService = config.services.get('lab');
  if (labService?.protocol !== 'dubbo') throw new Error('mappings/lab.yaml declares no Dubbo service "lab"');
  const labClient = createDubboClient({ endpoints: labService.endpoints, connectionsPerEndpoint: labService.connectionsPerEndpoint });
  cleanups.push(() => labClient.close());
  const directFinance = ((): (() => Promise<void>) => {
    const route = config.routes.find((r) => r.id === 'lab-echo-transfer');
    if (route?.protocol !== 'dubbo') throw new Error('mappings/lab.yaml has no Dubbo route lab-echo-transfer');
    const plan = compileDubboRoute(route, labService, config);
    const req = {
      method: 'POST',
      path: '/lab/echo/transfer',
      rawQuery: '',
      headers: { 'content-type': 'application/json' },
      body: Buffer.from(transferBody),
    };
    const body = Buffer.from(plan.encodeRequest(new RequestView(req, {}, plan.bodyParsing), {}, labService.timeoutMs));
    return async () => {
      const reply = await labClient.call(body, { timeoutMs: 5000 });
      plan.decodeReply(reply.status, reply.body, reply.endpoint);
    };
  })();
  const other =
    values['other-gateway'] === undefined ? undefined : await startOther(values['other-gateway'], values['other-start'], provider.address, dir);
  if (other === undefined) {
    notes.push('second gateway: none given (--other-gateway URL [--other-start CMD]), so its row is left out');
  }
  if (PIN) execFileSync('taskset', ['-p', '-c', '0', String(process.pid)], { stdio: 'ignore' });

  const rows: Row[] = [];
  const warm = Math.max(2, Math.round(SECONDS / 3));
  const ONLY_FINANCE = values['only-finance'];
  if (!values['only-workers']) {
    // Warm-up: JIT on every side, connections open.
    await wrk(bareUrl, 8, warm, script);
    await wrk(financeUrl, 8, warm, financeScript);
    await wrk(financeTypedUrl, 8, warm, financeScript);
    await direct('warm', directFinance, 8, warm);
    if (other !== undefined) await wrk(other.url, 8, warm);
    if (before !== undefined) {
      await wrk(financeBeforeUrl, 8, warm, financeScript);
      if (!ONLY_FINANCE) await wrk(getBeforeUrl, 8, warm);
    }
    if (!ONLY_FINANCE) {
      await wrk(getUrl, 8, warm);
      await wrk(listUrl, 8, warm);
      await direct('warm', directGet, 8, warm);
      await direct('warm', directList, 8, warm);
    }

    // Whole rounds, one after another: each ratio compares rows of the same round (this machine's
    // speed drifts by ±15% over minutes), and the summary takes the median round.
    for (let i = 1; i <= ROUNDS; i++) {
      const tag = ROUNDS > 1 ? ` #${i}` : '';
      rows.push(await measure(`bare fastify POST, ${CONNS} conns${tag}`, bare.pid, bareUrl, CONNS, { script }));
      const up = { upstreamPid: provider.pid };
      rows.push(await measure(`ferry finance, ${CONNS} conns${tag}`, ferry.pid, financeUrl, CONNS, { ...up, script: financeScript }));
      rows.push(await measure(`ferry finance + returns:, ${CONNS} conns${tag}`, ferry.pid, financeTypedUrl, CONNS, { ...up, script: financeScript }));
      if (before !== undefined) {
        rows.push(
          await measure(`before: ferry finance, ${CONNS} conns${tag}`, before.pid, financeBeforeUrl, CONNS, { ...up, script: financeScript }),
        );
      }
      rows.push(await direct(`direct finance, ${CONNS} in flight${tag}`, directFinance, CONNS, SECONDS));
      if (other !== undefined) rows.push(await measureOther(other, `${other.name} get-account, ${CONNS} conns${tag}`, CONNS, up));
      rows.push(await measure(`bare fastify POST, 1 conn${tag}`, bare.pid, bareUrl, 1, { script }));
      rows.push(await measure(`ferry finance, 1 conn${tag}`, ferry.pid, financeUrl, 1, { ...up, script: financeScript }));
      rows.push(await measure(`ferry finance + returns:, 1 conn${tag}`, ferry.pid, financeTypedUrl, 1, { ...up, script: financeScript }));
      if (before !== undefined) {
        rows.push(await measure(`before: ferry finance, 1 conn${tag}`, before.pid, financeBeforeUrl, 1, { ...up, script: financeScript }));
      }
      rows.push(await direct(`direct finance, 1 in flight${tag}`, directFinance, 1, SECONDS));
      if (other !== undefined) rows.push(await measureOther(other, `${other.name} get-account, 1 conn${tag}`, 1, up));
      if (ONLY_FINANCE) continue;
      rows.push(await measure(`ferry get-account, ${CONNS} conns${tag}`, ferry.pid, getUrl, CONNS, { upstreamPid: provider.pid }));
      if (before !== undefined) rows.push(await measure(`before: ferry get-account, ${CONNS} conns${tag}`, before.pid, getBeforeUrl, CONNS, up));
      rows.push(await measure(`ferry list of 20, ${CONNS} conns${tag}`, ferry.pid, listUrl, CONNS, { upstreamPid: provider.pid }));
      rows.push(await direct(`direct get-account, ${CONNS} in flight${tag}`, directGet, CONNS, SECONDS));
      rows.push(await direct(`direct list of 20, ${CONNS} in flight${tag}`, directList, CONNS, SECONDS));
      rows.push(await measure(`ferry get-account, 1 conn${tag}`, ferry.pid, getUrl, 1, { upstreamPid: provider.pid }));
      if (before !== undefined) rows.push(await measure(`before: ferry get-account, 1 conn${tag}`, before.pid, getBeforeUrl, 1, up));
      rows.push(await direct(`direct get-account, 1 in flight${tag}`, directGet, 1, SECONDS));
      rows.push(await measure(`ferry list of 20, 1 conn${tag}`, ferry.pid, listUrl, 1, { upstreamPid: provider.pid }));
      rows.push(await direct(`direct list of 20, 1 in flight${tag}`, directList, 1, SECONDS));
    }
  }

  const straceLines: string[] = [];
  if (values.strace && !values['only-workers']) {
    const targets: Array<[string, number, string, string]> = [
      ['bare fastify POST', bare.pid, bareUrl, script],
      ['ferry finance', ferry.pid, financeUrl, financeScript],
      ['ferry finance + returns:', ferry.pid, financeTypedUrl, financeScript],
      ...(before !== undefined ? [['before: ferry finance', before.pid, financeBeforeUrl, financeScript] as [string, number, string, string]] : []),
    ];
    for (const conns of [1, CONNS]) {
      for (const [name, pid, url, lua] of targets) {
        const t = await straceRun(pid, url, conns, lua, path.join(dir, `strace-${straceLines.length}.txt`));
        const top = t.calls
          .filter(([, n]) => n >= 0.01)
          .map(([c, n]) => `${c} ${n.toFixed(2)}`)
          .join(', ');
        straceLines.push(`${`${name}, ${conns} conn${conns === 1 ? '' : 's'}`.padEnd(40)} ${top}`);
      }
    }
  }

  const workerRows: Row[] = [];
  if (values.workers) {
    await ferry.stop();
    await bare.stop();
    await before?.stop();
    if (PIN) {
      execFileSync('taskset', ['-p', '-c', '0,1', String(process.pid)], { stdio: 'ignore' });
      execFileSync('taskset', ['-a', '-p', '-c', '0,1', String(provider.pid)], { stdio: 'ignore' });
    }
    const pipelineScript = path.join(dir, 'pipeline.lua');
    await writeFile(
      pipelineScript,
      `init = function(args)\n  local r = {}\n  for i = 1, ${PIPELINE} do r[i] = wrk.format(nil) end\n  req = table.concat(r)\nend\nrequest = function() return req end\n`,
    );
    const workersAgainst = async (mappings: string, upstream: string, upstreamPid: number): Promise<void> => {
      // Unlimited, then (with --worker-cpu C) each Ferry worker held to C cores of CPU time by a
      // cgroup, so that wrk and the upstream keep the rest of the two cores.
      for (const perWorker of WORKER_CPU > 0 ? [undefined, WORKER_CPU] : [undefined]) {
        for (const n of [1, 2]) {
          const port = await freePort();
          const args = ['bin/ferry.js', 'serve', '--mappings', mappings, '--port', String(port), '--workers', String(n), ...adminArgs()];
          const group = perWorker === undefined ? undefined : cpuCgroup(`ferry-bench-${process.pid}-${n}`, n * perWorker);
          if (perWorker !== undefined && group === undefined) {
            notes.push(`--worker-cpu: no CPU cgroup could be made here (needs root and a writable cgroup cpu controller); those rows are left out`);
            return;
          }
          const label = `ferry --workers ${n}, ${upstream}${perWorker === undefined ? '' : `, ${perWorker} CPU/worker`}`;
          const f = await startServer(label, undefined, args, path.join(dir, `ferry-${n}-${workerRows.length}.log`), port, group?.dir);
          try {
            const url = `http://127.0.0.1:${port}/accounts/2`;
            await wrk(url, 8, warm);
            workerRows.push(await measure(label, f.pid, url, CONNS, { upstreamPid }));
            if (PIPELINE > 1) {
              // wrk times a pipelined batch, not a request: its latency figures are left out.
              const row = await measure(`${label}, pipelined ${PIPELINE}`, f.pid, url, CONNS, { upstreamPid, script: pipelineScript });
              workerRows.push({ ...row, p50: NaN, p99: NaN });
            }
          } finally {
            await f.stop();
            group?.remove();
          }
        }
      }
    };
    // The Java provider's own get-account reply body, for bench/dubbo-replay to send back below.
    const recordedGet = await client.call(requestOf('get-account', '/accounts/2', { id: '2' }, '').body, { timeoutMs: 5000 });
    if (recordedGet.status !== 20) throw new Error(`recording get-account: provider answered status ${recordedGet.status}`);
    await workersAgainst(dir, 'Java provider', provider.pid);
    await provider.stop();

    // Ferry-bound: the Java provider's recorded reply bytes, replayed by a small Go server
    // (bench/dubbo-replay) that costs a few µs per call, so the two cores go to Ferry and wrk.
    const replyFile = path.join(dir, 'get-account.reply');
    await writeFile(replyFile, recordedGet.body);
    // One Go thread: the scheduler's idle spinning on other threads would cost more than the work.
    const replay = spawn('bench/dubbo-replay/bin/dubbo-replay', ['-reply', replyFile], {
      stdio: ['ignore', 'pipe', 'inherit'],
      env: { ...process.env, GOMAXPROCS: '1' },
    });
    cleanups.push(async () => {
      if (replay.exitCode !== null) return;
      replay.kill('SIGTERM');
      await once(replay, 'exit');
    });
    const replayPort = await new Promise<number>((resolve, reject) => {
      replay.stdout.once('data', (d: Buffer) => resolve(Number(/port (\d+)/.exec(d.toString())?.[1])));
      replay.once('exit', (code) => reject(new Error(`bench/dubbo-replay exited (${code}) before it listened`)));
    });
    const replayDir = path.join(dir, 'replayed');
    await mkdir(replayDir);
    await writeFile(path.join(replayDir, 'bank.yaml'), bank.replaceAll(provider.address, `127.0.0.1:${replayPort}`));
    await workersAgainst(replayDir, 'replayed reply', replay.pid!);
  }

  await cleanup();

  const fmt = (n: number, d: number, w: number): string => n.toFixed(d).padStart(w);
  const lines: string[] = [];
  lines.push(`Ferry bench — ${new Date().toISOString()}`);
  lines.push(
    `machine: ${cpus().length} × ${cpus()[0]?.model ?? '?'}, node ${process.version}, ${PIN ? 'servers pinned to core 0, wrk + JVM to core 1' : 'unpinned'}`,
  );
  lines.push(
    `command: npm run bench -- ${process.argv.slice(2).join(' ')}  (${CONNS} connections, ${SECONDS} s per row: wrk -t1 -c${CONNS} -d${SECONDS}s --latency)`,
  );
  lines.push(`Ferry logs: ${process.env['FERRY_LOG_LEVEL'] ?? 'default level'} (stdout to a file)`);
  lines.push(
    `replies: get-account ${Buffer.byteLength(getBody)} B, list of 20 ${Buffer.byteLength(listBody)} B, bare fastify ${Buffer.byteLength(bareReply)} B (request ${postBody.length} B), finance ${Buffer.byteLength(financeReply)} B (request ${transferBody.length} B)`,
  );
  lines.push('');
  const opt = (n: number | undefined): string => (n === undefined ? '—'.padStart(10) : fmt(n, 1, 10));
  const calls = (n: number | undefined, w: number): string => (n === undefined ? '—'.padStart(w) : fmt(n, 2, w));
  const ms = (n: number): string => (Number.isNaN(n) ? '—'.padStart(9) : fmt(n, 3, 9));
  lines.push(
    `${'what'.padEnd(50)}${'req/s'.padStart(9)}${'p50 ms'.padStart(9)}${'p99 ms'.padStart(9)}${'CPU µs/req'.padStart(12)}${'wrk µs'.padStart(10)}${'upstr. µs'.padStart(10)}${'reads/req'.padStart(10)}${'writes/req'.padStart(11)}`,
  );
  for (const r of [...rows, ...workerRows]) {
    lines.push(
      `${r.name.padEnd(50)}${fmt(r.rps, 0, 9)}${ms(r.p50)}${ms(r.p99)}${Number.isNaN(r.cpuUs) ? '—'.padStart(12) : fmt(r.cpuUs, 1, 12)}${opt(r.wrkCpuUs)}${opt(r.upstreamCpuUs)}${calls(r.readsPerReq, 10)}${calls(r.writesPerReq, 11)}`,
    );
  }
  lines.push(
    '(CPU µs/req: the measured server, or this process for direct calls; wrk µs and upstr. µs: the load generator and the upstream process, per request;',
    " reads/req, writes/req: the measured server's read- and write-family system calls per request, from /proc/<pid>/io)",
  );
  lines.push('');
  if (rows.length > 0) {
    // Each summary line: one figure per round (rows of that round only), then their median.
    const perRound = (f: (row: (prefix: string) => Row) => number): number[] =>
      Array.from({ length: ROUNDS }, (_, i) => {
        const tag = ROUNDS > 1 ? ` #${i + 1}` : '';
        return f((prefix) => {
          const found = rows.find((r) => r.name === `${prefix}${tag}`);
          if (found === undefined) throw new Error(`no row "${prefix}${tag}"`);
          return found;
        });
      });
    const summary = (values: number[], digits: number, unit: string): string => {
      const median = [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
      const each = values.length > 1 ? ` (rounds: ${values.map((v) => v.toFixed(digits) + unit).join(', ')})` : '';
      return `${median.toFixed(digits)}${unit}${each}`;
    };
    const med = ROUNDS > 1 ? `median of ${ROUNDS} rounds: ` : '';
    const ratio = (name: string) => perRound((row) => row(`${name}, ${CONNS} conns`).cpuUs / row(`bare fastify POST, ${CONNS} conns`).cpuUs);
    const added = (name: string, directName: string) => perRound((row) => row(`${name}, 1 conn`).p50 - row(`${directName}, 1 in flight`).p50);
    lines.push(`Ferry CPU/req ÷ bare fastify CPU/req, finance route (no returns:), ${med}${summary(ratio('ferry finance'), 2, '×')} (target ≤ 1.8×)`);
    lines.push(
      `Ferry CPU/req ÷ bare fastify CPU/req, finance route + returns:, ${med}${summary(ratio('ferry finance + returns:'), 2, '×')} (target ≤ 1.8×)`,
    );
    lines.push(
      `added median latency vs direct at 1 in flight, finance route, ${med}${summary(added('ferry finance', 'direct finance'), 3, ' ms')} (target ≤ 0.10 ms)`,
    );
    if (before !== undefined) {
      lines.push(`before: CPU/req ÷ bare fastify CPU/req, finance route (no returns:), ${med}${summary(ratio('before: ferry finance'), 2, '×')}`);
      lines.push(
        `before: added median latency vs direct at 1 in flight, finance route, ${med}${summary(added('before: ferry finance', 'direct finance'), 3, ' ms')}`,
      );
      const vs = perRound((row) => row(`ferry finance, ${CONNS} conns`).cpuUs / row(`before: ferry finance, ${CONNS} conns`).cpuUs);
      lines.push(`now ÷ before, CPU/req, finance route, ${CONNS} conns, ${med}${summary(vs, 3, '×')}`);
      if (!ONLY_FINANCE) {
        lines.push(`before: CPU/req ÷ bare fastify CPU/req, get-account, ${med}${summary(ratio('before: ferry get-account'), 2, '×')}`);
        lines.push(
          `before: added median latency vs direct at 1 in flight, get-account, ${med}${summary(added('before: ferry get-account', 'direct get-account'), 3, ' ms')}`,
        );
      }
    }
    if (other !== undefined) {
      const otherName = `${other.name} get-account`;
      if (other.pid !== undefined)
        lines.push(`${other.name} CPU/req ÷ bare fastify CPU/req, get-account, ${med}${summary(ratio(otherName), 2, '×')}`);
      lines.push(
        `${other.name}: req/s at ${CONNS} conns, ${med}${summary(
          perRound((row) => row(`${otherName}, ${CONNS} conns`).rps),
          0,
          '',
        )}`,
      );
      if (!ONLY_FINANCE) {
        lines.push(
          `${other.name}: added median latency vs direct at 1 in flight, get-account, ${med}${summary(added(otherName, 'direct get-account'), 3, ' ms')}`,
        );
        if (other.pid !== undefined) {
          const vs = perRound((row) => row(`ferry get-account, ${CONNS} conns`).cpuUs / row(`${otherName}, ${CONNS} conns`).cpuUs);
          lines.push(`Ferry CPU/req ÷ ${other.name} CPU/req, get-account, ${med}${summary(vs, 2, '×')}`);
        }
      }
    }
    if (!ONLY_FINANCE) {
      lines.push(`Ferry CPU/req ÷ bare fastify CPU/req, get-account, ${med}${summary(ratio('ferry get-account'), 2, '×')} (target ≤ 1.3×)`);
      lines.push(`Ferry CPU/req ÷ bare fastify CPU/req, list of 20, ${med}${summary(ratio('ferry list of 20'), 2, '×')} (target ≤ 2.5×)`);
      lines.push(
        `added median latency vs direct at 1 in flight, get-account, ${med}${summary(added('ferry get-account', 'direct get-account'), 3, ' ms')} (target ≤ 0.10 ms)`,
      );
      lines.push(
        `added median latency vs direct at 1 in flight, list of 20, ${med}${summary(added('ferry list of 20', 'direct list of 20'), 3, ' ms')}`,
      );
    }
  }
  for (const one of workerRows.filter((r) => r.name.startsWith('ferry --workers 1, '))) {
    const load = one.name.slice('ferry --workers 1, '.length);
    const two = workerRows.find((r) => r.name === `ferry --workers 2, ${load}`);
    if (!two) continue;
    const capacity = (2 * one.cpuUs) / two.cpuUs;
    lines.push(
      `--workers 2 ÷ --workers 1, ${load}: throughput ${(two.rps / one.rps).toFixed(2)}× (target ≥ 1.6×); CPU/req ${one.cpuUs.toFixed(1)} → ${two.cpuUs.toFixed(1)} µs, so 2 cores of Ferry = ${capacity.toFixed(2)}× 1 core`,
    );
  }
  if (straceLines.length > 0) {
    lines.push('');
    lines.push('system calls per request (strace -c -f attached to the server during a wrk run):');
    lines.push(...straceLines);
  }
  for (const note of new Set(notes)) lines.push(note);
  console.log(lines.join('\n'));
} catch (err) {
  await cleanup();
  throw err;
}
