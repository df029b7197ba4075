/**
 * Reads what a Nacos registry knows of one Dubbo interface, for `ferry import --registry nacos://…`
 * and `ferry validate --against nacos://…`: the full service definition a Dubbo 3 provider published
 * to its metadata report, which in Nacos is the config store (NacosMetadataReport: data id
 * `<interface>:<version>:<group>:provider:<application>`, empty parts kept, config group `dubbo`),
 * the application named by the interface → application mapping (data id `<interface>`, group
 * `mapping`, comma-separated names); and the version and group of each interface-level provider
 * service (`providers:<interface>:<version>:<group>` in the naming service). A few bounded HTTP
 * reads through the shared Nacos client (timeouts, server fail-over, auth); never a watch.
 */
import { RegistryError, SignatureSourceError } from '../errors/index.js';
import { createNacosHttp, type NacosHttp } from './discovery/nacos-http.js';
import { parseNacosRegistry } from './discovery/nacos-instances.js';
import { NACOS_MAPPING_GROUP } from './discovery/nacos-apps.js';
import { MAX_DEFINITION_BYTES, type RegistryServiceFacts } from './service-definitions.js';

/** Dubbo's metadata-report config group (the metadata report URL's `group`, default `dubbo`). */
export const NACOS_METADATA_GROUP = 'dubbo';
/** Applications tried per interface, and service names read from the naming service. */
const MAX_APPS = 16;
const MAX_SERVICE_NAMES = 1000;
const MAX_LIST_BYTES = 1024 * 1024;

/** `<interface>:<version>:<group>:provider:<application>`, as MetadataIdentifier's unique key writes it. */
export function definitionDataId(iface: string, version: string | undefined, group: string | undefined, app: string): string {
  return `${iface}:${version ?? ''}:${group ?? ''}:provider:${app}`;
}

/** Version and group of `providers:<iface>:<version>:<group>` names (others ignored). */
export function exportedFromServiceNames(names: readonly string[], iface: string): Array<{ version?: string; group?: string }> {
  const out: Array<{ version?: string; group?: string }> = [];
  const prefix = `providers:${iface}:`;
  for (const n of names) {
    if (!n.startsWith(prefix)) continue;
    const [version = '', group = ''] = n.slice(prefix.length).split(':');
    out.push({ ...(version !== '' ? { version } : {}), ...(group !== '' ? { group } : {}) });
  }
  return out;
}

export async function readNacosService(
  registryUrl: string,
  iface: string,
  selector: { readonly version?: string; readonly group?: string },
  timeoutMs = 10_000,
): Promise<RegistryServiceFacts> {
  let registry;
  try {
    registry = parseNacosRegistry(registryUrl);
  } catch (err) {
    throw new SignatureSourceError(err instanceof Error ? err.message : String(err));
  }
  const http: NacosHttp = createNacosHttp(registry, timeoutMs);
  const config = async (dataId: string, group: string, maxBytes: number): Promise<string | undefined> => {
    const what = `${registry.display} config ${group}/${dataId}`;
    const res = await http.get('/nacos/v1/cs/configs', { dataId, group }, maxBytes, what);
    if (res.status === 404) return undefined;
    if (res.status !== 200) throw new SignatureSourceError(`${what}: HTTP ${res.status} ${JSON.stringify(res.text.slice(0, 120))}`);
    return res.text;
  };
  try {
    const list = await http.get(
      '/nacos/v1/ns/service/list',
      { pageNo: '1', pageSize: String(MAX_SERVICE_NAMES), groupName: registry.group },
      MAX_LIST_BYTES,
      `${registry.display} service list`,
    );
    let names: string[] = [];
    if (list.status === 200) {
      try {
        const doms = (JSON.parse(list.text) as { doms?: unknown }).doms;
        if (Array.isArray(doms)) names = doms.filter((d): d is string => typeof d === 'string');
      } catch {
        // Not a list: no interface-level facts (the definition may still be there).
      }
    }
    const exported = exportedFromServiceNames(names, iface);
    const mapping = await config(iface, NACOS_MAPPING_GROUP, MAX_LIST_BYTES);
    const apps = (mapping ?? '')
      .split(',')
      .map((a) => a.trim())
      .filter((a) => /^[\w.-]{1,200}$/.test(a))
      .slice(0, MAX_APPS);
    // The selected version and group first; else what the providers export (a mapping may name a wrong one).
    const keys = [selector, ...exported, {}].map((k) => [k.version, k.group] as const);
    const seen = new Set<string>();
    const tried: string[] = [];
    for (const app of apps) {
      for (const [version, group] of keys) {
        const dataId = definitionDataId(iface, version, group, app);
        if (seen.has(dataId)) continue;
        seen.add(dataId);
        tried.push(dataId);
        const text = await config(dataId, NACOS_METADATA_GROUP, MAX_DEFINITION_BYTES + 1);
        if (text === undefined || text === '') continue;
        const where = `${registry.display} config ${NACOS_METADATA_GROUP}/${dataId}`;
        if (Buffer.byteLength(text) > MAX_DEFINITION_BYTES)
          throw new SignatureSourceError(`${where}: over the budget of ${MAX_DEFINITION_BYTES} bytes`);
        try {
          return { definition: JSON.parse(text) as unknown, where, exported };
        } catch (err) {
          throw new SignatureSourceError(`${where}: not JSON (${(err as Error).message})`);
        }
      }
    }
    const where =
      apps.length === 0
        ? `${registry.display} config ${NACOS_MAPPING_GROUP}/${iface} (no application maps ${iface})`
        : `${registry.display} config ${NACOS_METADATA_GROUP}/${tried[0]}`;
    return { where, exported };
  } catch (err) {
    if (err instanceof SignatureSourceError) throw err;
    if (err instanceof RegistryError) throw new SignatureSourceError(err.message, { cause: err });
    throw new SignatureSourceError(`${registry.display}: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
  } finally {
    http.close();
  }
}
