/**
 * Starts the Python grpcio sample server (samples/grpc-python/server.py) and the json_format
 * oracle from the venv that scripts/setup-python.sh builds. Both run on loopback and are stopped
 * (and waited for) by `stop()`. Several servers can run at once (startGrpcPeers), each answering
 * ferry.peer.v1.Peer with its own name and counting the calls it receives.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { createInterface } from 'node:readline';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { freePort } from './ports.js';

const REPO = path.resolve(path.dirname(new URL(import.meta.url).pathname), '../..');
/** The venv python set up by scripts/setup-python.sh. */
export const VENV_PYTHON = path.join(REPO, '.tmp/venv-grpc/bin/python');
const SAMPLE_DIR = path.join(REPO, 'samples/grpc-python');

export interface GrpcPeerOptions {
  /** Thread pool size of the grpcio server (default 8). */
  readonly workers?: number;
  /** What ferry.peer.v1.Peer answers with (reply `server`, metadata `served-by`); default `python`. */
  readonly name?: string;
  /** A fixed port instead of a free one. */
  readonly port?: number;
  /** Serve gRPC server reflection too (grpcio-reflection: grpc.reflection.v1alpha only). */
  readonly reflection?: boolean;
  /** Serve TLS with this certificate and key (PEM files); mTLS when `clientCa` is given too. */
  readonly tls?: { readonly cert: string; readonly key: string; readonly clientCa?: string };
}

/** Calls one server counted, as ferry.peer.v1.Peer/Stats reports them. */
export interface PeerStats {
  /** Method name → calls. */
  readonly calls: Readonly<Record<string, number>>;
  readonly total: number;
}

export interface GrpcPeer {
  readonly port: number;
  readonly address: string;
  readonly name: string;
  /** SIGTERM (grpcio stops with a 0.5 s grace), then wait until it has exited. */
  stop(): Promise<void>;
  /** SIGKILL, then wait until it has exited. */
  kill(): Promise<void>;
  /** Starts the server again on the same port (after stop, kill or Crash) and waits for READY. */
  restart(): Promise<void>;
  /** Whether the current process is still running. */
  running(): boolean;
  /** Resolves once the current process has exited and its stdout is fully read. */
  exited(): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /**
   * `CALL <Method> <tag>` lines the server printed (over all its lives), counted for `method` (and
   * `tag` when given). Complete for a process that has exited; for a running one use stats().
   */
  announced(method: string, tag?: string): number;
  /** Resolves when a call of `method` with `tag` has been announced (the request reached the server). */
  waitForCall(method: string, tag: string, timeoutMs?: number): Promise<void>;
  /** Calls the running server counted (this life only), for `tag` or all tags. */
  stats(tag?: string): Promise<PeerStats>;
  /** From now on Whoami sleeps `delayMs` and then fails with gRPC `failCode` (0: answers). */
  configure(opts: { delayMs?: number; failCode?: number }): Promise<void>;
}

function requireVenv(): void {
  if (!existsSync(VENV_PYTHON)) throw new Error(`${VENV_PYTHON} is missing: run scripts/setup-python.sh`);
}

function stopProcess(child: ChildProcessWithoutNullStreams, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    child.kill(signal);
  });
}

type PeerMethodName = 'Whoami' | 'Slow' | 'Fail' | 'Crash' | 'Stats' | 'Configure';
type PeerClient = grpc.Client &
  Record<PeerMethodName, (req: object, md: grpc.Metadata, opts: grpc.CallOptions, cb: grpc.requestCallback<any>) => grpc.ClientUnaryCall>;
let peerClientClass: (new (address: string, creds: grpc.ChannelCredentials) => PeerClient) | undefined;

/** A grpc-js client for ferry.peer.v1.Peer, built from idl/ by @grpc/proto-loader (not Ferry's loader). */
export function peerClient(address: string): PeerClient {
  if (peerClientClass === undefined) {
    const def = protoLoader.loadSync('ferry/peer/v1/peer.proto', { includeDirs: [path.join(REPO, 'idl')], longs: Number, defaults: true });
    const pkg = grpc.loadPackageDefinition(def) as any;
    peerClientClass = pkg.ferry.peer.v1.Peer;
  }
  return new peerClientClass!(address, grpc.credentials.createInsecure());
}

/** One unary call with grpc-js; resolves with the reply and the server's initial metadata. */
export function callPeer(
  client: PeerClient,
  method: PeerMethodName,
  req: object,
  deadlineMs = 5000,
): Promise<{ reply: any; metadata: grpc.Metadata }> {
  return new Promise((resolve, reject) => {
    let metadata = new grpc.Metadata();
    const call = client[method](req, new grpc.Metadata(), { deadline: Date.now() + deadlineMs }, (err, reply) =>
      err ? reject(err) : resolve({ reply, metadata }),
    );
    call.on('metadata', (md: grpc.Metadata) => {
      metadata = md;
    });
  });
}

interface Life {
  readonly child: ChildProcessWithoutNullStreams;
  readonly closed: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** Starts server.py on a free loopback port (or `opts.port`) and waits for its READY line. */
export async function startGrpcPeer(opts: GrpcPeerOptions = {}): Promise<GrpcPeer> {
  requireVenv();
  const port = opts.port ?? (await freePort());
  const name = opts.name ?? 'python';
  const address = `127.0.0.1:${port}`;
  const calls: Array<{ method: string; tag: string }> = [];
  const callWaiters = new Set<() => void>();

  const launch = async (): Promise<Life> => {
    const child = spawn(
      VENV_PYTHON,
      [
        'server.py',
        '--port',
        String(port),
        '--workers',
        String(opts.workers ?? 8),
        '--name',
        name,
        '--exit-on-stdin-eof',
        ...(opts.reflection === true ? ['--reflection'] : []),
        ...(opts.tls !== undefined ? ['--tls-cert', opts.tls.cert, '--tls-key', opts.tls.key] : []),
        ...(opts.tls?.clientCa !== undefined ? ['--tls-client-ca', opts.tls.clientCa] : []),
      ],
      { cwd: SAMPLE_DIR, stdio: ['pipe', 'pipe', 'pipe'] },
    );
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => {
      stderr = (stderr + d.toString()).slice(-16_384);
    });
    const closed = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
      child.once('close', (code, signal) => resolve({ code, signal })),
    );
    const lines = createInterface({ input: child.stdout });
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        child.kill('SIGKILL');
        reject(new Error(`grpc peer ${name} did not start in 20 s: ${stderr}`));
      }, 20_000);
      lines.on('line', (line) => {
        if (line.startsWith('READY ')) {
          clearTimeout(timer);
          resolve();
          return;
        }
        const m = /^CALL (\S+) (\S+)$/.exec(line);
        if (m !== null) {
          calls.push({ method: m[1]!, tag: m[2] === '-' ? '' : m[2]! });
          for (const w of [...callWaiters]) w();
        }
      });
      child.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`grpc peer ${name} exited with ${code}: ${stderr}`));
      });
    });
    return { child, closed };
  };

  let life = await launch();
  let client: PeerClient | undefined;
  const rpc = async (method: 'Stats' | 'Configure', req: object): Promise<any> => {
    client ??= peerClient(address);
    return (await callPeer(client, method, req)).reply;
  };
  const closeClient = (): void => {
    client?.close();
    client = undefined;
  };

  return {
    port,
    address,
    name,
    async stop() {
      closeClient();
      await stopProcess(life.child);
      await life.closed;
    },
    async kill() {
      closeClient();
      await stopProcess(life.child, 'SIGKILL');
      await life.closed;
    },
    async restart() {
      closeClient();
      await stopProcess(life.child);
      await life.closed;
      life = await launch();
    },
    running: () => life.child.exitCode === null && life.child.signalCode === null,
    exited: () => life.closed,
    announced: (method, tag) => calls.filter((c) => c.method === method && (tag === undefined || c.tag === tag)).length,
    waitForCall(method, tag, timeoutMs = 10_000) {
      const seen = () => calls.some((c) => c.method === method && c.tag === tag);
      if (seen()) return Promise.resolve();
      return new Promise((resolve, reject) => {
        const done = (): void => {
          if (!seen()) return;
          clearTimeout(timer);
          callWaiters.delete(done);
          resolve();
        };
        const timer = setTimeout(() => {
          callWaiters.delete(done);
          reject(new Error(`${name}: no ${method} call tagged ${tag} arrived in ${timeoutMs} ms`));
        }, timeoutMs);
        // Tests race several servers for one call: the losers' timers must not hold the process.
        timer.unref();
        callWaiters.add(done);
      });
    },
    async stats(tag = '') {
      const r = await rpc('Stats', { tag });
      const calls: Record<string, number> = {};
      for (const [k, v] of Object.entries(r.calls as Record<string, number>)) calls[k] = Number(v);
      return { calls, total: Number(r.total) };
    },
    async configure({ delayMs = 0, failCode = 0 }) {
      await rpc('Configure', { delayMillis: delayMs, failCode });
    },
  };
}

/** Starts one server per name, at once, each on its own free port; stops them all if one fails. */
export async function startGrpcPeers(names: readonly string[], opts: Omit<GrpcPeerOptions, 'name' | 'port'> = {}): Promise<GrpcPeer[]> {
  const started = await Promise.allSettled(names.map((name) => startGrpcPeer({ ...opts, name })));
  const failed = started.find((s): s is PromiseRejectedResult => s.status === 'rejected');
  if (failed !== undefined) {
    await Promise.all(started.filter((s) => s.status === 'fulfilled').map((s) => s.value.kill()));
    throw failed.reason;
  }
  return started.map((s) => (s as PromiseFulfilledResult<GrpcPeer>).value);
}

export interface JsonOracle {
  /** Python json_format.MessageToJson of the binary message. */
  print(type: string, bytes: Uint8Array, emitDefaults?: boolean): Promise<string>;
  /** Python json_format.Parse → binary, or an Error with Python's message. */
  parse(type: string, json: string): Promise<Buffer>;
  /** Whether two binary messages are equal as Python messages (map order and field order ignored). */
  equal(type: string, a: Uint8Array, b: Uint8Array): Promise<boolean>;
  stop(): Promise<void>;
}

/** Starts json_oracle.py (one long-lived process answering one JSON line per request). */
export async function startJsonOracle(): Promise<JsonOracle> {
  requireVenv();
  const child = spawn(VENV_PYTHON, ['json_oracle.py'], { cwd: SAMPLE_DIR, stdio: ['pipe', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => {
    stderr += d.toString();
  });
  const lines = createInterface({ input: child.stdout });
  const waiting: Array<(line: string) => void> = [];
  lines.on('line', (line) => waiting.shift()?.(line));
  const request = (cmd: object): Promise<Record<string, unknown>> =>
    new Promise((resolve, reject) => {
      if (child.exitCode !== null) {
        reject(new Error(`oracle exited: ${stderr}`));
        return;
      }
      waiting.push((line) => resolve(JSON.parse(line) as Record<string, unknown>));
      child.stdin.write(JSON.stringify(cmd) + '\n');
    });
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`json oracle did not start: ${stderr}`)), 20_000);
    waiting.push(() => {
      clearTimeout(timer);
      resolve();
    });
    child.once('exit', (code) => reject(new Error(`json oracle exited with ${code}: ${stderr}`)));
  });
  const b64 = (b: Uint8Array) => Buffer.from(b).toString('base64');
  return {
    async print(type, bytes, emitDefaults = false) {
      const r = await request({ op: 'print', type, b64: b64(bytes), emitDefaults });
      if (r['ok'] !== true) throw new Error(String(r['error']));
      return r['json'] as string;
    },
    async parse(type, json) {
      const r = await request({ op: 'parse', type, json });
      if (r['ok'] !== true) throw new Error(String(r['error']));
      return Buffer.from(r['b64'] as string, 'base64');
    },
    async equal(type, a, b) {
      const r = await request({ op: 'equal', type, a: b64(a), b: b64(b) });
      if (r['ok'] !== true) throw new Error(String(r['error']));
      return r['equal'] === true;
    },
    async stop() {
      child.stdin.end();
      await stopProcess(child);
    },
  };
}
