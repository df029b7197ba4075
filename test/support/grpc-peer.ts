/**
 * Starts the Python grpcio sample server (samples/grpc-python/server.py) and the json_format
 * oracle from the venv that scripts/setup-python.sh builds. Both run on loopback and are stopped
 * (and waited for) by `stop()`.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { freePort } from './ports.js';

const REPO = path.resolve(path.dirname(new URL(import.meta.url).pathname), '../..');
/** The venv python set up by scripts/setup-python.sh. */
export const VENV_PYTHON = path.join(REPO, '.tmp/venv-grpc/bin/python');
const SAMPLE_DIR = path.join(REPO, 'samples/grpc-python');

export interface GrpcPeer {
  readonly port: number;
  readonly address: string;
  stop(): Promise<void>;
}

function requireVenv(): void {
  if (!existsSync(VENV_PYTHON)) throw new Error(`${VENV_PYTHON} is missing: run scripts/setup-python.sh`);
}

function stopProcess(child: ChildProcessWithoutNullStreams): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    child.kill('SIGTERM');
  });
}

/** Starts server.py on a free loopback port and waits for its READY line. */
export async function startGrpcPeer(opts: { workers?: number } = {}): Promise<GrpcPeer> {
  requireVenv();
  const port = await freePort();
  const child = spawn(VENV_PYTHON, ['server.py', '--port', String(port), '--workers', String(opts.workers ?? 8)], {
    cwd: SAMPLE_DIR,
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => {
    stderr += d.toString();
  });
  await new Promise<void>((resolve, reject) => {
    const lines = createInterface({ input: child.stdout });
    const timer = setTimeout(() => reject(new Error(`grpc peer did not start in 20 s: ${stderr}`)), 20_000);
    lines.on('line', (line) => {
      if (line.startsWith('READY ')) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`grpc peer exited with ${code}: ${stderr}`));
    });
  });
  return { port, address: `127.0.0.1:${port}`, stop: () => stopProcess(child) };
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
