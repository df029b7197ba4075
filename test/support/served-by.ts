/**
 * Who answered: the e2e discovery tests call a route whose reply names the provider that served it
 * (the sample's `GET /whoami`), count the answers per provider or error, and wait until a given
 * provider answers.
 */
import { http } from './ferry.js';

export interface ServedOutcome {
  /** The provider's name, for a 200. */
  served?: string;
  status: number;
  code?: string;
  /** performance.now() around the call. */
  startedAt: number;
  endedAt: number;
}

/** One GET of `path` (default `/whoami`) on Ferry at `base`. */
export async function whoamiAt(base: string, path = '/whoami'): Promise<ServedOutcome> {
  const startedAt = performance.now();
  const r = await http(base, 'GET', path);
  const endedAt = performance.now();
  return r.status === 200
    ? { served: String(r.json), status: 200, startedAt, endedAt }
    : { status: r.status, code: r.json?.code, startedAt, endedAt };
}

/** Answers per provider name, and errors per `status code`. */
export function tallyServed(outcomes: readonly { served?: string; status: number; code?: string }[]): Record<string, number> {
  const t: Record<string, number> = {};
  for (const o of outcomes) {
    const k = o.status === 200 ? o.served! : `${o.status} ${o.code}`;
    t[k] = (t[k] ?? 0) + 1;
  }
  return t;
}

/** Calls `call` one at a time until `name` answers (bounded by `timeoutMs`); returns the calls made. */
export async function untilServedBy<O extends { served?: string; status: number; code?: string }>(
  call: () => Promise<O>,
  name: string,
  timeoutMs: number,
): Promise<O[]> {
  const seen: O[] = [];
  const end = Date.now() + timeoutMs;
  for (;;) {
    const o = await call();
    seen.push(o);
    if (o.served === name) return seen;
    if (Date.now() > end) throw new Error(`GET /whoami never answered "${name}" in ${timeoutMs} ms: ${JSON.stringify(tallyServed(seen))}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
