/**
 * A real, throw-away Nacos server for discovery tests: rnacos (a Nacos 2.x-compatible server
 * written in Rust, installed by scripts/setup-nacos.sh into .tmp/rnacos), loopback only, data in a
 * temp folder, on free ports.
 *
 * Ports: Nacos 2.x clients (the official nacos-client Dubbo uses) take the HTTP port from the server
 * address and reach gRPC at HTTP port + 1000, so the helper picks a free pair P, P + 1000 and tells
 * rnacos both (RNACOS_HTTP_PORT, RNACOS_GRPC_PORT); its console gets a third free port.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { connect, createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { spawnManaged, terminate, type ManagedProcess } from './jvm-process.js';
import { freePort } from './ports.js';

/** A running rnacos; `stop()` ends it and removes its data folder. */
export interface NacosServer {
  /** HTTP (Open API) port: what `nacos://127.0.0.1:<port>` names. */
  readonly port: number;
  /** gRPC port (always `port + 1000`). */
  readonly grpcPort: number;
  /** `nacos://127.0.0.1:<port>`, for Dubbo's --registry flag and Ferry's mapping files. */
  readonly registryUrl: string;
  /** `http://127.0.0.1:<port>`, for Open API calls from tests. */
  readonly base: string;
  readonly pid: number;
  /** Whether the process is running (false after stop(), or between stopProcess() and start()). */
  running(): boolean;
  /** Stops the process but keeps the data folder and ports, so that `start()` brings it back. */
  stopProcess(): Promise<void>;
  /** Starts it again on the same ports (after stopProcess()); `empty`: with its data folder emptied first, as a server that lost its disk. */
  start(options?: { empty?: boolean }): Promise<void>;
  /** Stops it and removes its data folder. */
  stop(): Promise<void>;
  /** stderr and stdout captured so far (the last part), for error messages. */
  output(): string;
}

const READY_TIMEOUT_MS = 30_000;
const SETUP_TIMEOUT_MS = 30 * 60_000;
const GRPC_PORT_OFFSET = 1000;

const repoRoot = fileURLToPath(new URL('../../', import.meta.url));

/** Where scripts/setup-nacos.sh installs the binary. */
export const RNACOS_BIN = join(repoRoot, '.tmp', 'rnacos', 'bin', 'rnacos');

/** Runs scripts/setup-nacos.sh (a quick no-op when rnacos is installed). */
export function ensureRnacos(): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn('bash', [join(repoRoot, 'scripts', 'setup-nacos.sh')], { cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out = (out + d.toString()).slice(-8000)));
    child.stderr.on('data', (d: Buffer) => (out = (out + d.toString()).slice(-8000)));
    const timer = setTimeout(() => child.kill('SIGKILL'), SETUP_TIMEOUT_MS);
    child.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      if (code === 0 && existsSync(RNACOS_BIN)) resolve();
      else reject(new Error(`scripts/setup-nacos.sh failed (code ${code}, signal ${signal}):\n${out}`));
    });
  });
}

function listen(port: number): Promise<Server | undefined> {
  return new Promise((resolve) => {
    const s = createServer();
    s.unref();
    s.once('error', () => resolve(undefined));
    s.listen({ host: '127.0.0.1', port, exclusive: true }, () => resolve(s));
  });
}

const closeServer = (s: Server | undefined): Promise<void> => new Promise((r) => (s ? s.close(() => r()) : r()));

/** A free HTTP port P whose P + 1000 is free too (bounded tries). */
async function freePortPair(): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const first = await listen(0);
    const address = first?.address();
    if (first === undefined || address === null || address === undefined || typeof address === 'string') {
      await closeServer(first);
      continue;
    }
    const p = address.port;
    const second = p + GRPC_PORT_OFFSET <= 65535 ? await listen(p + GRPC_PORT_OFFSET) : undefined;
    await Promise.all([closeServer(first), closeServer(second)]);
    if (second !== undefined) return p;
  }
  throw new Error('no free port pair (P, P+1000) on 127.0.0.1 after 50 tries');
}

function portOpen(port: number, timeoutMs = 1000): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    const timer = setTimeout(() => {
      socket.destroy();
      resolve(false);
    }, timeoutMs);
    socket.once('connect', () => {
      clearTimeout(timer);
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => {
      clearTimeout(timer);
      resolve(false);
    });
  });
}

async function healthy(base: string): Promise<boolean> {
  try {
    // /health, not /nacos/health: with Open API auth on, every /nacos/* path wants a token.
    const r = await fetch(`${base}/health`, { signal: AbortSignal.timeout(1000) });
    return r.status === 200 && (await r.text()).trim() === 'success';
  } catch {
    return false;
  }
}

/** Starts of rnacos tried before a server whose config store drops writes is given up. */
const CONFIG_STORE_ATTEMPTS = 4;

/**
 * Whether a config written now can be read back (within 3 s, bounded polls); false at once when
 * `panicked()` says an rnacos thread died.
 */
async function configStoreWorks(base: string, auth: { username: string; password: string } | undefined, panicked: () => boolean): Promise<boolean> {
  const content = `probe-${Date.now()}-${Math.random()}`;
  let token: Record<string, string> = {};
  try {
    if (auth !== undefined) {
      const r = await fetch(`${base}/nacos/v1/auth/login`, {
        method: 'POST',
        body: new URLSearchParams(auth),
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        signal: AbortSignal.timeout(2000),
      });
      token = { accessToken: String(((await r.json()) as { accessToken?: unknown }).accessToken ?? '') };
    }
    const where = { dataId: 'ferry-test-probe', group: 'ferry-test-probe', ...token };
    const put = await fetch(`${base}/nacos/v1/cs/configs`, {
      method: 'POST',
      body: new URLSearchParams({ ...where, content }),
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      signal: AbortSignal.timeout(2000),
    });
    await put.text();
    for (let i = 0; i < 30 && !panicked(); i++) {
      const r = await fetch(`${base}/nacos/v1/cs/configs?${new URLSearchParams(where)}`, { signal: AbortSignal.timeout(2000) });
      if (r.status === 200 && (await r.text()) === content) return true;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  } catch {
    // unreachable or garbage: not working
  }
  return false;
}

export interface NacosOptions {
  /** Turn Open API auth on (RNACOS_ENABLE_OPEN_API_AUTH) with this initial admin user. */
  readonly auth?: { readonly username: string; readonly password: string };
  /** Life of an Open API access token, seconds (RNACOS_API_LOGIN_TIMEOUT; rnacos' default is an hour). */
  readonly apiTokenTtlSeconds?: number;
}

async function canLogin(base: string, auth: { username: string; password: string }): Promise<boolean> {
  try {
    const r = await fetch(`${base}/nacos/v1/auth/login`, {
      method: 'POST',
      body: new URLSearchParams(auth),
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      signal: AbortSignal.timeout(1000),
    });
    await r.text();
    return r.status === 200;
  } catch {
    return false;
  }
}

/**
 * Starts rnacos on free loopback ports with a temp data folder and resolves once `/health`
 * answers `success` and the gRPC port accepts connections.
 */
export async function startNacos(options: NacosOptions = {}): Promise<NacosServer> {
  await ensureRnacos();
  const dir = await mkdtemp(join(tmpdir(), 'ferry-nacos-'));
  const port = await freePortPair();
  const grpcPort = port + GRPC_PORT_OFFSET;
  const consolePort = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const env: NodeJS.ProcessEnv = {
    PATH: process.env['PATH'] ?? '/usr/bin:/bin',
    HOME: dir,
    RUST_LOG: 'warn',
    RNACOS_HTTP_PORT: String(port),
    RNACOS_GRPC_PORT: String(grpcPort),
    RNACOS_HTTP_CONSOLE_PORT: String(consolePort),
    RNACOS_SDK_HOST: '127.0.0.1',
    RNACOS_CONSOLE_HOST: '127.0.0.1',
    RNACOS_DATA_DIR: join(dir, 'data'),
    RNACOS_RAFT_NODE_ADDR: `127.0.0.1:${grpcPort}`,
    RNACOS_HTTP_WORKERS: '2',
    ...(options.auth !== undefined
      ? {
          RNACOS_ENABLE_OPEN_API_AUTH: 'true',
          RNACOS_INIT_ADMIN_USERNAME: options.auth.username,
          RNACOS_INIT_ADMIN_PASSWORD: options.auth.password,
        }
      : {}),
    ...(options.apiTokenTtlSeconds !== undefined ? { RNACOS_API_LOGIN_TIMEOUT: String(options.apiTokenTtlSeconds) } : {}),
  };

  let proc: ManagedProcess | undefined;
  const panickedIn = (p: ManagedProcess): boolean => p.stderrTail().includes('panicked') || p.stdoutText().includes('panicked');
  /** The started server, or `panicked` when its raft store died before it was ready (it is stopped). */
  const launchOnce = async (): Promise<ManagedProcess | 'panicked'> => {
    // setpriv --pdeathsig: rnacos dies with the test process even if that is SIGKILLed (rnacos
    // does not watch its stdin the way the Java helpers do). cwd = the temp folder, so rnacos
    // finds no .env file of ours.
    const p = spawnManaged('rnacos', 'setpriv', ['--pdeathsig', 'KILL', RNACOS_BIN], { cwd: dir, env });
    proc = p;
    const deadline = Date.now() + READY_TIMEOUT_MS;
    for (;;) {
      if (p.hasExited()) {
        throw new Error(`rnacos exited before it was ready\n${p.stderrTail()}\n${p.stdoutText().slice(-4000)}`);
      }
      // With auth on, rnacos creates its initial user a moment after it is healthy: wait for a login.
      if ((await healthy(base)) && (await portOpen(grpcPort)) && (options.auth === undefined || (await canLogin(base, options.auth)))) return p;
      // The raft panic below can also keep it from ever getting ready (with auth on, no user is
      // created): start again at once rather than after the ready timeout.
      if (panickedIn(p)) {
        await terminate(p, 5000);
        return 'panicked';
      }
      if (Date.now() > deadline) {
        await terminate(p, 5000);
        throw new Error(`rnacos on ${port}/${grpcPort} not ready after ${READY_TIMEOUT_MS} ms\n${p.stderrTail()}`);
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  };
  /**
   * rnacos 0.8.8 sometimes starts with its config store dead: a raft actor panics at start
   * (raftapply.rs:421, `unwrap()` on a log manager not yet set, a start-up race seen in about 1
   * start of 4 on a loaded machine), and from then on every config publish answers `true` and is
   * dropped. Dubbo's mapping and metadata report then never appear. Such a server is started again,
   * with its data folder emptied when it started from an empty one (a failed first start leaves a
   * raft log that fails the same way).
   */
  const launch = async (fresh: boolean): Promise<void> => {
    for (let attempt = 1; ; attempt++) {
      const p = await launchOnce();
      let why = 'its raft store panicked before it was ready';
      if (p !== 'panicked') {
        if (await configStoreWorks(base, options.auth, () => panickedIn(p))) return;
        why = `${p.stderrTail().slice(-1500)}\n${p.stdoutText().slice(-1500)}`;
        await terminate(p, 5000);
      }
      if (fresh) await rm(join(dir, 'data'), { recursive: true, force: true });
      process.stderr.write(`rnacos on ${port}: config store drops writes (start ${attempt}); starting it again\n`);
      if (attempt >= CONFIG_STORE_ATTEMPTS) {
        throw new Error(`rnacos on ${port} drops config writes after ${attempt} starts (its raft store did not start)\n${why}`);
      }
    }
  };
  const stopProcess = async (): Promise<void> => {
    if (proc !== undefined) await terminate(proc, 10_000);
  };

  try {
    await launch(true);
  } catch (err) {
    await rm(dir, { recursive: true, force: true });
    throw err;
  }

  return {
    port,
    grpcPort,
    registryUrl: `nacos://127.0.0.1:${port}`,
    base,
    get pid() {
      return proc?.pid ?? 0;
    },
    running: () => proc !== undefined && !proc.hasExited(),
    stopProcess,
    async start(startOptions = {}) {
      if (proc !== undefined && !proc.hasExited()) return;
      if (startOptions.empty === true) await rm(join(dir, 'data'), { recursive: true, force: true });
      await launch(startOptions.empty === true);
    },
    async stop() {
      await stopProcess();
      await rm(dir, { recursive: true, force: true });
    },
    output: () => `${proc?.stderrTail() ?? ''}\n${proc?.stdoutText().slice(-4000) ?? ''}`,
  };
}
