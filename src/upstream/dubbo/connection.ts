/**
 * One TCP connection to a Dubbo provider: a named state machine, many calls multiplexed by
 * request id, writes coalesced per job, heartbeats when idle, and the provider's read-only event.
 * Every failure is a DubboTransportError (a FerryError) that says whether the request was sent.
 */
import { EventEmitter } from 'node:events';
import { connect, type Socket } from 'node:net';
import { connect as tlsConnect, TLSSocket } from 'node:tls';
import type { UpstreamTls } from '../../config/types.js';
import { FerryError } from '../../errors/index.js';
import { upstreamTlsError } from '../../errors/transport.js';
import type { ErrorCode } from '../../errors/index.js';
import { DubboTransportError } from './errors.js';
import { DEFAULT_MAX_FRAME_BYTES, FrameDecoder, HEADER_BYTES, HEARTBEAT_BODY, flagByte, writeHeader, type Frame } from './frame.js';

/** Life of a connection. Changed only by `transition()`. */
export type ConnectionState = 'connecting' | 'ready' | 'readonly' | 'closing' | 'closed';

const TRANSITIONS: Readonly<Record<ConnectionState, readonly ConnectionState[]>> = {
  connecting: ['ready', 'closing', 'closed'],
  ready: ['readonly', 'closing', 'closed'],
  readonly: ['ready', 'closing', 'closed'],
  closing: ['closed'],
  closed: [],
};

/** A provider's answer. `status` 20 is OK; other statuses are returned, not thrown (the mapping layer decodes them). */
export interface DubboReply {
  readonly status: number;
  readonly body: Buffer;
}

/** Default interval of heartbeats on an idle connection (Dubbo's `heartbeat` default). */
export const DEFAULT_HEARTBEAT_MS = 60_000;
/** The connection is closed after this many heartbeat intervals with nothing read. */
export const IDLE_TIMEOUT_HEARTBEATS = 3;
/** Default time allowed for the TCP connect. */
export const DEFAULT_CONNECT_TIMEOUT_MS = 3_000;
/** Default time `close()` waits for calls in flight. */
export const DEFAULT_DRAIN_MS = 5_000;
/**
 * Default cap on request bytes waiting to be written (Ferry's queue plus Node's socket buffer,
 * after the kernel's own buffers are full). Past it the provider is not reading: new calls fail at
 * once, unsent, instead of piling up in memory until their timeouts.
 */
export const DEFAULT_MAX_BUFFERED_BYTES = 16 * 1024 * 1024;

export interface DubboConnectionOptions {
  readonly host: string;
  readonly port: number;
  /** Idle time before a heartbeat is sent (default 60 s); 3× this with nothing read closes the connection. */
  readonly heartbeatMs?: number;
  /** Largest reply body accepted (default 8 MiB). */
  readonly maxFrameBytes?: number;
  readonly connectTimeoutMs?: number;
  /** First request id (default random in ±2^52, like Java's random start). Ids may be negative. */
  readonly firstId?: bigint;
  /** Request bytes allowed to wait for the socket before new calls are refused (default 16 MiB). */
  readonly maxBufferedBytes?: number;
  /** Speak the dubbo protocol over TLS (as a Dubbo 3 provider with an SslConfig serves it); plaintext when absent. */
  readonly tls?: UpstreamTls;
}

/** Events of a DubboConnection. */
export interface DubboConnectionEvents {
  /** Every state change, with the reason (an error for `closed` after a failure). */
  state: [to: ConnectionState, from: ConnectionState, reason: FerryError | undefined];
  /** A heartbeat request went out. */
  heartbeat: [];
  /** The provider sent a heartbeat request and it was answered. */
  'peer-heartbeat': [id: bigint];
  /** The first valid frame arrived: the peer really speaks Dubbo. */
  proven: [];
}

interface PendingCall {
  readonly id: bigint;
  readonly resolve: (reply: DubboReply) => void;
  readonly reject: (err: Error) => void;
  timer: NodeJS.Timeout | undefined;
  sent: boolean;
}

interface QueuedFrame {
  readonly flags: number;
  readonly status: number;
  readonly id: bigint;
  readonly body: Buffer;
  /** The call this frame carries (undefined for events). */
  readonly call: PendingCall | undefined;
}

const REQUEST_FLAGS = flagByte(true, true, false);
const HEARTBEAT_REQUEST_FLAGS = flagByte(true, true, true);
const HEARTBEAT_RESPONSE_FLAGS = flagByte(false, false, true);
const STATUS_OK = 20;

/** The client went away: the call is dropped (FERRY_CLIENT_CLOSED), whether or not it was written. */
function clientClosed(endpoint: string, sent: boolean): DubboTransportError {
  return new DubboTransportError('FERRY_CLIENT_CLOSED', `the client went away; the call to ${endpoint} was cancelled`, sent, { endpoint });
}

function randomFirstId(): bigint {
  // Random start like Java's AtomicLong, kept within ±2^52 so it never wraps in practice.
  return BigInt(Math.floor((Math.random() * 2 - 1) * 2 ** 52));
}

function isEventString(body: Buffer, letter: number): boolean {
  // hessian string of length 1: 0x01 <char>
  return body.length === 2 && body[0] === 0x01 && body[1] === letter;
}

/**
 * A single multiplexed connection to one provider (the undici `Client` of this transport; the pool
 * is its `Pool`). Construct with `createDubboConnection`, which starts connecting at once.
 */
export class DubboConnection extends EventEmitter<DubboConnectionEvents> {
  /** `host:port` */
  readonly endpoint: string;
  readonly heartbeatMs: number;
  private stateValue: ConnectionState = 'connecting';
  private readonly socket: Socket;
  private readonly decoder: FrameDecoder;
  private readonly pendingCalls = new Map<bigint, PendingCall>();
  private queue: QueuedFrame[] = [];
  private queuedBytes = 0;
  private readonly maxBufferedBytes: number;
  private flushScheduled = false;
  private nextId: bigint;
  private lastRead = Date.now();
  private lastWrite = Date.now();
  private heartbeatTimer: NodeJS.Timeout | undefined;
  private connectTimer: NodeJS.Timeout | undefined;
  private drainTimer: NodeJS.Timeout | undefined;
  private socketError: Error | undefined;
  private closeReason: FerryError | undefined;
  private provenOnce = false;
  /** A byte came from the peer (after the TLS handshake, for a TLS connection). */
  private readAny = false;
  private lateReplyCount = 0;
  /** When a frame last completed (performance.now()), to tell a stream stalled mid-frame. */
  private lastFrameAt = 0;
  private readonly closedPromise: Promise<void>;
  private resolveClosed!: () => void;

  constructor(options: DubboConnectionOptions) {
    super();
    this.endpoint = `${options.host}:${options.port}`;
    this.heartbeatMs = options.heartbeatMs ?? DEFAULT_HEARTBEAT_MS;
    if (!(this.heartbeatMs > 0)) throw new RangeError(`heartbeatMs must be positive, got ${this.heartbeatMs}`);
    this.decoder = new FrameDecoder({ maxFrameBytes: options.maxFrameBytes ?? DEFAULT_MAX_FRAME_BYTES });
    this.maxBufferedBytes = options.maxBufferedBytes ?? DEFAULT_MAX_BUFFERED_BYTES;
    this.nextId = options.firstId ?? randomFirstId();
    this.closedPromise = new Promise((resolve) => (this.resolveClosed = resolve));

    const tls = options.tls;
    const socket: Socket =
      tls === undefined
        ? connect({ host: options.host, port: options.port, noDelay: true, keepAlive: true })
        : tlsConnect({
            host: options.host,
            port: options.port,
            ...tls.context,
            ...(tls.servername !== undefined ? { servername: tls.servername } : {}),
          })
            .setNoDelay(true)
            .setKeepAlive(true);
    this.socket = socket;
    const connectTimeoutMs = options.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS;
    this.connectTimer = setTimeout(() => {
      this.destroyWith(this.unavailable(`connecting to ${this.endpoint} took longer than ${connectTimeoutMs} ms`));
    }, connectTimeoutMs);
    // Over TLS the connection is usable once the handshake (and the certificate check) is done.
    socket.once(tls === undefined ? 'connect' : 'secureConnect', () => this.onConnect());
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('error', (err) => {
      this.socketError = err;
    });
    socket.once('end', () => this.onSocketGone());
    socket.once('close', () => this.onSocketGone());
  }

  /** Current state. */
  get state(): ConnectionState {
    return this.stateValue;
  }

  /** Calls sent (or queued) and not yet answered. */
  get pending(): number {
    return this.pendingCalls.size;
  }

  /** Request bytes not yet taken by the kernel: queued here plus in Node's socket buffer. */
  get bufferedBytes(): number {
    return this.queuedBytes + this.socket.writableLength;
  }

  /** Why the connection closed, when it closed because of a failure. */
  get failure(): FerryError | undefined {
    return this.closeReason;
  }

  /** Replies that arrived for calls already timed out (dropped). */
  get lateReplies(): number {
    return this.lateReplyCount;
  }

  /** True once a valid frame arrived from the peer (a reply or a heartbeat answer). */
  get proven(): boolean {
    return this.provenOnce;
  }

  /**
   * Sends a heartbeat now, to prove the peer speaks Dubbo (the pool does this after a reconnect
   * that followed a failure). The answer fires `proven` if it had not fired yet.
   */
  probe(): void {
    if (this.stateValue !== 'ready' && this.stateValue !== 'readonly') return;
    this.sendHeartbeat();
  }

  /** Resolves when the socket is closed (after close() or destroy() or a failure). Never rejects. */
  closed(): Promise<void> {
    return this.closedPromise;
  }

  /** Resolves once ready; rejects with the error that closed the connection before it got there. */
  waitReady(): Promise<void> {
    if (this.stateValue === 'ready' || this.stateValue === 'readonly') return Promise.resolve();
    if (this.stateValue !== 'connecting')
      return Promise.reject(this.closeReason ?? this.unavailable(`connection to ${this.endpoint} is ${this.stateValue}`));
    return new Promise((resolve, reject) => {
      const onState = (to: ConnectionState, _from: ConnectionState, reason: FerryError | undefined): void => {
        if (to === 'ready') {
          this.off('state', onState);
          resolve();
        } else if (to === 'closing' || to === 'closed') {
          this.off('state', onState);
          reject(reason ?? this.unavailable(`connection to ${this.endpoint} closed before it was ready`));
        }
      };
      this.on('state', onState);
    });
  }

  /**
   * Sends one two-way request whose body is an already serialized hessian2 invocation and resolves
   * with the provider's status and body. Allowed while `connecting` (the frame waits for the
   * socket) and `ready`; rejects at once when read-only, closing or closed, and with
   * FERRY_UPSTREAM_OVERLOADED (unsent) when more than `maxBufferedBytes` wait to be written.
   */
  /**
   * Sends one request. `signal` cancels it: the call leaves the pending table at once (its id is
   * forgotten; a late reply is dropped like a reply to a timed-out call) and rejects with
   * FERRY_CLIENT_CLOSED.
   */
  call(body: Buffer, timeoutMs: number, signal?: AbortSignal): Promise<DubboReply> {
    if (signal?.aborted) return Promise.reject(clientClosed(this.endpoint, false));
    const state = this.stateValue;
    if (state !== 'ready' && state !== 'connecting') {
      return Promise.reject(
        new DubboTransportError('FERRY_UPSTREAM_UNAVAILABLE', `connection to ${this.endpoint} is ${state}`, false, {
          endpoint: this.endpoint,
        }),
      );
    }
    const buffered = this.bufferedBytes;
    if (buffered > 0 && buffered + HEADER_BYTES + body.length > this.maxBufferedBytes) {
      return Promise.reject(
        new DubboTransportError(
          'FERRY_UPSTREAM_OVERLOADED',
          `${buffered} request bytes are still waiting to be written to ${this.endpoint} (limit ${this.maxBufferedBytes}): the provider is not reading`,
          false,
          { endpoint: this.endpoint },
        ),
      );
    }
    const id = this.nextId++;
    return new Promise<DubboReply>((resolve, reject) => {
      if (signal === undefined) {
        const call: PendingCall = { id, resolve, reject, timer: undefined, sent: false };
        call.timer = setTimeout(() => this.onCallTimeout(call, timeoutMs), timeoutMs);
        this.pendingCalls.set(id, call);
        this.enqueue({ flags: REQUEST_FLAGS, status: 0, id, body, call });
        return;
      }
      const onAbort = (): void => this.onCallAborted(call);
      const call: PendingCall = {
        id,
        resolve: (reply) => {
          signal.removeEventListener('abort', onAbort);
          resolve(reply);
        },
        reject: (err) => {
          signal.removeEventListener('abort', onAbort);
          reject(err);
        },
        timer: undefined,
        sent: false,
      };
      signal.addEventListener('abort', onAbort, { once: true });
      call.timer = setTimeout(() => this.onCallTimeout(call, timeoutMs), timeoutMs);
      this.pendingCalls.set(id, call);
      this.enqueue({ flags: REQUEST_FLAGS, status: 0, id, body, call });
    });
  }

  /**
   * Stops taking calls, waits up to `drainMs` for calls in flight, then closes the socket. Calls
   * still unanswered at the deadline fail with FERRY_UPSTREAM_CONNECTION_LOST.
   */
  close(drainMs = DEFAULT_DRAIN_MS): Promise<void> {
    const state = this.stateValue;
    if (state === 'closed' || state === 'closing') return this.closedPromise;
    if (state === 'connecting') {
      this.destroyWith(this.unavailable(`connection to ${this.endpoint} was closed while connecting`));
      return this.closedPromise;
    }
    this.transition('closing');
    this.drainTimer = setTimeout(() => {
      this.destroyWith(
        new FerryError('FERRY_UPSTREAM_CONNECTION_LOST', `connection to ${this.endpoint} closed after a ${drainMs} ms drain with calls unanswered`, {
          endpoint: this.endpoint,
        }),
      );
    }, drainMs);
    this.maybeFinishDrain();
    return this.closedPromise;
  }

  /** Fails every pending call at once (with `err`, or CONNECTION_LOST) and drops the socket. */
  destroy(err?: FerryError): void {
    this.destroyWith(
      err ?? new FerryError('FERRY_UPSTREAM_CONNECTION_LOST', `connection to ${this.endpoint} was destroyed`, { endpoint: this.endpoint }),
    );
  }

  // ---- state machine -------------------------------------------------------------------------

  private transition(to: ConnectionState, reason?: FerryError): void {
    const from = this.stateValue;
    if (from === to) return;
    if (!TRANSITIONS[from].includes(to)) throw new Error(`DubboConnection ${this.endpoint}: illegal transition ${from} → ${to}`);
    this.stateValue = to;
    this.emit('state', to, from, reason);
  }

  private onConnect(): void {
    clearTimeout(this.connectTimer);
    this.connectTimer = undefined;
    if (this.stateValue !== 'connecting') return;
    this.lastRead = this.lastWrite = Date.now();
    const tick = Math.max(5, Math.floor(this.heartbeatMs / 3));
    this.heartbeatTimer = setInterval(() => this.onHeartbeatTick(), tick);
    this.heartbeatTimer.unref();
    this.transition('ready');
    if (this.queue.length > 0) this.flush();
  }

  private onSocketGone(): void {
    if (this.stateValue === 'closed') return;
    if (this.stateValue === 'connecting') {
      const code = (this.socketError as NodeJS.ErrnoException | undefined)?.code;
      const tlsFailure = this.socket instanceof TLSSocket ? upstreamTlsError(this.socketError, this.endpoint) : undefined;
      this.destroyWith(tlsFailure ?? this.unavailable(`cannot connect to ${this.endpoint}${code ? ` (${code})` : ''}`, this.socketError));
      return;
    }
    if (this.stateValue === 'closing' && this.pendingCalls.size === 0) {
      this.destroyWith(undefined);
      return;
    }
    const code = (this.socketError as NodeJS.ErrnoException | undefined)?.code;
    // TLS 1.3: a provider that refuses Ferry's client certificate says so after the handshake, before any reply.
    // With no alert and no byte of Dubbo read, a close right after the handshake is that refusal too.
    const tlsFailure =
      this.socket instanceof TLSSocket && !this.provenOnce
        ? (upstreamTlsError(this.socketError, this.endpoint) ??
          (this.readAny ? undefined : upstreamTlsError({ code: 'CLIENT_CERT_REFUSED' }, this.endpoint)))
        : undefined;
    if (tlsFailure !== undefined) {
      this.destroyWith(tlsFailure);
      return;
    }
    this.destroyWith(
      new FerryError('FERRY_UPSTREAM_CONNECTION_LOST', `connection to ${this.endpoint} closed by the peer${code ? ` (${code})` : ''}`, {
        endpoint: this.endpoint,
        cause: this.socketError,
      }),
    );
  }

  /**
   * The one way to `closed`: fails pending calls (unsent ones as UNAVAILABLE, sent ones with the
   * given reason), stops timers, destroys the socket.
   */
  private destroyWith(reason: FerryError | undefined): void {
    if (this.stateValue === 'closed') return;
    this.closeReason = reason;
    clearTimeout(this.connectTimer);
    clearTimeout(this.drainTimer);
    clearInterval(this.heartbeatTimer);
    this.queue = [];
    this.queuedBytes = 0;
    const calls = [...this.pendingCalls.values()];
    this.pendingCalls.clear();
    this.transition('closed', reason);
    this.socket.destroy();
    for (const call of calls) {
      clearTimeout(call.timer);
      call.reject(this.callError(call.sent, reason));
    }
    this.resolveClosed();
  }

  private callError(sent: boolean, reason: FerryError | undefined): DubboTransportError {
    // A provider that refused the TLS session never read the call, written or not.
    if (reason?.code === 'FERRY_UPSTREAM_TLS')
      return new DubboTransportError('FERRY_UPSTREAM_TLS', reason.message, false, { endpoint: this.endpoint, cause: reason });
    if (!sent) {
      return new DubboTransportError(
        'FERRY_UPSTREAM_UNAVAILABLE',
        reason?.message ?? `connection to ${this.endpoint} closed before the call was sent`,
        false,
        {
          endpoint: this.endpoint,
          cause: reason,
        },
      );
    }
    const code: ErrorCode = reason?.code === 'FERRY_UPSTREAM_PROTOCOL_ERROR' ? 'FERRY_UPSTREAM_PROTOCOL_ERROR' : 'FERRY_UPSTREAM_CONNECTION_LOST';
    const message = reason?.message ?? `connection to ${this.endpoint} closed during the call`;
    return new DubboTransportError(code, message, true, { endpoint: this.endpoint, cause: reason });
  }

  private unavailable(message: string, cause?: unknown): FerryError {
    return new FerryError('FERRY_UPSTREAM_UNAVAILABLE', message, { endpoint: this.endpoint, cause });
  }

  // ---- reading --------------------------------------------------------------------------------

  private onData(chunk: Buffer): void {
    this.lastRead = Date.now();
    this.readAny = true;
    let frames: Frame[];
    try {
      frames = this.decoder.push(chunk);
    } catch (err) {
      const reason =
        err instanceof FerryError
          ? new FerryError(err.code, `${this.endpoint}: ${err.message}`, { endpoint: this.endpoint, cause: err })
          : new FerryError('FERRY_UPSTREAM_PROTOCOL_ERROR', `${this.endpoint}: undecodable data`, { endpoint: this.endpoint, cause: err });
      this.destroyWith(reason);
      return;
    }
    if (frames.length > 0) this.lastFrameAt = performance.now();
    for (const frame of frames) {
      if (this.stateValue === 'closed') return;
      this.onFrame(frame);
    }
    if (frames.length > 0 && !this.provenOnce) {
      this.provenOnce = true;
      this.emit('proven');
    }
    if (this.stateValue === 'closing') this.maybeFinishDrain();
  }

  private onFrame(frame: Frame): void {
    if (frame.isEvent) {
      if (!frame.isRequest) return; // heartbeat answer: reading it already refreshed lastRead
      if (frame.body.length === 1 && frame.body[0] === HEARTBEAT_BODY[0]) {
        if (frame.twoWay) {
          this.enqueue({ flags: HEARTBEAT_RESPONSE_FLAGS, status: STATUS_OK, id: frame.id, body: HEARTBEAT_BODY, call: undefined });
          this.emit('peer-heartbeat', frame.id);
        }
      } else if (isEventString(frame.body, 0x52 /* R */)) {
        if (this.stateValue === 'ready') this.transition('readonly');
      } else if (isEventString(frame.body, 0x57 /* W */)) {
        if (this.stateValue === 'readonly') this.transition('ready');
      }
      // Other events are ignored, as Java's HeaderExchangeHandler does.
      return;
    }
    if (frame.isRequest) return; // provider→consumer calls (Dubbo callbacks) are not supported; dropped
    const call = this.pendingCalls.get(frame.id);
    if (call === undefined) {
      this.lateReplyCount++; // late reply for a call that timed out: dropped quietly
      return;
    }
    this.pendingCalls.delete(frame.id);
    clearTimeout(call.timer);
    call.resolve({ status: frame.status, body: frame.body });
  }

  private onCallAborted(call: PendingCall): void {
    if (this.pendingCalls.get(call.id) !== call) return;
    this.pendingCalls.delete(call.id);
    clearTimeout(call.timer);
    call.reject(clientClosed(this.endpoint, call.sent));
    if (this.stateValue === 'closing') this.maybeFinishDrain();
  }

  private onCallTimeout(call: PendingCall, timeoutMs: number): void {
    if (this.pendingCalls.get(call.id) !== call) return;
    this.pendingCalls.delete(call.id);
    call.reject(
      new DubboTransportError('FERRY_UPSTREAM_TIMEOUT', `${this.endpoint} did not answer within ${timeoutMs} ms`, call.sent, {
        endpoint: this.endpoint,
      }),
    );
    // Part of a frame arrived and no frame completed during the whole call (a never-ending body, a
    // reply dripped byte by byte, a length that lies upwards): every later reply on this stream
    // would wait behind it, so the connection is closed and the pool opens a new one.
    const buffered = this.decoder.bufferedBytes;
    if (buffered > 0 && this.lastFrameAt < performance.now() - timeoutMs) {
      this.destroyWith(
        new FerryError(
          'FERRY_UPSTREAM_CONNECTION_LOST',
          `${this.endpoint} stalled mid-frame: ${buffered} bytes of a frame and none completed in ${timeoutMs} ms`,
          {
            endpoint: this.endpoint,
          },
        ),
      );
      return;
    }
    if (this.stateValue === 'closing') this.maybeFinishDrain();
  }

  private maybeFinishDrain(): void {
    if (this.stateValue !== 'closing' || this.pendingCalls.size > 0) return;
    this.flush();
    clearTimeout(this.drainTimer);
    clearInterval(this.heartbeatTimer);
    this.socket.end();
  }

  // ---- heartbeats -----------------------------------------------------------------------------

  private onHeartbeatTick(): void {
    if (this.stateValue !== 'ready' && this.stateValue !== 'readonly') return;
    const now = Date.now();
    if (now - this.lastRead >= IDLE_TIMEOUT_HEARTBEATS * this.heartbeatMs) {
      this.destroyWith(
        new FerryError(
          'FERRY_UPSTREAM_CONNECTION_LOST',
          `${this.endpoint} sent nothing for ${now - this.lastRead} ms (${IDLE_TIMEOUT_HEARTBEATS} heartbeat intervals)`,
          { endpoint: this.endpoint },
        ),
      );
      return;
    }
    // As Java's HeartbeatTimerTask: idle in either direction for a whole interval.
    if (now - this.lastRead >= this.heartbeatMs || now - this.lastWrite >= this.heartbeatMs) {
      this.sendHeartbeat();
    }
  }

  private sendHeartbeat(): void {
    const id = this.nextId++;
    this.enqueue({ flags: HEARTBEAT_REQUEST_FLAGS, status: 0, id, body: HEARTBEAT_BODY, call: undefined });
    this.emit('heartbeat');
  }

  // ---- writing --------------------------------------------------------------------------------

  private enqueue(frame: QueuedFrame): void {
    this.queue.push(frame);
    this.queuedBytes += HEADER_BYTES + frame.body.length;
    if (this.flushScheduled || this.stateValue === 'connecting') return;
    this.flushScheduled = true;
    // With calls already written and unanswered, the frames of this whole loop turn (every HTTP
    // request read in this poll phase) wait for one write after it: a reply is coming anyway, and
    // each loopback write costs the kernel's send path. With none (one call at a time), per
    // microtask, so that a lone call is never held back.
    if (this.pendingCalls.size > this.queue.length) setImmediate(this.flushTask);
    else queueMicrotask(this.flushTask);
  }

  private readonly flushTask = (): void => {
    this.flushScheduled = false;
    this.flush();
  };

  /** Writes every queued frame in one buffer and marks their calls as sent. */
  private flush(): void {
    const queue = this.queue;
    if (queue.length === 0) return;
    const state = this.stateValue;
    if (state === 'connecting' || state === 'closed') return;
    const out = Buffer.allocUnsafe(this.queuedBytes);
    let offset = 0;
    for (const f of queue) {
      // A call cancelled or timed out while it waited here is not sent at all.
      if (f.call !== undefined && this.pendingCalls.get(f.id) !== f.call) continue;
      writeHeader(out, offset, f.flags, f.status, f.id, f.body.length);
      f.body.copy(out, offset + HEADER_BYTES);
      offset += HEADER_BYTES + f.body.length;
    }
    this.queue = [];
    this.queuedBytes = 0;
    if (offset === 0) return;
    this.socket.write(offset === out.length ? out : out.subarray(0, offset));
    this.lastWrite = Date.now();
    for (const f of queue) if (f.call) f.call.sent = true;
  }
}

/** Opens a connection to `host:port` (it starts connecting at once; calls may be made right away). */
export function createDubboConnection(options: DubboConnectionOptions): DubboConnection {
  return new DubboConnection(options);
}
