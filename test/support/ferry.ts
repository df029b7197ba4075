/**
 * Starts Ferry (the real composition root, on a free port) with the shipped mappings/ rewritten to
 * point at test upstreams, plus any extra YAML a test needs.
 */
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { startFerry, type FerryOptions, type RunningFerry } from '../../src/app/main.js';

export interface TestFerry extends RunningFerry {
  readonly base: string;
  readonly dir: string;
  /** Replaces a mapping file in the folder (for reload tests). */
  writeMapping(name: string, text: string): Promise<void>;
}

export interface TestFerryOptions extends Partial<Omit<FerryOptions, 'mappingsDir'>> {
  /** Replaces `127.0.0.1:20880` (the samples' Dubbo address) in the shipped mappings. */
  readonly dubboAddress?: string;
  /** Replaces `127.0.0.1:50061` (the Python gRPC sample). */
  readonly grpcAddress?: string;
  /** Replaces `127.0.0.1:50051` (the Java provider's Triple port). */
  readonly tripleAddress?: string;
  /** Extra mapping files by name. */
  readonly extra?: Readonly<Record<string, string>>;
  /** Leave the shipped mappings out. */
  readonly withoutSamples?: boolean;
}

export async function startTestFerry(opts: TestFerryOptions = {}): Promise<TestFerry> {
  const dir = await mkdtemp(path.join(tmpdir(), 'ferry-mappings-'));
  if (!opts.withoutSamples) {
    const shipped = path.resolve('mappings');
    for (const name of await readdir(shipped)) {
      if (!/\.ya?ml$/.test(name)) continue;
      let text = await readFile(path.join(shipped, name), 'utf8');
      if (opts.dubboAddress) text = text.replaceAll('127.0.0.1:20880', opts.dubboAddress);
      if (opts.grpcAddress) text = text.replaceAll('127.0.0.1:50061', opts.grpcAddress);
      if (opts.tripleAddress) text = text.replaceAll('127.0.0.1:50051', opts.tripleAddress);
      // The copy lives elsewhere: point relative proto paths at the repository's idl/.
      text = text.replaceAll('proto: ../idl/', `proto: ${path.resolve('idl')}/`);
      await writeFile(path.join(dir, name), text);
    }
  }
  for (const [name, text] of Object.entries(opts.extra ?? {})) await writeFile(path.join(dir, name), text);
  const { dubboAddress: _a, grpcAddress: _g, tripleAddress: _t, extra: _e, withoutSamples: _w, ...rest } = opts;
  const ferry = await startFerry({ port: 0, ...rest, mappingsDir: dir });
  return {
    ...ferry,
    base: `http://127.0.0.1:${ferry.httpPort}`,
    dir,
    writeMapping: (name, text) => writeFile(path.join(dir, name), text),
    async close() {
      await ferry.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

export interface HttpResult {
  readonly status: number;
  readonly headers: Headers;
  readonly text: string;
  /** The body parsed with JSON.parse (do not use for exact numbers: compare `text`). */
  readonly json: any;
}

/** One HTTP request to Ferry; `body` objects are JSON-encoded, strings sent as they are. */
export async function http(base: string, method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<HttpResult> {
  const init: RequestInit = { method, headers: { ...headers } };
  if (body !== undefined) {
    init.body = typeof body === 'string' ? body : JSON.stringify(body);
    (init.headers as Record<string, string>)['content-type'] ??= 'application/json';
  }
  const res = await fetch(base + path, init);
  const text = await res.text();
  let json: unknown;
  try {
    json = text === '' ? undefined : JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: res.status, headers: res.headers, text, json };
}
