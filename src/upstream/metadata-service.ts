/**
 * Reads a revision's MetadataInfo from the instance itself: Dubbo's built-in
 * `org.apache.dubbo.metadata.MetadataService#getMetadataInfo(String revision)` over the dubbo
 * protocol (hessian2), with group = the application name and version 1.0.0, as Dubbo's
 * StandardMetadataServiceURLBuilder addresses it. The application-level discovery sources take
 * this as their injected `fetchMetadataInfo` (discovery comes before transports, so it cannot
 * import this file).
 *
 * Which port: `dubbo.metadata-service.url-params` when it names the dubbo protocol; otherwise the
 * instance's dubbo port from `dubbo.endpoints` (or its own port). Checked against Dubbo 3.3.6: with
 * Triple enabled the url-params name `tri` and MetadataServiceV2 (2.0.0), and the 1.0.0 service
 * still answers over the dubbo port; an unknown revision answers null.
 *
 * Each fetch opens one connection (Ferry's DubboEndpointPool), makes one call and closes it, like
 * Dubbo's own consumer does per revision (MetadataUtils.referProxy/destroyProxy).
 */
import { performance } from 'node:perf_hooks';
import { HessianWriter } from '../codec/hessian/writer.js';
import { JavaDate, JavaMap, JavaObject } from '../codec/hessian/reader.js';
import { RegistryError } from '../errors/index.js';
import type { FetchMetadataInfo } from './discovery/metadata-store.js';
import { endpointId } from './discovery/provider-url.js';
import {
  DEFAULT_APP_DATA_BUDGETS,
  metadataInfoFromObject,
  type AppDataBudgets,
  type MetadataInfo,
  type ServiceInstance,
} from './discovery/service-instance.js';
import { decodeErrorMessage, decodeResponseBody, encodeRequestBody } from '../codec/dubbo-body.js';
import { DubboEndpointPool } from './dubbo/pool.js';

export const METADATA_SERVICE = 'org.apache.dubbo.metadata.MetadataService';
/** `MetadataService.VERSION`: the hessian2 / dubbo-protocol MetadataService. */
export const METADATA_SERVICE_VERSION = '1.0.0';
const STATUS_OK = 20;

export interface MetadataServiceFetcherOptions {
  readonly budgets?: Partial<AppDataBudgets>;
  readonly connectTimeoutMs?: number;
}

/** Where to ask `instance` for its MetadataInfo over the dubbo protocol, or why it cannot be asked. */
export function metadataServiceAddress(instance: ServiceInstance): { host: string; port: number } | { error: string } {
  const params = instance.metadataServiceParams;
  if (params !== undefined && params['protocol'] === 'dubbo') {
    const port = Number(params['port']);
    if (Number.isInteger(port) && port >= 1 && port <= 65535) return { host: instance.host, port };
  }
  const dubboPort = instance.protocolPorts.get('dubbo');
  if (dubboPort !== undefined) return { host: instance.host, port: dubboPort };
  // No endpoint list: Dubbo's own fallback (generateUrlWithoutMetadata) is the dubbo protocol on the instance port.
  if (instance.protocolPorts.size === 0) return { host: instance.host, port: instance.port };
  return {
    error: `instance ${instance.where} has no dubbo-protocol port to ask for its MetadataService (${[...instance.protocolPorts.keys()].join(', ')} only)`,
  };
}

const MAX_DEPTH = 8;

/** Turns the Hessian tree of a MetadataInfo into plain objects (maps → records, objects → their fields). */
export function hessianToPlain(v: unknown, depth = 0): unknown {
  if (depth > MAX_DEPTH) return undefined;
  if (v === null || v === undefined) return undefined;
  if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') return v;
  if (typeof v === 'bigint') return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v.toString();
  if (v instanceof JavaDate) return v.ms;
  if (v instanceof JavaObject) {
    const out: Record<string, unknown> = {};
    for (const [k, f] of Object.entries(v.fields)) if (k !== '__proto__') out[k] = hessianToPlain(f, depth + 1);
    return out;
  }
  if (v instanceof JavaMap) {
    const out: Record<string, unknown> = {};
    for (const [k, f] of v) if (typeof k === 'string' && k !== '__proto__') out[k] = hessianToPlain(f, depth + 1);
    return out;
  }
  if (Array.isArray(v)) return v.map((x) => hessianToPlain(x, depth + 1));
  return undefined;
}

/** Decodes a `getMetadataInfo` reply body (status 20) into a MetadataInfo; throws RegistryError (FERRY_REGISTRY_ERROR). */
export function decodeMetadataInfoReply(
  body: Buffer,
  expected: { readonly app: string; readonly revision: string },
  where: string,
  budgets: AppDataBudgets = DEFAULT_APP_DATA_BUDGETS,
): MetadataInfo {
  let result;
  try {
    result = decodeResponseBody(body);
  } catch (err) {
    throw new RegistryError(`MetadataInfo ${where}: the reply is not Hessian 2 (${(err as Error).message})`, { cause: err });
  }
  if (result.kind === 'null') throw new RegistryError(`MetadataInfo ${where}: the instance does not know revision ${expected.revision}`);
  if (result.kind === 'exception') {
    const cls = result.value instanceof JavaObject ? result.value.className : 'an exception';
    throw new RegistryError(`MetadataInfo ${where}: the MetadataService threw ${cls}`);
  }
  if (!(result.value instanceof JavaObject)) throw new RegistryError(`MetadataInfo ${where}: the reply is not a MetadataInfo object`);
  return metadataInfoFromObject(hessianToPlain(result.value), expected, where, budgets);
}

/** A `fetchMetadataInfo` for application-level discovery sources: one dubbo-protocol call per revision. */
export function createMetadataServiceFetcher(options: MetadataServiceFetcherOptions = {}): FetchMetadataInfo {
  const budgets: AppDataBudgets = { ...DEFAULT_APP_DATA_BUDGETS, ...options.budgets };
  const writer = new HessianWriter();
  return async (instance, revision, { timeoutMs }) => {
    const address = metadataServiceAddress(instance);
    if ('error' in address) throw new RegistryError(address.error);
    const id = endpointId(address.host, address.port);
    const where = `${METADATA_SERVICE}:${METADATA_SERVICE_VERSION} (group ${instance.app}) on ${id}`;
    const deadline = performance.now() + timeoutMs;
    const pool = new DubboEndpointPool({
      endpoint: id,
      connections: 1,
      maxFrameBytes: budgets.maxMetadataBytes + 64 * 1024,
      connectTimeoutMs: Math.max(1, Math.min(options.connectTimeoutMs ?? timeoutMs, timeoutMs)),
    });
    try {
      pool.warm();
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([pool.settled(), new Promise<void>((r) => (timer = setTimeout(r, timeoutMs)))]);
      clearTimeout(timer);
      if (pool.health !== 'up') {
        throw new RegistryError(`${where}: cannot connect (${pool.failure?.message ?? pool.health})`);
      }
      const body = encodeRequestBody(
        writer,
        {
          path: METADATA_SERVICE,
          version: METADATA_SERVICE_VERSION,
          group: instance.app,
          method: 'getMetadataInfo',
          descriptor: 'Ljava/lang/String;',
          attachments: {},
          timeoutMs,
        },
        (w) => w.writeString(revision),
      );
      const left = Math.max(1, Math.floor(deadline - performance.now()));
      const reply = await pool.call(body, left).catch((err: unknown) => {
        throw new RegistryError(`${where}: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
      });
      if (reply.status !== STATUS_OK) {
        let message = '';
        try {
          message = decodeErrorMessage(reply.body);
        } catch {
          message = '(unreadable message)';
        }
        throw new RegistryError(`${where}: status ${reply.status} ${message.slice(0, 300)}`);
      }
      return decodeMetadataInfoReply(reply.body, { app: instance.app, revision }, where, budgets);
    } finally {
      pool.destroy();
    }
  };
}
