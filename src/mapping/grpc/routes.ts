/**
 * Routes from `google.api.http` method options, as grpc-gateway and Envoy's transcoder read them:
 * get/put/post/delete/patch or a custom kind, the path template verbatim (the router understands
 * google.api.http templates), `body`, `response_body` and `additional_bindings` (one level).
 */
import type { Method, Service } from 'protobufjs';
import { configErrorAt, keySource } from '../../config/errors.js';
import type { GrpcRoute, ProtoService } from '../../config/types.js';
import { parseTemplate, TemplateError, type CompiledTemplate } from '../../router/index.js';

/** One HTTP binding of an RPC method. */
export interface HttpBinding {
  readonly method: string;
  readonly path: string;
  readonly body?: string;
  readonly responseBody?: string;
}

type RuleObject = Record<string, unknown>;
const VERBS = ['get', 'put', 'post', 'delete', 'patch'] as const;

function bindingOf(rule: RuleObject): HttpBinding | undefined {
  let method: string | undefined;
  let path: string | undefined;
  for (const verb of VERBS) {
    if (typeof rule[verb] === 'string' && rule[verb] !== '') {
      method = verb.toUpperCase();
      path = rule[verb];
    }
  }
  const custom = rule['custom'] as RuleObject | undefined;
  if (method === undefined && custom !== undefined && typeof custom['kind'] === 'string' && typeof custom['path'] === 'string') {
    method = custom['kind'].toUpperCase();
    path = custom['path'];
  }
  if (method === undefined || path === undefined) return undefined;
  const body = typeof rule['body'] === 'string' && rule['body'] !== '' ? rule['body'] : undefined;
  const responseBody = typeof rule['response_body'] === 'string' && rule['response_body'] !== '' ? rule['response_body'] : undefined;
  return { method, path, ...(body !== undefined ? { body } : {}), ...(responseBody !== undefined ? { responseBody } : {}) };
}

/** The HTTP bindings declared on a method (primary first, then additional_bindings in order). */
export function httpBindingsOf(method: Method): HttpBinding[] {
  const parsed = (method.parsedOptions ?? []) as RuleObject[];
  const out: HttpBinding[] = [];
  for (const opt of parsed) {
    const rule = opt['(google.api.http)'] as RuleObject | undefined;
    if (rule === undefined) continue;
    const primary = bindingOf(rule);
    if (primary !== undefined) out.push(primary);
    const extra = rule['additional_bindings'];
    const extras = Array.isArray(extra) ? (extra as RuleObject[]) : extra !== undefined ? [extra as RuleObject] : [];
    for (const e of extras) {
      const b = bindingOf(e);
      if (b !== undefined) out.push(b);
    }
  }
  return out;
}

/**
 * Routes for every method of `svc` that carries google.api.http options. Ids are
 * `<service>.<Method>` and `<service>.<Method>#<n>` for additional bindings. Throws ConfigError
 * (at the service's `service:` key) for a path template the router cannot take.
 */
export function routesFromHttpRules(service: ProtoService, svc: Service, schema: string): GrpcRoute[] {
  const routes: GrpcRoute[] = [];
  const noKeys = Object.freeze({});
  for (const m of svc.methodsArray) {
    if (m.requestStream) continue; // client streaming cannot come from one HTTP request
    httpBindingsOf(m).forEach((b, i) => {
      let template: CompiledTemplate;
      try {
        template = parseTemplate(b.path);
      } catch (err) {
        if (!(err instanceof TemplateError)) throw err;
        throw configErrorAt(
          keySource(service, 'service'),
          `the google.api.http path "${b.path}" of ${svc.fullName.replace(/^\./, '')}.${m.name} (${schema}) ${err.reason}`,
        );
      }
      routes.push({
        protocol: service.protocol,
        id: i === 0 ? `${service.name}.${m.name}` : `${service.name}.${m.name}#${i}`,
        method: b.method,
        path: b.path,
        template,
        serviceName: service.name,
        rpcMethod: m.name,
        ...(b.body !== undefined ? { body: b.body } : {}),
        ...(b.responseBody !== undefined ? { responseBody: b.responseBody } : {}),
        idempotent: b.method === 'GET' || b.method === 'HEAD',
        retries: service.retries,
        emitDefaults: false,
        fromProto: true,
        source: service.source,
        keySources: noKeys,
      });
    });
  }
  return routes;
}
