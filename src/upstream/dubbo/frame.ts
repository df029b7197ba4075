/**
 * The Dubbo 2 ("dubbo" protocol) frame codec: a 16-byte big-endian header followed by the body.
 * Pure (bytes in, frames out), incremental, and size-limited so that a broken or hostile peer
 * cannot make the gateway buffer without bound. See reference/protocols.md, section A.
 */
import { FerryError } from '../../errors/index.js';

/** `0xDABB`, the first two bytes of every frame. */
export const DUBBO_MAGIC = 0xdabb;
const MAGIC_HI = 0xda;
const MAGIC_LO = 0xbb;
/** Header length in bytes; the length field counts the body only. */
export const HEADER_BYTES = 16;
/** Bit 7 of the flag byte: the frame is a request (or a request-like event). */
export const FLAG_REQUEST = 0x80;
/** Bit 6: the sender expects an answer. */
export const FLAG_TWOWAY = 0x40;
/** Bit 5: heartbeat or other event rather than a call. */
export const FLAG_EVENT = 0x20;
/** Low 5 bits of the flag byte. */
export const SERIALIZATION_MASK = 0x1f;
/** Hessian2, the serialization every Dubbo version decodes. */
export const HESSIAN2_SERIALIZATION_ID = 2;
/** Dubbo's default `payload` limit: 8 MiB of body. */
export const DEFAULT_MAX_FRAME_BYTES = 8 * 1024 * 1024;

/** Status byte values of Dubbo responses (`org.apache.dubbo.remoting.exchange.Response`). */
export const DubboStatus = {
  OK: 20,
  SERIALIZATION_ERROR: 25,
  CLIENT_TIMEOUT: 30,
  SERVER_TIMEOUT: 31,
  CHANNEL_INACTIVE: 35,
  BAD_REQUEST: 40,
  BAD_RESPONSE: 50,
  SERVICE_NOT_FOUND: 60,
  SERVICE_ERROR: 70,
  SERVER_ERROR: 80,
  CLIENT_ERROR: 90,
  SERVER_THREADPOOL_EXHAUSTED_ERROR: 100,
} as const;

/** Hessian `N` (null): the body of heartbeat requests and answers. */
export const HEARTBEAT_BODY: Buffer = Buffer.from([0x4e]);
/** Hessian string "R": the provider's read-only event (graceful shutdown). */
export const READONLY_EVENT_BODY: Buffer = Buffer.from([0x01, 0x52]);
/** Hessian string "W": the provider is writable again. */
export const WRITABLE_EVENT_BODY: Buffer = Buffer.from([0x01, 0x57]);

/** One decoded frame. `id` is a signed 64-bit value (Java ids may be negative). */
export interface Frame {
  readonly isRequest: boolean;
  readonly twoWay: boolean;
  readonly isEvent: boolean;
  readonly serializationId: number;
  readonly status: number;
  readonly id: bigint;
  readonly body: Buffer;
}

/** What `encodeFrame` needs. Flags default to false, status to 0, serialization to hessian2. */
export interface FrameSpec {
  readonly request: boolean;
  readonly twoWay?: boolean;
  readonly event?: boolean;
  readonly status?: number;
  readonly serializationId?: number;
  readonly id: bigint;
  readonly body: Buffer;
}

const INT64_MIN = -(1n << 63n);
const INT64_MAX = (1n << 63n) - 1n;

/** The flag byte for a frame. */
export function flagByte(request: boolean, twoWay: boolean, event: boolean, serializationId = HESSIAN2_SERIALIZATION_ID): number {
  return (request ? FLAG_REQUEST : 0) | (twoWay ? FLAG_TWOWAY : 0) | (event ? FLAG_EVENT : 0) | (serializationId & SERIALIZATION_MASK);
}

/**
 * Writes a 16-byte header into `target` at `offset`. Split from `encodeFrame` so a writer can
 * put many headers and bodies into one buffer without copying bodies twice.
 */
export function writeHeader(target: Buffer, offset: number, flags: number, status: number, id: bigint, bodyLength: number): void {
  target[offset] = MAGIC_HI;
  target[offset + 1] = MAGIC_LO;
  target[offset + 2] = flags;
  target[offset + 3] = status;
  target.writeBigInt64BE(id, offset + 4);
  target.writeInt32BE(bodyLength, offset + 12);
}

/** Encodes one frame (header + body) into a new buffer. Throws RangeError on an id or status out of range. */
export function encodeFrame(spec: FrameSpec): Buffer {
  const { id, body } = spec;
  if (id < INT64_MIN || id > INT64_MAX) throw new RangeError(`frame id ${id} is not a signed 64-bit integer`);
  const status = spec.status ?? 0;
  if (!Number.isInteger(status) || status < 0 || status > 255) throw new RangeError(`frame status ${status} is not a byte`);
  if (body.length > 0x7fffffff) throw new RangeError(`frame body of ${body.length} bytes does not fit the length field`);
  const out = Buffer.allocUnsafe(HEADER_BYTES + body.length);
  const flags = flagByte(spec.request, spec.twoWay ?? false, spec.event ?? false, spec.serializationId ?? HESSIAN2_SERIALIZATION_ID);
  writeHeader(out, 0, flags, status, id, body.length);
  body.copy(out, HEADER_BYTES);
  return out;
}

/** Options of a FrameDecoder. */
export interface FrameDecoderOptions {
  /** Largest body accepted, in bytes (default 8 MiB, Dubbo's `payload` default). */
  readonly maxFrameBytes?: number;
}

function protocolError(message: string): FerryError {
  return new FerryError('FERRY_UPSTREAM_PROTOCOL_ERROR', message);
}

/**
 * Turns a byte stream into frames. Handles frames split across chunks and many frames per chunk;
 * rejects a wrong magic or a body over the limit with FERRY_UPSTREAM_PROTOCOL_ERROR, after which
 * the decoder stays failed (the stream cannot be resynchronised). Bodies are views into the
 * received chunks, not copies.
 */
export class FrameDecoder {
  readonly maxFrameBytes: number;
  /** Buffered bytes of an incomplete frame. */
  private chunks: Buffer[] = [];
  private buffered = 0;
  /** Bytes needed before the buffered data can make progress (header, or header + body). */
  private needed = HEADER_BYTES;
  private failure: FerryError | undefined;

  constructor(options: FrameDecoderOptions = {}) {
    const max = options.maxFrameBytes ?? DEFAULT_MAX_FRAME_BYTES;
    if (!Number.isInteger(max) || max < 0) throw new RangeError(`maxFrameBytes must be a non-negative integer, got ${max}`);
    this.maxFrameBytes = max;
  }

  /** Bytes held back waiting for the rest of a frame. */
  get bufferedBytes(): number {
    return this.buffered;
  }

  /** Feeds one chunk; returns the frames it completed (possibly none). Throws a coded error on bad input. */
  push(chunk: Buffer): Frame[] {
    if (this.failure) throw this.failure;
    if (chunk.length === 0) return [];
    let buf: Buffer;
    if (this.buffered === 0) {
      buf = chunk;
    } else {
      // Check the magic early even while the header is incomplete, so garbage fails fast.
      if (this.buffered + chunk.length < this.needed && this.buffered >= 2) {
        this.chunks.push(chunk);
        this.buffered += chunk.length;
        return [];
      }
      this.chunks.push(chunk);
      buf = Buffer.concat(this.chunks, this.buffered + chunk.length);
      this.chunks = [];
      this.buffered = 0;
    }
    const frames: Frame[] = [];
    let offset = 0;
    const end = buf.length;
    while (end - offset >= 2) {
      if (buf[offset] !== MAGIC_HI || buf[offset + 1] !== MAGIC_LO) {
        const got = buf.subarray(offset, offset + 2).toString('hex');
        this.fail(protocolError(`upstream sent bytes that are not a Dubbo frame (magic 0x${got}, expected 0xdabb)`));
      }
      if (end - offset < HEADER_BYTES) {
        this.needed = HEADER_BYTES;
        break;
      }
      const length = buf.readInt32BE(offset + 12);
      if (length < 0) this.fail(protocolError(`upstream frame has a negative body length (${length})`));
      if (length > this.maxFrameBytes) {
        this.fail(protocolError(`upstream frame body of ${length} bytes is over the ${this.maxFrameBytes}-byte limit`));
      }
      const total = HEADER_BYTES + length;
      if (end - offset < total) {
        this.needed = total;
        break;
      }
      const flags = buf[offset + 2]!;
      frames.push({
        isRequest: (flags & FLAG_REQUEST) !== 0,
        twoWay: (flags & FLAG_TWOWAY) !== 0,
        isEvent: (flags & FLAG_EVENT) !== 0,
        serializationId: flags & SERIALIZATION_MASK,
        status: buf[offset + 3]!,
        id: buf.readBigInt64BE(offset + 4),
        body: buf.subarray(offset + HEADER_BYTES, offset + total),
      });
      offset += total;
      this.needed = HEADER_BYTES;
    }
    if (offset < end) {
      const rest = buf.subarray(offset);
      this.chunks.push(rest);
      this.buffered = rest.length;
      if (rest.length < 2) this.needed = HEADER_BYTES;
    }
    return frames;
  }

  private fail(err: FerryError): never {
    this.failure = err;
    this.chunks = [];
    this.buffered = 0;
    throw err;
  }
}
