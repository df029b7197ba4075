/**
 * A deliberately minimal Dubbo (dubbo protocol, hessian2) client for checking the sample provider
 * before Ferry's own client exists: frames are built by hand from reference/protocols.md A/B and
 * bodies are encoded/decoded with hessian.js, an implementation nobody here wrote. Test-only.
 */
import { createRequire } from 'node:module';
import { connect, type Socket } from 'node:net';

const require = createRequire(import.meta.url);
// hessian.js ships no types; this helper only needs EncoderV2/DecoderV2.
export const hessian: any = require('hessian.js');

/** One frame as read from the socket. */
export interface RawFrame {
  flag: number;
  status: number;
  id: bigint;
  body: Buffer;
}

/** A request to encode: service path, version, method, JVM descriptor, hessian.js-ready args. */
export interface RawCall {
  service: string;
  version?: string;
  method: string;
  descriptor: string;
  args?: unknown[];
  attachments?: Record<string, string>;
}

/** Builds a two-way request frame (flag 0xC2, hessian2) for `call` with request id `id`. */
export function encodeRequest(id: bigint, call: RawCall): Buffer {
  const enc = new hessian.EncoderV2();
  const version = call.version ?? '';
  enc.write('2.0.2');
  enc.write(call.service);
  enc.write(version);
  enc.write(call.method);
  enc.write(call.descriptor);
  for (const a of call.args ?? []) enc.write(a);
  const attachments: Record<string, string> = { path: call.service, interface: call.service, ...call.attachments };
  if (version) attachments['version'] = version;
  enc.write(attachments);
  const body: Buffer = enc.get();
  const header = Buffer.alloc(16);
  header.writeUInt16BE(0xdabb, 0);
  header[2] = 0xc2;
  header[3] = 0;
  header.writeBigInt64BE(id, 4);
  header.writeInt32BE(body.length, 12);
  return Buffer.concat([header, body]);
}

/** Decodes every top-level hessian value of a frame body (one shared hessian context). */
export function decodeValues(body: Buffer, withType = false): unknown[] {
  const dec = new hessian.DecoderV2(body);
  const out: unknown[] = [];
  while (dec.byteBuffer.position() < body.length) out.push(dec.read(withType));
  return out;
}

/** A response body with status 20, split per protocols.md section C. */
export interface RawResult {
  flag: number;
  value?: unknown;
  exception?: unknown;
  attachments?: Record<string, unknown>;
}

/** Splits an OK (status 20) response body into flag / value / exception / attachments. */
export function decodeResult(body: Buffer, withType = false): RawResult {
  const [flag, ...rest] = decodeValues(body, withType) as [number, ...unknown[]];
  switch (flag) {
    case 0:
      return { flag, exception: rest[0] };
    case 1:
      return { flag, value: rest[0] };
    case 2:
      return { flag };
    case 3:
      return { flag, exception: rest[0], attachments: rest[1] as Record<string, unknown> };
    case 4:
      return { flag, value: rest[0], attachments: rest[1] as Record<string, unknown> };
    case 5:
      return { flag, attachments: rest[0] as Record<string, unknown> };
    default:
      throw new Error(`unknown result flag ${String(flag)}`);
  }
}

/** One TCP connection with request-id matching; unsolicited frames (events) are collected. */
export interface RawConnection {
  call(call: RawCall): Promise<RawFrame>;
  /** Frames that answered no request (e.g. the provider's read-only event), in arrival order. */
  readonly events: RawFrame[];
  /** Resolves when the next unsolicited frame arrives (or immediately if one is waiting). */
  nextEvent(): Promise<RawFrame>;
  /** Resolves when the socket has closed. */
  readonly closed: Promise<void>;
  close(): Promise<void>;
}

/** Opens a connection to a Dubbo provider at 127.0.0.1:`port`. */
export function openRaw(port: number): Promise<RawConnection> {
  return new Promise((resolve, reject) => {
    const socket: Socket = connect({ host: '127.0.0.1', port });
    let buf = Buffer.alloc(0);
    let nextId = 1n;
    const pending = new Map<bigint, { resolve: (f: RawFrame) => void; reject: (e: Error) => void }>();
    const events: RawFrame[] = [];
    let eventWaiter: ((f: RawFrame) => void) | undefined;
    let eventsTaken = 0;
    const closed = new Promise<void>((r) => socket.once('close', () => r()));
    socket.once('close', () => {
      for (const p of pending.values()) p.reject(new Error('connection closed'));
      pending.clear();
    });
    socket.on('data', (chunk: Buffer) => {
      buf = Buffer.concat([buf, chunk]);
      while (buf.length >= 16) {
        if (buf.readUInt16BE(0) !== 0xdabb) {
          socket.destroy(new Error(`bad magic ${buf.subarray(0, 2).toString('hex')}`));
          return;
        }
        const len = buf.readInt32BE(12);
        if (buf.length < 16 + len) break;
        const frame: RawFrame = {
          flag: buf[2]!,
          status: buf[3]!,
          id: buf.readBigInt64BE(4),
          body: Buffer.from(buf.subarray(16, 16 + len)),
        };
        buf = buf.subarray(16 + len);
        const waiter = (frame.flag & 0x80) === 0 ? pending.get(frame.id) : undefined;
        if (waiter) {
          pending.delete(frame.id);
          waiter.resolve(frame);
        } else {
          events.push(frame);
          if (eventWaiter) {
            const w = eventWaiter;
            eventWaiter = undefined;
            eventsTaken++;
            w(frame);
          }
        }
      }
    });
    socket.once('error', (err) => {
      reject(err);
      for (const p of pending.values()) p.reject(err);
      pending.clear();
    });
    socket.once('connect', () =>
      resolve({
        events,
        closed,
        call(call) {
          const id = nextId++;
          return new Promise((res, rej) => {
            pending.set(id, { resolve: res, reject: rej });
            socket.write(encodeRequest(id, call));
          });
        },
        nextEvent() {
          if (events.length > eventsTaken) return Promise.resolve(events[eventsTaken++]!);
          return new Promise((r) => (eventWaiter = r));
        },
        close() {
          socket.end();
          return closed;
        },
      }),
    );
  });
}
