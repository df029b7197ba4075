/**
 * The one HTTP client of a Nacos server's Open API, shared by everything Ferry reads there
 * (interface-level instance lists in nacos.ts; application instances, the interface → application
 * mapping and MetadataInfo in nacos-apps.ts): bounded replies, a timeout per request that covers
 * the body, the next server of the list after one that does not answer, and an access token from
 * `/nacos/v1/auth/login` when the registry URL has credentials, renewed before it expires.
 */
import { RegistryError } from '../../errors/index.js';
import type { NacosRegistry } from './nacos-instances.js';

export interface NacosReply {
  readonly status: number;
  readonly text: string;
}

export interface NacosHttp {
  /** GET `path` with `query` (the namespace and token added); rejects with RegistryError naming `what`. */
  get(path: string, query: Record<string, string>, maxBytes: number, what: string): Promise<NacosReply>;
  /** Aborts every request in flight; later ones fail at once. */
  close(): void;
}

/** Reads a fetch body up to `limit` bytes; throws RegistryError when it is longer. */
export async function readBounded(res: Response, limit: number, what: string): Promise<string> {
  const declared = Number(res.headers.get('content-length') ?? NaN);
  if (Number.isFinite(declared) && declared > limit) {
    await res.body?.cancel().catch(() => {});
    throw new RegistryError(`${what}: reply of ${declared} bytes is over the ${limit}-byte limit`);
  }
  if (res.body === null) return '';
  const reader = res.body.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.byteLength;
    if (total > limit) {
      await reader.cancel().catch(() => {});
      throw new RegistryError(`${what}: reply is over the ${limit}-byte limit`);
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks).toString('utf8');
}

export function describeFetchError(err: unknown): string {
  if (err instanceof Error) {
    if (err.name === 'TimeoutError') return 'no answer in time';
    const cause = (err as { cause?: { code?: string; message?: string } }).cause;
    if (cause?.code !== undefined) return `${cause.code}${cause.message ? ` (${cause.message})` : ''}`;
    return err.message;
  }
  return String(err);
}

export function createNacosHttp(registry: NacosRegistry, timeoutMs: number): NacosHttp {
  const closing = new AbortController();
  let serverIndex = 0;
  let token: { value: string; expiresAt: number } | undefined;
  const server = (): string => registry.servers[serverIndex % registry.servers.length]!;

  /**
   * Aborted after `timeoutMs` (covering the body too) or on close(). Built by hand: a signal made
   * with AbortSignal.any() from a timeout signal can be collected before it fires on Node 20, and
   * then a registry that never answers stalls the poll loop for good (seen in tests).
   */
  function requestSignal(): AbortSignal {
    const ac = new AbortController();
    const timer = setTimeout(() => ac.abort(new DOMException(`no answer within ${timeoutMs} ms`, 'TimeoutError')), timeoutMs);
    timer.unref();
    const onClose = (): void => ac.abort(closing.signal.reason);
    closing.signal.addEventListener('abort', onClose, { once: true });
    ac.signal.addEventListener(
      'abort',
      () => {
        clearTimeout(timer);
        closing.signal.removeEventListener('abort', onClose);
      },
      { once: true },
    );
    return ac.signal;
  }

  async function request(path: string, query: Record<string, string>, method: 'GET' | 'POST' = 'GET'): Promise<Response> {
    const body = new URLSearchParams(query).toString();
    const url = `http://${server()}${path}` + (method === 'GET' ? `?${body}` : '');
    return fetch(url, {
      method,
      signal: requestSignal(),
      ...(method === 'POST' ? { body, headers: { 'content-type': 'application/x-www-form-urlencoded' } } : {}),
    });
  }

  async function accessToken(): Promise<string | undefined> {
    if (registry.username === undefined) return undefined;
    if (token !== undefined && Date.now() < token.expiresAt) return token.value;
    const res = await request('/nacos/v1/auth/login', { username: registry.username, password: registry.password ?? '' }, 'POST');
    const text = await readBounded(res, 64 * 1024, `Nacos ${registry.display} login`);
    if (res.status !== 200)
      throw new RegistryError(`Nacos ${registry.display} refused the login of "${registry.username}" (HTTP ${res.status})`, {
        code: 'FERRY_REGISTRY_AUTH',
      });
    let v: { accessToken?: unknown; tokenTtl?: unknown };
    try {
      v = JSON.parse(text) as typeof v;
    } catch {
      throw new RegistryError(`Nacos ${registry.display} login answer is not JSON`);
    }
    if (typeof v.accessToken !== 'string' || v.accessToken === '')
      throw new RegistryError(`Nacos ${registry.display} login answer has no accessToken`);
    const ttlMs = (typeof v.tokenTtl === 'number' && v.tokenTtl > 0 ? v.tokenTtl : 60) * 1000;
    // Renewed before it expires: a tenth of its life early, and at least a second (half, for very short lives).
    token = { value: v.accessToken, expiresAt: Date.now() + ttlMs - Math.max(ttlMs / 10, Math.min(1000, ttlMs / 2)) };
    return token.value;
  }

  async function getOnce(path: string, query: Record<string, string>, maxBytes: number, what: string): Promise<NacosReply & { tokenUsed: boolean }> {
    const tok = await accessToken();
    const res = await request(path, {
      ...query,
      ...(registry.namespace !== '' ? { namespaceId: registry.namespace, tenant: registry.namespace } : {}),
      ...(tok !== undefined ? { accessToken: tok } : {}),
    });
    const text = await readBounded(res, maxBytes, what);
    // A token the server no longer takes (it restarted, or expired early): log in again next time.
    if (res.status === 403 || res.status === 401) token = undefined;
    return { status: res.status, text, tokenUsed: tok !== undefined };
  }

  return {
    async get(path, query, maxBytes, what) {
      try {
        let reply = await getOnce(path, query, maxBytes, what);
        // Refused with a token: once more with a fresh login, before anyone is told.
        if (reply.tokenUsed && (reply.status === 403 || reply.status === 401)) reply = await getOnce(path, query, maxBytes, what);
        return { status: reply.status, text: reply.text };
      } catch (err) {
        if (err instanceof RegistryError) throw err;
        // A server that does not answer: the next request goes to the next server of the list.
        serverIndex++;
        throw new RegistryError(`${what}: ${describeFetchError(err)}`, { cause: err });
      }
    },
    close() {
      closing.abort();
    },
  };
}
