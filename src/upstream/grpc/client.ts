/**
 * The gRPC transport of one endpoint: N grpc-js channels to the same `host:port` (each its own
 * HTTP/2 connection), carrying already-encoded protobuf bytes. It is what the upstream client
 * balances over (EndpointTransport): health follows the channels' connectivity, pending counts the
 * calls in flight. Which endpoint to call, and whether to call again, is decided above it by the
 * same balancer, stickiness, outlier detection and retry policy as Dubbo's; grpc-js's own load
 * balancing is not used (one address per channel).
 */
import { connect as tlsConnect } from 'node:tls';
import * as grpc from '@grpc/grpc-js';
import type { UpstreamTls } from '../../config/types.js';
import { FerryError } from '../../errors/index.js';
import { TransportError, upstreamTlsError } from '../../errors/transport.js';
import type { EndpointHealth, EndpointTransport } from '../balance/types.js';
import { grpcErrorToFerry } from './status.js';
import type { StatusDetailsDecoder } from './status.js';

/** Largest reply message accepted from an upstream (bytes). */
export const DEFAULT_MAX_RECEIVE_BYTES = 16 * 1024 * 1024;

export interface GrpcEndpointOptions {
  /** `host:port` (IPv6 in brackets). */
  readonly endpoint: string;
  readonly weight?: number;
  /** Channels (HTTP/2 connections) to this endpoint, at least 1. */
  readonly channels?: number;
  /** Extra grpc-js channel options. */
  readonly channelOptions?: grpc.ChannelOptions;
  readonly credentials?: grpc.ChannelCredentials;
  /** TLS to the endpoint (CA, client certificate, server name); plaintext when absent. */
  readonly tls?: UpstreamTls;
}

/** Longest wait for the handshake that finds out why a TLS channel failed, ms. */
const TLS_PROBE_TIMEOUT_MS = 5_000;

/** grpc-js credentials and channel options for an UpstreamTls (the server name overrides SNI and the name checked). */
function grpcTls(tls: UpstreamTls): { credentials: grpc.ChannelCredentials; channelOptions: grpc.ChannelOptions } {
  const { ca, cert, key } = tls.context;
  return {
    credentials: grpc.credentials.createSsl(ca ?? null, key ?? null, cert ?? null),
    channelOptions: tls.servername !== undefined ? { 'grpc.ssl_target_name_override': tls.servername, 'grpc.default_authority': tls.servername } : {},
  };
}

/**
 * One TLS handshake with `endpoint` as the channel makes it, to name why the channel failed (grpc-js
 * keeps the reason to itself): a FERRY_UPSTREAM_TLS error, or undefined when TLS is not the problem.
 */
function probeTls(endpoint: string, tls: UpstreamTls): Promise<TransportError | undefined> {
  const colon = endpoint.lastIndexOf(':');
  const host = endpoint.slice(0, colon).replace(/^\[|\]$/g, '');
  const port = Number(endpoint.slice(colon + 1));
  return new Promise((resolve) => {
    const socket = tlsConnect({
      host,
      port,
      ...tls.context,
      ...(tls.servername !== undefined ? { servername: tls.servername } : {}),
      ALPNProtocols: ['h2'],
    });
    const done = (err: TransportError | undefined): void => {
      clearTimeout(timer);
      socket.destroy();
      resolve(err);
    };
    const timer = setTimeout(() => done(undefined), TLS_PROBE_TIMEOUT_MS);
    socket.once('secureConnect', () => {
      // TLS 1.3: a refused client certificate arrives after the handshake, as an alert or (gRPC
      // core) a close before the server's first HTTP/2 frame, which a server that took it sends at once.
      socket.once('data', () => done(undefined));
      socket.once('end', () => done(upstreamTlsError({ code: 'CLIENT_CERT_REFUSED' }, endpoint)));
    });
    socket.once('error', (err) => done(upstreamTlsError(err, endpoint)));
  });
}

export interface GrpcCallOptions {
  readonly metadata: grpc.Metadata;
  /** Absolute deadline (epoch milliseconds, as grpc-js takes it). */
  readonly deadline: number;
  /** Decodes google.rpc.Status details of error replies (the proto is the caller's). */
  readonly decodeDetails?: StatusDetailsDecoder;
  /** Aborted when the client went away: the call is cancelled and fails with FERRY_CLIENT_CLOSED. */
  readonly signal?: AbortSignal;
}

export interface GrpcUnaryResult {
  readonly message: Buffer;
  readonly headers: grpc.Metadata;
  readonly trailers: grpc.Metadata;
  readonly endpoint: string;
}

export interface GrpcStreamResult {
  /** Response header metadata (resolves once the server sent it, or rejects with the call's error). */
  readonly headers: Promise<grpc.Metadata>;
  /** Messages as raw bytes; iteration throws a FerryError when the call fails. */
  readonly messages: AsyncIterable<Buffer>;
  readonly endpoint: string;
  /** Cancels the call (e.g. when the HTTP client went away). */
  cancel(): void;
}

const identity = (b: Buffer): Buffer => b;
const toBuffer = (b: Uint8Array): Buffer => (Buffer.isBuffer(b) ? b : Buffer.from(b.buffer, b.byteOffset, b.byteLength));
const { IDLE, CONNECTING, READY, TRANSIENT_FAILURE, SHUTDOWN } = grpc.connectivityState;

/** The channels to one gRPC endpoint. Idle until warm() or the first call. */
export class GrpcEndpoint implements EndpointTransport {
  readonly id: string;
  readonly weight: number;
  private readonly clients: grpc.Client[];
  private inFlight = 0;
  private healthValue: EndpointHealth = 'idle';
  private warmed = false;
  /** A channel failed since the endpoint was last up: a channel still connecting counts as down. */
  private failedSinceUp = false;
  private lastFailure: Error | undefined;
  private readonly waiters = new Set<() => void>();
  private readonly tls: UpstreamTls | undefined;
  /** A TLS probe is under way: the endpoint counts as connecting until it has named the failure. */
  private probing = false;

  constructor(options: GrpcEndpointOptions) {
    this.id = options.endpoint;
    this.weight = options.weight ?? 100;
    const n = options.channels ?? 1;
    if (!Number.isInteger(n) || n < 1) throw new RangeError(`channels must be a positive integer, got ${n}`);
    this.tls = options.tls;
    const secure = options.tls !== undefined ? grpcTls(options.tls) : undefined;
    const channelOptions: grpc.ChannelOptions = {
      // A local subchannel pool per channel: each channel gets its own HTTP/2 connection.
      'grpc.use_local_subchannel_pool': 1,
      'grpc.max_receive_message_length': DEFAULT_MAX_RECEIVE_BYTES,
      ...secure?.channelOptions,
      ...options.channelOptions,
    };
    const credentials = options.credentials ?? secure?.credentials ?? grpc.credentials.createInsecure();
    this.clients = Array.from({ length: n }, () => new grpc.Client(options.endpoint, credentials, channelOptions));
  }

  get health(): EndpointHealth {
    return this.healthValue;
  }

  get connectionCount(): number {
    if (this.healthValue === 'closed') return 0;
    let open = 0;
    for (const c of this.clients) {
      const s = c.getChannel().getConnectivityState(false);
      if (s === READY || s === CONNECTING) open++;
    }
    return open;
  }

  get failure(): Error | undefined {
    return this.lastFailure;
  }

  pending(): number {
    return this.inFlight;
  }

  available(): boolean {
    return this.healthValue === 'up';
  }

  warm(): void {
    if (this.warmed || this.healthValue === 'closed') return;
    this.warmed = true;
    for (const c of this.clients) this.follow(c.getChannel(), c.getChannel().getConnectivityState(true));
    this.recompute();
  }

  settled(): Promise<void> {
    if (this.healthValue !== 'idle' && this.healthValue !== 'connecting') return Promise.resolve();
    return new Promise((resolve) => this.waiters.add(resolve));
  }

  /** One unary call, on the next ready channel (each channel multiplexes many calls). */
  unary(path: string, request: Uint8Array, opts: GrpcCallOptions): Promise<GrpcUnaryResult> {
    const client = this.nextClient();
    const endpoint = this.id;
    this.inFlight++;
    return new Promise<GrpcUnaryResult>((resolve, reject) => {
      let headers: grpc.Metadata | undefined;
      let value: Buffer | undefined;
      let failure: unknown;
      const call = client.makeUnaryRequest<Buffer, Buffer>(
        path,
        identity,
        identity,
        toBuffer(request),
        opts.metadata,
        { deadline: opts.deadline },
        (err, res) => {
          if (err) failure = err;
          else value = res;
        },
      );
      call.on('metadata', (md: grpc.Metadata) => {
        headers = md;
      });
      const signal = opts.signal;
      const onAbort = (): void => call.cancel();
      signal?.addEventListener('abort', onAbort, { once: true });
      call.on('status', (status: grpc.StatusObject) => {
        this.inFlight--;
        signal?.removeEventListener('abort', onAbort);
        if (signal?.aborted) {
          reject(new TransportError('FERRY_CLIENT_CLOSED', `the client went away; the call to ${endpoint} was cancelled`, true, { endpoint }));
        } else if (failure !== undefined || value === undefined) {
          reject(grpcErrorToFerry(failure ?? status, endpoint, opts.decodeDetails, headers !== undefined));
        } else {
          resolve({ message: value, headers: headers ?? new grpc.Metadata(), trailers: status.metadata, endpoint });
        }
      });
    });
  }

  serverStream(path: string, request: Uint8Array, opts: GrpcCallOptions): GrpcStreamResult {
    const client = this.nextClient();
    const endpoint = this.id;
    this.inFlight++;
    let answered = false;
    const call = client.makeServerStreamRequest<Buffer, Buffer>(path, identity, identity, toBuffer(request), opts.metadata, {
      deadline: opts.deadline,
    });
    const signal = opts.signal;
    const onAbort = (): void => call.cancel();
    signal?.addEventListener('abort', onAbort, { once: true });
    call.once('status', () => {
      this.inFlight--;
      signal?.removeEventListener('abort', onAbort);
    });
    const headers = new Promise<grpc.Metadata>((resolve, reject) => {
      call.once('metadata', (md) => {
        answered = true;
        resolve(md);
      });
      call.once('error', (err) => reject(grpcErrorToFerry(err, endpoint, opts.decodeDetails, answered)));
      call.once('end', () => resolve(new grpc.Metadata()));
    });
    headers.catch(() => undefined);
    async function* messages(): AsyncGenerator<Buffer> {
      try {
        for await (const chunk of call) yield chunk as Buffer;
      } catch (err) {
        throw grpcErrorToFerry(err, endpoint, opts.decodeDetails, answered);
      }
    }
    return { headers, messages: messages(), endpoint, cancel: () => call.cancel() };
  }

  async close(drainMs = 0): Promise<void> {
    if (this.healthValue === 'closed') return;
    this.setHealth('closed');
    // Out of balancing now; calls in flight get up to drainMs to finish before the channels close.
    const until = Date.now() + drainMs;
    while (this.inFlight > 0 && Date.now() < until) await new Promise((r) => setTimeout(r, 20).unref());
    for (const c of this.clients) c.close();
  }

  destroy(err?: Error): void {
    if (err !== undefined) this.lastFailure = err;
    this.setHealth('closed');
    for (const c of this.clients) c.close();
  }

  // ---- internals ------------------------------------------------------------------------------

  private next = 0;

  private nextClient(): grpc.Client {
    if (this.clients.length === 1) return this.clients[0]!;
    // The ready channel after the last one used (calls spread over the connections).
    for (let i = 0; i < this.clients.length; i++) {
      const c = this.clients[(this.next + i) % this.clients.length]!;
      if (c.getChannel().getConnectivityState(false) === READY) {
        this.next = (this.next + i + 1) % this.clients.length;
        return c;
      }
    }
    const c = this.clients[this.next]!;
    this.next = (this.next + 1) % this.clients.length;
    return c;
  }

  /** Re-reads health whenever a channel changes state; keeps idle channels connected (like Dubbo's heartbeats). */
  private follow(channel: ReturnType<grpc.Client['getChannel']>, state: grpc.connectivityState): void {
    if (state === SHUTDOWN) return;
    channel.watchConnectivityState(state, Infinity, () => {
      if (this.healthValue === 'closed') return;
      let now = channel.getConnectivityState(false);
      if (now === TRANSIENT_FAILURE) {
        if (this.tls !== undefined && !this.failedSinceUp && !this.probing) this.probe(this.tls);
        else if (!this.probing) this.failedSinceUp = true;
        if (!(this.lastFailure instanceof FerryError && this.lastFailure.code === 'FERRY_UPSTREAM_TLS')) {
          this.lastFailure = new FerryError('FERRY_UPSTREAM_UNAVAILABLE', `gRPC endpoint ${this.id} cannot be reached`);
        }
      }
      // An idle channel (grpc-js idles after its idle timeout) is asked to reconnect, so the endpoint stays available.
      if (now === IDLE) now = channel.getConnectivityState(true);
      this.recompute();
      this.follow(channel, now);
    });
  }

  /** Finds out whether TLS is why the channel failed; until then the endpoint is still connecting. */
  private probe(tls: UpstreamTls): void {
    this.probing = true;
    void probeTls(this.id, tls).then((tlsFailure) => {
      this.probing = false;
      this.failedSinceUp = true;
      if (tlsFailure !== undefined) this.lastFailure = tlsFailure;
      this.recompute();
    });
  }

  private recompute(): void {
    if (this.healthValue === 'closed') return;
    let ready = false;
    let connecting = false;
    for (const c of this.clients) {
      const s = c.getChannel().getConnectivityState(false);
      if (s === READY) ready = true;
      else if (s === CONNECTING || s === IDLE) connecting = true;
    }
    let next: EndpointHealth;
    if (ready) next = 'up';
    else if (!this.warmed) next = 'idle';
    else if ((connecting && !this.failedSinceUp) || this.probing) next = 'connecting';
    else next = 'down';
    if (next === 'up') {
      this.failedSinceUp = false;
      if (this.lastFailure instanceof FerryError && this.lastFailure.code === 'FERRY_UPSTREAM_TLS') this.lastFailure = undefined;
    }
    this.setHealth(next);
  }

  private setHealth(to: EndpointHealth): void {
    if (this.healthValue === to) return;
    this.healthValue = to;
    if (to !== 'idle' && to !== 'connecting') {
      const ws = [...this.waiters];
      this.waiters.clear();
      for (const w of ws) w();
    }
  }
}
