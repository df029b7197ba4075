/**
 * Part of the composition root: the Dubbo clients of the running gateway, kept across config reloads
 * (a service whose connection identity is unchanged keeps its pools), each with its discovery source,
 * balancer and outlier detector. It also answers the operational questions: pool snapshots for
 * metrics and readiness.
 */
import type { FerryConfig, ServiceConfig } from '../config/types.js';
import type { DubboCaller } from '../gateway/dubbo-binder.js';
import type { UpstreamSnapshot } from '../telemetry/index.js';
import { balanceKindFor, createBalancer } from './balance/create-balancer.js';
import { createOutlierDetector } from './balance/outlier.js';
import { createDubboClient, type DubboClient } from './dubbo/client.js';
import { createZooKeeperSource, type ZooKeeperSource } from './discovery/zookeeper.js';

export interface UpstreamRegistryOptions {
  /** Dubbo heartbeat interval (idle time before a heartbeat), ms. */
  readonly heartbeatMs?: number;
  /** Told when outlier ejection takes an endpoint out or lets it back. */
  readonly onEjection?: (service: string, endpoint: string, ejected: boolean) => void;
}

interface ManagedClient extends DubboCaller {
  readonly service: string;
  readonly client: DubboClient;
  readonly source: ZooKeeperSource | undefined;
  close(): Promise<void>;
}

/** A service's connection identity: a reload keeps a client when this is unchanged. */
function upstreamKey(s: ServiceConfig): string {
  return JSON.stringify([s.protocol, s.interface, s.version, s.group, s.endpoints, s.registry, s.connectionsPerEndpoint, balanceKindFor(s)]);
}

export class UpstreamRegistry {
  private readonly dubbo = new Map<string, ManagedClient>();

  constructor(private readonly opts: UpstreamRegistryOptions = {}) {}

  /** The client for a Dubbo service, created on first use. */
  dubboClient(service: ServiceConfig): DubboCaller {
    const key = upstreamKey(service);
    let managed = this.dubbo.get(key);
    if (!managed) {
      managed = this.create(service);
      this.dubbo.set(key, managed);
    }
    return managed;
  }

  private create(service: ServiceConfig): ManagedClient {
    const source =
      service.registry === undefined
        ? undefined
        : createZooKeeperSource({
            connectString: service.registry,
            interface: service.interface,
            ...(service.version !== undefined ? { version: service.version } : {}),
            ...(service.group !== undefined ? { group: service.group } : {}),
          });
    const onEjection = this.opts.onEjection;
    const outlier = createOutlierDetector(onEjection ? { onChange: (id, ejected) => onEjection(service.name, id, ejected) } : {});
    const client = createDubboClient({
      endpoints: source ?? service.endpoints,
      connectionsPerEndpoint: service.connectionsPerEndpoint,
      balancer: createBalancer(balanceKindFor(service), { outlier }),
      ...(this.opts.heartbeatMs !== undefined ? { heartbeatMs: this.opts.heartbeatMs } : {}),
    });
    return {
      service: service.name,
      client,
      source,
      outlier,
      call: (body, callOpts) => client.call(body, callOpts),
      async close() {
        await client.close();
        await source?.close();
      },
    };
  }

  /** Per-endpoint pool state, for the metrics scrape. */
  snapshots(): UpstreamSnapshot[] {
    const out: UpstreamSnapshot[] = [];
    for (const m of this.dubbo.values()) {
      for (const pool of m.client.pools()) {
        out.push({
          service: m.service,
          endpoint: pool.id,
          connections: pool.connectionCount,
          pending: pool.pending(),
          ejected: m.outlier?.isEjected(pool.id) ?? false,
        });
      }
    }
    return out;
  }

  /** Services of `config` (Dubbo) that have no available endpoint right now. */
  unavailableServices(config: FerryConfig): string[] {
    const byKey = new Map([...config.services.values()].filter((s) => s.protocol === 'dubbo').map((s) => [upstreamKey(s), s.name]));
    const down: string[] = [];
    for (const [key, name] of byKey) {
      const m = this.dubbo.get(key);
      if (m && !m.client.endpoints().some((e) => e.available())) down.push(name);
    }
    return down;
  }

  /** Closes clients whose services are not in `config`. */
  async retainOnly(config: FerryConfig): Promise<void> {
    const keep = new Set([...config.services.values()].map(upstreamKey));
    const closing: Promise<void>[] = [];
    for (const [key, client] of this.dubbo) {
      if (!keep.has(key)) {
        this.dubbo.delete(key);
        closing.push(client.close());
      }
    }
    await Promise.allSettled(closing);
  }

  async close(): Promise<void> {
    await Promise.allSettled([...this.dubbo.values()].map((c) => c.close()));
    this.dubbo.clear();
  }
}
