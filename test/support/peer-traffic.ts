/**
 * Traffic helpers for the end-to-end tests that put Ferry in front of several peers (Python
 * grpcio servers answering ferry.peer.v1.Peer, Triple providers): one HTTP call read as "who
 * served it, or which coded error", tallies, bounded waits, and one Prometheus sample.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { http } from './ferry.js';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
/** Absolute path of idl/ferry/peer/v1/peer.proto (mapping files live in a temp folder). */
export const PEER_PROTO = path.join(REPO, 'idl/ferry/peer/v1/peer.proto');
export const PEER_SERVICE = 'ferry.peer.v1.Peer';
/** Absolute path of idl/sample/greeter.proto (the Triple Greeter). */
export const GREETER_PROTO = path.join(REPO, 'idl/sample/greeter.proto');

/** One HTTP call through Ferry, as the balancing tests read it. */
export interface Reply {
  readonly status: number;
  /**
   * Who served it (200 only): the `served-by` response metadata Ferry passes on as
   * `grpc-metadata-served-by` (Python peers) or `grpc-trailer-served-by` (Triple providers).
   */
  readonly server: string | undefined;
  /** The peer reply's own `server` field (ferry.peer.v1 replies only). */
  readonly bodyServer: string | undefined;
  /** FERRY_* code of an error reply. */
  readonly code: string | undefined;
  readonly detail: string | undefined;
  readonly setCookie: string | null;
  readonly text: string;
  readonly json: any;
}

export async function call(base: string, method: string, pathname: string, body?: unknown, headers: Record<string, string> = {}): Promise<Reply> {
  const r = await http(base, method, pathname, body, headers);
  const servedBy = r.headers.get('grpc-metadata-served-by') ?? r.headers.get('grpc-trailer-served-by') ?? undefined;
  const ok = r.status === 200;
  return {
    status: r.status,
    server: ok ? servedBy : undefined,
    bodyServer: ok && typeof r.json?.server === 'string' ? r.json.server : undefined,
    code: ok ? undefined : r.json?.code,
    detail: ok ? undefined : r.json?.detail,
    setCookie: r.headers.get('set-cookie'),
    text: r.text,
    json: r.json,
  };
}

/** Server name → count, and `<status> <code>` for failures. */
export function tally(replies: readonly Reply[]): Record<string, number> {
  const t: Record<string, number> = {};
  for (const r of [...replies].sort((a, b) => String(a.server).localeCompare(String(b.server)))) {
    const k = r.status === 200 ? String(r.server) : `${r.status} ${r.code}`;
    t[k] = (t[k] ?? 0) + 1;
  }
  return t;
}

/** `n` calls one after the other. */
export async function sequential(n: number, one: (i: number) => Promise<Reply>): Promise<Reply[]> {
  const out: Reply[] = [];
  for (let i = 0; i < n; i++) out.push(await one(i));
  return out;
}

/** Repeats `cond` every `everyMs` until it holds; throws after `timeoutMs`. */
export async function until(what: string, cond: () => Promise<boolean> | boolean, timeoutMs = 20_000, everyMs = 50): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`timed out after ${timeoutMs} ms waiting for: ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/**
 * Calls `one` until every name in `names` has served at least once (at most `maxCalls` calls, or
 * `timeoutMs`); returns the calls made. Failures are allowed here (warm-up, discovery).
 */
export async function untilServedByAll(names: readonly string[], one: () => Promise<Reply>, maxCalls = 300, timeoutMs = 30_000): Promise<Reply[]> {
  const seen: Reply[] = [];
  const end = Date.now() + timeoutMs;
  while (!names.every((n) => seen.some((r) => r.server === n))) {
    if (seen.length >= maxCalls || Date.now() > end) {
      throw new Error(`not every one of ${names.join(', ')} served within ${seen.length} calls: ${JSON.stringify(tally(seen))}`);
    }
    seen.push(await one());
    if (seen[seen.length - 1]!.status !== 200) await new Promise((r) => setTimeout(r, 50));
  }
  return seen;
}

/**
 * Calls `one` until `runLength` calls in a row satisfy `ok` (bounded by `maxCalls` and
 * `timeoutMs`): the way to learn that Ferry has seen a change it learns asynchronously.
 */
export async function untilSteady(
  what: string,
  one: () => Promise<Reply>,
  ok: (r: Reply) => boolean,
  runLength = 20,
  maxCalls = 2000,
  timeoutMs = 30_000,
): Promise<Reply[]> {
  const seen: Reply[] = [];
  const end = Date.now() + timeoutMs;
  let run = 0;
  while (run < runLength) {
    if (seen.length >= maxCalls || Date.now() > end) {
      throw new Error(`${what}: no ${runLength} calls in a row within ${seen.length} calls: ${JSON.stringify(tally(seen.slice(-50)))}`);
    }
    const r = await one();
    seen.push(r);
    run = ok(r) ? run + 1 : 0;
    if (r.status !== 200) await new Promise((res) => setTimeout(res, 20));
  }
  return seen;
}

/** The value of one Prometheus sample from Ferry's admin /metrics, or undefined when absent. */
export async function metricSample(adminPort: number, name: string, labels: Readonly<Record<string, string>>): Promise<number | undefined> {
  const text = await (await fetch(`http://127.0.0.1:${adminPort}/metrics`)).text();
  for (const line of text.split('\n')) {
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (m === null || m[1] !== name) continue;
    const have: Record<string, string> = {};
    for (const lm of (m[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) have[lm[1]!] = lm[2]!;
    if (Object.entries(labels).every(([k, v]) => have[k] === v)) return Number(m[3]);
  }
  return undefined;
}
