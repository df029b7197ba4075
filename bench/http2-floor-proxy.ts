/**
 * The transport floor of the gRPC path, for bench/grpc-gateway.ts --floor: an HTTP/1 server that
 * answers each request with one unary GetOrder call to the Go gRPC server, and only the length of
 * the reply (no JSON mapping, no routing, no telemetry), over one of two HTTP/2 clients:
 *
 *   --client node    node:http2 (what Ferry's gRPC client uses)
 *   --client frames  a minimal HTTP/2 client written here on a plain socket
 *
 *   node --import tsx bench/http2-floor-proxy.ts --client node|frames --port P --upstream HOST:PORT
 *
 * The `frames` client is a MEASURING PROBE, not a client for real use: happy path only, one
 * connection, no HPACK decoding (it never reads a response header, so it may skip the header
 * blocks: a decoder's table only matters to whoever decodes), no budgets, no TLS, a failed call
 * just answers 502. It exists to measure what an own HTTP/2 framing layer could save per call
 * against node:http2's per-stream objects (issue 19), before anyone builds the real one.
 */
import http from 'node:http';
import http2 from 'node:http2';
import { connect, type Socket } from 'node:net';
import { parseArgs } from 'node:util';

const { values } = parseArgs({
  options: { client: { type: 'string', default: 'node' }, port: { type: 'string' }, upstream: { type: 'string' } },
});
const [host, portText] = (values.upstream ?? '127.0.0.1:19555').split(':') as [string, string];
const PATH = '/ferry.bench.v1.Orders/GetOrder';

// GetOrderRequest { name = 1: "shops/s1/orders/o1" } in a gRPC length-prefixed message.
const name = Buffer.from('shops/s1/orders/o1');
const message = Buffer.concat([Buffer.from([0x0a, name.length]), name]);
const grpcMessage = Buffer.concat([Buffer.from([0, 0, 0, 0, message.length]), message]);

type Call = (done: (replyBytes: number | undefined) => void) => void;

function nodeHttp2Client(): Call {
  const session = http2.connect(`http://${host}:${portText}`);
  return (done) => {
    const stream = session.request({ ':method': 'POST', ':path': PATH, 'content-type': 'application/grpc', te: 'trailers' });
    let bytes = 0;
    stream.on('data', (c: Buffer) => (bytes += c.length));
    stream.on('error', () => {});
    stream.on('close', () => done(stream.rstCode === 0 ? bytes : undefined));
    stream.end(grpcMessage);
  };
}

// HTTP/2 frame types and flags (RFC 9113 §6).
const DATA = 0x0;
const HEADERS = 0x1;
const RST_STREAM = 0x3;
const SETTINGS = 0x4;
const PING = 0x6;
const GOAWAY = 0x7;
const END_STREAM = 0x1;
const ACK = 0x1;
const PADDED = 0x8;
const WINDOW = 1 << 24;

function frameHeader(length: number, type: number, flags: number, stream: number): Buffer {
  const h = Buffer.allocUnsafe(9);
  h.writeUIntBE(length, 0, 3);
  h[3] = type;
  h[4] = flags;
  h.writeUInt32BE(stream, 5);
  return h;
}

/** An HPACK string literal, not Huffman-coded (length < 127). */
function literal(s: string): Buffer {
  const b = Buffer.from(s);
  return Buffer.concat([Buffer.from([b.length]), b]);
}

function frameClient(): Call {
  const socket: Socket = connect({ host, port: Number(portText), noDelay: true });
  // The request header block never changes: static-table :method POST (2 → 0x83), :scheme http
  // (6 → 0x86), then literals without indexing for :path (name 4), :authority (name 1),
  // content-type (name 31: 0x0f 0x10) and te (a literal name).
  const block = Buffer.concat([
    Buffer.from([0x83, 0x86, 0x04]),
    literal(PATH),
    Buffer.from([0x01]),
    literal(`${host}:${portText}`),
    Buffer.from([0x0f, 0x10]),
    literal('application/grpc'),
    Buffer.from([0x00]),
    literal('te'),
    literal('trailers'),
  ]);
  const settings = Buffer.alloc(12);
  settings.writeUInt16BE(0x2, 0); // ENABLE_PUSH = 0
  settings.writeUInt32BE(0, 2);
  settings.writeUInt16BE(0x4, 6); // INITIAL_WINDOW_SIZE
  settings.writeUInt32BE(WINDOW, 8);
  const windowUpdate = Buffer.alloc(4);
  windowUpdate.writeUInt32BE(WINDOW, 0);
  socket.write(
    Buffer.concat([
      Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n'),
      frameHeader(12, SETTINGS, 0, 0),
      settings,
      frameHeader(4, 0x8, 0, 0),
      windowUpdate,
    ]),
  );
  const calls = new Map<number, { bytes: number; done: (n: number | undefined) => void }>();
  let nextId = 1;
  let consumed = 0;
  let pending: Buffer | undefined;
  const end = (id: number, ok: boolean): void => {
    const c = calls.get(id);
    if (c === undefined) return;
    calls.delete(id);
    c.done(ok ? c.bytes : undefined);
  };
  socket.on('data', (chunk: Buffer) => {
    const buf = pending === undefined ? chunk : Buffer.concat([pending, chunk]);
    let at = 0;
    const out: Buffer[] = [];
    while (buf.length - at >= 9) {
      const length = buf.readUIntBE(at, 3);
      if (buf.length - at < 9 + length) break;
      const type = buf[at + 3]!;
      const flags = buf[at + 4]!;
      const id = buf.readUInt32BE(at + 5) & 0x7fffffff;
      const payload = at + 9;
      if (type === DATA) {
        const pad = flags & PADDED ? buf[payload]! + 1 : 0;
        const c = calls.get(id);
        if (c !== undefined) c.bytes += length - pad;
        consumed += length;
        if (flags & END_STREAM) end(id, true);
      } else if (type === HEADERS) {
        if (flags & END_STREAM) end(id, true); // the trailers (grpc-status is not read: a probe)
      } else if (type === SETTINGS && !(flags & ACK)) {
        out.push(frameHeader(0, SETTINGS, ACK, 0));
      } else if (type === PING && !(flags & ACK)) {
        out.push(frameHeader(8, PING, ACK, 0), buf.subarray(payload, payload + 8));
      } else if (type === RST_STREAM) {
        end(id, false);
      } else if (type === GOAWAY) {
        for (const k of [...calls.keys()]) end(k, false);
      }
      at = payload + length;
    }
    pending = at < buf.length ? buf.subarray(at) : undefined;
    if (consumed > WINDOW / 2) {
      const inc = Buffer.alloc(4);
      inc.writeUInt32BE(consumed, 0);
      out.push(frameHeader(4, 0x8, 0, 0), inc);
      consumed = 0;
    }
    if (out.length > 0) socket.write(out.length === 1 ? out[0]! : Buffer.concat(out));
  });
  return (done) => {
    const id = nextId;
    nextId += 2;
    calls.set(id, { bytes: 0, done });
    socket.write(
      Buffer.concat([frameHeader(block.length, HEADERS, 0x4, id), block, frameHeader(grpcMessage.length, DATA, END_STREAM, id), grpcMessage]),
    );
  };
}

const call = values.client === 'frames' ? frameClient() : nodeHttp2Client();
http
  .createServer((req, res) => {
    req.resume();
    call((bytes) => {
      res.statusCode = bytes === undefined ? 502 : 200;
      res.setHeader('content-type', 'application/json');
      res.end(`{"replyBytes":${bytes ?? 0}}`);
    });
  })
  .listen(Number(values.port), '127.0.0.1');
