/**
 * A hostile gRPC server reflection peer on node:http2 (our own test peer, so node:http2 on this
 * side is fine): it speaks ServerReflectionInfo only as badly as each mode says. Messages are built
 * by hand with protobufjs' Writer from reflection.proto's and descriptor.proto's field numbers.
 *
 * - `hang`: accepts the stream, sends headers, never answers;
 * - `garbage`: answers each request with bytes that are not a ServerReflectionResponse;
 * - `error`: answers with an error_response (NOT_FOUND);
 * - `unknown-dependency`: lists service h.S, whose file imports missing.proto, which it then says it does not have;
 * - `flood`: answers list_services, then sends responses for ever (never ending the stream);
 * - `huge`: answers file_containing_symbol with `hugeFiles` distinct files (each importing nothing);
 * - `v1alpha-only`: v1 is UNIMPLEMENTED, v1alpha answers well (service h.S, one file).
 */
import http2 from 'node:http2';
import protobuf from 'protobufjs';

export type HostileReflectionMode = 'hang' | 'garbage' | 'error' | 'unknown-dependency' | 'flood' | 'huge' | 'v1alpha-only';

export interface HostileReflection {
  readonly address: string;
  /** Streams opened so far, by path. */
  readonly streams: string[];
  /** Streams the client cancelled or that closed while the server still had them open. */
  closedByClient(): number;
  close(): Promise<void>;
}

const w = () => protobuf.Writer.create();

/** FileDescriptorProto: name 1, package 2, dependency 3, message_type 4, service 6, syntax 12. */
export function fileDescriptor(name: string, pkg: string, deps: readonly string[], withService: boolean): Uint8Array {
  const f = w()
    .uint32((1 << 3) | 2)
    .string(name)
    .uint32((2 << 3) | 2)
    .string(pkg);
  for (const d of deps) f.uint32((3 << 3) | 2).string(d);
  const msg = w()
    .uint32((1 << 3) | 2)
    .string('M'); // DescriptorProto.name
  const field = w()
    .uint32((1 << 3) | 2)
    .string('text')
    .uint32(3 << 3)
    .uint32(1)
    .uint32(4 << 3)
    .uint32(1)
    .uint32(5 << 3)
    .uint32(9);
  msg.uint32((2 << 3) | 2).bytes(field.finish());
  f.uint32((4 << 3) | 2).bytes(msg.finish());
  if (withService) {
    const method = w()
      .uint32((1 << 3) | 2)
      .string('Get')
      .uint32((2 << 3) | 2)
      .string(`.${pkg}.M`)
      .uint32((3 << 3) | 2)
      .string(`.${pkg}.M`);
    const svc = w()
      .uint32((1 << 3) | 2)
      .string('S')
      .uint32((2 << 3) | 2)
      .bytes(method.finish());
    f.uint32((6 << 3) | 2).bytes(svc.finish());
  }
  f.uint32((12 << 3) | 2).string('proto3');
  return f.finish();
}

/** ServerReflectionResponse with file_descriptor_response (4 → 1 repeated bytes). */
function filesResponse(files: readonly Uint8Array[]): Uint8Array {
  const inner = w();
  for (const f of files) inner.uint32((1 << 3) | 2).bytes(f);
  return w()
    .uint32((4 << 3) | 2)
    .bytes(inner.finish())
    .finish();
}

/** list_services_response (6 → service 1 → name 1). */
function servicesResponse(names: readonly string[]): Uint8Array {
  const inner = w();
  for (const n of names)
    inner.uint32((1 << 3) | 2).bytes(
      w()
        .uint32((1 << 3) | 2)
        .string(n)
        .finish(),
    );
  return w()
    .uint32((6 << 3) | 2)
    .bytes(inner.finish())
    .finish();
}

/** error_response (7 → error_code 1, error_message 2). */
function errorResponse(code: number, message: string): Uint8Array {
  return w()
    .uint32((7 << 3) | 2)
    .bytes(
      w()
        .uint32(1 << 3)
        .int32(code)
        .uint32((2 << 3) | 2)
        .string(message)
        .finish(),
    )
    .finish();
}

function frame(msg: Uint8Array): Buffer {
  const b = Buffer.alloc(5 + msg.length);
  b.writeUInt32BE(msg.length, 1);
  b.set(msg, 5);
  return b;
}

/** The requests of one stream (all sent before the half-close): kind by field number, and its value. */
function requestsOf(body: Buffer): Array<{ field: number; value: string }> {
  const out: Array<{ field: number; value: string }> = [];
  let at = 0;
  while (at + 5 <= body.length) {
    const len = body.readUInt32BE(at + 1);
    const r = protobuf.Reader.create(body.subarray(at + 5, at + 5 + len));
    while (r.pos < r.len) {
      const tag = r.uint32();
      if ((tag & 7) === 2) out.push({ field: tag >>> 3, value: r.string() });
      else r.skipType(tag & 7);
    }
    at += 5 + len;
  }
  return out;
}

export async function startHostileReflection(mode: HostileReflectionMode, opts: { hugeFiles?: number } = {}): Promise<HostileReflection> {
  const server = http2.createServer();
  const streams: string[] = [];
  let closedByClient = 0;
  const open = new Set<http2.ServerHttp2Stream>();
  const sessions = new Set<http2.ServerHttp2Session>();
  server.on('session', (s) => {
    sessions.add(s);
    s.on('close', () => sessions.delete(s));
    s.on('error', () => undefined);
  });
  server.on('stream', (stream, headers) => {
    const path = String(headers[':path']);
    streams.push(path);
    open.add(stream);
    stream.on('close', () => {
      if (!stream.writableEnded || stream.rstCode !== 0) closedByClient++;
      open.delete(stream);
    });
    stream.on('error', () => undefined);
    if (mode === 'v1alpha-only' && path.includes('.v1.')) {
      stream.respond(
        { ':status': 200, 'content-type': 'application/grpc', 'grpc-status': '12', 'grpc-message': 'unknown service' },
        { endStream: true },
      );
      return;
    }
    stream.respond({ ':status': 200, 'content-type': 'application/grpc' }, { waitForTrailers: true });
    stream.on('wantTrailers', () => stream.sendTrailers({ 'grpc-status': '0' }));
    if (mode === 'hang') return; // headers sent; never a message, never the end
    const chunks: Buffer[] = [];
    stream.on('data', (c: Buffer) => chunks.push(c));
    stream.on('end', () => {
      const requests = requestsOf(Buffer.concat(chunks));
      if (mode === 'flood') {
        // One good answer, then answers nobody asked for, for ever (until the client goes away).
        const again = (): void => {
          if (stream.destroyed || stream.closed) return;
          if (stream.write(frame(servicesResponse(['h.S'])))) setImmediate(again);
          else stream.once('drain', again);
        };
        again();
        return;
      }
      for (const q of requests) {
        let reply: Uint8Array;
        if (mode === 'garbage') reply = Buffer.from([0xff, 0xff, 0xff, 0xff, 0x0f, 0x0a, 0x99]);
        else if (mode === 'error') reply = errorResponse(5, 'no such thing here');
        else if (q.field === 7) reply = servicesResponse(['h.S', 'grpc.reflection.v1.ServerReflection']);
        else if (mode === 'unknown-dependency') {
          reply =
            q.field === 4 ? filesResponse([fileDescriptor('h.proto', 'h', ['missing.proto'], true)]) : errorResponse(5, `file ${q.value} not found`);
        } else if (mode === 'huge') {
          const n = opts.hugeFiles ?? 10_000;
          const files = Array.from({ length: n }, (_, i) => fileDescriptor(`f${i}.proto`, `p${i}`, [], i === 0));
          reply = filesResponse(files);
        } else reply = filesResponse([fileDescriptor('h.proto', 'h', [], true)]);
        stream.write(frame(reply));
      }
      stream.end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  return {
    address: `127.0.0.1:${port}`,
    streams,
    closedByClient: () => closedByClient,
    async close() {
      for (const s of open) s.destroy();
      for (const s of sessions) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
