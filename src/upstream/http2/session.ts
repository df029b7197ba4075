/**
 * An HTTP/2 client connection (RFC 9113) on a socket Ferry opened, for gRPC upstream calls: the
 * frame layer, HPACK (./hpack.ts), flow control both ways, SETTINGS, PING, GOAWAY and RST_STREAM.
 *
 * Why not node:http2: each node:http2 stream is a Duplex with a C++ handle; its wrapper outlives the
 * call until a full GC, so every scavenge copies and promotes the stream objects of the calls since
 * the last one. Measured on the gRPC GET (bench/grpc-gateway.ts --floor): a bare proxy over
 * node:http2 spent 201 µs of CPU per call and had a wrk p99 of 22 ms at one connection; over a plain
 * framing loop, 93 µs and 3.3 ms. Here a stream is one small object and a handler.
 *
 * What the client needs and no more: it opens streams, sends a request's headers and body (with
 * END_STREAM), reads the reply's headers, DATA and trailers. No server push (disabled in SETTINGS),
 * no priorities, no request trailers. Everything the peer sends is bounded: frame size (what we
 * advertise), a header block's size and its decoded list, frames that need an answer while the
 * socket does not drain, windows that would overflow. A broken rule closes the connection with
 * GOAWAY and the matching error code; the calls on it fail as lost (or as never sent when the peer
 * said so: REFUSED_STREAM, or above GOAWAY's last stream id).
 */
import type { Socket } from 'node:net';
import { HpackDecoder, HpackError, encodeHeaderBlock } from './hpack.js';

/** Error codes (RFC 9113 §7). */
export const H2_NO_ERROR = 0x0;
export const H2_PROTOCOL_ERROR = 0x1;
export const H2_FLOW_CONTROL_ERROR = 0x3;
export const H2_FRAME_SIZE_ERROR = 0x6;
export const H2_REFUSED_STREAM = 0x7;
export const H2_CANCEL = 0x8;
export const H2_COMPRESSION_ERROR = 0x9;
export const H2_ENHANCE_YOUR_CALM = 0xb;

const DATA = 0x0;
const HEADERS = 0x1;
const PRIORITY = 0x2;
const RST_STREAM = 0x3;
const SETTINGS = 0x4;
const PUSH_PROMISE = 0x5;
const PING = 0x6;
const GOAWAY = 0x7;
const WINDOW_UPDATE = 0x8;
const CONTINUATION = 0x9;

const FLAG_END_STREAM = 0x1;
const FLAG_ACK = 0x1;
const FLAG_END_HEADERS = 0x4;
const FLAG_PADDED = 0x8;
const FLAG_PRIORITY = 0x20;

const PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1');
const DEFAULT_WINDOW = 65_535;
const MAX_WINDOW = 2 ** 31 - 1;
const MAX_STREAM_ID = 2 ** 31 - 1;

export interface H2Budgets {
  /** Largest frame payload accepted: what SETTINGS_MAX_FRAME_SIZE says to the peer (16 KiB .. 16 MiB). */
  readonly maxFrameBytes: number;
  /** A decoded header list's size (names + values + 32 per field), also sent as SETTINGS_MAX_HEADER_LIST_SIZE. */
  readonly maxHeaderListBytes: number;
  /** Bytes Ferry has queued on the socket that the peer has not read, before the connection is dropped. */
  readonly maxUnsentBytes: number;
  /** Each stream's receive window (SETTINGS_INITIAL_WINDOW_SIZE). */
  readonly streamWindow: number;
  /** The connection's receive window. */
  readonly connectionWindow: number;
}

export const DEFAULT_H2_BUDGETS: H2Budgets = {
  maxFrameBytes: 16_384,
  maxHeaderListBytes: 64 * 1024,
  maxUnsentBytes: 8 * 1024 * 1024,
  streamWindow: 1024 * 1024,
  connectionWindow: 16 * 1024 * 1024,
};

/** What a stream reports; each is called on the event loop turn the bytes arrived in. */
export interface H2StreamHandler {
  /** A header block: the reply's headers, or its trailers (`endStream`), flat [name, value, ...]. */
  headers(fields: string[], endStream: boolean): void;
  data(chunk: Buffer): void;
  /**
   * The stream is over: after END_STREAM (code undefined), a RST_STREAM from the peer (its code), or
   * the connection's end (`error`). Not called after cancel().
   */
  close(code: number | undefined, error: Error | undefined): void;
}

/** One request/response exchange. */
export class H2Stream {
  /** 0 until the stream is opened on the wire (it may wait for a free slot under MAX_CONCURRENT_STREAMS). */
  id = 0;
  /** The peer's RST_STREAM code, or ours after cancel(). */
  rstCode: number | undefined;
  closed = false;
  /** Peer's window for what we send on this stream. */
  sendWindow = 0;
  /** What the peer may still send before we give more window. */
  recvWindow = 0;
  /** Received bytes not yet given back as window. */
  unacked = 0;
  paused = false;
  gotHeaders = false;
  /** Body bytes still to send (flow control holds them); undefined once all went out. */
  pendingBody: Buffer | undefined;

  constructor(
    readonly session: H2Session,
    readonly block: Buffer,
    body: Buffer,
    readonly handler: H2StreamHandler,
  ) {
    this.pendingBody = body;
  }

  /** Resets the stream (CANCEL by default) and forgets it; the handler hears nothing more. */
  cancel(code = H2_CANCEL): void {
    if (this.closed) return;
    this.closed = true;
    this.rstCode = code;
    this.session.forget(this, true);
  }

  /** Stops giving the peer window for this stream (a slow reader): it will stop sending. */
  pause(): void {
    this.paused = true;
  }

  resume(): void {
    if (!this.paused) return;
    this.paused = false;
    this.session.giveStreamWindow(this);
  }
}

export interface H2SessionEvents {
  /** The peer's first SETTINGS arrived. */
  remoteSettings(): void;
  /** The peer sent GOAWAY: no new streams; streams above its last id have already failed as refused. */
  goaway(code: number): void;
  /** The connection is gone (after an error, a GOAWAY once its streams ended, or close()). */
  close(error: Error | undefined): void;
}

/**
 * A connection error: the session sends GOAWAY with `code` and closes. The message names what the
 * peer did, never any bytes it sent.
 */
export class H2ProtocolError extends Error {
  constructor(
    readonly h2Code: number,
    message: string,
  ) {
    super(message);
  }
}

export class H2Session {
  private readonly streams = new Map<number, H2Stream>();
  private readonly waiting: H2Stream[] = [];
  private readonly decoder = new HpackDecoder();
  private nextId = 1;
  private sendWindow = DEFAULT_WINDOW;
  private recvWindow = DEFAULT_WINDOW;
  private unacked = 0;
  private peerInitialWindow = DEFAULT_WINDOW;
  private peerMaxFrame = 16_384;
  private peerMaxStreams = Infinity;
  private settingsSeen = false;
  private tableSizeUpdate = false;
  private goingAway = false;
  private destroyedWith: Error | undefined;
  private ended = false;
  // The frame reader: a partial frame waits in `parts` until `need` bytes are there.
  private parts: Buffer[] = [];
  private partBytes = 0;
  private need = 9;
  private headerBlock: { id: number; endStream: boolean; parts: Buffer[]; bytes: number } | undefined;
  private out: Buffer[] = [];
  /** Request DATA bytes in `out`, not yet handed to the socket. */
  private outData = 0;
  /** A body waits for room on the socket (not for window): the next flush that does not fill it sends more. */
  private bodyWaitsForRoom = false;
  private flushQueued = false;

  constructor(
    private readonly socket: Socket,
    private readonly events: H2SessionEvents,
    private readonly budgets: H2Budgets = DEFAULT_H2_BUDGETS,
  ) {
    const settings = Buffer.alloc(24);
    writeSetting(settings, 0, 0x2, 0); // ENABLE_PUSH
    writeSetting(settings, 6, 0x4, budgets.streamWindow); // INITIAL_WINDOW_SIZE
    writeSetting(settings, 12, 0x5, budgets.maxFrameBytes); // MAX_FRAME_SIZE
    writeSetting(settings, 18, 0x6, budgets.maxHeaderListBytes); // MAX_HEADER_LIST_SIZE
    const grow = budgets.connectionWindow - DEFAULT_WINDOW;
    this.recvWindow = budgets.connectionWindow;
    socket.write(
      Buffer.concat([PREFACE, frameHeader(24, SETTINGS, 0, 0), settings, ...(grow > 0 ? [frameHeader(4, WINDOW_UPDATE, 0, 0), u32(grow)] : [])]),
    );
    socket.on('data', (chunk: Buffer) => this.onBytes(chunk));
    socket.on('drain', () => {
      this.bodyWaitsForRoom = false;
      this.sendAllowed();
    });
    socket.on('error', (err: Error) => this.destroy(err));
    // A close with no error before it: events.close hears undefined, the streams 'the connection closed'.
    socket.on('close', () => this.end(undefined));
  }

  /** True while new streams may be opened. */
  get usable(): boolean {
    return !this.goingAway && this.destroyedWith === undefined && !this.ended && this.nextId <= MAX_STREAM_ID;
  }

  /** Opens a stream with the request's header fields (flat, lowercase) and its whole body, END_STREAM after it. */
  request(fields: readonly string[], body: Buffer, handler: H2StreamHandler): H2Stream {
    let block = encodeHeaderBlock(fields);
    if (this.tableSizeUpdate) {
      // The peer changed SETTINGS_HEADER_TABLE_SIZE: Ferry never adds to its table, so it says 0.
      block = Buffer.concat([Buffer.from([0x20]), block]);
      this.tableSizeUpdate = false;
    }
    const stream = new H2Stream(this, block, body, handler);
    if (!this.usable) {
      stream.closed = true;
      queueMicrotask(() => handler.close(H2_REFUSED_STREAM, this.destroyedWith ?? new Error('the connection is going away')));
      return stream;
    }
    if (this.streams.size >= this.peerMaxStreams) this.waiting.push(stream);
    else this.open(stream);
    return stream;
  }

  /** Sends GOAWAY and closes once the streams in flight ended. */
  close(): void {
    if (this.ended) return;
    if (!this.goingAway) this.send(frameHeader(8, GOAWAY, 0, 0), u32(0), u32(H2_NO_ERROR));
    this.goingAway = true;
    if (this.streams.size === 0) this.end(undefined);
  }

  /** Closes the connection now; every stream in flight fails with `error`. */
  destroy(error?: Error): void {
    if (this.ended) return;
    this.destroyedWith ??= error ?? new Error('the connection was closed');
    this.end(this.destroyedWith);
  }

  unref(): void {
    this.socket.unref();
  }

  // ---- streams ----------------------------------------------------------------------------------

  private open(stream: H2Stream): void {
    stream.id = this.nextId;
    this.nextId += 2;
    if (this.nextId > MAX_STREAM_ID && !this.goingAway) {
      // The last stream id this connection has: the owner moves to a new connection (about 10^9 calls in).
      queueMicrotask(() => {
        if (this.ended || this.goingAway) return;
        this.events.goaway(H2_NO_ERROR);
        this.close();
      });
    }
    stream.sendWindow = this.peerInitialWindow;
    stream.recvWindow = this.budgets.streamWindow;
    this.streams.set(stream.id, stream);
    const block = stream.block;
    const maxFrame = this.peerMaxFrame;
    const body = stream.pendingBody!;
    if (block.length <= maxFrame) {
      this.out.push(frameHeader(block.length, HEADERS, body.length === 0 ? FLAG_END_HEADERS | FLAG_END_STREAM : FLAG_END_HEADERS, stream.id), block);
    } else {
      // A header block past the peer's frame size goes on in CONTINUATION frames.
      this.out.push(frameHeader(maxFrame, HEADERS, body.length === 0 ? FLAG_END_STREAM : 0, stream.id), block.subarray(0, maxFrame));
      for (let at = maxFrame; at < block.length; at += maxFrame) {
        const piece = block.subarray(at, Math.min(block.length, at + maxFrame));
        this.out.push(frameHeader(piece.length, CONTINUATION, at + maxFrame >= block.length ? FLAG_END_HEADERS : 0, stream.id), piece);
      }
    }
    if (body.length === 0) stream.pendingBody = undefined;
    else this.sendBody(stream);
    this.flushSoon();
  }

  /** As much of the stream's body as both windows allow, in frames the peer accepts. */
  private sendBody(stream: H2Stream): void {
    let body = stream.pendingBody;
    // Bodies fill the socket to half the unsent budget at most (the rest goes on at 'drain'), so the
    // budget, meant for a peer that provokes answers and does not read them, never hits a big upload.
    let left = this.budgets.maxUnsentBytes / 2 - this.socket.writableLength - this.outData;
    while (body !== undefined) {
      const room = Math.min(stream.sendWindow, this.sendWindow, this.peerMaxFrame, left);
      if (room <= 0) break;
      const n = Math.min(room, body.length);
      const last = n === body.length;
      this.out.push(frameHeader(n, DATA, last ? FLAG_END_STREAM : 0, stream.id), body.subarray(0, n));
      stream.sendWindow -= n;
      this.sendWindow -= n;
      this.outData += n;
      left -= n;
      body = last ? undefined : body.subarray(n);
    }
    stream.pendingBody = body;
    if (body !== undefined && left <= 0) this.bodyWaitsForRoom = true;
  }

  /** Called by a stream that ended or was cancelled: it leaves the table; a waiting stream may start. */
  forget(stream: H2Stream, reset: boolean): void {
    if (stream.id === 0) {
      const i = this.waiting.indexOf(stream);
      if (i >= 0) this.waiting.splice(i, 1);
      return;
    }
    if (this.streams.get(stream.id) !== stream) return;
    this.streams.delete(stream.id);
    if (reset && !this.ended) {
      this.send(frameHeader(4, RST_STREAM, 0, stream.id), u32(stream.rstCode ?? H2_CANCEL));
    }
    while (this.waiting.length > 0 && this.streams.size < this.peerMaxStreams && this.usable) this.open(this.waiting.shift()!);
    if (this.goingAway && this.streams.size === 0) this.close();
  }

  giveStreamWindow(stream: H2Stream): void {
    if (stream.closed || stream.paused || stream.unacked === 0) return;
    this.send(frameHeader(4, WINDOW_UPDATE, 0, stream.id), u32(stream.unacked));
    stream.recvWindow += stream.unacked;
    stream.unacked = 0;
  }

  private finishStream(stream: H2Stream, code: number | undefined, error: Error | undefined): void {
    if (stream.closed) return;
    stream.closed = true;
    if (code !== undefined) stream.rstCode = code;
    // The server answered before the whole request went out: the rest is not wanted (§8.1).
    const unsent = stream.pendingBody !== undefined && code === undefined && error === undefined;
    if (unsent) stream.rstCode = H2_NO_ERROR;
    stream.pendingBody = undefined;
    this.forget(stream, unsent);
    stream.handler.close(code, error);
  }

  // ---- writing ----------------------------------------------------------------------------------

  private send(...bufs: Buffer[]): void {
    for (const b of bufs) this.out.push(b);
    this.flushSoon();
  }

  /** Frames written in one turn of the event loop go out in one write. */
  private flushSoon(): void {
    if (this.flushQueued) return;
    this.flushQueued = true;
    queueMicrotask(() => this.flush());
  }

  private flush(): void {
    this.flushQueued = false;
    if (this.out.length === 0 || this.socket.destroyed) {
      this.out = [];
      this.outData = 0;
      return;
    }
    const out = this.out;
    this.out = [];
    this.outData = 0;
    const roomLeft = this.socket.write(out.length === 1 ? out[0]! : Buffer.concat(out));
    if (this.bodyWaitsForRoom && roomLeft) {
      // The socket took it all (no 'drain' will come): more of the bodies after this turn's I/O.
      this.bodyWaitsForRoom = false;
      setImmediate(() => this.sendAllowed());
    }
    if (this.destroyedWith === undefined && this.socket.writableLength > this.budgets.maxUnsentBytes) {
      this.fail(
        new H2ProtocolError(H2_ENHANCE_YOUR_CALM, `the peer does not read what Ferry sends (over ${this.budgets.maxUnsentBytes} bytes queued)`),
      );
    }
  }

  // ---- reading ----------------------------------------------------------------------------------

  private onBytes(chunk: Buffer): void {
    if (this.ended) return;
    this.parts.push(chunk);
    this.partBytes += chunk.length;
    if (this.partBytes < this.need) return;
    let buf = this.parts.length === 1 ? this.parts[0]! : Buffer.concat(this.parts, this.partBytes);
    this.parts = [];
    this.partBytes = 0;
    let at = 0;
    try {
      while (buf.length - at >= 9 && !this.ended) {
        const length = (buf[at]! << 16) | (buf[at + 1]! << 8) | buf[at + 2]!;
        if (length > this.budgets.maxFrameBytes) {
          throw new H2ProtocolError(H2_FRAME_SIZE_ERROR, `a frame of ${length} bytes, over the ${this.budgets.maxFrameBytes} Ferry allows`);
        }
        if (buf.length - at < 9 + length) {
          this.need = 9 + length;
          break;
        }
        const type = buf[at + 3]!;
        const flags = buf[at + 4]!;
        const id = buf.readUInt32BE(at + 5) & 0x7fffffff;
        this.onFrame(type, flags, id, buf.subarray(at + 9, at + 9 + length));
        at += 9 + length;
        this.need = 9;
      }
    } catch (err) {
      if (err instanceof H2ProtocolError) return this.fail(err);
      if (err instanceof HpackError)
        return this.fail(new H2ProtocolError(H2_COMPRESSION_ERROR, `a header block could not be decoded: ${err.message}`));
      throw err;
    }
    if (at < buf.length && !this.ended) {
      buf = buf.subarray(at);
      this.parts.push(buf);
      this.partBytes = buf.length;
    }
  }

  private onFrame(type: number, flags: number, id: number, payload: Buffer): void {
    if (this.headerBlock !== undefined && (type !== CONTINUATION || id !== this.headerBlock.id)) {
      throw new H2ProtocolError(H2_PROTOCOL_ERROR, 'a header block was interrupted by another frame');
    }
    if (!this.settingsSeen && type !== SETTINGS) throw new H2ProtocolError(H2_PROTOCOL_ERROR, 'the server did not start with SETTINGS');
    switch (type) {
      case DATA:
        return this.onData(flags, id, payload);
      case HEADERS:
        return this.onHeaders(flags, id, payload);
      case CONTINUATION:
        return this.onContinuation(flags, id, payload);
      case PRIORITY:
        if (id === 0) throw new H2ProtocolError(H2_PROTOCOL_ERROR, 'PRIORITY on stream 0');
        if (payload.length !== 5) throw new H2ProtocolError(H2_FRAME_SIZE_ERROR, 'a PRIORITY frame that is not 5 bytes');
        return;
      case RST_STREAM: {
        if (id === 0) throw new H2ProtocolError(H2_PROTOCOL_ERROR, 'RST_STREAM on stream 0');
        if (payload.length !== 4) throw new H2ProtocolError(H2_FRAME_SIZE_ERROR, 'a RST_STREAM frame that is not 4 bytes');
        if (id >= this.nextId) throw new H2ProtocolError(H2_PROTOCOL_ERROR, 'RST_STREAM on a stream never opened');
        const stream = this.streams.get(id);
        if (stream !== undefined) this.finishStream(stream, payload.readUInt32BE(0), undefined);
        return;
      }
      case SETTINGS:
        return this.onSettings(flags, id, payload);
      case PUSH_PROMISE:
        throw new H2ProtocolError(H2_PROTOCOL_ERROR, 'PUSH_PROMISE, though Ferry disabled push');
      case PING:
        if (id !== 0) throw new H2ProtocolError(H2_PROTOCOL_ERROR, 'PING on a stream');
        if (payload.length !== 8) throw new H2ProtocolError(H2_FRAME_SIZE_ERROR, 'a PING frame that is not 8 bytes');
        if ((flags & FLAG_ACK) === 0) this.send(frameHeader(8, PING, FLAG_ACK, 0), Buffer.from(payload));
        return;
      case GOAWAY:
        return this.onGoaway(id, payload);
      case WINDOW_UPDATE:
        return this.onWindowUpdate(id, payload);
      default:
        return; // unknown frame types are ignored (§5.5)
    }
  }

  private onData(flags: number, id: number, payload: Buffer): void {
    if (id === 0) throw new H2ProtocolError(H2_PROTOCOL_ERROR, 'DATA on stream 0');
    const length = payload.length;
    // The whole frame counts against the windows, padding too.
    this.recvWindow -= length;
    if (this.recvWindow < 0) throw new H2ProtocolError(H2_FLOW_CONTROL_ERROR, 'the server sent past the connection window');
    this.unacked += length;
    if (this.unacked >= this.budgets.connectionWindow / 2) {
      this.send(frameHeader(4, WINDOW_UPDATE, 0, 0), u32(this.unacked));
      this.recvWindow += this.unacked;
      this.unacked = 0;
    }
    const data = unpad(flags, payload);
    const stream = this.streams.get(id);
    if (stream === undefined) {
      if (id >= this.nextId) throw new H2ProtocolError(H2_PROTOCOL_ERROR, 'DATA on a stream never opened');
      return; // a stream Ferry cancelled: the bytes still counted for the connection
    }
    if (!stream.gotHeaders) throw new H2ProtocolError(H2_PROTOCOL_ERROR, 'DATA before the reply headers');
    stream.recvWindow -= length;
    if (stream.recvWindow < 0) throw new H2ProtocolError(H2_FLOW_CONTROL_ERROR, 'the server sent past a stream window');
    stream.unacked += length;
    if (data.length > 0) stream.handler.data(data);
    if (stream.closed) return;
    if ((flags & FLAG_END_STREAM) !== 0) return this.finishStream(stream, undefined, undefined);
    if (stream.unacked >= this.budgets.streamWindow / 2) this.giveStreamWindow(stream);
  }

  private onHeaders(flags: number, id: number, payload: Buffer): void {
    if (id === 0) throw new H2ProtocolError(H2_PROTOCOL_ERROR, 'HEADERS on stream 0');
    let block = unpad(flags, payload);
    if ((flags & FLAG_PRIORITY) !== 0) {
      if (block.length < 5) throw new H2ProtocolError(H2_FRAME_SIZE_ERROR, 'a HEADERS frame too short for its priority');
      block = block.subarray(5);
    }
    const endStream = (flags & FLAG_END_STREAM) !== 0;
    if ((flags & FLAG_END_HEADERS) !== 0) return this.onHeaderBlock(id, endStream, block);
    this.headerBlock = { id, endStream, parts: [Buffer.from(block)], bytes: block.length };
  }

  private onContinuation(flags: number, id: number, payload: Buffer): void {
    const pending = this.headerBlock;
    if (pending === undefined) throw new H2ProtocolError(H2_PROTOCOL_ERROR, 'CONTINUATION without a header block');
    pending.bytes += payload.length;
    // A compressed block is never larger than its list; past that it is a flood of CONTINUATION frames.
    if (pending.bytes > this.budgets.maxHeaderListBytes) {
      throw new H2ProtocolError(H2_ENHANCE_YOUR_CALM, `a header block of over ${this.budgets.maxHeaderListBytes} bytes`);
    }
    pending.parts.push(Buffer.from(payload));
    if ((flags & FLAG_END_HEADERS) === 0) return;
    this.headerBlock = undefined;
    this.onHeaderBlock(id, pending.endStream, Buffer.concat(pending.parts, pending.bytes));
  }

  private onHeaderBlock(id: number, endStream: boolean, block: Buffer): void {
    // Decoded even for a stream Ferry cancelled: the dynamic table must stay in step with the server's.
    const fields = this.decoder.decode(block, { maxListBytes: this.budgets.maxHeaderListBytes });
    if ((id & 1) === 0) throw new H2ProtocolError(H2_PROTOCOL_ERROR, 'HEADERS on a server-initiated stream');
    const stream = this.streams.get(id);
    if (stream === undefined) {
      if (id >= this.nextId) throw new H2ProtocolError(H2_PROTOCOL_ERROR, 'HEADERS on a stream never opened');
      return;
    }
    if (!stream.gotHeaders && fields[0] === ':status' && fields[1]!.startsWith('1') && !endStream) return; // 1xx
    stream.gotHeaders = true;
    stream.handler.headers(fields, endStream);
    if (endStream && !stream.closed) this.finishStream(stream, undefined, undefined);
  }

  private onSettings(flags: number, id: number, payload: Buffer): void {
    if (id !== 0) throw new H2ProtocolError(H2_PROTOCOL_ERROR, 'SETTINGS on a stream');
    if ((flags & FLAG_ACK) !== 0) {
      if (payload.length !== 0) throw new H2ProtocolError(H2_FRAME_SIZE_ERROR, 'a SETTINGS ACK with a payload');
      return;
    }
    if (payload.length % 6 !== 0) throw new H2ProtocolError(H2_FRAME_SIZE_ERROR, 'a SETTINGS frame that is not a multiple of 6 bytes');
    for (let at = 0; at < payload.length; at += 6) {
      const key = payload.readUInt16BE(at);
      const value = payload.readUInt32BE(at + 2);
      if (key === 0x1) this.tableSizeUpdate = true;
      else if (key === 0x3) this.peerMaxStreams = value;
      else if (key === 0x4) {
        if (value > MAX_WINDOW) throw new H2ProtocolError(H2_FLOW_CONTROL_ERROR, 'an initial window over 2^31-1');
        const delta = value - this.peerInitialWindow;
        this.peerInitialWindow = value;
        for (const s of this.streams.values()) {
          s.sendWindow += delta;
          if (s.sendWindow > MAX_WINDOW) throw new H2ProtocolError(H2_FLOW_CONTROL_ERROR, 'a stream window over 2^31-1');
        }
      } else if (key === 0x5) {
        if (value < 16_384 || value > 16_777_215) throw new H2ProtocolError(H2_PROTOCOL_ERROR, `a max frame size of ${value}`);
        this.peerMaxFrame = value;
      } else if (key === 0x2 && value > 1) throw new H2ProtocolError(H2_PROTOCOL_ERROR, 'ENABLE_PUSH not 0 or 1');
    }
    this.send(frameHeader(0, SETTINGS, FLAG_ACK, 0));
    this.sendAllowed();
    if (!this.settingsSeen) {
      this.settingsSeen = true;
      this.events.remoteSettings();
    }
  }

  private onGoaway(id: number, payload: Buffer): void {
    if (id !== 0) throw new H2ProtocolError(H2_PROTOCOL_ERROR, 'GOAWAY on a stream');
    if (payload.length < 8) throw new H2ProtocolError(H2_FRAME_SIZE_ERROR, 'a GOAWAY frame shorter than 8 bytes');
    const last = payload.readUInt32BE(0) & 0x7fffffff;
    const code = payload.readUInt32BE(4);
    const first = !this.goingAway;
    this.goingAway = true;
    // Streams above `last` were never processed: they fail as refused, so a retry may resend them.
    const refused = new Error('the server is going away and did not process the call');
    for (const s of [...this.streams.values()]) if (s.id > last) this.finishStream(s, H2_REFUSED_STREAM, refused);
    for (const s of this.waiting.splice(0)) {
      s.closed = true;
      s.handler.close(H2_REFUSED_STREAM, refused);
    }
    if (first) this.events.goaway(code);
    if (this.streams.size === 0) this.end(code === H2_NO_ERROR ? undefined : new Error(`the server closed the connection (HTTP/2 error ${code})`));
  }

  private onWindowUpdate(id: number, payload: Buffer): void {
    if (payload.length !== 4) throw new H2ProtocolError(H2_FRAME_SIZE_ERROR, 'a WINDOW_UPDATE frame that is not 4 bytes');
    const inc = payload.readUInt32BE(0) & 0x7fffffff;
    if (id === 0) {
      if (inc === 0) throw new H2ProtocolError(H2_PROTOCOL_ERROR, 'a connection WINDOW_UPDATE of 0');
      this.sendWindow += inc;
      if (this.sendWindow > MAX_WINDOW) throw new H2ProtocolError(H2_FLOW_CONTROL_ERROR, 'the connection window over 2^31-1');
      return this.sendAllowed();
    }
    const stream = this.streams.get(id);
    if (stream === undefined) return;
    if (inc === 0 || stream.sendWindow + inc > MAX_WINDOW) {
      // A stream error: only this stream is reset.
      stream.rstCode = inc === 0 ? H2_PROTOCOL_ERROR : H2_FLOW_CONTROL_ERROR;
      this.send(frameHeader(4, RST_STREAM, 0, id), u32(stream.rstCode));
      return this.finishStream(stream, stream.rstCode, new Error('the server sent a bad WINDOW_UPDATE'));
    }
    stream.sendWindow += inc;
    if (stream.pendingBody !== undefined) {
      this.sendBody(stream);
      this.flushSoon();
    }
  }

  /** Bodies held by flow control go on as far as the windows now allow. */
  private sendAllowed(): void {
    for (const s of this.streams.values()) {
      if (this.sendWindow <= 0) break;
      if (s.pendingBody !== undefined) this.sendBody(s);
    }
    this.flushSoon();
  }

  // ---- the end ----------------------------------------------------------------------------------

  private fail(err: H2ProtocolError): void {
    if (this.ended || this.destroyedWith !== undefined) return;
    // GOAWAY with the code, then the socket closes: the streams fail as lost.
    this.destroyedWith = err;
    this.out.push(frameHeader(8, GOAWAY, 0, 0), u32(0), u32(err.h2Code));
    this.flush();
    this.end(err);
  }

  private end(error: Error | undefined): void {
    if (this.ended) return;
    this.ended = true;
    const lost = error ?? new Error('the connection closed');
    for (const s of [...this.streams.values()]) this.finishStream(s, undefined, lost);
    for (const s of this.waiting.splice(0)) {
      s.closed = true;
      s.handler.close(H2_REFUSED_STREAM, lost);
    }
    if (this.out.length > 0) this.flush();
    this.socket.end();
    this.socket.destroy();
    this.events.close(error);
  }
}

function frameHeader(length: number, type: number, flags: number, id: number): Buffer {
  const h = Buffer.allocUnsafe(9);
  h[0] = length >>> 16;
  h[1] = (length >>> 8) & 0xff;
  h[2] = length & 0xff;
  h[3] = type;
  h[4] = flags;
  h.writeUInt32BE(id, 5);
  return h;
}

function u32(n: number): Buffer {
  const b = Buffer.allocUnsafe(4);
  b.writeUInt32BE(n >>> 0, 0);
  return b;
}

function writeSetting(buf: Buffer, at: number, key: number, value: number): void {
  buf.writeUInt16BE(key, at);
  buf.writeUInt32BE(value, at + 2);
}

/** A frame's payload without its padding (PADDED flag: a length byte, then that much padding at the end). */
function unpad(flags: number, payload: Buffer): Buffer {
  if ((flags & FLAG_PADDED) === 0) return payload;
  if (payload.length < 1) throw new H2ProtocolError(H2_FRAME_SIZE_ERROR, 'a padded frame with no pad length');
  const pad = payload[0]!;
  if (pad >= payload.length) throw new H2ProtocolError(H2_PROTOCOL_ERROR, 'padding longer than the frame');
  return payload.subarray(1, payload.length - pad);
}
