/**
 * Pure mapping for Dubbo routes: a compiled plan turns a request into a Hessian request body (typed
 * arguments in the order the Java method declares them) and a provider reply into a response.
 * Everything by-name happens in `compileDubboRoute`; the per-request functions only run closures.
 */
import { configErrorAt, keySource } from '../config/errors.js';
import type { ArgConfig, DubboRoute, DubboService, FerryConfig } from '../config/types.js';
import {
  compileJsonEncoder,
  HessianArgumentError,
  HessianWriter,
  createJavaTypeParser,
  jvmDescriptor,
  javaTypeName,
  type JavaType,
  type JavaTypeParser,
  type JsonEncoder,
} from '../codec/hessian/index.js';
import { describeThrowable, toJson } from '../codec/hessian/decode-json.js';
import { JavaObject } from '../codec/hessian/reader.js';
import { compileTypedJsonDecoder, type TypedJsonDecoder } from '../codec/hessian/decode-typed.js';
import { DEFAULT_DUBBO_REPLY_BUDGETS, type DubboReplyBudgets } from '../codec/hessian/constants.js';
import { DecodeDeadlineError, NO_DEADLINE, pastDeadline } from '../codec/decode-deadline.js';
import { FerryError } from '../errors/index.js';
import type { GatewayResponse } from '../exchange/index.js';
import { compileRequestBodyEncoder, decodeErrorMessage, decodeResponseBody, encodeGenericRequestBody } from '../codec/dubbo-body.js';
import { compileExtractor, type BodyParsing, type Extractor, type RequestView } from './request-view.js';

/** Dubbo response status bytes (protocols.md A.2). */
const STATUS_OK = 20;
const STATUS_CLIENT_TIMEOUT = 30;
const STATUS_SERVER_TIMEOUT = 31;
const STATUS_BAD_REQUEST = 40;
const STATUS_SERVICE_ERROR = 70;
const STATUS_THREADPOOL_EXHAUSTED = 100;

export interface DubboRoutePlan {
  readonly needsBody: boolean;
  readonly bodyParsing: BodyParsing;
  /** Builds the Hessian request body. Throws FerryError (400) naming the argument and JSON path. */
  encodeRequest(view: RequestView, attachments: Record<string, string>, timeoutMs: number): Buffer;
  /** Request values to send as attachments, by attachment name (only those the route names). */
  attachmentsFrom(view: RequestView): Record<string, string>;
  /**
   * Turns the provider's reply into a response, or throws the FerryError it stands for. Past
   * `deadline` (the route's, performance.now() ms) decoding stops: 504 FERRY_UPSTREAM_TIMEOUT.
   * `catalog`: the declared types of the config the request is served on (a plan kept across a
   * reload renders generic replies with the new config's field order); the compiled config's when absent.
   */
  decodeReply(status: number, body: Buffer, endpoint: string, deadline?: number, catalog?: ReplyCatalog): GatewayResponse;
  /** The declared types (names under `types:`) the route's arguments and `returns` resolve to, transitively. */
  readonly declaredTypes: ReadonlySet<string>;
}

interface CompiledArg {
  readonly label: string;
  readonly required: boolean;
  readonly read: Extractor;
  readonly write: (w: HessianWriter, value: unknown, path: string) => void;
}

const JSON_HEADERS = Object.freeze({ 'content-type': 'application/json' });

/**
 * Compiles one Dubbo route. Throws ConfigError (file:line:col) for unknown types and the like.
 * `budgets` bound what decoding one reply may cost (attachments, values).
 */
export function compileDubboRoute(
  route: DubboRoute,
  service: DubboService,
  config: FerryConfig,
  budgets: DubboReplyBudgets = DEFAULT_DUBBO_REPLY_BUDGETS,
): DubboRoutePlan {
  const parseType = (text: string): JavaType => parseDeclaredType(text, config);
  const args: CompiledArg[] = [];
  const types: JavaType[] = [];
  let exactNumbers = false;
  let needsBody = false;
  for (const [i, arg] of route.args.entries()) {
    let type: JavaType;
    try {
      type = parseType(arg.type);
    } catch (err) {
      throw configErrorAt(arg.source, `argument #${i + 1} of route "${route.id}": ${err instanceof Error ? err.message : String(err)}`);
    }
    types.push(type);
    if (arg.from?.startsWith('body')) {
      needsBody = true;
      if (needsExactNumbers(type)) exactNumbers = true;
    }
    try {
      args.push(compileArg(arg, i, type, service.generic));
    } catch (err) {
      // A type Ferry can parse but not send (an EnumMap, a list as a map key): refused at load.
      throw configErrorAt(arg.source, `argument #${i + 1} of route "${route.id}": ${err instanceof Error ? err.message : String(err)}`);
    }
  }
  let returns: JavaType | undefined;
  if (route.returns !== undefined) {
    try {
      returns = parseType(route.returns);
    } catch (err) {
      throw configErrorAt(keySource(route, 'returns'), `"returns" of route "${route.id}": ${err instanceof Error ? err.message : String(err)}`);
    }
  }
  const attachmentReaders = Object.entries(route.attachments).map(([name, from]) => [name, compileExtractor(from, false)] as const);
  const descriptor = types.map(jvmDescriptor).join('');
  const typeNames = types.map(javaTypeName);
  const compiledCatalog = replyCatalog(config);
  const { enumClasses } = compiledCatalog;
  const longs = route.longs;
  const jsonOptionsOf = (catalog: ReplyCatalog) => ({
    longs,
    enumClasses: catalog.enumClasses,
    maxNodes: budgets.maxValues,
    fieldOrder: catalog.fieldOrder,
    ...(service.generic ? { dropStringKey: 'class' } : {}),
  });
  const compiledJsonOptions = jsonOptionsOf(compiledCatalog);
  // A declared return type gets a one-pass Hessian → JSON text decoder; it hands anything it does
  // not take back to the generic path below, so replies are the same either way.
  const typed: TypedJsonDecoder | undefined =
    returns !== undefined && !service.generic
      ? compileTypedJsonDecoder(returns, enumClasses, { longs, maxNodes: budgets.maxValues, maxAttachments: budgets.maxAttachments })
      : undefined;
  const errorStatus = new Map(Object.entries(route.errors));
  const errorFields = new Map(Object.entries(route.errorFields));
  // Made on the route's first call: a reload binds thousands of routes, most of them seldom called.
  let writer: HessianWriter | undefined;
  const target = `${service.interface}${service.version ? `:${service.version}` : ''}${service.group ? ` (group ${service.group})` : ''} method ${route.rpcMethod}(${descriptor})`;
  const baseRequest = {
    path: service.interface,
    ...(service.version !== undefined ? { version: service.version } : {}),
    ...(service.group !== undefined ? { group: service.group } : {}),
  };

  // The constant head and attachments of this route's request bodies, encoded once.
  const encodeBody = compileRequestBodyEncoder({ ...baseRequest, method: route.rpcMethod, descriptor });

  function writeArgs(w: HessianWriter, view: RequestView): void {
    for (const a of args) {
      const raw = a.read(view);
      // Absent and required is a 400 here; an explicit null goes to the encoder, which refuses it
      // for primitives and sends Java null otherwise.
      if (raw === undefined && a.required) {
        throw new FerryError('FERRY_MISSING_ARGUMENT', `route "${route.id}" needs ${a.label}, and the request has none`, {
          argument: a.label,
        });
      }
      try {
        a.write(w, raw === undefined ? null : raw, '$');
      } catch (err) {
        if (err instanceof HessianArgumentError) {
          throw new FerryError('FERRY_BAD_ARGUMENT', `${a.label}: ${err.message}`, { argument: a.label, jsonPath: err.jsonPath, cause: err });
        }
        throw err;
      }
    }
  }

  return {
    needsBody,
    bodyParsing: exactNumbers ? 'lossless' : 'fast',
    attachmentsFrom(view: RequestView): Record<string, string> {
      const out: Record<string, string> = {};
      for (const [name, read] of attachmentReaders) {
        const v = read(view);
        if (typeof v === 'string') out[name] = v;
      }
      // Dubbo's TokenFilter reads the `token` attachment; the service's own wins over a route's.
      if (service.token !== undefined) out['token'] = service.token;
      return out;
    },
    encodeRequest(view: RequestView, attachments: Record<string, string>, timeoutMs: number): Buffer {
      writer ??= new HessianWriter();
      if (!service.generic) return encodeBody(writer, attachments, timeoutMs, writeArgs, view);
      writer.reset();
      const request = { ...baseRequest, method: route.rpcMethod, descriptor, attachments, timeoutMs };
      return encodeGenericRequestBody(writer, request, typeNames, (w) => writeArgs(w, view));
    },
    declaredTypes: declaredTypesOf([...types, ...(returns !== undefined ? [returns] : [])]),
    decodeReply(status: number, body: Buffer, endpoint: string, deadline = NO_DEADLINE, catalog?: ReplyCatalog): GatewayResponse {
      if (status !== STATUS_OK) throw statusError(status, body, endpoint, target);
      const toJsonOptions = catalog === undefined || catalog === compiledCatalog ? compiledJsonOptions : jsonOptionsOf(catalog);
      if (typed !== undefined) {
        const json = typed.decodeReplyBody(body, deadline);
        if (json !== undefined) return { status: 200, headers: { 'content-type': 'application/json' }, body: json };
      }
      let result;
      try {
        result = decodeResponseBody(body, budgets, deadline);
      } catch (err) {
        if (err instanceof DecodeDeadlineError) throw err;
        throw new FerryError('FERRY_UPSTREAM_PROTOCOL_ERROR', `the reply from ${endpoint} could not be decoded: ${(err as Error).message}`, {
          endpoint,
          cause: err,
        });
      }
      if (result.kind === 'exception') {
        const ex = describeThrowable(result.value) ?? {
          className: 'java.lang.Throwable',
          message: 'the provider threw an exception Ferry could not read',
        };
        const mapped = errorStatus.get(ex.className);
        const allowed = errorFields.get(ex.className);
        throw new FerryError('FERRY_UPSTREAM_EXCEPTION', ex.message ?? ex.className, {
          exceptionClass: ex.className,
          endpoint,
          ...(mapped !== undefined ? { status: mapped } : {}),
          ...(allowed !== undefined && allowed.length > 0 ? exposedFields(result.value, allowed, toJsonOptions) : {}),
        });
      }
      const value = result.kind === 'null' ? null : toJson(result.value, deadline === NO_DEADLINE ? toJsonOptions : { ...toJsonOptions, deadline });
      // JSON.stringify runs in one call (bounded by the value budget): the deadline is looked at before it.
      if (pastDeadline(deadline)) throw new DecodeDeadlineError();
      return { status: 200, headers: { ...JSON_HEADERS }, body: JSON.stringify(value) };
    },
  };
}

/** Most JSON characters the exposed fields of one exception take; fields beyond are named as omitted. */
export const MAX_EXPOSED_EXCEPTION_CHARS = 8192;
/** Most values one exposed field expands to (a reference bomb inside an exception stays small). */
const MAX_EXPOSED_FIELD_NODES = 10_000;

/**
 * The allowlisted fields of a decoded exception, as JSON values, in allowlist order; a field the
 * exception lacks is left out, and fields past the size budget are listed in exceptionFieldsOmitted.
 */
export function exposedFields(
  exception: unknown,
  allowed: readonly string[],
  opts: Parameters<typeof toJson>[1],
): { exceptionFields: Record<string, unknown>; exceptionFieldsOmitted?: string[] } {
  const fields = exception instanceof JavaObject ? exception.fields : {};
  const out: Record<string, unknown> = {};
  const omitted: string[] = [];
  let size = 2;
  for (const name of allowed) {
    if (!Object.hasOwn(fields, name)) continue;
    let value: unknown;
    try {
      value = toJson(fields[name], { ...opts, maxNodes: MAX_EXPOSED_FIELD_NODES });
    } catch {
      omitted.push(name);
      continue;
    }
    const cost = JSON.stringify(name).length + JSON.stringify(value).length + 2;
    if (size + cost > MAX_EXPOSED_EXCEPTION_CHARS) {
      omitted.push(name);
      continue;
    }
    size += cost;
    Object.defineProperty(out, name, { value, enumerable: true, writable: true, configurable: true });
  }
  return { exceptionFields: out, ...(omitted.length > 0 ? { exceptionFieldsOmitted: omitted } : {}) };
}

/** What every Dubbo route's generic reply path reads of the declared types: enum classes, POJO field order. */
export interface ReplyCatalog {
  readonly enumClasses: ReadonlySet<string>;
  /** The declared POJOs' field names in declared order, by class. */
  readonly fieldOrder: ReadonlyMap<string, readonly string[]>;
}

const replyCatalogs = new WeakMap<object, ReplyCatalog>();

/** The config's {@link ReplyCatalog}, built once per config (it was rebuilt per route: O(routes × types)). */
export function replyCatalog(config: FerryConfig): ReplyCatalog {
  let catalog = replyCatalogs.get(config.types);
  if (catalog === undefined) {
    const types = [...config.types.values()];
    catalog = {
      enumClasses: new Set(types.filter((t) => t.kind === 'enum').map((t) => t.name)),
      fieldOrder: new Map(types.flatMap((t) => (t.kind === 'pojo' ? [[t.name, t.fields.map((f) => f.name)] as const] : []))),
    };
    replyCatalogs.set(config.types, catalog);
  }
  return catalog;
}

const typeParsers = new WeakMap<object, JavaTypeParser>();

/**
 * Parses a Java type against the config's declared types with one parser per config, so that a
 * declared POJO is resolved once, not once per route that names it (the bind's largest cost in a
 * folder of many routes over shared types). A parser that failed is dropped: it may hold a POJO
 * whose fields it did not finish.
 */
function parseDeclaredType(text: string, config: FerryConfig): JavaType {
  let parser = typeParsers.get(config.types);
  if (parser === undefined) {
    parser = createJavaTypeParser((name) => config.types.get(name));
    typeParsers.set(config.types, parser);
  }
  try {
    return parser.parse(text);
  } catch (err) {
    typeParsers.delete(config.types);
    throw err;
  }
}

const declaredNames = new WeakMap<JavaType, ReadonlySet<string>>();

/** The declared (POJO and enum) type names reachable from `roots`. */
function declaredTypesOf(roots: readonly JavaType[]): ReadonlySet<string> {
  const out = new Set<string>();
  for (const root of roots) {
    let names = declaredNames.get(root);
    if (names === undefined) {
      const found = new Set<string>();
      const seen = new Set<JavaType>();
      const stack = [root];
      while (stack.length > 0) {
        const t = stack.pop()!;
        if (seen.has(t)) continue;
        seen.add(t);
        if (t.kind === 'pojo') {
          found.add(t.name);
          for (const f of t.fields) stack.push(f.type);
        } else if (t.kind === 'enum') found.add(t.name);
        else if (t.kind === 'list' || t.kind === 'array') stack.push(t.elem);
        else if (t.kind === 'map') stack.push(t.key, t.value);
      }
      names = found;
      declaredNames.set(root, names);
    }
    for (const n of names) out.add(n);
  }
  return out;
}

const encoders = new WeakMap<JavaType, { plain?: JsonEncoder; generic?: JsonEncoder }>();

/** One JSON → Hessian encoder per parsed type (shared by the routes of a config; an encoder holds no state). */
function encoderFor(type: JavaType, generic: boolean): JsonEncoder {
  let e = encoders.get(type);
  if (e === undefined) encoders.set(type, (e = {}));
  const key = generic ? 'generic' : 'plain';
  return (e[key] ??= compileJsonEncoder(type, { generic }));
}

function compileArg(arg: ArgConfig, index: number, type: JavaType, generic: boolean): CompiledArg {
  const label = arg.from ?? `argument #${index + 1}`;
  const encode = encoderFor(type, generic);
  if (arg.from === undefined) {
    const constant = arg.value;
    return { label, required: true, read: () => constant, write: encode };
  }
  return { label, required: arg.required, read: compileExtractor(arg.from, isCollection(type)), write: encode };
}

function isCollection(t: JavaType): boolean {
  return t.kind === 'list' || t.kind === 'array';
}

/** True when a JSON number for this type could carry more digits than a double keeps. */
export function needsExactNumbers(t: JavaType, seen: Set<JavaType> = new Set()): boolean {
  if (seen.has(t)) return false;
  seen.add(t);
  switch (t.kind) {
    case 'long':
    case 'bigdecimal':
    case 'biginteger':
    case 'object':
      return true;
    case 'list':
    case 'array':
      return needsExactNumbers(t.elem, seen);
    case 'map':
      return needsExactNumbers(t.value, seen) || needsExactNumbers(t.key, seen);
    case 'pojo':
      return t.fields.some((f) => needsExactNumbers(f.type, seen));
    default:
      return false;
  }
}

function statusError(status: number, body: Buffer, endpoint: string, target: string): FerryError {
  let message: string;
  try {
    message = decodeErrorMessage(body);
  } catch {
    message = `status ${status} with an unreadable message`;
  }
  const details = { upstreamStatus: status, endpoint };
  switch (status) {
    case STATUS_CLIENT_TIMEOUT:
    case STATUS_SERVER_TIMEOUT:
      return new FerryError('FERRY_UPSTREAM_TIMEOUT', message, details);
    case STATUS_BAD_REQUEST:
      // Dubbo 3 decodes the arguments with the exported method's types; when no exported service,
      // version, group and method matches, it fails here with "parameterTypes=null".
      if (/parameterTypes=null|service not found/i.test(message)) {
        return new FerryError('FERRY_UPSTREAM_SERVICE_NOT_FOUND', `${endpoint} does not export ${target}: ${message}`, details);
      }
      return new FerryError('FERRY_UPSTREAM_REJECTED_REQUEST', message, details);
    case STATUS_THREADPOOL_EXHAUSTED:
      return new FerryError('FERRY_UPSTREAM_OVERLOADED', message, details);
    case STATUS_SERVICE_ERROR:
      if (/not found exported service|service not found/i.test(message)) {
        return new FerryError('FERRY_UPSTREAM_SERVICE_NOT_FOUND', message, details);
      }
      return new FerryError('FERRY_UPSTREAM_STATUS', message, details);
    default:
      return new FerryError('FERRY_UPSTREAM_STATUS', message, details);
  }
}
