/**
 * Benchmark peer for bench/dubbo-transport.ts (not a test oracle): a Dubbo-framed echo server in
 * its own process that answers every two-way request with one fixed "pong" reply, coalescing its
 * writes per read chunk. It shows the client's ceiling when the provider costs nothing.
 */
import { createServer } from 'node:net';
import { FrameDecoder, HEADER_BYTES, flagByte, writeHeader } from '../src/upstream/dubbo/frame.js';
import { hessianValues } from '../test/support/hessian-bodies.js';

const REPLY_BODY = hessianValues(1, 'pong');
const RESPONSE_FLAGS = flagByte(false, false, false);
const HEARTBEAT_FLAGS = flagByte(false, false, true);

const server = createServer((socket) => {
  socket.setNoDelay(true);
  socket.on('error', () => {});
  const decoder = new FrameDecoder();
  socket.on('data', (chunk: Buffer) => {
    const frames = decoder.push(chunk).filter((f) => f.isRequest && f.twoWay);
    if (frames.length === 0) return;
    const out = Buffer.allocUnsafe(frames.length * (HEADER_BYTES + REPLY_BODY.length));
    let offset = 0;
    for (const f of frames) {
      const body = f.isEvent ? f.body : REPLY_BODY;
      writeHeader(out, offset, f.isEvent ? HEARTBEAT_FLAGS : RESPONSE_FLAGS, 20, f.id, body.length);
      body.copy(out, offset + HEADER_BYTES);
      offset += HEADER_BYTES + body.length;
    }
    socket.write(out.subarray(0, offset));
  });
});

server.listen(0, '127.0.0.1', () => {
  const addr = server.address();
  if (addr && typeof addr !== 'string') process.send?.({ port: addr.port });
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));
process.on('disconnect', () => process.exit(0));
