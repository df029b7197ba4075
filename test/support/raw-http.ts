/**
 * A raw HTTP/1.1 client for hostile-client tests: sends bytes exactly as given (pipelined
 * requests, CR/LF where they do not belong, lying lengths), and either reads every response until
 * the server closes, or never reads at all.
 */
import { connect, type Socket } from 'node:net';

export interface RawResponse {
  readonly status: number;
  /** Lower-case names; a repeated header keeps its last value. */
  readonly headers: Record<string, string>;
  readonly body: Buffer;
  /** The body parsed as JSON when it is JSON, else undefined. */
  readonly json: any;
}

/** Opens a TCP connection to 127.0.0.1:port. */
export function openSocket(port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = connect(port, '127.0.0.1', () => resolve(s));
    s.once('error', reject);
  });
}

/**
 * Writes `bytes`, then reads until the server closes the connection (or `idleMs` pass with no
 * data, then closes itself), and parses the responses received in order.
 */
export async function exchange(
  port: number,
  bytes: string | Buffer,
  opts: { idleMs?: number; socket?: Socket } = {},
): Promise<{ responses: RawResponse[]; closedByServer: boolean; raw: Buffer }> {
  const socket = opts.socket ?? (await openSocket(port));
  return readAll(socket, bytes, opts.idleMs ?? 3000);
}

/** Writes `bytes` on an open socket and reads until the server closes it or `idleMs` pass quietly. */
export function readAll(
  socket: Socket,
  bytes: string | Buffer,
  idleMs: number,
): Promise<{ responses: RawResponse[]; closedByServer: boolean; raw: Buffer }> {
  return new Promise((resolve) => {
    const parts: Buffer[] = [];
    let closedByServer = false;
    let timer = setTimeout(() => socket.end(), idleMs);
    socket.on('data', (d: Buffer) => {
      parts.push(d);
      clearTimeout(timer);
      timer = setTimeout(() => socket.end(), idleMs);
    });
    socket.on('end', () => {
      closedByServer = true;
    });
    socket.on('error', () => {
      closedByServer = true;
    });
    socket.on('close', () => {
      clearTimeout(timer);
      const raw = Buffer.concat(parts);
      resolve({ responses: parseResponses(raw), closedByServer, raw });
    });
    if (bytes.length > 0) socket.write(bytes);
  });
}

/** Parses consecutive HTTP/1.1 responses framed by content-length (or chunked); stops at a partial one. */
export function parseResponses(raw: Buffer): RawResponse[] {
  const out: RawResponse[] = [];
  let at = 0;
  while (at < raw.length) {
    const headEnd = raw.indexOf('\r\n\r\n', at);
    if (headEnd < 0) break;
    const lines = raw.subarray(at, headEnd).toString('latin1').split('\r\n');
    const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(lines[0] ?? '')?.[1] ?? NaN);
    const headers: Record<string, string> = {};
    for (const line of lines.slice(1)) {
      const colon = line.indexOf(':');
      if (colon > 0) headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
    }
    let body: Buffer;
    let next: number;
    if (headers['transfer-encoding'] === 'chunked') {
      const chunks: Buffer[] = [];
      let p = headEnd + 4;
      for (;;) {
        const lineEnd = raw.indexOf('\r\n', p);
        if (lineEnd < 0) return out;
        const size = parseInt(raw.subarray(p, lineEnd).toString('latin1'), 16);
        if (size === 0) {
          p = lineEnd + 4;
          break;
        }
        if (lineEnd + 2 + size > raw.length) return out;
        chunks.push(raw.subarray(lineEnd + 2, lineEnd + 2 + size));
        p = lineEnd + 2 + size + 2;
      }
      body = Buffer.concat(chunks);
      next = p;
    } else {
      const length = Number(headers['content-length'] ?? 0);
      if (headEnd + 4 + length > raw.length) break;
      body = raw.subarray(headEnd + 4, headEnd + 4 + length);
      next = headEnd + 4 + length;
    }
    let json: unknown;
    try {
      json = JSON.parse(body.toString('utf8'));
    } catch {
      json = undefined;
    }
    out.push({ status, headers, body, json });
    at = next;
  }
  return out;
}

/** `GET path` as one request (HTTP/1.1, keep-alive). */
export function get(path: string, extra = ''): string {
  return `GET ${path} HTTP/1.1\r\nhost: ferry\r\n${extra}\r\n`;
}
