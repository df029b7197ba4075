/**
 * Dubbo request and response BODIES (not frames) in Hessian 2, as DubboCodec writes and reads them
 * (protocols.md B and C). Each body is one Hessian context: the caller passes a writer that this
 * module resets, so class definitions never leak from one frame to the next.
 */
import { HessianDecodeError, HessianReader, JavaMap, type HessianValue } from './hessian/reader.js';
import { DEFAULT_DUBBO_REPLY_BUDGETS, type DubboReplyBudgets } from './hessian/constants.js';
import { HessianWriter as HessianWriterCtor, type HessianWriter } from './hessian/writer.js';

/** The dubbo protocol version Ferry speaks; ≥ 2.0.2 makes providers send response attachments. */
export const DUBBO_PROTOCOL_VERSION = '2.0.2';
/** Descriptor of `$invoke(String, String[], Object[])`. */
export const GENERIC_DESCRIPTOR = 'Ljava/lang/String;[Ljava/lang/String;[Ljava/lang/Object;';

export interface DubboRequestHead {
  /** Service path: the interface FQCN. */
  path: string;
  version?: string;
  group?: string;
  /** Java method name. */
  method: string;
  /** Concatenated JVM descriptors of the parameter types ("" for none). */
  descriptor: string;
  /** Extra attachments (trace context, tenant, ...). Ferry's own keys are added after them. */
  attachments: Readonly<Record<string, string>>;
  /** Sent as the `timeout` attachment, in milliseconds, when given. */
  timeoutMs?: number;
}

function writeAttachments(w: HessianWriter, req: DubboRequestHead, generic: boolean): void {
  w.writeMapBegin(null);
  for (const k of Object.keys(req.attachments)) {
    if (k === 'path' || k === 'interface' || k === 'version' || k === 'group' || k === 'timeout' || k === 'generic') continue;
    w.writeString(k);
    w.writeString(req.attachments[k] as string);
  }
  w.writeString('path');
  w.writeString(req.path);
  w.writeString('interface');
  w.writeString(req.path);
  if (req.version !== undefined && req.version !== '') {
    w.writeString('version');
    w.writeString(req.version);
  }
  if (req.group !== undefined && req.group !== '') {
    w.writeString('group');
    w.writeString(req.group);
  }
  if (req.timeoutMs !== undefined) {
    w.writeString('timeout');
    w.writeString(String(Math.max(0, Math.round(req.timeoutMs))));
  }
  if (generic) {
    w.writeString('generic');
    w.writeString('true');
  }
  w.writeMapEnd();
}

function writeHead(w: HessianWriter, req: DubboRequestHead, method: string, descriptor: string): void {
  w.writeString(DUBBO_PROTOCOL_VERSION);
  w.writeString(req.path);
  w.writeString(req.version !== undefined && req.version !== '' ? req.version : '0.0.0');
  w.writeString(method);
  w.writeString(descriptor);
}

/**
 * A request body for a call with the declared signature: version, path, service version, method,
 * descriptor, the arguments (`writeArgs` writes exactly one value per parameter), attachments.
 * Resets `w` first; returns a copy of the bytes.
 */
export function encodeRequestBody(w: HessianWriter, req: DubboRequestHead, writeArgs: (w: HessianWriter) => void): Buffer {
  w.reset();
  writeHead(w, req, req.method, req.descriptor);
  writeArgs(w);
  writeAttachments(w, req, false);
  return w.finish();
}

/** Encodes the request bodies of one route (see {@link compileRequestBodyEncoder}). */
export type RequestBodyEncoder = <C>(
  w: HessianWriter,
  attachments: Readonly<Record<string, string>>,
  timeoutMs: number | undefined,
  writeArgs: (w: HessianWriter, ctx: C) => void,
  ctx: C,
) => Buffer;

let compileScratch: HessianWriter | undefined;

/**
 * The same bytes as {@link encodeRequestBody}, with the parts that never change for a route (the
 * head: protocol version, path, version, method, descriptor; and the path/interface/version/group
 * attachments) encoded once. Only the arguments, the caller's attachments and `timeout` are written
 * per call. (Generic `$invoke` bodies keep encodeGenericRequestBody: their head fills the type table.)
 */
export function compileRequestBodyEncoder(req: Omit<DubboRequestHead, 'attachments' | 'timeoutMs'>): RequestBodyEncoder {
  // One scratch writer for every route compiled (this runs synchronously): a writer of its own per
  // route was 1 KiB of buffer each, thousands of them per reload for the collector.
  const scratch = (compileScratch ??= new HessianWriterCtor());
  scratch.reset();
  writeHead(scratch, { ...req, attachments: {} }, req.method, req.descriptor);
  const head = scratch.finish();
  scratch.reset();
  scratch.writeString('path');
  scratch.writeString(req.path);
  scratch.writeString('interface');
  scratch.writeString(req.path);
  if (req.version !== undefined && req.version !== '') {
    scratch.writeString('version');
    scratch.writeString(req.version);
  }
  if (req.group !== undefined && req.group !== '') {
    scratch.writeString('group');
    scratch.writeString(req.group);
  }
  const fixed = scratch.finish();
  return (w, attachments, timeoutMs, writeArgs, ctx) => {
    w.reset();
    w.writeRaw(head);
    writeArgs(w, ctx);
    w.writeMapBegin(null);
    for (const k in attachments) {
      if (!Object.hasOwn(attachments, k)) continue;
      if (k === 'path' || k === 'interface' || k === 'version' || k === 'group' || k === 'timeout' || k === 'generic') continue;
      w.writeString(k);
      w.writeString(attachments[k] as string);
    }
    w.writeRaw(fixed);
    if (timeoutMs !== undefined) {
      w.writeString('timeout');
      w.writeString(String(Math.max(0, Math.round(timeoutMs))));
    }
    w.writeMapEnd();
    return w.finish();
  };
}

/**
 * `body` (a request body from this module: it ends with the attachments map's end byte `Z`) with
 * one more string attachment, appended without re-encoding anything: the map is the body's last
 * value and hessian strings carry no references, so its end byte is dropped, the pair and a new
 * end written. A key already in the map is overridden (Java's HashMap keeps the last). Used for
 * what is only known once the endpoint is picked (the provider's own `token`).
 */
export function withRequestAttachment(body: Buffer, key: string, value: string): Buffer {
  if (body.length === 0 || body[body.length - 1] !== 0x5a) throw new RangeError('a Dubbo request body ends with its attachments map');
  const w = new HessianWriterCtor();
  w.writeString(key);
  w.writeString(value);
  w.writeMapEnd();
  return Buffer.concat([body.subarray(0, body.length - 1), w.finish()]);
}

/**
 * A generic `$invoke` request body: method name, `String[]` of parameter type names (typed list
 * `[string`), `Object[]` of arguments (typed list `[object`; `writeArgs` writes one value per type
 * name), and attachment generic=true. `req.method` is the target Java method.
 */
export function encodeGenericRequestBody(
  w: HessianWriter,
  req: DubboRequestHead,
  typeNames: readonly string[],
  writeArgs: (w: HessianWriter) => void,
): Buffer {
  w.reset();
  writeHead(w, req, '$invoke', GENERIC_DESCRIPTOR);
  w.writeString(req.method);
  w.writeListBegin(typeNames.length, '[string');
  for (const t of typeNames) w.writeString(t);
  w.writeListBegin(typeNames.length, '[object');
  writeArgs(w);
  writeAttachments(w, req, true);
  return w.finish();
}

export type DubboResult =
  | { kind: 'value'; value: HessianValue; attachments: Record<string, string> }
  | { kind: 'null'; attachments: Record<string, string> }
  | { kind: 'exception'; value: HessianValue; attachments: Record<string, string> };

function attachmentsOf(v: HessianValue, at: number, maxChars: number): Record<string, string> {
  if (!(v instanceof JavaMap)) throw new HessianDecodeError('response attachments must be a map', at);
  const out: Record<string, string> = {};
  let chars = 0;
  for (const [k, val] of v) {
    if (typeof k === 'string' && k !== '__proto__') {
      const text = typeof val === 'string' ? val : String(val);
      chars += k.length + text.length;
      if (chars > maxChars) throw new HessianDecodeError(`attachments longer than ${maxChars} characters`, at, true);
      out[k] = text;
    }
  }
  return out;
}

/** Reads the attachments map with a budget of values that `maxAttachments` pairs fit in (the map itself counts one). */
function readAttachmentsOf(r: HessianReader, budgets: DubboReplyBudgets): Record<string, string> {
  const at = r.offset;
  const max = budgets.maxAttachments;
  r.limitValues(2 * max + 1);
  let v: HessianValue;
  try {
    v = r.read();
  } catch (err) {
    if (err instanceof HessianDecodeError && err.overBudget) throw new HessianDecodeError(`more than ${max} attachments`, at, true);
    throw err;
  }
  return attachmentsOf(v, at, budgets.maxAttachmentChars);
}

/** A result flag that is not one, for a message (a list holding a long cannot go through JSON.stringify: found by fuzzing). */
function describeFlag(flag: HessianValue): string {
  if (typeof flag === 'number' || typeof flag === 'bigint' || typeof flag === 'boolean' || flag === null) return String(flag);
  return typeof flag === 'string' ? JSON.stringify(flag.slice(0, 40)) : `a ${Array.isArray(flag) ? 'list' : (flag.constructor?.name ?? 'value')}`;
}

/**
 * Decodes a status-20 response body: the result flag, then the value / exception / nothing, then
 * attachments for flags 3–5. Bytes after the last expected value are ignored (dubbo-go appends one).
 * Over a budget (attachments, values) is a HessianDecodeError with `overBudget`; past `deadline`
 * (the route's, performance.now() ms), a DecodeDeadlineError.
 */
export function decodeResponseBody(body: Buffer, budgets: DubboReplyBudgets = DEFAULT_DUBBO_REPLY_BUDGETS, deadline?: number): DubboResult {
  const r = new HessianReader(body, { maxValues: budgets.maxValues, ...(deadline !== undefined ? { deadline } : {}) });
  const flagAt = r.offset;
  const flag = r.read();
  const readAttachments = (): Record<string, string> => readAttachmentsOf(r, budgets);
  switch (flag) {
    case 0:
      return { kind: 'exception', value: r.read(), attachments: {} };
    case 1:
      return { kind: 'value', value: r.read(), attachments: {} };
    case 2:
      return { kind: 'null', attachments: {} };
    case 3: {
      const value = r.read();
      return { kind: 'exception', value, attachments: readAttachments() };
    }
    case 4: {
      const value = r.read();
      return { kind: 'value', value, attachments: readAttachments() };
    }
    case 5:
      return { kind: 'null', attachments: readAttachments() };
    default:
      throw new HessianDecodeError(`unknown Dubbo result flag ${describeFlag(flag)}`, flagAt);
  }
}

/** The message in a status ≠ 20 body (a Hessian string; null gives ""). */
export function decodeErrorMessage(body: Buffer): string {
  if (body.length === 0) return '';
  const v = new HessianReader(body).read();
  if (typeof v === 'string') return v;
  if (v === null) return '';
  throw new HessianDecodeError('an error body must hold a string', 0);
}
