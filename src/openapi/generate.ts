/**
 * OpenAPI 3.1 for the routes of a FerryConfig: one operation per route, parameters and request body
 * from the route's argument sources, the declared Java types as JSON Schemas (POJOs and enums as
 * components), and problem+json error responses with the FERRY codes each status can carry.
 *
 * Schemas describe what Ferry accepts, which is also a superset of what it returns: `long` accepts
 * an integer or a decimal string (and comes back as a number up to 2^53-1, a string beyond, or always
 * a string under `longs: string`); BigDecimal and BigInteger accept strings or numbers and come back
 * as strings, so every digit survives.
 */
import type { ArgConfig, FerryConfig, GrpcRoute, ProtoService } from '../config/types.js';
import { segmentText, variablePattern, type CompiledTemplate } from '../router/index.js';
import { ERROR_CATALOGUE } from '../errors/index.js';
import type { ErrorCode } from '../errors/index.js';
import { createJavaTypeParser, JAVA_TIME_CLASSES } from '../codec/hessian/java-types.js';
import type { JavaType } from '../codec/hessian/java-types.js';

/** A JSON Schema (2020-12, as OpenAPI 3.1 uses it). */
export type Schema = Record<string, unknown>;

/** What a gRPC route contributes when its protos are known (filled by the gRPC side). */
export interface GrpcRouteSchemas {
  /** Schema of the HTTP request body (the part of the request message `body:` selects). */
  readonly requestBody?: Schema;
  /** Extra query parameters (request message fields not bound to the path or body). */
  readonly queryParameters?: ReadonlyArray<{ readonly name: string; readonly schema: Schema; readonly description?: string }>;
  /** Schema of the response body (the response message, or its `response_body` field). */
  readonly response?: Schema;
  /** Components the schemas above refer to (`#/components/schemas/<name>`). */
  readonly components?: Readonly<Record<string, Schema>>;
}

export interface OpenApiOptions {
  readonly title?: string;
  readonly version?: string;
  readonly description?: string;
  /** Server URLs to list (e.g. the public URL behind the load balancer). */
  readonly servers?: readonly string[];
  /**
   * Hook for gRPC/Triple routes: proto-derived schemas. Without it their bodies are documented as
   * "proto3 JSON of <message>" objects.
   */
  readonly schemaForGrpcRoute?: (route: GrpcRoute, service: ProtoService) => GrpcRouteSchemas | undefined;
}

const PROBLEM_REF = { $ref: '#/components/schemas/Problem' };
const TEXT_PARAM_SOURCES = ['path', 'query', 'header', 'cookie'] as const;
type ParamIn = (typeof TEXT_PARAM_SOURCES)[number];

/** Component names allow `[A-Za-z0-9._-]`; Java FQCNs fit except for `$` (inner classes). */
function componentName(javaName: string): string {
  return javaName.replace(/[^A-Za-z0-9._-]/g, '_');
}

/**
 * The OpenAPI path of a route template (`/v1/{name=shelves/*}/books:get` → `/v1/{name}/books:get`)
 * and its variables, with the segment pattern of those that match more than one segment.
 */
export function openApiPath(template: CompiledTemplate): { path: string; variables: Array<{ name: string; pattern?: string }> } {
  const variables: Array<{ name: string; pattern?: string }> = [];
  const parts: string[] = [];
  for (let i = 0; i < template.segments.length;) {
    const v = template.variables.find((x) => x.start === i);
    if (v !== undefined) {
      const pattern = variablePattern(template, v);
      variables.push(pattern === '*' ? { name: v.name } : { name: v.name, pattern });
      parts.push(`{${v.name}}`);
      i = v.end < 0 ? template.segments.length : v.end;
    } else {
      parts.push(segmentText(template.segments[i]!));
      i++;
    }
  }
  return { path: `/${parts.join('/')}${template.verb === '' ? '' : `:${template.verb}`}`, variables };
}

/** Builds schemas for Java types, registering POJOs and enums as components once. */
function createSchemaBuilder(config: FerryConfig, components: Record<string, Schema>) {
  const parser = createJavaTypeParser((name) => config.types.get(name));
  const building = new Set<string>();

  function ref(name: string): Schema {
    return { $ref: `#/components/schemas/${componentName(name)}` };
  }

  /** Scalars with long descriptions are components too, so the document stays small. */
  function shared(name: string, schema: Schema): Schema {
    if (components[name] === undefined) components[name] = schema;
    return ref(name);
  }

  function forType(t: JavaType): Schema {
    switch (t.kind) {
      case 'boolean':
        return { type: 'boolean' };
      case 'int':
        return { type: ['integer', 'string'], format: 'int32', pattern: '^[+-]?[0-9]+$', minimum: -2147483648, maximum: 2147483647 };
      case 'short':
        return { type: ['integer', 'string'], format: 'int16', pattern: '^[+-]?[0-9]+$', minimum: -32768, maximum: 32767 };
      case 'byte':
        return { type: ['integer', 'string'], format: 'int8', pattern: '^[+-]?[0-9]+$', minimum: -128, maximum: 127 };
      case 'char':
        return { type: 'string', minLength: 1, maxLength: 2, description: 'one UTF-16 code unit' };
      case 'long':
        return shared('long', {
          type: ['integer', 'string'],
          format: 'int64',
          pattern: '^[+-]?[0-9]+$',
          description:
            'Java long. Send a decimal string (or an integer) to keep every digit; returned as a number up to 2^53-1 and as a string beyond (always a string under `longs: string`).',
        });
      case 'float':
        return { type: 'number', format: 'float' };
      case 'double':
        return { type: 'number', format: 'double' };
      case 'string':
        return { type: 'string' };
      case 'bigdecimal':
        return shared('java.math.BigDecimal', {
          type: ['string', 'number'],
          format: 'decimal',
          pattern: '^[+-]?(?:[0-9]+(?:\\.[0-9]*)?|\\.[0-9]+)(?:[eE][+-]?[0-9]{1,9})?$',
          description: 'java.math.BigDecimal: every digit and the scale are kept; returned as a string.',
        });
      case 'biginteger':
        return shared('java.math.BigInteger', {
          type: ['string', 'integer'],
          format: 'biginteger',
          pattern: '^[+-]?[0-9]+$',
          description: 'java.math.BigInteger, any size; returned as a string.',
        });
      case 'date':
        return shared('java.util.Date', {
          type: ['string', 'integer'],
          format: 'date-time',
          description: 'java.util.Date: ISO 8601 with an offset, or epoch milliseconds; returned as ISO 8601 UTC.',
        });
      case 'instant':
        return { type: 'string', format: 'date-time', description: 'java.time.Instant (ISO 8601).' };
      case 'sqltimestamp':
      case 'sqldate':
      case 'sqltime':
        return {
          type: ['string', 'integer'],
          format: 'date-time',
          description: `${JAVA_TIME_CLASSES[t.kind]}: ISO 8601 with offset or epoch milliseconds; returned as ISO 8601 UTC with milliseconds (what Hessian carries).`,
        };
      case 'year':
        return { type: ['string', 'integer'], description: 'java.time.Year; returned as its text (Year.toString).' };
      case 'duration':
      case 'period':
      case 'yearmonth':
      case 'monthday':
      case 'zoneoffset':
      case 'offsetdatetime':
      case 'offsettime':
      case 'zoneddatetime':
        return { type: 'string', description: `${JAVA_TIME_CLASSES[t.kind]} (ISO 8601, as its parse() takes it and its toString() writes it).` };
      case 'localdate':
        return { type: 'string', format: 'date', description: 'java.time.LocalDate (ISO 8601, no offset).' };
      case 'localdatetime':
        return shared('java.time.LocalDateTime', {
          type: 'string',
          pattern: '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}(:[0-9]{2}(\\.[0-9]{1,9})?)?$',
          description: 'java.time.LocalDateTime (ISO 8601 local date-time, no offset).',
        });
      case 'localtime':
        return shared('java.time.LocalTime', {
          type: 'string',
          pattern: '^[0-9]{2}:[0-9]{2}(:[0-9]{2}(\\.[0-9]{1,9})?)?$',
          description: 'java.time.LocalTime (ISO 8601, no offset).',
        });
      case 'bytes':
        return { type: 'string', contentEncoding: 'base64', description: 'byte[] as base64.' };
      case 'uuid':
        return { type: 'string', format: 'uuid', description: 'java.util.UUID (canonical text; returned in lower case).' };
      case 'currency':
        return { type: 'string', pattern: '^[A-Z]{3}$', description: 'java.util.Currency: its ISO 4217 code.' };
      case 'locale':
        return { type: 'string', description: 'java.util.Locale as Locale.toString() writes it (en_US); en-US is accepted too.' };
      case 'zoneid':
        return { type: 'string', description: 'java.time.ZoneId: a region id (Europe/Paris) or an offset (+05:30).' };
      case 'enumset':
        return { type: 'array', items: forType(t.elem), uniqueItems: true };
      case 'enummap': {
        const s: Schema = { type: 'object', additionalProperties: forType(t.value), description: `keys are constants of ${t.key.name}` };
        return s;
      }
      case 'enum': {
        const name = componentName(t.name);
        if (components[name] === undefined) components[name] = { type: 'string', enum: [...t.constants], title: t.name };
        return ref(t.name);
      }
      case 'list':
        return t.javaClass.endsWith('Set') ? { type: 'array', items: forType(t.elem), uniqueItems: true } : { type: 'array', items: forType(t.elem) };
      case 'array':
        return { type: 'array', items: forType(t.elem) };
      case 'map': {
        const s: Schema = { type: 'object', additionalProperties: forType(t.value) };
        if (t.key.kind !== 'string' && t.key.kind !== 'object') s['description'] = `keys are ${t.key.kind} values written as JSON object keys`;
        return s;
      }
      case 'pojo': {
        const name = componentName(t.name);
        if (components[name] === undefined && !building.has(name)) {
          building.add(name);
          const properties: Record<string, Schema> = {};
          for (const f of t.fields) properties[f.name] = forType(f.type);
          components[name] = { type: 'object', title: t.name, properties };
          building.delete(name);
        }
        return ref(t.name);
      }
      case 'object':
        return {};
    }
  }

  function forText(text: string): Schema {
    try {
      return forType(parser.parse(text));
    } catch (err) {
      return { description: `declared type "${text}" could not be read: ${err instanceof Error ? err.message : String(err)}` };
    }
  }

  return { forText };
}

function sourceOf(arg: ArgConfig): { where: ParamIn | 'body'; name: string } | undefined {
  if (arg.from === undefined) return undefined;
  if (arg.from === 'body') return { where: 'body', name: '' };
  const dot = arg.from.indexOf('.');
  if (dot < 0) return undefined;
  const head = arg.from.slice(0, dot);
  const rest = arg.from.slice(dot + 1);
  if (head === 'body') return { where: 'body', name: rest };
  if ((TEXT_PARAM_SOURCES as readonly string[]).includes(head)) return { where: head as ParamIn, name: rest };
  return undefined;
}

/** Puts `schema` at `path` (a.b.c) inside an object schema, creating intermediate objects. */
function placeInBody(root: Schema, path: string[], schema: Schema, required: boolean): void {
  let node = root;
  for (let i = 0; i < path.length; i++) {
    const key = path[i]!;
    const props = (node['properties'] ??= {}) as Record<string, Schema>;
    if (i === path.length - 1) {
      props[key] = schema;
      if (required) {
        const req = (node['required'] ??= []) as string[];
        if (!req.includes(key)) req.push(key);
      }
    } else {
      node['type'] = 'object';
      let next = props[key];
      if (next === undefined) {
        next = { type: 'object' };
        props[key] = next;
      }
      if (required) {
        const req = (node['required'] ??= []) as string[];
        if (!req.includes(key)) req.push(key);
      }
      node = next;
    }
  }
}

/**
 * Codes only a route's policies or plugins give (docs/policies.md). The document does not describe
 * per-route policies yet, so they are left out of the responses every route shares.
 */
const POLICY_CODES: ReadonlySet<ErrorCode> = new Set<ErrorCode>([
  'FERRY_UNAUTHENTICATED',
  'FERRY_FORBIDDEN',
  'FERRY_RATE_LIMITED',
  'FERRY_CORS_REJECTED',
  'FERRY_POLICY_UNAVAILABLE',
  'FERRY_PLUGIN_FAILED',
  'FERRY_PLUGIN_TIMEOUT',
]);

/** FERRY codes grouped by default HTTP status, for error response descriptions. */
function codesByStatus(): Map<number, ErrorCode[]> {
  const out = new Map<number, ErrorCode[]>();
  for (const [code, entry] of Object.entries(ERROR_CATALOGUE) as Array<[ErrorCode, { status: number }]>) {
    if (code === 'FERRY_CONFIG_INVALID' || POLICY_CODES.has(code)) continue;
    const list = out.get(entry.status) ?? [];
    list.push(code);
    out.set(entry.status, list);
  }
  return out;
}

const SHARED_RESPONSES: ReadonlyArray<{ name: string; status: number; description: string }> = [
  { name: 'BadRequest', status: 400, description: 'an argument is missing or does not fit its declared type' },
  { name: 'PayloadTooLarge', status: 413, description: 'the request body is over the size limit' },
  { name: 'UnsupportedMediaType', status: 415, description: 'the request body must be application/json' },
  { name: 'BadGateway', status: 502, description: 'the upstream failed (exception, error status, protocol error)' },
  {
    name: 'ServiceUnavailable',
    status: 503,
    description: 'no upstream endpoint could take the call, Ferry holds as many connections as it accepts, or it is shutting down',
  },
  { name: 'GatewayTimeout', status: 504, description: 'the upstream did not answer in time' },
];

function sharedResponse(status: number): Schema {
  const r = SHARED_RESPONSES.find((x) => x.status === status);
  if (r === undefined) throw new Error(`no shared response for ${status}`);
  return { $ref: `#/components/responses/${r.name}` };
}

function problemResponse(description: string, codes: readonly string[]): Schema {
  const schema: Schema = codes.length > 0 ? { allOf: [PROBLEM_REF, { properties: { code: { enum: [...codes] } } }] } : PROBLEM_REF;
  return { description, content: { 'application/problem+json': { schema } } };
}

function problemSchema(): Schema {
  return {
    type: 'object',
    description: 'RFC 9457 problem document. `code` is stable; `traceId` finds the request in traces.',
    required: ['type', 'title', 'status', 'detail', 'code'],
    properties: {
      type: { type: 'string', examples: ['urn:ferry:error:FERRY_BAD_ARGUMENT'] },
      title: { type: 'string' },
      status: { type: 'integer' },
      detail: { type: 'string' },
      code: { type: 'string', enum: Object.keys(ERROR_CATALOGUE) },
      route: { type: 'string', description: 'the route id' },
      traceId: { type: 'string', pattern: '^[0-9a-f]{32}$' },
      argument: { type: 'string', description: 'the argument source that failed (400s)' },
      jsonPath: { type: 'string', description: 'where inside the argument (400s)' },
      exception: {
        type: 'object',
        properties: { class: { type: 'string' }, message: { type: 'string' } },
        description: 'the Java exception (Dubbo provider errors)',
      },
      upstreamStatus: { type: 'integer' },
      upstreamStatusName: { type: 'string' },
      details: { type: 'array', description: 'google.rpc.Status details (gRPC)' },
    },
  };
}

/** Generates the OpenAPI 3.1 document for a loaded config. */
export function generateOpenApi(config: FerryConfig, options: OpenApiOptions = {}): Record<string, unknown> {
  const components: Record<string, Schema> = { Problem: problemSchema() };
  const schemas = createSchemaBuilder(config, components);
  const byStatus = codesByStatus();
  const paths: Record<string, Record<string, unknown>> = {};

  for (const route of config.routes) {
    const service = config.services.get(route.serviceName);
    if (service === undefined) continue;
    const { path, variables } = openApiPath(route.template);
    const parameters: Schema[] = [];
    const seen = new Set<string>();
    const addParam = (where: ParamIn, name: string, schema: Schema, required: boolean, description?: string): void => {
      const key = `${where}:${name.toLowerCase()}`;
      if (seen.has(key)) return;
      seen.add(key);
      const p: Schema = { name, in: where, required: where === 'path' ? true : required, schema };
      if (description !== undefined) p['description'] = description;
      parameters.push(p);
    };

    let body: Schema | undefined;
    let bodyRequired = false;
    let bodyUsed = false;
    let hasArgs: boolean;
    let okSchema: Schema;
    let summary: string;
    /** Java exception classes mapped to HTTP statuses (Dubbo). */
    let mappedErrors: Readonly<Record<string, number>> = {};
    /** Attachment name → request source (Dubbo). */
    let attachments: Readonly<Record<string, string>> = {};

    if (route.protocol === 'dubbo' && service.protocol === 'dubbo') {
      for (const arg of route.args) {
        const src = sourceOf(arg);
        if (src === undefined) continue;
        const schema = schemas.forText(arg.type);
        if (src.where === 'body') {
          bodyUsed = true;
          if (src.name === '') {
            body = schema;
          } else {
            body ??= { type: 'object' };
            placeInBody(body, src.name.split('.'), schema, arg.required);
          }
          bodyRequired ||= arg.required;
        } else {
          addParam(src.where, src.name, schema, arg.required, `${arg.type} argument of ${route.rpcMethod}`);
        }
      }
      hasArgs = route.args.some((a) => a.from !== undefined) || bodyUsed;
      okSchema =
        route.returns !== undefined
          ? schemas.forText(route.returns)
          : { description: `the return value of ${service.interface}.${route.rpcMethod} as JSON` };
      summary = `${service.interface}.${route.rpcMethod}`;
      mappedErrors = route.errors;
      attachments = route.attachments;
    } else if (route.protocol !== 'dubbo' && service.protocol !== 'dubbo') {
      const grpc = options.schemaForGrpcRoute?.(route, service);
      if (grpc?.components) Object.assign(components, grpc.components);
      if (route.body !== undefined) {
        bodyUsed = true;
        // A gRPC request body is always required: there is no "absent message" in proto3 JSON.
        bodyRequired = true;
        body = grpc?.requestBody ?? {
          type: 'object',
          description: `proto3 JSON of the ${route.body === '*' ? 'request message' : `request field "${route.body}"`} of ${service.service}.${route.rpcMethod}`,
        };
      }
      for (const q of grpc?.queryParameters ?? []) addParam('query', q.name, q.schema, false, q.description);
      hasArgs = bodyUsed;
      okSchema = grpc?.response ?? { type: 'object', description: `proto3 JSON of the ${service.service}.${route.rpcMethod} response` };
      summary = `${service.service}.${route.rpcMethod}`;
    } else {
      continue; // a route whose protocol is not its service's: the loader never builds one
    }
    for (const v of variables) {
      const s: Schema = { type: 'string' };
      if (v.pattern !== undefined) s['description'] = `matches ${v.pattern} (may contain '/')`;
      addParam('path', v.name, s, true);
    }
    for (const [name, from] of Object.entries(attachments)) {
      const dot = from.indexOf('.');
      const head = from.slice(0, dot);
      if (dot > 0 && (head === 'header' || head === 'query' || head === 'cookie')) {
        addParam(head, from.slice(dot + 1), { type: 'string' }, false, `forwarded to the provider as attachment "${name}"`);
      }
    }

    // Responses.
    const responses: Record<string, Schema> = {
      '200': { description: 'the call succeeded', content: { 'application/json': { schema: okSchema } } },
    };
    if (hasArgs) responses['400'] = sharedResponse(400);
    if (bodyUsed) {
      responses['413'] = sharedResponse(413);
      responses['415'] = sharedResponse(415);
    }
    const mapped = new Map<number, string[]>();
    for (const [cls, status] of Object.entries(mappedErrors)) {
      const list = mapped.get(status) ?? [];
      list.push(cls);
      mapped.set(status, list);
    }
    for (const [status, classes] of mapped) {
      responses[String(status)] = problemResponse(`the provider threw ${classes.join(' or ')}`, ['FERRY_UPSTREAM_EXCEPTION']);
    }
    for (const status of [502, 503, 504]) {
      if (responses[String(status)] === undefined) responses[String(status)] = sharedResponse(status);
    }
    if (route.protocol !== 'dubbo' && responses['404'] === undefined) {
      responses['404'] = problemResponse('the gRPC status NOT_FOUND (other statuses map by the standard table)', ['FERRY_UPSTREAM_STATUS']);
    }

    const operation: Record<string, unknown> = {
      operationId: route.id,
      summary,
      tags: [service.name],
      parameters,
      responses,
      'x-ferry-call': { service: service.name, protocol: service.protocol, method: route.rpcMethod },
    };
    if (bodyUsed && body !== undefined) {
      operation['requestBody'] = { required: bodyRequired, content: { 'application/json': { schema: body } } };
    }
    const item = (paths[path] ??= {});
    item[route.method.toLowerCase()] = operation;
  }

  const info: Record<string, unknown> = { title: options.title ?? 'Ferry gateway', version: options.version ?? '0.0.0' };
  if (options.description !== undefined) info['description'] = options.description;
  const doc: Record<string, unknown> = { openapi: '3.1.0', info };
  if (options.servers !== undefined && options.servers.length > 0) doc['servers'] = options.servers.map((url) => ({ url }));
  doc['paths'] = paths;
  const sharedResponses: Record<string, Schema> = {};
  for (const r of SHARED_RESPONSES) sharedResponses[r.name] = problemResponse(r.description, byStatus.get(r.status) ?? []);
  doc['components'] = { schemas: components, responses: sharedResponses };
  return doc;
}
