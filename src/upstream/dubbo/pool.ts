/**
 * The connections to one Dubbo endpoint (`host:port`): up to N multiplexed connections, opened
 * lazily, each reconnected with backoff after a failure, least-pending pick among the ready ones.
 * The pool is what balancers see (it implements EndpointView), never the sockets.
 */
import type { UpstreamTls } from '../../config/types.js';
import { EventEmitter } from 'node:events';
import type { FerryError } from '../../errors/index.js';
import type { EndpointHealth, EndpointTransport } from '../balance/types.js';
import { Backoff, type BackoffOptions } from '../balance/backoff.js';
import { DEFAULT_DRAIN_MS, createDubboConnection, type ConnectionState, type DubboConnection, type DubboReply } from './connection.js';
import { DubboTransportError } from './errors.js';

/** Health of the endpoint as a whole (see EndpointHealth). */
export type PoolHealth = EndpointHealth;

/** Events of a DubboEndpointPool. */
export interface DubboEndpointPoolEvents {
  /** Every health change. */
  health: [to: PoolHealth, from: PoolHealth, reason: FerryError | undefined];
  up: [];
  down: [reason: FerryError | undefined];
  readonly: [];
}

export interface DubboEndpointPoolOptions {
  /** `host:port`. IPv6 hosts in brackets: `[::1]:20880`. */
  readonly endpoint: string;
  /** Relative weight for balancers (default 100, Dubbo's default). */
  readonly weight?: number;
  /** Most connections kept to this endpoint (default 1). */
  readonly connections?: number;
  readonly heartbeatMs?: number;
  readonly maxFrameBytes?: number;
  readonly connectTimeoutMs?: number;
  readonly backoff?: BackoffOptions;
  /** TLS to the endpoint; plaintext when absent. */
  readonly tls?: UpstreamTls;
}

interface Slot {
  conn: DubboConnection | undefined;
  readonly backoff: Backoff;
  reconnectTimer: NodeJS.Timeout | undefined;
}

/** Splits `host:port` (or `[v6]:port`). Throws RangeError on anything else. */
export function parseEndpoint(endpoint: string): { host: string; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:\s]+)):(\d{1,5})$/.exec(endpoint);
  const port = m ? Number(m[3]) : NaN;
  if (!m || port < 1 || port > 65535) throw new RangeError(`endpoint must be host:port, got "${endpoint}"`);
  return { host: (m[1] ?? m[2])!, port };
}

/**
 * All connections to one endpoint. Created idle; `warm()` opens the first connection, further
 * connections (up to `connections`) open when every open one already has calls in flight.
 */
export class DubboEndpointPool extends EventEmitter<DubboEndpointPoolEvents> implements EndpointTransport {
  readonly id: string;
  readonly weight: number;
  private readonly host: string;
  private readonly port: number;
  private readonly options: DubboEndpointPoolOptions;
  private readonly slots: Slot[];
  private opened = 0;
  private healthValue: PoolHealth = 'idle';
  /** A connection failed since the pool was last up: reconnects must prove themselves first. */
  private failedSinceUp = false;
  /** The provider sent the read-only event (cleared by "W" or a fresh connection). */
  private providerReadonly = false;
  private lastFailure: FerryError | undefined;

  constructor(options: DubboEndpointPoolOptions) {
    super();
    const { host, port } = parseEndpoint(options.endpoint);
    this.host = host;
    this.port = port;
    this.id = options.endpoint;
    this.weight = options.weight ?? 100;
    this.options = options;
    const n = options.connections ?? 1;
    if (!Number.isInteger(n) || n < 1) throw new RangeError(`connections must be a positive integer, got ${n}`);
    this.slots = Array.from({ length: n }, () => ({ conn: undefined, backoff: new Backoff(options.backoff), reconnectTimer: undefined }));
  }

  /** Current health (see PoolHealth). */
  get health(): PoolHealth {
    return this.healthValue;
  }

  /** Connections currently open or opening. */
  get connectionCount(): number {
    let n = 0;
    for (const s of this.slots) if (s.conn) n++;
    return n;
  }

  /** The last failure seen on this endpoint (for error messages). */
  get failure(): FerryError | undefined {
    return this.lastFailure;
  }

  pending(): number {
    let n = 0;
    for (const s of this.slots) if (s.conn) n += s.conn.pending;
    return n;
  }

  available(): boolean {
    return this.healthValue === 'up';
  }

  /** Opens the first connection if none is open (no-op otherwise). */
  warm(): void {
    if (this.healthValue === 'closed' || this.opened > 0) return;
    this.openSlot(0);
  }

  /** Resolves when the pool is no longer idle or connecting (up, down, readonly or closed). */
  settled(): Promise<void> {
    if (this.healthValue !== 'idle' && this.healthValue !== 'connecting') return Promise.resolve();
    return new Promise((resolve) => {
      const onHealth = (to: PoolHealth): void => {
        if (to !== 'idle' && to !== 'connecting') {
          this.off('health', onHealth);
          resolve();
        }
      };
      this.on('health', onHealth);
    });
  }

  /**
   * Sends a call on the ready connection with the fewest calls in flight. Rejects with
   * FERRY_UPSTREAM_UNAVAILABLE (not sent) when no connection is ready.
   */
  call(body: Buffer, timeoutMs: number, signal?: AbortSignal): Promise<DubboReply> {
    let best: DubboConnection | undefined;
    let bestPending = Infinity;
    for (const s of this.slots) {
      const c = s.conn;
      if (c !== undefined && c.state === 'ready' && (c.proven || !this.failedSinceUp) && c.pending < bestPending) {
        best = c;
        bestPending = c.pending;
      }
    }
    if (best === undefined || this.providerReadonly || this.healthValue === 'closed') {
      const why = this.providerReadonly ? 'is read-only (provider shutting down)' : `has no ready connection (${this.healthValue})`;
      return Promise.reject(
        new DubboTransportError('FERRY_UPSTREAM_UNAVAILABLE', `endpoint ${this.id} ${why}`, false, { endpoint: this.id, cause: this.lastFailure }),
      );
    }
    if (bestPending > 0 && this.opened < this.slots.length) this.openSlot(this.opened);
    return best.call(body, timeoutMs, signal);
  }

  /** Stops reconnecting and closes every connection after draining its calls (up to `drainMs`). */
  async close(drainMs = DEFAULT_DRAIN_MS): Promise<void> {
    if (this.healthValue === 'closed') {
      await Promise.all(this.slots.flatMap((s) => (s.conn ? [s.conn.closed()] : [])));
      return;
    }
    this.setHealth('closed', undefined);
    const waits: Promise<void>[] = [];
    for (const s of this.slots) {
      clearTimeout(s.reconnectTimer);
      s.reconnectTimer = undefined;
      if (s.conn) waits.push(s.conn.close(drainMs));
    }
    await Promise.all(waits);
  }

  /** Stops reconnecting and fails every call in flight at once. */
  destroy(err?: FerryError): void {
    if (this.healthValue !== 'closed') this.setHealth('closed', err);
    for (const s of this.slots) {
      clearTimeout(s.reconnectTimer);
      s.reconnectTimer = undefined;
      s.conn?.destroy(err);
    }
  }

  // ---- internals ------------------------------------------------------------------------------

  private openSlot(index: number): void {
    const slot = this.slots[index]!;
    if (slot.conn !== undefined || this.healthValue === 'closed') return;
    if (index >= this.opened) this.opened = index + 1;
    const o = this.options;
    const conn = createDubboConnection({
      host: this.host,
      port: this.port,
      ...(o.heartbeatMs !== undefined && { heartbeatMs: o.heartbeatMs }),
      ...(o.maxFrameBytes !== undefined && { maxFrameBytes: o.maxFrameBytes }),
      ...(o.connectTimeoutMs !== undefined && { connectTimeoutMs: o.connectTimeoutMs }),
      ...(o.tls !== undefined && { tls: o.tls }),
    });
    slot.conn = conn;
    conn.on('state', (to, _from, reason) => this.onConnectionState(slot, conn, to, reason));
    conn.on('proven', () => {
      slot.backoff.reset();
      this.recompute(undefined);
    });
    this.recompute(undefined);
  }

  private onConnectionState(slot: Slot, conn: DubboConnection, to: ConnectionState, reason: FerryError | undefined): void {
    if (slot.conn !== conn) return;
    switch (to) {
      case 'ready':
        // A new connection that reached ready after the provider went read-only is a new provider process.
        this.providerReadonly = false;
        if (this.failedSinceUp) conn.probe();
        break;
      case 'readonly':
        this.providerReadonly = true;
        break;
      case 'closed':
        slot.conn = undefined;
        if (reason !== undefined) {
          this.lastFailure = reason;
          this.failedSinceUp = true;
        }
        this.scheduleReconnect(slot);
        break;
      default:
        break;
    }
    this.recompute(reason);
  }

  private scheduleReconnect(slot: Slot): void {
    if (this.healthValue === 'closed' || slot.reconnectTimer !== undefined) return;
    const delay = slot.backoff.next();
    slot.reconnectTimer = setTimeout(() => {
      slot.reconnectTimer = undefined;
      const index = this.slots.indexOf(slot);
      if (index >= 0) this.openSlot(index);
    }, delay);
    slot.reconnectTimer.unref();
  }

  private recompute(reason: FerryError | undefined): void {
    if (this.healthValue === 'closed') return;
    let ready = false;
    let live = false;
    let connecting = false;
    for (const s of this.slots) {
      const c = s.conn;
      if (c === undefined) continue;
      if (c.state === 'ready' && (c.proven || !this.failedSinceUp)) ready = true;
      if (c.state === 'ready' || c.state === 'readonly') live = true;
      if (c.state === 'connecting' || c.state === 'ready') connecting = true;
    }
    let next: PoolHealth;
    if (this.providerReadonly && live) next = 'readonly';
    else if (ready && !this.providerReadonly) next = 'up';
    else if (this.opened === 0) next = 'idle';
    else if (connecting && !this.failedSinceUp) next = 'connecting';
    else next = 'down';
    if (next === 'up') this.failedSinceUp = false;
    this.setHealth(next, reason);
  }

  private setHealth(to: PoolHealth, reason: FerryError | undefined): void {
    const from = this.healthValue;
    if (from === to) return;
    this.healthValue = to;
    this.emit('health', to, from, reason);
    if (to === 'up') this.emit('up');
    else if (to === 'down') this.emit('down', reason ?? this.lastFailure);
    else if (to === 'readonly') this.emit('readonly');
  }
}

/** Creates the pool for one endpoint (idle until `warm()` or the first call). */
export function createDubboEndpointPool(options: DubboEndpointPoolOptions): DubboEndpointPool {
  return new DubboEndpointPool(options);
}
